"""Trial status honesty: every trial lands in exactly one outcome, and every table counts them all.

Outcomes (a partition of the trials):

- ``completed`` / ``early_stopped``: the ``ips.status`` tag, for trials that learnt something;
- ``not_converged``: a completed or early-stopped trial whose **training** accuracy stayed within
  ``margin`` (default 0.05, i.e. 5 percentage points) of chance on every task with a known chance
  level, at every epoch (the maximum over epochs never exceeded chance + margin);
- ``failed``, ``running``, ``interrupted``: the tag; ``unknown``: no ``ips.status`` tag, or a value
  that ``study.tracking.STATUSES`` does not list (counted, never dropped).

A trial with no task of known chance level cannot be judged and keeps its tag. Not-converged trials
are results (a model at chance *is* the finding of the noise-thickness study), so tables still
average them with the completed ones; the counts say how many there were.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.chance import study_chance
from analysis.runs import LoggedStudy
from study import tracking

NOT_CONVERGED = "not_converged"
UNKNOWN = "unknown"
FINISHED = (tracking.STATUS_COMPLETED, tracking.STATUS_EARLY_STOPPED)
OUTCOMES = (
    *FINISHED,
    NOT_CONVERGED,
    *(status for status in tracking.STATUSES if status not in FINISHED),  # failed, running, interrupted
    UNKNOWN,
)
ALWAYS_SHOWN = (*FINISHED, NOT_CONVERGED, tracking.STATUS_FAILED, tracking.STATUS_RUNNING)
DEFAULT_MARGIN = 0.05
# The trials that tables and findings average by default (``study.tracking``, also the runner's rule).
SUMMARISED_STATUSES = tracking.SUMMARISED_STATUSES


def training_excess(study: LoggedStudy) -> pd.DataFrame:
    """Per run and task: best training accuracy over epochs, its chance level and the excess."""
    history = study.history
    rows = []
    chance = study_chance(study)
    chance = chance[chance["split"] == "train"].set_index(["run_id", "task"])["chance"]
    for task in study.tasks:
        metric = tracking.accuracy_metric("train", task.name)
        best = history[history["metric"] == metric].groupby("run_id")["value"].max()
        for run_id, value in best.items():
            level = chance.get((run_id, task.name), math.nan)
            rows.append((run_id, task.name, value, level, value - level))
    return pd.DataFrame(rows, columns=["run_id", "task", "best_train_accuracy", "chance", "excess"])


def converged(study: LoggedStudy, margin: float = DEFAULT_MARGIN) -> pd.Series:
    """run_id -> True / False / NA (NA: no task with a known chance level and a training accuracy)."""
    excess = training_excess(study).dropna(subset=["excess"])
    verdict = excess.groupby("run_id")["excess"].max() > margin
    return verdict.reindex(study.trials["run_id"]).astype("boolean")


def outcomes(study: LoggedStudy, margin: float = DEFAULT_MARGIN) -> pd.Series:
    """run_id -> one of ``OUTCOMES``."""
    status = study.trials.set_index("run_id")["status"]
    status = status.where(status.isin(tracking.STATUSES), UNKNOWN)  # no tag, or one we do not know
    learnt = converged(study, margin)
    not_converged = status.isin(FINISHED) & learnt.eq(False).fillna(False)
    return status.where(~not_converged, NOT_CONVERGED).rename("outcome")


def outcome_counts(outcome: pd.Series, groups: pd.Series | None = None) -> pd.DataFrame:
    """Count outcomes (columns, all of ``OUTCOMES`` plus ``total``), per group if ``groups`` is given."""
    keys = groups.reindex(outcome.index) if groups is not None else pd.Series("all", index=outcome.index)
    counts = pd.crosstab(keys, outcome).reindex(columns=list(OUTCOMES), fill_value=0)
    counts["total"] = counts.sum(axis=1)
    counts.columns.name = None
    return counts
