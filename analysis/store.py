"""Where the runs are: an MLflow store (SQLite file, URI or server) and the invocations of a study.

``study/tracking.py`` is the contract: one experiment per study, one parent run per invocation of
``python -m study.run`` (tag ``ips.role=parent``), one child run per trial. Nothing here trains or
imports ``ips``: this module only finds runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pandas as pd
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from study import tracking
from study.sqlite_store import store_problem

INDEX_DIGITS = 4  # "@12" is an index; "@42264324" is a run-id prefix


class StoreError(ValueError):
    """A store, study or invocation that cannot be found: the message says what to pass instead."""


def resolve_tracking_uri(where: str | os.PathLike | None = None) -> str:
    """A tracking URI to read from a URI, a path to a SQLite file, or nothing (``$MLFLOW_TRACKING_URI``
    if set, else ``./mlflow.db``): ``study.tracking.tracking_uri_to_read``, the one
    resolver; a store that does not exist, or a SQLite file that MLflow would change (another program's
    database, a half-built store: ``study.sqlite_store``), raises ``StoreError``."""
    try:
        uri = tracking.tracking_uri_to_read(where)
    except tracking.StoreNotFound as error:
        raise StoreError(str(error)) from None
    database = tracking.sqlite_path(uri)
    problem = store_problem(database) if database is not None else None
    if problem:  # MLflow would change the file: a report never does
        raise StoreError(problem)
    if uri.startswith(("http://", "https://")):
        problem = tracking.server_problem(uri)  # MLflow would retry an unreachable server for minutes
        if problem:
            raise StoreError(f"{tracking.redact_uri(uri)}: {problem}")
    return uri


def client_for(where: str | os.PathLike | None = None) -> MlflowClient:
    """An ``MlflowClient`` bound to the resolved store (never changes the global tracking URI)."""
    # the URI without its credentials: MLflow reads them from the environment
    return MlflowClient(tracking_uri=tracking.client_uri(resolve_tracking_uri(where)))


def study_names(client: MlflowClient) -> list[str]:
    """Experiments that hold at least one study invocation (a parent run)."""
    names = []
    for experiment in client.search_experiments(view_type=ViewType.ACTIVE_ONLY):
        parents = tracking.role_filter(tracking.ROLE_PARENT)
        if tracking.search_runs(client, experiment.experiment_id, parents, limit=1):
            names.append(experiment.name)
    return sorted(names)


def experiment_id(client: MlflowClient, study: str) -> str:
    experiment = client.get_experiment_by_name(study)
    if experiment is None:
        known = study_names(client)
        raise StoreError(
            f"no study {study!r} in {client.tracking_uri}; studies in this store: {known or 'none'} "
            "(run it with `python -m study.run <study>` or pass the right --tracking-uri)"
        )
    return experiment.experiment_id


@dataclass(frozen=True)
class Invocation:
    """One parent run: one `python -m study.run` invocation (and its resumes)."""

    study: str
    run_id: str
    index: int  # 1-based, in start order
    profile: str | None
    axes: tuple[str, ...]
    metric: str | None
    mode: str | None
    git_commit: str | None
    start_time: pd.Timestamp
    searched: bool = False  # a searched study (tag ips.search): its configurations are not a grid


def invocations(client: MlflowClient, study: str) -> list[Invocation]:
    """The study's invocations, oldest first."""
    role = tracking.role_filter(tracking.ROLE_PARENT)
    parents = tracking.search_runs(client, experiment_id(client, study), role)
    return [_invocation(study, run, i + 1) for i, run in enumerate(parents)]


def _invocation(study: str, run: Run, index: int) -> Invocation:
    tags = run.data.tags
    return Invocation(
        study=study,
        run_id=run.info.run_id,
        index=index,
        profile=tags.get(tracking.TAG_PROFILE),
        axes=tuple(parse_axes(tags.get(tracking.TAG_AXES))),
        metric=tags.get(tracking.TAG_METRIC),
        mode=tags.get(tracking.TAG_MODE),
        git_commit=tags.get(tracking.TAG_GIT_COMMIT),
        start_time=pd.Timestamp(run.info.start_time, unit="ms"),
        searched=tags.get(tracking.TAG_SEARCH) is not None,
    )


def parse_axes(text: str | None) -> list[str]:
    """The ``ips.axes`` tag: a JSON list of dotted config fields."""
    if not text:
        return []
    axes = json.loads(text)
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        raise StoreError(f"tag {tracking.TAG_AXES}={text!r} is not a JSON list of field names")
    return axes


def select_invocation(client: MlflowClient, study: str, which: str | int | None = None) -> Invocation:
    """One invocation of ``study``: ``None`` = the latest; an index (an int, or a string of at most
    ``INDEX_DIGITS`` digits) = 1-based, -1 = the latest; any other string = a parent run id or a
    unique prefix of one (run ids are 32 hex digits, so give at least 6)."""
    found = invocations(client, study)
    if not found:
        raise StoreError(f"study {study!r} has no invocation (no parent run) in {client.tracking_uri}")
    if which is None:
        return found[-1]
    if isinstance(which, int) or _is_index(which):
        return _by_index(study, found, int(which))
    matches = [inv for inv in found if inv.run_id.startswith(str(which))]
    if len(matches) != 1:
        ids = ", ".join(inv.run_id for inv in found)
        raise StoreError(f"{study}: {which!r} matches {len(matches)} invocations; parent run ids are: {ids}")
    return matches[0]


def _by_index(study: str, found: list[Invocation], index: int) -> Invocation:
    position = index - 1 if index > 0 else index
    if index == 0 or not -len(found) <= position < len(found):
        raise StoreError(f"{study}: invocation {index} does not exist; use 1..{len(found)} or -1 (latest)")
    return found[position]


def _is_index(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isdigit() and len(digits) <= INDEX_DIGITS


def trial_runs(client: MlflowClient, invocation: Invocation) -> list[Run]:
    """The child runs (trials) of one invocation, oldest first."""
    experiment = experiment_id(client, invocation.study)
    trials = tracking.role_filter(tracking.ROLE_TRIAL, invocation.run_id)
    return tracking.search_runs(client, experiment, trials)
