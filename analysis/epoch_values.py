"""One number per trial and metric: the final epoch (default) or the best epoch, always explicit.

- ``final``: every metric at the trial's last logged epoch (the last step of the selection metric).
- ``best``: every metric at the *one* epoch where the study's selection metric (the ``ips.metric``
  tag, ``val/accuracy`` by default) was best for that trial (``ips.mode``: max or min; ties go to the
  earliest epoch). All tasks are read at that same epoch: no per-task cherry-picking.

Resource metrics are summarised over the whole run instead: peak memory is the maximum over epochs,
time per batch the mean over epochs.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from study import tracking

Summary = Literal["final", "best"]
SUMMARIES: tuple[str, ...] = ("final", "best")
SUMMARY_EPOCH = "summary_epoch"  # the epoch a run's values were read at ("epoch" is a logged metric)
DESCRIPTIONS = {
    "final": "value at the final epoch",
    "best": "value at the epoch with the best {metric} ({mode}) of each trial",
}


def check_summary(how: str) -> None:
    if how not in SUMMARIES:
        raise ValueError(f"summary {how!r} is not known; use 'final' or 'best'")


def describe(how: str, metric: str, mode: str) -> str:
    check_summary(how)
    return DESCRIPTIONS[how].format(metric=metric, mode=mode)


def chosen_epochs(history: pd.DataFrame, how: str, metric: str, mode: str = "max") -> pd.Series:
    """run_id -> the epoch whose values summarise the run."""
    check_summary(how)
    selection = history[history["metric"] == metric]
    if selection.empty:  # the selection metric was never logged: fall back to any metric's last step
        return history.groupby("run_id")["step"].max().rename(SUMMARY_EPOCH)
    if how == "final":
        return selection.groupby("run_id")["step"].max().rename(SUMMARY_EPOCH)
    ascending = mode == "min"
    ordered = selection.sort_values(["run_id", "value", "step"], ascending=[True, ascending, True])
    return ordered.groupby("run_id")["step"].first().rename(SUMMARY_EPOCH)


def summarise(
    history: pd.DataFrame, how: str = "final", metric: str | None = None, mode: str = "max"
) -> pd.DataFrame:
    """Wide frame: one row per run (index ``run_id``), column ``summary_epoch`` and one per metric."""
    metric = metric or tracking.accuracy_metric("val")
    epochs = chosen_epochs(history, how, metric, mode)
    at_epoch = history.merge(epochs, left_on="run_id", right_index=True)
    at_epoch = at_epoch[at_epoch["step"] == at_epoch[SUMMARY_EPOCH]]
    wide = at_epoch.pivot_table(index="run_id", columns="metric", values="value", aggfunc="last")
    wide.columns.name = None
    return pd.concat([epochs, wide], axis=1).rename_axis("run_id")


def resources(history: pd.DataFrame) -> pd.DataFrame:
    """Per run: ``peak_memory_mb`` (max over epochs) and ``seconds_per_batch`` (mean over epochs)."""
    frame = pd.DataFrame(index=pd.Index(history["run_id"].unique(), name="run_id"))
    memory = history[history["metric"] == tracking.METRIC_PEAK_MEMORY_MB].groupby("run_id")["value"].max()
    speed = history[history["metric"] == tracking.METRIC_SECONDS_PER_BATCH].groupby("run_id")["value"].mean()
    frame["peak_memory_mb"] = memory
    frame["seconds_per_batch"] = speed
    return frame


def summarised_trials(
    trials: pd.DataFrame,
    history: pd.DataFrame,
    how: str = "final",
    metric: str | None = None,
    mode: str = "max",
) -> pd.DataFrame:
    """The trials frame with each metric's summary value (``how``), ``summary_epoch`` and the resources
    joined on: one row per trial with its config columns, seed, status and summary metrics."""
    values = summarise(history, how, metric, mode).join(resources(history))
    return trials.join(values, on="run_id")
