"""Where and how a study is written to MLflow: the store, the experiment, parent and child runs.

The names (tags, params, statuses) come from ``study.tracking``, the contract that ``analysis`` reads.
This module holds the operations the driver needs on top of those names, all on one ``MlflowClient``:

- ``ensure_experiment``: one experiment per study. For a SQLite store its artifacts go beside the
  database in ``mlartifacts/<study>`` (MLflow 3 would otherwise put them under ``./mlruns`` of whatever
  the working directory is when the store is first opened); a server decides for itself.
- ``open_parent_run``: the experiment described for the UI, and the parent run of an invocation
  (``start_parent``: found again by its Ray storage folder on --resume), tagged with its provenance.
- ``child_runs``/``create_child``: one child run per Ray trial, found again by its trial id.
- ``trial_params``: the flattened config plus the derived values under ``derived.*``.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, Run, RunStatus, RunTag

from ips.config import IPSConfig, flatten
from ips.data import digits_reused
from study import mlflow_ui, tracking
from study.guard.invocation import python_command
from study.guard.lock import sqlite_store_lock
from study.plan import Plan

REPOSITORY = Path(__file__).resolve().parents[1]  # its commit is the parent run's ips.git_commit
ARTIFACT_FOLDER = "mlartifacts"
MAX_PARAMS_PER_BATCH = 100
MAX_TAG_LENGTH = 5000

RUNNING = RunStatus.to_string(RunStatus.RUNNING)
FINISHED = RunStatus.to_string(RunStatus.FINISHED)
FAILED = RunStatus.to_string(RunStatus.FAILED)
KILLED = RunStatus.to_string(RunStatus.KILLED)


# ------------------------------------------------------------------------------------------- store


def artifact_location(uri: str, experiment: str) -> str | None:
    """``file://<folder of the database>/mlartifacts/<experiment>`` for SQLite; None for a server."""
    database = tracking.sqlite_path(uri)
    return None if database is None else (database.parent / ARTIFACT_FOLDER / experiment).as_uri()


def ui_command(uri: str) -> str:
    """The command that opens the MLflow UI on this store, on 127.0.0.1 only, by this interpreter's
    MLflow (a bare ``mlflow`` is not on the PATH outside the venv)."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser (an MLflow server)"
    ui = f"{python_command()} -m mlflow ui --backend-store-uri {shlex.quote(uri)}"  # SQLite or a database
    return f"{ui} --host {mlflow_ui.UI_HOST} --port {mlflow_ui.UI_PORT}"


def ensure_experiment(client: MlflowClient, name: str, uri: str) -> str:
    """The id of the experiment ``name``, created (with its artifact location) if it does not exist."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(uri, name))


# -------------------------------------------------------------------------------------------- runs


def find_parent(client: MlflowClient, experiment_id: str, storage: str) -> Run | None:
    """The parent run of the invocation whose Ray storage folder is ``storage`` (None if none yet)."""
    matches = [
        run
        for run in tracking.search_runs(client, experiment_id, tracking.role_filter(tracking.ROLE_PARENT))
        if run.data.tags.get(tracking.TAG_STORAGE) == storage
    ]
    return min(matches, key=lambda run: run.info.start_time) if matches else None


def start_parent(
    client: MlflowClient, experiment_id: str, storage: str, tags: dict[str, str], run_name: str
) -> str:
    """Find the parent run of ``storage`` and mark it RUNNING again, or create it; returns its id."""
    parent = find_parent(client, experiment_id, storage)
    if parent is None:
        all_tags = {**tags, tracking.TAG_ROLE: tracking.ROLE_PARENT, tracking.TAG_STORAGE: storage}
        return client.create_run(experiment_id, run_name=run_name, tags=all_tags).info.run_id
    client.update_run(parent.info.run_id, status=RUNNING)
    return parent.info.run_id


def git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip()


def parent_tags(plan: Plan) -> dict[str, str]:
    searched = {tracking.TAG_SEARCH: tracking.SEARCHER_OPTUNA_TPE} if plan.searched else {}
    return searched | {
        tracking.TAG_STUDY: plan.study.name,
        tracking.TAG_PROFILE: plan.profile_name,
        tracking.TAG_GIT_COMMIT: git_commit(),
        tracking.TAG_AXES: json.dumps(plan.varied_fields),
        tracking.TAG_METRIC: plan.study.metric,
        tracking.TAG_MODE: plan.study.mode,
    }


def open_parent_run(client: MlflowClient, plan: Plan, uri: str, study_folder: Path) -> tuple[str, str]:
    """(experiment id, parent run id): the study's experiment, with its description, the parent run of
    this invocation (the same one again on --resume, found by its study folder) and the saved view of
    this invocation's trials (``study.mlflow_ui``)."""
    with sqlite_store_lock(tracking.sqlite_path(uri)):  # a new store's migration, once
        experiment_id = ensure_experiment(client, plan.study.name, uri)
    study, fields = plan.study, plan.varied_fields
    note = mlflow_ui.experiment_note(study.name, study.description, study.reproduces, fields, study.metric)
    mlflow_ui.describe_experiment(client, experiment_id, note)
    folder = str(study_folder)
    parent_id = start_parent(client, experiment_id, folder, parent_tags(plan), run_name=study_folder.name)
    view = mlflow_ui.runs_view(fields, study.metric, study.mode, parent_id)
    mlflow_ui.save_invocation_view(client, experiment_id, parent_id, view)
    return experiment_id, parent_id


def child_runs(client: MlflowClient, experiment_id: str, parent_id: str) -> list[Run]:
    """The trial runs of one invocation, oldest first (``study.tracking.search_runs`` follows the pages)."""
    return tracking.search_runs(client, experiment_id, tracking.role_filter(tracking.ROLE_TRIAL, parent_id))


def create_child(
    client: MlflowClient, experiment_id: str, parent_id: str, trial_id: str, config: IPSConfig, name: str
) -> str:
    tags = {
        tracking.TAG_ROLE: tracking.ROLE_TRIAL,
        tracking.TAG_PARENT: parent_id,
        tracking.TAG_TRIAL_ID: trial_id,
        tracking.TAG_SEED: str(config.seed),
        tracking.TAG_CONFIG_ID: tracking.config_id(flatten(config)),
        tracking.TAG_STATUS: tracking.STATUS_RUNNING,
    }
    reused = digits_reused(config.data)
    if reused:
        tags[tracking.TAG_DIGITS_REUSED] = reused
    return client.create_run(experiment_id, run_name=name, tags=tags).info.run_id


def set_status(client: MlflowClient, run_id: str, ips_status: str, error: str | None = None) -> None:
    """The ``ips.status`` tag and the matching MLflow run status (``running`` keeps the run open)."""
    tags = [RunTag(tracking.TAG_STATUS, ips_status)]
    if error is not None:
        tags.append(RunTag(tracking.TAG_ERROR, error[-MAX_TAG_LENGTH:]))
    client.log_batch(run_id, tags=tags)
    mlflow_status = {
        tracking.STATUS_RUNNING: RUNNING,
        tracking.STATUS_COMPLETED: FINISHED,
        tracking.STATUS_EARLY_STOPPED: FINISHED,
        tracking.STATUS_FAILED: FAILED,
        tracking.STATUS_INTERRUPTED: KILLED,
    }[ips_status]
    if mlflow_status == RUNNING:
        client.update_run(run_id, status=RUNNING)
    else:
        client.set_terminated(run_id, status=mlflow_status)


# ------------------------------------------------------------------------------------------ params


def trial_params(config: IPSConfig) -> dict[str, str]:
    """MLflow params of a trial: the flattened config and ``derived.*`` (``IPSConfig.derived``)."""
    params = {key: value for key, value in flatten(config).items()}
    params.update({tracking.DERIVED_PREFIX + key: value for key, value in config.derived().items()})
    return {
        key: json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        for key, value in params.items()
    }


def log_params(client: MlflowClient, run_id: str, params: dict[str, str]) -> None:
    items = [Param(key, value) for key, value in params.items()]
    for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=items[start : start + MAX_PARAMS_PER_BATCH])


def log_metrics(client: MlflowClient, run_id: str, metrics: dict[str, float], step: int) -> None:
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(key, value, now, step) for key, value in metrics.items()])


def last_step(client: MlflowClient, run_id: str) -> int:
    """The last epoch logged to a run (0 if none)."""
    history = client.get_metric_history(run_id, tracking.METRIC_EPOCH)
    return max((int(metric.step) for metric in history), default=0)
