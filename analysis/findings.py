"""The follow-up paper's findings, each checked on logged runs with a verdict and its uncertainty.

Every check takes a loaded ``LoggedStudy`` (plus explicit thresholds) and returns a ``Finding`` (see
``analysis.verdicts`` for the three decision rules). Uncertainty is a bootstrap over seeds,
stratified by configuration (``analysis.bootstrap``). Accuracies are validation accuracies at the
chosen summary epoch unless a check says otherwise; chance levels come from the logged label
distributions, and tasks whose chance level is unknown are left out of checks that need one.

- ``object_to_patch``: in low data, accuracy falls as the patch grows past the object (per task).
- ``convergence``: the noise thickness from which training and validation accuracy are at chance.
- ``noise_amount``: with ample data, the amount of noise does not change accuracy.
- ``o2i_data_interaction``: the O2I threshold below which IPS fails moves with the training-set size.
- ``memory_size``: accuracy rises with the memory size (the original IPS paper's trade-off; the
  follow-up has no memory table).
- ``patch_size_claim`` (``analysis.claims``): the abstract's +15% (Megapixel MNIST) and +5% (traffic
  signs) of the tuned patch over the original IPS object-to-patch ratio (patch 150 at Table 4's
  84-pixel digits; patch 100 on the traffic signs), as a difference with its bootstrap interval.

The two threshold checks (convergence, O2I x data size) live in ``analysis.chance_thresholds``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import bootstrap
from analysis.chance_thresholds import convergence, o2i_data_interaction
from analysis.claims import patch_size_claim
from analysis.runs import LoggedStudy
from analysis.task_values import missing_params, trial_values
from analysis.verdicts import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    Finding,
    all_of,
    effect_verdict,
    negligible_verdict,
    unless_few_seeds,
)


def _every_task(name: str, claim: str, rows: list[dict], params: dict, evidence=None) -> Finding:
    """A finding that holds when it holds for every task: ``rows`` are the per-task verdicts and notes."""
    evidence = pd.DataFrame(rows) if evidence is None else evidence
    reason = "; ".join(f"{r['task']}: {r['verdict']} ({r['note']})" for r in rows)
    verdict = all_of(list(evidence["verdict"]))
    return Finding(name, claim, verdict, reason, evidence, bootstrap.DESCRIPTION, params)


def _slopes(x: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``means`` [draws, points] against ``x`` [points]."""
    centred = x - x.mean()
    return (means - means.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)


# object-to-patch ------------------------------------------------------------------------------------


def object_to_patch(
    study: LoggedStudy,
    summary: str = "final",
    delta: float = 0.02,
    patch_field: str = "patches.size",
    object_field: str = "data.digit_size",
    seed: int = 0,
) -> Finding:
    """Accuracy falls as the patch grows past the object: the slope of validation accuracy against
    log2(patch size), over the patch sizes at least as large as the object, is negative (a fall of at
    least ``delta`` per doubling of the patch), for every task."""
    claim = "In low data, accuracy falls as the patch grows past the object (per task)."
    params = {"summary": summary, "delta_per_doubling": delta, "patch_field": patch_field}
    missing = missing_params(study, [patch_field, object_field])
    if missing:
        return Finding(
            "object-to-patch", claim, INCONCLUSIVE, f"params {missing} were not logged", parameters=params
        )
    values = trial_values(study, "val", summary, fields=[patch_field, object_field])
    past = values[values[patch_field] >= values[object_field]].dropna(subset=["value"])
    rows = [
        _patch_row(past[past["task"] == task.name], task.name, patch_field, delta, seed)
        for task in study.tasks
    ]
    return _every_task("object-to-patch", claim, rows, params)


def _patch_row(values: pd.DataFrame, task: str, patch_field: str, delta: float, seed: int) -> dict:
    row = _trend_row(values, task, patch_field, delta, seed, direction=-1)
    return {"task": task, "patch_sizes": row.pop("levels"), **row}


def _trend_row(values: pd.DataFrame, task: str, field: str, delta: float, seed: int, direction: int) -> dict:
    """One task's trend of accuracy against log2(``field``): a fall (``direction`` -1) or a rise (+1)
    per doubling, with its bootstrap interval over seeds and the effect rule's verdict."""
    levels = sorted(values[field].unique())
    row = {"task": task, "levels": ", ".join(str(s) for s in levels), "seeds_min": 0}
    if len(levels) < 2:
        return {**row, "verdict": INCONCLUSIVE, "note": f"fewer than two values of {field}"}
    groups = values[field]
    picks = bootstrap.picks_by_group(groups, seed=seed)
    x = np.log2(np.array(levels, dtype=float))
    means = values.groupby(field)["value"].mean().reindex(levels).to_numpy()
    trend = direction * float(_slopes(x, means[None, :])[0])
    draws = direction * _slopes(x, bootstrap.resampled_means(values["value"], picks)[levels].to_numpy())
    low, high = bootstrap.interval(draws)
    seeds = bootstrap.fewest_seeds(groups)
    word = "fall" if direction < 0 else "rise"
    note = f"{word} per doubling {trend:+.3f}, 95% CI [{low:+.3f}, {high:+.3f}]"
    verdict, note = unless_few_seeds(effect_verdict(trend, low, high, delta), note, seeds)
    return {
        **row,
        "seeds_min": seeds,
        "accuracy_first": means[0],
        "accuracy_last": means[-1],
        f"{word}_per_doubling": trend,
        "ci_low": low,
        "ci_high": high,
        "verdict": verdict,
        "note": note,
    }


# memory size ----------------------------------------------------------------------------------------


def memory_size(
    study: LoggedStudy,
    summary: str = "final",
    delta: float = 0.02,
    field: str = "selection.memory_size",
    seed: int = 0,
) -> Finding:
    """IPS (Bergner et al., 2023) keeps more of the image as the memory grows, and its accuracy grows
    with it up to a saturation: the slope of validation accuracy against log2(memory size) is positive
    (a rise of at least ``delta`` per doubling), for every task. The follow-up has no such table; this
    is the original paper's trade-off, checked on the follow-up's setting."""
    claim = "Accuracy rises with the memory size (per task, per doubling of the patches kept)."
    params = {"summary": summary, "delta_per_doubling": delta, "field": field}
    if missing_params(study, [field]):
        return Finding("memory size", claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params)
    values = trial_values(study, "val", summary, fields=[field]).dropna(subset=["value"])
    rows = [
        _trend_row(values[values["task"] == task.name], task.name, field, delta, seed, direction=1)
        for task in study.tasks
    ]
    evidence = pd.DataFrame(rows).rename(columns={"levels": "memory_sizes"})
    return _every_task("memory size", claim, rows, params, evidence)


# noise amount ---------------------------------------------------------------------------------------


def noise_amount(
    study: LoggedStudy,
    summary: str = "final",
    delta: float = 0.03,
    field: str = "data.noise_count",
    seed: int = 0,
) -> Finding:
    """With ample data the amount of noise does not matter: for every task, the spread (largest minus
    smallest mean validation accuracy over the noise amounts) stays below ``delta``."""
    claim = "With ample training data, the amount of noise does not change accuracy."
    params = {"summary": summary, "delta": delta, "field": field}
    if missing_params(study, [field]):
        return Finding(
            "noise amount", claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params
        )
    values = trial_values(study, "val", summary, fields=[field]).dropna(subset=["value"])
    rows = [
        _spread_row(values[values["task"] == task.name], task.name, field, delta, seed)
        for task in study.tasks
    ]
    sizes = sorted(study.trials.get("data.train_canvases", pd.Series(dtype=float)).dropna().unique())
    params["train_canvases"] = ", ".join(str(s) for s in sizes) or "not logged"
    return _every_task("noise amount", claim, rows, params)


def _spread_row(values: pd.DataFrame, task: str, field: str, delta: float, seed: int) -> dict:
    levels = sorted(values[field].unique())
    if len(levels) < 2:
        return {"task": task, "verdict": INCONCLUSIVE, "note": "fewer than two noise amounts"}
    picks = bootstrap.picks_by_group(values[field], seed=seed)
    means = values.groupby(field)["value"].mean().reindex(levels)
    draws = bootstrap.resampled_means(values["value"], picks)[levels].to_numpy()
    spread = float(means.max() - means.min())
    low, high = bootstrap.interval(draws.max(axis=1) - draws.min(axis=1))
    seeds = bootstrap.fewest_seeds(values[field])
    note = (
        f"spread {spread:.3f}, 95% CI [{low:.3f}, {high:.3f}], best {means.idxmax()}, worst {means.idxmin()}"
    )
    verdict, note = unless_few_seeds(negligible_verdict(spread, low, high, delta), note, seeds)
    return {
        "task": task,
        "seeds_min": seeds,
        "spread": spread,
        "ci_low": low,
        "ci_high": high,
        "best": means.idxmax(),
        "worst": means.idxmin(),
        "verdict": verdict,
        "note": note,
    }


CHECKS = {
    "patch_size_low_data": (object_to_patch, patch_size_claim),
    "patch_size_traffic": (patch_size_claim,),
    "noise_thickness": (convergence,),
    "noise_thickness_continuous": (convergence,),
    "noise_amount": (noise_amount,),
    "o2i_data_size": (o2i_data_interaction,),
    "memory_size": (memory_size,),
}


def check_study(study: LoggedStudy, summary: str = "final") -> list[Finding]:
    """Every finding that applies to ``study`` (by its name)."""
    return [check(study, summary=summary) for check in CHECKS.get(study.name, ())]


__all__ = [
    "CHECKS",
    "DOES_NOT_HOLD",
    "HOLDS",
    "INCONCLUSIVE",
    "Finding",
    "check_study",
    "convergence",
    "memory_size",
    "noise_amount",
    "o2i_data_interaction",
    "object_to_patch",
    "patch_size_claim",
]
