"""A study's trials as tidy pandas frames, read from MLflow only.

``load_study(name, tracking_uri)`` gives a ``LoggedStudy``:

- ``trials``: one row per trial (child run): ``run_id``, ``trial_id``, ``config_id``, ``seed``,
  ``status`` (the ``ips.status`` tag), ``run_status`` (MLflow's), ``error``, ``epochs`` (last logged
  step), then every param as its own column (dotted config keys such as ``patches.size`` and
  ``derived.*``), parsed back to numbers, booleans and None where they look like them.
- ``history``: one row per (trial, metric, epoch): ``run_id``, ``trial_id``, ``config_id``, ``seed``,
  ``metric``, ``step`` (= epoch, 1-based), ``value``, ``timestamp``. When a metric was logged twice at
  one step (an epoch re-run after a resume), **the last value counts**: the one with the latest
  timestamp. Two values with the same millisecond timestamp cannot be ordered from the store (MLflow
  keeps no insertion order); the last in MLflow's own order (timestamp, step, value) is kept then.
- ``labels``: run id -> the parsed ``label_distribution.json`` artifact (``{split: {task: {class:
  count}}}``), for runs that logged it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from analysis.epoch_values import summarised_trials
from analysis.store import Invocation, client_for, select_invocation, trial_runs
from study import tracking

TRIAL_COLUMNS = ("run_id", "trial_id", "config_id", "seed", "status", "run_status", "error", "epochs")
HISTORY_THREADS = 4
PROVENANCE_TAGS = {  # what a trial ran on (ips.provenance): the key in LoggedStudy.provenance -> its tag
    "cpu_model": f"{tracking.TAG_MACHINE_PREFIX}cpu_model",
    "torch_threads": f"{tracking.TAG_MACHINE_PREFIX}torch_threads",
    "data_fingerprint": tracking.TAG_DATA_FINGERPRINT,
}
HISTORY_COLUMNS = ("run_id", "trial_id", "config_id", "seed", "metric", "step", "value", "timestamp")


@dataclass(frozen=True)
class Task:
    name: str
    kind: str  # "multiclass" | "multilabel"
    classes: int | None


@dataclass
class LoggedStudy:
    """Everything one invocation of a study logged, as frames."""

    name: str
    invocation: Invocation
    tracking_uri: str
    trials: pd.DataFrame
    history: pd.DataFrame
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # chance per (run, split, task): as stored, for a study read from trials.csv (analysis.trials_csv);
    # else computed from ``labels`` on first use and kept here (analysis.chance.study_chance)
    chance_levels: pd.DataFrame | None = None
    # run id -> {"cpu_model", "torch_threads", "data_fingerprint"}: what the run ran on (ips.provenance)
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def axes(self) -> list[str]:
        """The varied config fields: the ``ips.axes`` tag's fields that are logged params, plus the
        params that vary across trials when the tag is missing or names a label (e.g. ``digit`` for
        fields that move together) instead of fields."""
        tagged = list(self.invocation.axes)
        present = [axis for axis in tagged if axis in self.trials]
        if tagged and len(present) == len(tagged):
            return present
        return present + [p for p in varying_params(self.trials) if p not in present]

    @property
    def tasks(self) -> list[Task]:
        return tasks_of(self.trials, self.history)

    @property
    def metric(self) -> str:
        return self.invocation.metric or tracking.accuracy_metric("val")

    @property
    def mode(self) -> str:
        return self.invocation.mode or "max"

    @property
    def label(self) -> str:
        return f"{self.name}@{self.invocation.index}"

    def summarised_trials(self, how: str = "final") -> pd.DataFrame:
        """``trials`` plus every metric's value at the summary epoch (see ``analysis.epoch_values``)."""
        return summarised_trials(self.trials, self.history, how, self.metric, self.mode)


def load_study(
    name: str, tracking_uri: str | os.PathLike | None = None, invocation: str | int | None = None
) -> LoggedStudy:
    """Load one invocation (default: the latest) of study ``name`` from an MLflow store."""
    client = client_for(tracking_uri)
    chosen = select_invocation(client, name, invocation)
    runs = trial_runs(client, chosen)
    history = load_history(client, runs)
    trials = trial_frame(runs, history)
    labels = tracking.label_distributions(client, runs)
    provenance = {run.info.run_id: run_provenance(run) for run in runs}
    return LoggedStudy(name, chosen, client.tracking_uri, trials, history, labels, provenance=provenance)


def run_provenance(run: Run) -> dict[str, str]:
    """The machine and data record a trial run was tagged with (empty for runs logged before it)."""
    found = {key: run.data.tags.get(tag) for key, tag in PROVENANCE_TAGS.items()}
    return {key: value for key, value in found.items() if value is not None}


# trials ---------------------------------------------------------------------------------------------


def trial_frame(runs: list[Run], history: pd.DataFrame) -> pd.DataFrame:
    """One row per trial run (see the module docstring for the columns)."""
    rows = [_trial_row(run) for run in runs]
    frame = pd.DataFrame(rows, columns=None if rows else list(TRIAL_COLUMNS))
    for column in TRIAL_COLUMNS:
        if column not in frame:
            frame[column] = None
    last_steps = history.groupby("run_id")["step"].max() if len(history) else pd.Series(dtype=int)
    frame["epochs"] = frame["run_id"].map(last_steps).fillna(0).astype(int)
    params = [c for c in frame.columns if c not in TRIAL_COLUMNS]
    return frame[list(TRIAL_COLUMNS) + sorted(params)]


def _trial_row(run: Run) -> dict[str, Any]:
    tags = run.data.tags
    params = {key: parse_param(value) for key, value in run.data.params.items()}
    seed = tags.get(tracking.TAG_SEED, params.get(tracking.PARAM_SEED))
    return {
        "run_id": run.info.run_id,
        "trial_id": tags.get(tracking.TAG_TRIAL_ID, run.info.run_id),
        "config_id": tags.get(tracking.TAG_CONFIG_ID) or _config_id_from(run.data.params),
        "seed": None if seed is None else int(seed),
        "status": tags.get(tracking.TAG_STATUS),
        "run_status": run.info.status,
        "error": tags.get(tracking.TAG_ERROR),
        **params,
    }


def _config_id_from(params: dict[str, str]) -> str:
    return tracking.config_id(params)


def parse_param(text: str) -> Any:
    """An MLflow param (always a string) back to the value it was: int, float, bool, None or str."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def varying_params(trials: pd.DataFrame) -> list[str]:
    """Config params that take more than one value across trials (seeds and derived values excluded)."""
    skip = set(TRIAL_COLUMNS) | {tracking.PARAM_SEED}
    columns = [c for c in trials.columns if c not in skip and not c.startswith(tracking.DERIVED_PREFIX)]
    return [c for c in columns if trials[c].astype(str).nunique() > 1]


def tasks_of(trials: pd.DataFrame, history: pd.DataFrame) -> list[Task]:
    """The tasks, from the ``tasks.<i>.*`` params, else from the per-task metric names."""
    tasks, i = [], 0
    while f"tasks.{i}.name" in trials and len(trials):
        first = trials.iloc[0]
        classes = first.get(f"tasks.{i}.classes")
        tasks.append(Task(first[f"tasks.{i}.name"], first.get(f"tasks.{i}.kind", "multiclass"), classes))
        i += 1
    if tasks:
        return tasks
    names = sorted({m.split("/")[1] for m in history.get("metric", []) if m.count("/") == 2})
    return [Task(name, "multiclass", None) for name in names]


# history --------------------------------------------------------------------------------------------


def load_history(client: MlflowClient, runs: list[Run], dedupe: bool = True) -> pd.DataFrame:
    """Every logged metric value of ``runs`` (see the module docstring); ``dedupe``: last value wins.

    One ``get_metric_history`` call per (run, metric), a few at a time (it is the slow part with a
    remote server)."""
    requests = [(run, key) for run in runs for key in sorted(run.data.metrics)]
    with ThreadPoolExecutor(max_workers=HISTORY_THREADS) as pool:
        histories = pool.map(lambda item: client.get_metric_history(item[0].info.run_id, item[1]), requests)
        rows = [
            (*_run_ids(run), key, metric.step, metric.value, metric.timestamp)
            for (run, key), history in zip(requests, histories, strict=True)
            for metric in history
        ]
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    frame["seed"] = pd.to_numeric(frame["seed"]).astype("Int64")
    frame["step"] = frame["step"].astype(int)
    frame["value"] = frame["value"].astype(float)
    return last_value_wins(frame) if dedupe else frame


def _run_ids(run: Run) -> tuple[str, str, str | None, str | None]:
    tags = run.data.tags
    seed = tags.get(tracking.TAG_SEED, run.data.params.get(tracking.PARAM_SEED))
    return (
        run.info.run_id,
        tags.get(tracking.TAG_TRIAL_ID, run.info.run_id),
        tags.get(tracking.TAG_CONFIG_ID),
        seed,
    )


def last_value_wins(history: pd.DataFrame) -> pd.DataFrame:
    """Keep one value per (run, metric, step): the latest timestamp; ties keep the later row."""
    ordered = history.reset_index(drop=True)
    ordered = ordered.assign(_arrival=range(len(ordered)))
    ordered = ordered.sort_values(["run_id", "metric", "step", "timestamp", "_arrival"], kind="stable")
    kept = ordered.drop_duplicates(["run_id", "metric", "step"], keep="last")
    return kept.drop(columns="_arrival").reset_index(drop=True)


# artifacts ------------------------------------------------------------------------------------------
