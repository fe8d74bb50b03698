"""Every value a study's report rests on, as one tidy ``trials.csv``, and back as a study.

A committed result keeps this file beside its report, so that anyone can recompute every table, plot
and verdict without the MLflow store it came from (``python -m analysis.report --from-csv FILE``).

One row per **trial x epoch x split x task**, where task ``all tasks`` holds the split's means over
the tasks (``val/accuracy``, ``val/loss``: the study's selection metric):

- the invocation: ``study``, ``invocation`` (its parent run id), ``invocation_index``, ``profile``,
  ``git_commit``, ``started`` (UTC), ``axes`` (JSON list), ``metric``, ``mode``, ``searched``;
- the trial: ``run_id``, ``trial_id``, ``config_id``, ``seed``, ``status``, ``run_status``, ``error``,
  ``cpu_model``, ``torch_threads``, ``data_fingerprint`` (``ips.provenance``, where logged), then every
  logged param (the flattened config and ``derived.*``) under its dotted name;
- the value: ``epoch``, ``split``, ``task``, ``accuracy``, ``loss``, and the task's ``chance`` on that
  split with ``chance_upper_bound`` and ``chance_basis`` (``analysis.chance``);
- the epoch's resources, repeated on its rows: ``lr``, ``seconds_per_batch``, ``images_per_second``,
  ``epoch_seconds``, ``peak_memory_mb``.

``read(path)`` gives back a ``LoggedStudy`` whose ``trials``, ``history`` and chance levels are those
the file was written from, so that a report built from it is the report built from the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.chance import CHANCE_COLUMNS, study_chance
from analysis.runs import PROVENANCE_TAGS, TRIAL_COLUMNS, LoggedStudy, parse_param
from analysis.store import Invocation
from study import tracking

ALL_TASKS = "all tasks"
INVOCATION_COLUMNS = (
    "study",
    "invocation",
    "invocation_index",
    "profile",
    "git_commit",
    "started",
    "axes",
    "metric",
    "mode",
    "searched",
)
PROVENANCE_COLUMNS = tuple(PROVENANCE_TAGS)
VALUE_COLUMNS = ("epoch", "split", "task", "accuracy", "loss", "chance", "chance_upper_bound", "chance_basis")
RESOURCE_METRICS = {
    "lr": tracking.METRIC_LR,
    "seconds_per_batch": tracking.METRIC_SECONDS_PER_BATCH,
    "images_per_second": tracking.METRIC_IMAGES_PER_SECOND,
    "epoch_seconds": tracking.METRIC_EPOCH_SECONDS,
    "peak_memory_mb": tracking.METRIC_PEAK_MEMORY_MB,
}


def frame(study: LoggedStudy) -> pd.DataFrame:
    """The rows of ``trials.csv`` (see the module docstring)."""
    inv = study.invocation
    history = study.history.pivot_table(
        index=["run_id", "step"], columns="metric", values="value", aggfunc="last"
    )
    chance = study_chance(study).set_index(["run_id", "split", "task"])
    rows = []
    names = [task.name for task in study.tasks]
    for trial in study.trials.to_dict("records"):
        run_id = trial["run_id"]
        if run_id not in history.index.get_level_values(0):
            continue
        fixed = {
            "study": study.name,
            "invocation": inv.run_id,
            "invocation_index": inv.index,
            "profile": inv.profile,
            "git_commit": inv.git_commit,
            "started": inv.start_time.isoformat(),
            "axes": json.dumps(list(inv.axes)),
            "metric": inv.metric,
            "mode": inv.mode,
            "searched": inv.searched,
            **{column: trial.get(column) for column in TRIAL_COLUMNS if column != "epochs"},
            **{column: study.provenance.get(run_id, {}).get(column) for column in PROVENANCE_COLUMNS},
            **{k: v for k, v in trial.items() if k not in TRIAL_COLUMNS},
        }
        for step, metrics in history.loc[run_id].iterrows():
            resources = {column: metrics.get(metric) for column, metric in RESOURCE_METRICS.items()}
            for split in tracking.SPLITS:
                for task in [*names, ALL_TASKS]:
                    name = None if task == ALL_TASKS else task
                    level = (
                        chance.loc[(run_id, split, task)] if (run_id, split, task) in chance.index else None
                    )
                    rows.append(
                        {
                            **fixed,
                            "epoch": int(step),
                            "split": split,
                            "task": task,
                            "accuracy": metrics.get(tracking.accuracy_metric(split, name)),
                            "loss": metrics.get(tracking.loss_metric(split, name)),
                            "chance": None if level is None else level["chance"],
                            "chance_upper_bound": None if level is None else level["upper_bound"],
                            "chance_basis": None if level is None else level["basis"],
                            **resources,
                        }
                    )
    return pd.DataFrame(rows)


def write(study: LoggedStudy, path: Path) -> Path:
    frame(study).to_csv(path, index=False)
    return path


class NotTrialsCsv(ValueError):
    """A file that is not a trials.csv: the message names the missing columns."""


def read(path: str | Path) -> LoggedStudy:
    """The study that ``trials.csv`` at ``path`` was written from (its trials, history and chance)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such trials.csv; give the file a report wrote (docs/results/*/trials.csv)"
        )
    rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in (*INVOCATION_COLUMNS, "run_id", *VALUE_COLUMNS) if c not in rows]
    if missing:
        raise NotTrialsCsv(
            f"{path}: not a trials.csv (no column {', '.join(missing)}); give one a report wrote"
        )
    first = rows.iloc[0]
    invocation = Invocation(
        study=first["study"],
        run_id=first["invocation"],
        index=int(first["invocation_index"]),
        profile=first["profile"] or None,
        axes=tuple(json.loads(first["axes"])),
        metric=first["metric"] or None,
        mode=first["mode"] or None,
        git_commit=first["git_commit"] or None,
        start_time=pd.Timestamp(first["started"]),
        searched=first["searched"] == "True",
    )
    return LoggedStudy(
        first["study"],
        invocation,
        f"trials.csv: {path}",
        _trials(rows),
        _history(rows),
        chance_levels=_chance(rows),
        provenance=_provenance(rows),
    )


def _value(text: str):
    return None if text == "" else parse_param(text)


def _trials(rows: pd.DataFrame) -> pd.DataFrame:
    skip = set(INVOCATION_COLUMNS) | set(VALUE_COLUMNS) | set(RESOURCE_METRICS) | set(PROVENANCE_COLUMNS)
    params = [c for c in rows.columns if c not in skip and c not in TRIAL_COLUMNS]
    trials = rows.drop_duplicates("run_id")[[c for c in TRIAL_COLUMNS if c in rows] + params].copy()
    for column in trials.columns:
        trials[column] = trials[column].map(_value)
    last = pd.to_numeric(rows["epoch"]).groupby(rows["run_id"]).max()
    trials["epochs"] = trials["run_id"].map(last).astype(int)
    return trials[list(TRIAL_COLUMNS) + sorted(params)].reset_index(drop=True)


def _history(rows: pd.DataFrame) -> pd.DataFrame:
    ids = rows[["run_id", "trial_id", "config_id", "seed", "epoch"]]
    parts = []
    for kind, metric_of in (("accuracy", tracking.accuracy_metric), ("loss", tracking.loss_metric)):
        names = [
            metric_of(split, None if task == ALL_TASKS else task)
            for split, task in zip(rows["split"], rows["task"], strict=True)
        ]
        parts.append(ids.assign(metric=names, value=rows[kind]))
    firsts = rows.drop_duplicates(["run_id", "epoch"])
    for column, metric in RESOURCE_METRICS.items():
        if column in rows:
            parts.append(firsts[ids.columns].assign(metric=metric, value=firsts[column]))
    history = pd.concat(parts, ignore_index=True)
    history = history[history["value"] != ""].drop_duplicates(["run_id", "metric", "epoch"])
    history = history.rename(columns={"epoch": "step"})
    history["seed"] = pd.to_numeric(history["seed"]).astype("Int64")
    history["step"] = history["step"].astype(int)
    history["value"] = history["value"].astype(float)
    history["timestamp"] = 0
    return history.reset_index(drop=True)


def _chance(rows: pd.DataFrame) -> pd.DataFrame:
    tasks = rows[rows["task"] != ALL_TASKS].drop_duplicates(["run_id", "split", "task"])
    levels = tasks.rename(columns={"chance_upper_bound": "upper_bound", "chance_basis": "basis"})
    for column in ("chance", "upper_bound"):
        levels[column] = pd.to_numeric(levels[column], errors="coerce")  # "" (unknown): NaN
    return levels[CHANCE_COLUMNS].reset_index(drop=True)


def _provenance(rows: pd.DataFrame) -> dict[str, dict[str, str]]:
    present = [c for c in PROVENANCE_COLUMNS if c in rows]
    firsts = rows.drop_duplicates("run_id").set_index("run_id")[present]
    return {run_id: {k: v for k, v in values.items() if v != ""} for run_id, values in firsts.iterrows()}
