"""Findings about where accuracy falls to chance: noise thickness (convergence) and O2I x data size.

Both read the headline task's accuracy minus each trial's own chance level (the blind model of
``analysis.chance``: the training set's most frequent class, scored on the split), with the
Welch-Satterthwaite t intervals of ``analysis.intervals``. See ``analysis.findings`` for the other
checks and ``analysis.verdicts`` for the decision rules.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis import intervals, published
from analysis.headline import decided_on_headline, excess_values, gate, headline_task
from analysis.runs import LoggedStudy
from analysis.status import DEFAULT_MARGIN
from analysis.tables import ratio
from analysis.task_values import missing_params
from analysis.verdicts import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NOT_TESTED,
    Finding,
    effect_verdict,
    unless_few_seeds,
)

UNKNOWN_CHANCE = "chance level unknown: not judged (see analysis.chance)"


# convergence ----------------------------------------------------------------------------------------


def convergence(
    study: LoggedStudy,
    summary: str = "final",
    margin: float = DEFAULT_MARGIN,
    field: str = "data.noise_thickness",
) -> Finding:
    """The noise thickness from which training **and** validation accuracy of the headline task are at
    chance: a level is *at chance* when the upper ends of both intervals (accuracy minus chance, over
    its seeds) lie below ``margin``, and *above* when the lower end of either lies above ``margin``.
    Holds when the thinnest level learned (its validation excess above 0) and every level from some
    thickness on is at chance; does not hold when the thickest level is above chance; otherwise
    inconclusive."""
    name = "convergence"
    claim = "Training and validation accuracy fall to chance from some noise thickness on."
    params = {"summary": summary, "margin": margin, "field": field}
    if missing_params(study, [field]):
        return Finding(name, claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params)
    stopped = gate(study, name, claim, params, summary)
    if stopped is not None:
        return stopped
    task = headline_task(study)
    rows = [_convergence_row(study, summary, t.name, field, margin) for t in study.tasks]
    return decided_on_headline(name, claim, [r["row"] for r in rows], task, params, _levels_frame(rows))


def _convergence_row(study: LoggedStudy, summary: str, task: str, field: str, margin: float) -> dict:
    tables = {}
    for split in ("train", "val"):
        values = excess_values(study, split, summary, [field], task).dropna(subset=["excess"])
        tables[split] = intervals.cell_stats(values["excess"], values[field])
    levels = sorted(set(tables["train"].index) & set(tables["val"].index))
    if not levels:
        return {"row": {"task": task, "verdict": INCONCLUSIVE, "note": UNKNOWN_CHANCE}, "levels": []}
    found = {s: {lv: intervals.one_cell(tables[s], lv) for lv in levels} for s in tables}
    at_chance = [all(_high(found[s][lv]) < margin for s in found) for lv in levels]
    above = [any(_low(found[s][lv]) > margin for s in found) for lv in levels]
    first = next((i for i in range(len(levels)) if all(at_chance[i:])), None)
    learns = _low(found["val"][levels[0]]) > 0
    if above[-1]:
        verdict, where = DOES_NOT_HOLD, f"still above chance at {levels[-1]}"
    elif first is not None and first > 0 and learns:
        verdict, where = HOLDS, f"at chance from {levels[first]} on, learning at {levels[0]}"
    elif first == 0:
        verdict, where = (
            INCONCLUSIVE,
            "at chance at every level (nothing learnt there: not a thickness effect)",
        )
    else:
        verdict, where = INCONCLUSIVE, "no level from which both splits are shown to be at chance"
    parts = ", ".join(
        f"{lv}: train {found['train'][lv].text()}, val {found['val'][lv].text()}" for lv in levels
    )
    note = f"{where} (within {100 * margin:.0f} points; accuracy minus chance: {parts})"
    seeds = min(intervals.fewest_seeds(tables[s], levels) for s in tables)
    verdict, note = unless_few_seeds(verdict, note, seeds)
    frame = [
        {
            "task": task,
            field: lv,
            "seeds": int(tables["val"].at[lv, "n"]),
            **{
                f"{s}_{key}": getattr(found[s][lv], attr)
                for s in ("train", "val")
                for key, attr in (("excess", "value"), ("ci_low", "low"), ("ci_high", "high"))
            },
            "at_chance": at_chance[i],
        }
        for i, lv in enumerate(levels)
    ]
    threshold = levels[first] if first is not None and first > 0 else math.nan
    row = {"task": task, "seeds_min": seeds, "threshold": threshold, "verdict": verdict, "note": note}
    return {"row": row, "levels": frame}


def _levels_frame(rows: list[dict]) -> pd.DataFrame:
    """The evidence: one row per (task, level) with both splits' excess and intervals, and the
    verdict of its task."""
    verdicts = {r["row"]["task"]: r["row"]["verdict"] for r in rows}
    frame = pd.DataFrame([level for r in rows for level in r["levels"]])
    if frame.empty:
        return pd.DataFrame([r["row"] for r in rows])
    return frame.assign(verdict=frame["task"].map(verdicts))


def _low(estimate: intervals.Estimate) -> float:
    return estimate.low if estimate.known else -math.inf


def _high(estimate: intervals.Estimate) -> float:
    return estimate.high if estimate.known else math.inf


# O2I x training-set size ----------------------------------------------------------------------------


def paper_interaction(task: str, size_field: str = "data.train_canvases") -> float:
    """Figure 4's own contrast for ``task``: the data-size gain (largest minus smallest training set)
    at the smallest O2I minus that at the largest; NaN where the paper gives no grid."""
    table = published.table_for_study("o2i_data_size")
    if table is None or not table.transcribed:
        return math.nan
    grid = {
        (v["row"]["data.digit_size"], v["row"][size_field]): v["mean"]
        for v in table.values
        if v["column"] == task and v.get("split", "val") == "val"
    }
    if not grid:
        return math.nan
    digits, sizes = sorted({d for d, _ in grid}), sorted({n for _, n in grid})
    gain = {d: grid[(d, sizes[-1])] - grid[(d, sizes[0])] for d in (digits[0], digits[-1])}
    return float(gain[digits[0]] - gain[digits[-1]])


def o2i_data_interaction(
    study: LoggedStudy,
    summary: str = "final",
    delta: float = 0.05,
    size_field: str = "data.train_canvases",
) -> Finding:
    """Figure 4's interaction as a contrast: the data-size gain (validation accuracy minus chance with
    the largest training set, minus that with the smallest) at the smallest O2I, minus the gain at the
    largest O2I. The paper's grid gives it a sign (for the majority digit: +40.8 points, the gain is
    larger where the object is smaller); the claim is a contrast of that sign and at least ``delta``,
    judged by the effect rule on the headline task. A plain data-size effect that is the same at
    both ratios gives a contrast near 0: it does not hold."""
    name = "O2I x data size"
    claim = (
        "The O2I threshold below which IPS fails to generalise depends on the training-set size: more data "
        "helps more at the smaller object-to-image ratio."
    )
    params = {"summary": summary, "delta": delta, "size_field": size_field}
    if missing_params(study, [size_field]):
        return Finding(name, claim, INCONCLUSIVE, f"param {size_field} was not logged", parameters=params)
    stopped = gate(study, name, claim, params, summary)
    if stopped is not None:
        return stopped
    o2i = ratio(study.trials.set_index("run_id"), "object_to_image_ratio").rename("o2i")
    values = excess_values(study, "val", summary, [size_field]).dropna(subset=["excess"])
    values = values.assign(o2i=o2i.reindex(values["run_id"]).to_numpy())
    if values["o2i"].nunique() < 2 or values[size_field].nunique() < 2:
        reason = "needs at least two object-to-image ratios and two training-set sizes on the axes"
        return Finding(name, claim, NOT_TESTED, reason, parameters=params)
    rows = [
        _interaction_row(values[values["task"] == t.name], t.name, size_field, delta) for t in study.tasks
    ]
    return decided_on_headline(name, claim, rows, headline_task(study), params)


def _interaction_row(values: pd.DataFrame, task: str, size_field: str, delta: float) -> dict:
    if values.empty:
        return {"task": task, "verdict": INCONCLUSIVE, "note": UNKNOWN_CHANCE}
    small, large = values["o2i"].min(), values["o2i"].max()
    few, many = values[size_field].min(), values[size_field].max()
    cells = list(zip(values["o2i"], values[size_field], strict=True))
    table = intervals.cell_stats(values["excess"], cells)
    corners = [(small, few), (small, many), (large, few), (large, many)]
    gains = {o: intervals.difference(table, (o, many), (o, few)) for o in (small, large)}
    weights = {(small, many): 1.0, (small, few): -1.0, (large, many): -1.0, (large, few): 1.0}
    paper = paper_interaction(task, size_field)
    direction = -1.0 if paper < 0 else 1.0  # the paper's sign (positive where it gives none)
    found = intervals.contrast(table, weights).scaled(direction)
    seeds = intervals.fewest_seeds(table, corners)
    note = (
        f"gain from {few} to {many} canvases {gains[small].text()} at O2I {100 * small:.3g}%, "
        f"{gains[large].text()} at {100 * large:.3g}%; contrast (in the paper's direction) "
        f"{found.text()}; the paper's {100 * direction * paper:+.1f}"
    )
    verdict, note = unless_few_seeds(effect_verdict(found, delta), note, seeds)
    return {
        "task": task,
        "seeds_min": seeds,
        "gain_at_smallest_o2i": gains[small].value,
        "gain_at_largest_o2i": gains[large].value,
        "contrast": found.value,
        "ci_low": found.low,
        "ci_high": found.high,
        "paper_contrast": direction * paper,
        "verdict": verdict,
        "note": note,
    }
