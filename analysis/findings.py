"""The follow-up paper's findings, each checked on logged runs with a verdict and its interval.

Every check takes a loaded ``LoggedStudy`` (plus explicit thresholds) and returns a ``Finding`` (see
``analysis.verdicts`` for the decision rules). Each is **decided on the headline task** declared in
``analysis.headline`` (the majority digit on Megapixel MNIST, the sign on the traffic signs); the
other tasks are reported beside it and do not decide. It passes the gate of ``analysis.headline``
first: no verdict on a smoke profile or where the headline task never learned. Intervals are
Welch-Satterthwaite t intervals over seeds (``analysis.intervals``), at least 3 seeds per cell for a
verdict. Accuracies are validation accuracies at the summary epoch, in points (percentage points of
accuracy) wherever they are printed.

- ``object_to_patch``: in low data, accuracy falls as the patch grows past the object.
- ``convergence``: the noise thickness from which training and validation accuracy are at chance.
- ``noise_amount``: with ample data, the amount of noise does not change accuracy.
- ``o2i_data_interaction``: the data-size gain is larger at the smaller O2I (Figure 4's interaction).
- ``memory_size``: accuracy rises with the memory size (the original IPS paper's trade-off; the
  follow-up has no memory table).
- ``patch_size_claim`` (``analysis.claims``): the abstract's +15% (Megapixel MNIST) and +5% (traffic
  signs) of the tuned patch over the original IPS object-to-patch ratio.

The two chance-level checks (convergence, O2I x data size) live in ``analysis.chance_thresholds``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from analysis import intervals
from analysis.chance_thresholds import convergence, o2i_data_interaction
from analysis.claims import patch_size_claim
from analysis.headline import decided_on_headline, excess_values, gate, headline_task
from analysis.runs import LoggedStudy
from analysis.task_values import missing_params
from analysis.verdicts import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NOT_TESTED,
    Finding,
    effect_verdict,
    negligible_verdict,
    plain,
    unless_few_seeds,
)


def _trend_row(values: pd.DataFrame, task: str, field: str, delta: float, direction: int) -> dict:
    """One task's trend of accuracy against log2(``field``): a fall (``direction`` -1) or a rise (+1)
    in points per doubling, the slope of the cell means with its t interval, by the effect rule."""
    levels = sorted(values[field].unique())
    row = {"task": task, "levels": ", ".join(str(s) for s in levels), "seeds_min": 0}
    if len(levels) < 2:
        return {**row, "verdict": INCONCLUSIVE, "note": f"fewer than two values of {field}"}
    table = intervals.cell_stats(values["value"], values[field])
    trend = intervals.slope(table, levels, np.log2(np.array(levels, dtype=float))).scaled(direction)
    seeds = intervals.fewest_seeds(table, levels)
    word = "fall" if direction < 0 else "rise"
    note = f"{word} per doubling {trend.text()}"
    verdict, note = unless_few_seeds(effect_verdict(trend, delta), note, seeds)
    return {
        **row,
        "seeds_min": seeds,
        "accuracy_first": table.at[levels[0], "mean"],
        "accuracy_last": table.at[levels[-1], "mean"],
        f"{word}_per_doubling": trend.value,
        "ci_low": trend.low,
        "ci_high": trend.high,
        "verdict": verdict,
        "note": note,
    }


# object-to-patch ------------------------------------------------------------------------------------


def object_to_patch(
    study: LoggedStudy,
    summary: str = "final",
    delta: float = 0.02,
    patch_field: str = "patches.size",
    object_field: str = "data.digit_size",
) -> Finding:
    """Accuracy falls as the patch grows past the object: the slope of validation accuracy against
    log2(patch size), over the patch sizes at least as large as the object, is negative (a fall of at
    least ``delta`` per doubling of the patch), on the headline task."""
    name, claim = "object-to-patch", "In low data, accuracy falls as the patch grows past the object."
    params = {"summary": summary, "delta_per_doubling": delta, "patch_field": patch_field}
    missing = missing_params(study, [patch_field, object_field])
    if missing:
        return Finding(name, claim, INCONCLUSIVE, f"params {missing} were not logged", parameters=params)
    stopped = gate(study, name, claim, params, summary)
    if stopped is not None:
        return stopped
    values = excess_values(study, "val", summary, [patch_field, object_field])
    past = values[values[patch_field] >= values[object_field]]
    objects = plain(sorted(values[object_field].unique()))
    if past[patch_field].nunique() < 2:
        sizes = plain(sorted(values[patch_field].unique()))
        reason = (
            f"fewer than two patch sizes at or past the object ({objects} pixels) on the axis "
            f"{sizes}: the trend past the object cannot be measured"
        )
        return Finding(name, claim, NOT_TESTED, reason, parameters=params)
    rows = [
        _trend_row(past[past["task"] == task.name], task.name, patch_field, delta, direction=-1)
        for task in study.tasks
    ]
    return decided_on_headline(name, claim, rows, headline_task(study), params)


# memory size ----------------------------------------------------------------------------------------


def memory_size(
    study: LoggedStudy, summary: str = "final", delta: float = 0.02, field: str = "selection.memory_size"
) -> Finding:
    """IPS (Bergner et al., 2023) keeps more of the image as the memory grows, and its accuracy grows
    with it up to a saturation: the slope of validation accuracy against log2(memory size) is positive
    (a rise of at least ``delta`` per doubling), on the headline task. The follow-up has no such
    table; this is the original paper's trade-off, checked on the follow-up's setting."""
    name, claim = "memory size", "Accuracy rises with the memory size (per doubling of the patches kept)."
    params = {"summary": summary, "delta_per_doubling": delta, "field": field}
    if missing_params(study, [field]):
        return Finding(name, claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params)
    stopped = gate(study, name, claim, params, summary)
    if stopped is not None:
        return stopped
    values = excess_values(study, "val", summary, [field])
    rows = [
        _trend_row(values[values["task"] == task.name], task.name, field, delta, direction=1)
        for task in study.tasks
    ]
    evidence = pd.DataFrame(rows).rename(columns={"levels": "memory_sizes"})
    return decided_on_headline(name, claim, rows, headline_task(study), params, evidence)


# noise amount ---------------------------------------------------------------------------------------


def noise_amount(
    study: LoggedStudy, summary: str = "final", delta: float = 0.03, field: str = "data.noise_count"
) -> Finding:
    """With ample data the amount of noise does not matter: on the headline task, every pair of noise
    amounts differs by less than ``delta`` (each pair's Welch interval, Bonferroni-corrected for the
    number of pairs, inside (-delta, delta)); does not hold when some pair's interval lies wholly
    outside it."""
    name, claim = "noise amount", "With ample training data, the amount of noise does not change accuracy."
    params = {"summary": summary, "delta": delta, "field": field}
    if missing_params(study, [field]):
        return Finding(name, claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params)
    stopped = gate(study, name, claim, params, summary)
    if stopped is not None:
        return stopped
    values = excess_values(study, "val", summary, [field])
    rows = [_spread_row(values[values["task"] == t.name], t.name, field, delta) for t in study.tasks]
    sizes = sorted(study.trials.get("data.train_canvases", pd.Series(dtype=float)).dropna().unique())
    params["train_canvases"] = ", ".join(str(s) for s in sizes) or "not logged"
    return decided_on_headline(name, claim, rows, headline_task(study), params)


def _spread_row(values: pd.DataFrame, task: str, field: str, delta: float) -> dict:
    levels = sorted(values[field].unique())
    if len(levels) < 2:
        return {"task": task, "verdict": INCONCLUSIVE, "note": "fewer than two noise amounts"}
    table = intervals.cell_stats(values["value"], values[field])
    pairs = list(itertools.combinations(levels, 2))
    level = 1 - (1 - intervals.LEVEL) / len(pairs)  # Bonferroni over the pairs
    found = {pair: intervals.difference(table, pair[1], pair[0], level) for pair in pairs}
    verdicts = [negligible_verdict(estimate, delta) for estimate in found.values()]
    if DOES_NOT_HOLD in verdicts:
        verdict = DOES_NOT_HOLD
    elif verdicts and all(v == HOLDS for v in verdicts):
        verdict = HOLDS
    else:
        verdict = INCONCLUSIVE
    widest = max(found, key=lambda pair: abs(found[pair].value) if found[pair].known else -math.inf)
    means = table["mean"]
    note = (
        f"spread {100 * (means.max() - means.min()):.1f} points (best {means.idxmax()}, worst "
        f"{means.idxmin()}); widest pair {widest[1]} - {widest[0]}: {found[widest].text()} "
        f"(Bonferroni over {len(pairs)} pairs)"
    )
    verdict, note = unless_few_seeds(verdict, note, intervals.fewest_seeds(table, levels))
    return {
        "task": task,
        "seeds_min": intervals.fewest_seeds(table, levels),
        "spread": float(means.max() - means.min()),
        "widest_pair": f"{widest[1]} - {widest[0]}",
        "ci_low": found[widest].low,
        "ci_high": found[widest].high,
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
    "NOT_TESTED",
    "Finding",
    "check_study",
    "convergence",
    "memory_size",
    "noise_amount",
    "o2i_data_interaction",
    "object_to_patch",
    "patch_size_claim",
]
