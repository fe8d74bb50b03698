"""Which task decides a finding, whether it learned, and the gate every finding passes first.

Declared beforehand, not picked after the numbers: each finding is **decided on one headline task**,
the majority digit (``majority``) on Megapixel MNIST (the follow-up names it first and reports its
findings strongest there; none of its claims names another task) and the one task (``sign``) on the
traffic signs. The other tasks are reported beside it, as evidence that does not decide.

A finding is judged only where it can mean something:

- not on a ``smoke`` profile (its accuracies mean nothing: it runs every code path in a minute);
- only if the headline task **learned somewhere**: in some trial its training accuracy (at the
  summary epoch) rose above the training set's chance (the blind model of ``analysis.chance``) by at
  least ``LEARNED_MARGIN``. A finding about where accuracy falls cannot be told from a model that
  never learned anything.

Otherwise the finding is *inconclusive* and its reason says which of these stopped it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import intervals
from analysis.runs import LoggedStudy
from analysis.task_values import trial_values
from analysis.verdicts import INCONCLUSIVE, Finding

HEADLINE_TASKS = {"megapixel_mnist": "majority", "traffic_signs": "sign"}
LEARNED_MARGIN = 0.05  # accuracy above the training chance that counts as learning (5 points)
UNJUDGED_PROFILES = {"smoke": "a smoke profile runs every code path in a minute; its accuracies mean nothing"}


def headline_task(study: LoggedStudy) -> str | None:
    """The declared headline task of ``study``'s dataset (``data.name``), else its first task."""
    names = [task.name for task in study.tasks]
    dataset = study.trials["data.name"].dropna().iloc[0] if "data.name" in study.trials else None
    declared = HEADLINE_TASKS.get(dataset)
    if declared in names:
        return declared
    return names[0] if names else None


def excess_values(
    study: LoggedStudy, split: str, summary: str, fields: list[str], task: str | None = None
) -> pd.DataFrame:
    """``trial_values`` plus ``excess`` (accuracy minus that trial's own chance level), for ``task``
    only when given."""
    values = trial_values(study, split, summary, fields=fields).dropna(subset=["value"])
    if task is not None:
        values = values[values["task"] == task]
    return values.assign(excess=values["value"] - values["chance"])


def learning(study: LoggedStudy, summary: str = "final", margin: float = LEARNED_MARGIN) -> pd.DataFrame:
    """Per task: the trial whose training accuracy (at the summary epoch) rose most above its training
    chance, that excess, and whether the task ``learned`` somewhere (some trial at least ``margin``
    above chance: with 1,000 training canvases, 5 points is four binomial standard errors)."""
    values = excess_values(study, "train", summary, fields=[]).dropna(subset=["excess"])
    rows = []
    for task in study.tasks:
        own = values[values["task"] == task.name]
        if own.empty:
            rows.append({"task": task.name, "learned": False, "train_excess": math.nan, "note": "no chance"})
            continue
        best = own.loc[own["excess"].idxmax()]
        rows.append(
            {
                "task": task.name,
                "learned": bool(best["excess"] >= margin),
                "train_excess": float(best["excess"]),
                "best_config": best["config_id"],
                "best_seed": best["seed"],
                "note": f"best trial's training accuracy {100 * best['excess']:+.1f} points above chance",
            }
        )
    return pd.DataFrame(rows)


def gate(study: LoggedStudy, name: str, claim: str, params: dict, summary: str = "final") -> Finding | None:
    """An inconclusive ``Finding`` saying why ``study`` cannot be judged, or None when it can."""
    task = headline_task(study)
    params.setdefault("headline_task", task)
    profile = study.invocation.profile
    if profile in UNJUDGED_PROFILES:
        return Finding(
            name, claim, INCONCLUSIVE, f"not judged: {UNJUDGED_PROFILES[profile]}", parameters=params
        )
    if task is None:
        return Finding(name, claim, INCONCLUSIVE, "not judged: no task was logged", parameters=params)
    learned = learning(study, summary).set_index("task")
    if task not in learned.index or not bool(learned.at[task, "learned"]):
        excess = learned["train_excess"].get(task, np.nan)
        seen = (
            "no training accuracy with a chance level" if pd.isna(excess) else f"at most {100 * excess:+.1f}"
        )
        return Finding(
            name,
            claim,
            INCONCLUSIVE,
            f"not judged: the headline task ({task}) never learned (training accuracy above the "
            f"training chance: {seen}, {100 * LEARNED_MARGIN:.0f} needed); nothing was learned "
            "that the finding could be about",
            learned.reset_index(),
            parameters=params,
        )
    return None


def decided_on_headline(
    name: str, claim: str, rows: list[dict], headline: str, params: dict, evidence=None
) -> Finding:
    """A finding whose verdict is its headline task's row; the other rows are reported beside it."""
    evidence = pd.DataFrame(rows) if evidence is None else evidence
    evidence["decides"] = evidence["task"] == headline
    decisive = next((r for r in rows if r["task"] == headline), None)
    if decisive is None:
        reason = f"no values of the headline task {headline}"
        return Finding(name, claim, INCONCLUSIVE, reason, evidence, parameters=params)
    others = "; ".join(f"{r['task']}: {r['verdict']} ({r['note']})" for r in rows if r["task"] != headline)
    reason = f"{headline}: {decisive['note']}" + (f"; other tasks, not deciding: {others}" if others else "")
    return Finding(name, claim, decisive["verdict"], reason, evidence, intervals.DESCRIPTION, params)
