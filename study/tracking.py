"""The MLflow contract: experiment, run, tag, param, metric and artifact names.

This module is what ``analysis`` reads to find things in a store; it holds names, the one resolver of
a tracking URI, tiny helpers to find runs and read their label distributions, and what a model blind
to the images answers (it imports neither Ray nor ips, and MLflow only inside the function that
downloads), so ``analysis`` may import it.

Layout of a store
-----------------
- One **experiment** per study, named after the study (``patch_size_low_data``).
- One **parent run** per invocation of ``python -m study.run`` (a ``--resume`` continues the same
  parent). Tags: ``ips.role=parent``, ``ips.study``, ``ips.profile``, ``ips.git_commit``,
  ``ips.axes`` (JSON list of the dotted config fields the study varies, e.g. ``["patches.size"]``),
  ``ips.metric``, ``ips.mode``, ``ips.storage`` (the Ray storage folder of the invocation),
  ``ips.search`` (a searched study only: its searcher; its configurations are draws, not a grid).
- One **child run** per trial, tagged ``mlflow.parentRunId``. Tags: ``ips.role=trial``,
  ``ips.trial_id`` (Ray's trial id), ``ips.seed``, ``ips.config_id`` (the same for all seeds of one
  configuration), ``ips.status`` (``completed`` | ``early_stopped`` | ``failed`` | ``running`` |
  ``interrupted``: the driver stopped before the trial ended, ``--resume`` continues the same run),
  ``ips.error`` (failed trials), ``ips.digits_reused`` (a Megapixel MNIST trial that draws each
  shipped digit more than once: how often, and how to use the full MNIST), ``ips.node_id`` and
  ``ips.hostname`` (the Ray node and the host its latest attempt ran on), ``ips.machine.*`` (its CPU
  model, torch threads, instruction set and library versions) and ``ips.data_fingerprint``. Params:
  the flattened config (``selection.memory_size``, ...) and the derived values under ``derived.*``.
  Metrics: per epoch, step = epoch (1..E), names below.
  Artifacts: ``config.json``, ``label_distribution.json`` and, at the end, ``attention_map.png``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# What is printed of a tracking URI: its password and secret parameters as *** (``study.guard.redact``).
from study.guard.redact import client_uri as client_uri
from study.guard.redact import redact_uri as redact_uri

# tags ---------------------------------------------------------------------------------------------
TAG_ROLE = "ips.role"
ROLE_PARENT = "parent"
ROLE_TRIAL = "trial"
TAG_STUDY = "ips.study"
TAG_PROFILE = "ips.profile"
TAG_GIT_COMMIT = "ips.git_commit"
TAG_AXES = "ips.axes"
TAG_METRIC = "ips.metric"
TAG_MODE = "ips.mode"
TAG_STORAGE = "ips.storage"
TAG_SEARCH = "ips.search"  # parent of a searched study: the searcher ("optuna-tpe"); absent for a grid
SEARCHER_OPTUNA_TPE = "optuna-tpe"
TAG_TRIAL_ID = "ips.trial_id"
TAG_SEED = "ips.seed"
TAG_CONFIG_ID = "ips.config_id"
TAG_STATUS = "ips.status"
TAG_ERROR = "ips.error"
TAG_NODE_ID = "ips.node_id"
TAG_HOSTNAME = "ips.hostname"
TAG_PARENT = "mlflow.parentRunId"
# A trial's provenance (``ips.provenance``, its latest attempt): ips.machine.cpu_model, .torch_threads,
# .cpu_capability, .python, .torch, .numpy, .pillow, and ips.data_fingerprint (a hash of its data).
TAG_MACHINE_PREFIX = "ips.machine."
TAG_DATA_FINGERPRINT = "ips.data_fingerprint"
TAG_DIGITS_REUSED = (
    "ips.digits_reused"  # Megapixel MNIST trials that reuse the shipped digits: why and how much
)

STATUS_COMPLETED = "completed"
STATUS_EARLY_STOPPED = "early_stopped"
STATUS_FAILED = "failed"
STATUS_RUNNING = "running"
STATUS_INTERRUPTED = "interrupted"
STATUSES = (STATUS_COMPLETED, STATUS_EARLY_STOPPED, STATUS_FAILED, STATUS_RUNNING, STATUS_INTERRUPTED)
# The trials that tables and findings average by default, and the runner's end-of-study table: an
# early-stopped trial trained for less, so it is counted apart, never averaged in.
SUMMARISED_STATUSES: tuple[str, ...] = (STATUS_COMPLETED,)

# params -------------------------------------------------------------------------------------------
DERIVED_PREFIX = "derived."  # derived.number_of_patches, derived.object_to_image_ratio, ...
PARAM_SEED = "seed"

# metrics (step = epoch, 1-based) --------------------------------------------------------------------
METRIC_EPOCH = "epoch"
METRIC_LR = "lr"
METRIC_SECONDS_PER_BATCH = "time/seconds_per_batch"
METRIC_IMAGES_PER_SECOND = "time/images_per_second"
METRIC_EPOCH_SECONDS = "time/epoch_seconds"
METRIC_PEAK_MEMORY_MB = "memory/peak_mb"
SPLITS = ("train", "val")


def loss_metric(split: str, task: str | None = None) -> str:
    """``train/loss`` (mean over tasks) or ``train/majority/loss``."""
    return f"{split}/loss" if task is None else f"{split}/{task}/loss"


def accuracy_metric(split: str, task: str | None = None) -> str:
    """``val/accuracy`` (mean over tasks) or ``val/majority/accuracy``."""
    return f"{split}/accuracy" if task is None else f"{split}/{task}/accuracy"


# artifacts ----------------------------------------------------------------------------------------
ARTIFACT_CONFIG = "config.json"
# {"train"|"val": {task: {class: count}}, "vectors": {"train"|"val": {task: {"0,3,7": count}}}}
ARTIFACT_LABELS = "label_distribution.json"
ARTIFACT_ATTENTION_MAP = "attention_map.png"


def class_order(label: Any) -> tuple[int, float, str]:
    """The order of a label distribution's classes: numbers in numeric order, before any text."""
    try:
        return (0, float(label), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(label))


def blind_answer(train_counts: dict[Any, int]) -> Any:
    """The class a model blind to the images answers: the training set's most frequent in the label
    distribution (ties: the smallest); its share of a split is that split's multiclass chance level."""
    best = max(train_counts.values())
    return min((c for c, n in train_counts.items() if n == best), key=class_order)


@dataclass(frozen=True)
class InvocationRuns:
    """Where one invocation's runs are: the store (its URI redacted: this is pickled and stored by Ray
    and Optuna), the study's experiment and the invocation's parent run."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str

    def attributes(self) -> dict[str, str]:
        """As the Optuna study's user attributes."""
        return {
            "mlflow_tracking_uri": self.tracking_uri,
            "mlflow_experiment_id": self.experiment_id,
            "mlflow_parent_run_id": self.parent_run_id,
        }


def config_id(flat_config: dict[str, Any]) -> str:
    """A short id shared by all seeds of one configuration (the flat config without its seeds)."""
    kept = {k: v for k, v in flat_config.items() if k != PARAM_SEED and not k.startswith(DERIVED_PREFIX)}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:10]


# finding a store and its runs -----------------------------------------------------------------------
SQLITE_PREFIX = "sqlite:///"
DEFAULT_STORE = "mlflow.db"  # what `python -m study.run` writes in its working directory
URI_SCHEMES = ("sqlite:", "http:", "https:", "databricks", "file:", "postgresql", "mysql", "mssql")
PAGE_SIZE = 1000  # runs per search request
SERVER_TIMEOUT_S = 5.0  # a tracking server that has not answered by then is reported, not waited for
MLFLOW_PROBE = "/api/2.0/mlflow/experiments/search?max_results=1"  # any MLflow server answers it


class StoreNotFound(ValueError):
    """A store to read that does not exist: the message says what to pass instead."""


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for any other store)."""
    return Path(uri[len(SQLITE_PREFIX) :]) if uri.startswith(SQLITE_PREFIX) else None


def resolve_tracking_uri(where: str | os.PathLike | None = None, cwd: Path | None = None) -> str:
    """The tracking URI the runner writes to.

    Nothing means ``sqlite:///<cwd>/mlflow.db``, the one default its README and its resume command
    promise (so ``$MLFLOW_TRACKING_URI`` is not read: it would move a study's store silently); a
    relative SQLite path is made absolute (Ray changes the working directory of trials, and a resumed
    study must find the same file); other URIs are returned as given (``--tracking-uri`` is checked by
    ``study.guard.preflight``); the file need not exist yet. ``analysis`` reads by another policy:
    ``tracking_uri_to_read``.
    """
    cwd = (cwd or Path.cwd()).resolve()
    if where is None:
        return f"{SQLITE_PREFIX}{cwd / DEFAULT_STORE}"
    uri = str(where)
    path = sqlite_path(uri)
    if path is None:
        return uri
    return f"{SQLITE_PREFIX}{path if path.is_absolute() else (cwd / path).resolve()}"


def tracking_uri_to_read(where: str | os.PathLike | None = None) -> str:
    """The tracking URI ``analysis`` reads: nothing means ``$MLFLOW_TRACKING_URI`` if set (MLflow's own
    convention), else ``./mlflow.db``; a plain path names an existing SQLite file and becomes
    ``sqlite:///<absolute>``; a URI is returned as given. A store to read must exist: ``StoreNotFound``
    otherwise."""
    if where is None:
        where = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_STORE
    text = str(where)
    if text.startswith(URI_SCHEMES):
        database = sqlite_path(text)
        if database is not None and not database.is_file():
            raise StoreNotFound(
                f"{text}: the SQLite file {database} does not exist; run a study first "
                "(`python -m study.run <study> --profile smoke`) or point at the store it wrote"
            )
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise StoreNotFound(
            f"no MLflow store at {text!r}: give --tracking-uri a SQLite file written by "
            "`python -m study.run` (e.g. ./mlflow.db), a URI such as sqlite:////abs/path/mlflow.db, "
            "or a server http://host:port"
        )
    return f"{SQLITE_PREFIX}{path.resolve()}"


def server_problem(uri: str) -> str | None:
    """Why the MLflow server of an ``http(s)://`` URI cannot be used (None if it answers MLflow's API
    within ``SERVER_TIMEOUT_S``): MLflow itself would retry for minutes. Credentials from the URI or
    MLflow's variables are sent as MLflow sends them; a message never holds them."""
    parts = urlsplit(uri)
    if not parts.hostname:
        return "no host; write it as http://HOST:PORT"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    probe = parts._replace(netloc=netloc, path=parts.path.rstrip("/"), query="").geturl() + MLFLOW_PROBE
    request = urllib.request.Request(probe)
    user = parts.username or os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = parts.password or os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}")
    not_mlflow = (
        "a server answered but it is not an MLflow tracking server ({}); give the address of `mlflow "
        "server` (with its path prefix, if it is behind a proxy)"
    )
    try:
        with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT_S) as response:
            answer = json.loads(response.read(2**20).decode())
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            return (
                f"the server refused the credentials (HTTP {error.code}); set MLFLOW_TRACKING_USERNAME "
                "and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
            )
        return not_mlflow.format(f"HTTP {error.code} to {MLFLOW_PROBE.split('?')[0]}")
    except (ValueError, UnicodeDecodeError):
        return not_mlflow.format("its answer is not MLflow's JSON")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return (
            f"no MLflow server answered within {SERVER_TIMEOUT_S:g} s ({reason}); start it (mlflow server "
            "--host 127.0.0.1 --port 5000 ...) or give another URI"
        )
    return None if isinstance(answer, dict) else not_mlflow.format("its answer is not MLflow's JSON")


def role_filter(role: str, parent_id: str | None = None) -> str:
    """The search filter of a study's parent runs (``ROLE_PARENT``) or of one parent's trial runs."""
    query = f"tags.`{TAG_ROLE}` = '{role}'"
    return query if parent_id is None else f"{query} and tags.`{TAG_PARENT}` = '{parent_id}'"


def search_runs(client: Any, experiment_id: str, filter_string: str, limit: int | None = None) -> list:
    """Every active run of the experiment that matches ``filter_string``, oldest first, following
    MLflow's pages (``client`` is an ``MlflowClient``; at most ``limit`` runs if given)."""
    runs: list = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            max_results=limit or PAGE_SIZE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token or (limit is not None and len(runs) >= limit):
            return runs


def label_distributions(client: Any, runs: list) -> dict[str, dict[str, Any]]:
    """run id -> parsed ``label_distribution.json`` for the runs that logged one (``client`` is an
    ``MlflowClient``)."""
    import tempfile

    import mlflow
    from mlflow.exceptions import MlflowException

    found = {}
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ[name] = "false"  # MLflow draws a progress bar per artifact download
    try:
        with tempfile.TemporaryDirectory() as folder:
            for run in runs:
                destination = Path(folder) / run.info.run_id
                destination.mkdir()
                try:
                    path = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{run.info.artifact_uri}/{ARTIFACT_LABELS}",
                        dst_path=str(destination),
                        tracking_uri=client.tracking_uri,
                    )
                except (OSError, MlflowException):
                    continue  # this run logged no label distribution
                found[run.info.run_id] = json.loads(Path(path).read_text())
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
    return found
