"""Findings about where accuracy falls to chance: noise thickness (convergence) and O2I x data size.

Both read accuracy minus the chance level of each task (``analysis.chance``); tasks whose chance level
is unknown are left out. A level is "at chance" when the mean over seeds is within ``margin`` of it.
See ``analysis.findings`` for the other checks and ``analysis.verdicts`` for the decision rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import bootstrap
from analysis.runs import LoggedStudy
from analysis.status import DEFAULT_MARGIN
from analysis.tables import ratio
from analysis.task_values import missing_params, trial_values
from analysis.verdicts import INCONCLUSIVE, Finding, any_of, probability_verdict, unless_few_seeds

UNKNOWN_CHANCE = "chance level unknown: not judged (see analysis.chance)"


# convergence ----------------------------------------------------------------------------------------


def _excess_per_run(
    study: LoggedStudy, split: str, summary: str, field: str
) -> tuple[pd.DataFrame, list[str]]:
    """Per run: accuracy minus chance, averaged over the tasks with a known chance level."""
    values = trial_values(study, split, summary, fields=[field]).dropna(subset=["value"])
    known = sorted(values.loc[values["chance"].notna(), "task"].unique())
    values = values[values["task"].isin(known)]
    values = values.assign(excess=values["value"] - values["chance"])
    per_run = values.groupby(["run_id", field], as_index=False)["excess"].mean()
    return per_run, known


def _after_last(mask: np.ndarray) -> np.ndarray:
    """Per row of ``mask`` [draws, levels]: the index just after its last True (0 where none is True)."""
    last = np.where(mask.any(axis=1), mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1), -1)
    return last + 1


def _first_at_chance(at_chance: np.ndarray) -> np.ndarray:
    """Per row of ``at_chance`` [draws, levels]: index of the first level from which every level is at
    chance; -1 if the last level is above chance (never falls); 0 means at chance everywhere."""
    return np.where(at_chance[:, -1], _after_last(~at_chance), -1)


def convergence(
    study: LoggedStudy,
    summary: str = "final",
    margin: float = DEFAULT_MARGIN,
    field: str = "data.noise_thickness",
    seed: int = 0,
) -> Finding:
    """The noise thickness from which training **and** validation accuracy are at chance (within
    ``margin`` of it, averaged over the tasks with a known chance level), at every larger thickness.
    Holds when a bootstrap draw shows such a threshold inside the tested range (learning below it)
    in at least 95% of draws; does not hold when 95% of draws show accuracy above chance at the
    thickest noise."""
    claim = "Training and validation accuracy fall to chance from some noise thickness on."
    params = {"summary": summary, "margin": margin, "field": field}
    if missing_params(study, [field]):
        return Finding("convergence", claim, INCONCLUSIVE, f"param {field} was not logged", parameters=params)
    train, known = _excess_per_run(study, "train", summary, field)
    val, _ = _excess_per_run(study, "val", summary, field)
    runs = train.merge(val, on=["run_id", field], suffixes=("_train", "_val")).dropna()
    if not known or runs.empty:
        return Finding(
            "convergence",
            claim,
            INCONCLUSIVE,
            "no task with a known chance level and accuracies",
            parameters=params,
        )
    levels = sorted(runs[field].unique())
    picks = bootstrap.picks_by_group(runs[field], seed=seed)
    boot = {
        s: bootstrap.resampled_means(runs[f"excess_{s}"], picks)[levels].to_numpy() for s in ("train", "val")
    }
    point = {
        s: runs.groupby(field)[f"excess_{s}"].mean().reindex(levels).to_numpy() for s in ("train", "val")
    }
    first = _first_at_chance((boot["train"] <= margin) & (boot["val"] <= margin))
    estimate = _first_at_chance(((point["train"] <= margin) & (point["val"] <= margin))[None, :])[0]
    p_falls, p_never = float(np.mean(first > 0)), float(np.mean(first == -1))
    seeds = bootstrap.fewest_seeds(runs[field])
    reason = _convergence_reason(estimate, levels, first, p_falls, p_never, float(np.mean(first == 0)))
    verdict, reason = unless_few_seeds(probability_verdict(p_falls, p_never), reason, seeds)
    evidence = _convergence_evidence(levels, point, boot, margin, runs[field], field)
    params["tasks"] = ", ".join(known)
    return Finding("convergence", claim, verdict, reason, evidence, bootstrap.DESCRIPTION, params)


def _convergence_reason(estimate, levels, first, p_falls, p_never, p_nothing) -> str:
    if estimate > 0:
        where = f"at chance from {levels[estimate]} on"
    elif estimate == 0:
        where = "at chance at every level (nothing learnt: not a thickness effect)"
    else:
        where = "still above chance at the largest level"
    found = [levels[i] for i in first if i > 0]
    spread = f"; threshold over draws {min(found)}–{max(found)}" if found else ""
    draws = f"falls {p_falls:.0%}, never falls {p_never:.0%}, never learns {p_nothing:.0%}"
    return f"point estimate: {where}; draws: {draws}{spread}"


def _convergence_evidence(levels, point, boot, margin, groups, field) -> pd.DataFrame:
    seeds = pd.Series(groups.to_numpy()).value_counts()
    rows = []
    for i, level in enumerate(levels):
        row = {field: level, "seeds": int(seeds[level])}
        for split in ("train", "val"):
            low, high = bootstrap.interval(boot[split][:, i])
            row |= {
                f"{split}_excess": point[split][i],
                f"{split}_ci_low": low,
                f"{split}_ci_high": high,
                f"{split}_at_chance": bool(point[split][i] <= margin),
            }
        rows.append(row)
    return pd.DataFrame(rows)


# O2I x training-set size ----------------------------------------------------------------------------


def _generalising_from(excess: np.ndarray, margin: float) -> np.ndarray:
    """Per row of ``excess`` [draws, O2I levels ascending]: index of the smallest O2I from which every
    larger O2I is above chance + ``margin`` (0: all generalise; levels: none at the largest)."""
    return _after_last(~(excess > margin))


def o2i_data_interaction(
    study: LoggedStudy,
    summary: str = "final",
    margin: float = DEFAULT_MARGIN,
    size_field: str = "data.train_canvases",
    seed: int = 0,
) -> Finding:
    """The O2I threshold (the smallest O2I from which validation accuracy is above chance + ``margin``
    at every larger O2I) is lower with the largest training set than with the smallest. Per task:
    holds in at least 95% of bootstrap draws; does not hold when 95% of draws show a threshold inside
    the range that does not move down. The finding holds if it holds for some judged task (the paper
    reports it strong for Maj and Top, weaker for Max and almost absent for Multi) and does not hold if
    it does not hold for every judged task; tasks of unknown chance level are not judged."""
    claim = "The O2I threshold below which IPS fails to generalise depends on the training-set size."
    params = {"summary": summary, "margin": margin, "size_field": size_field}
    if missing_params(study, [size_field]):
        return Finding(
            "O2I x data size", claim, INCONCLUSIVE, f"param {size_field} was not logged", parameters=params
        )
    o2i = ratio(study.trials.set_index("run_id"), "object_to_image_ratio").rename("o2i")
    values = trial_values(study, "val", summary, fields=[size_field]).dropna(subset=["value"])
    values = values.assign(o2i=o2i.reindex(values["run_id"]).to_numpy())
    rows = [
        _interaction_row(values[values["task"] == t.name], t.name, size_field, margin, seed)
        for t in study.tasks
    ]
    evidence = pd.DataFrame(rows)
    evidence["judged"] = ~evidence["note"].str.startswith(UNKNOWN_CHANCE)
    verdict = any_of(list(evidence.loc[evidence["judged"], "verdict"]))
    reason = "; ".join(f"{r['task']}: {r['verdict']} ({r['note']})" for r in rows)
    return Finding("O2I x data size", claim, verdict, reason, evidence, bootstrap.DESCRIPTION, params)


def _interaction_row(values: pd.DataFrame, task: str, size_field: str, margin: float, seed: int) -> dict:
    if values.empty or values["chance"].isna().all():
        return {"task": task, "verdict": INCONCLUSIVE, "note": UNKNOWN_CHANCE}
    o2is, sizes = sorted(values["o2i"].unique()), sorted(values[size_field].unique())
    if len(o2is) < 2 or len(sizes) < 2:
        return {
            "task": task,
            "verdict": INCONCLUSIVE,
            "note": "needs at least two O2I ratios and two data sizes",
        }
    code = {cell: i for i, cell in enumerate((o, n) for o in o2is for n in sizes)}  # (O2I, size) -> int
    cells = pd.Series(
        [code[c] for c in zip(values["o2i"], values[size_field], strict=True)], index=values.index
    )
    excess = values["value"] - values["chance"]
    needed = [code[(o, n)] for o in o2is for n in (sizes[0], sizes[-1])]
    if not set(needed) <= set(cells):
        return {
            "task": task,
            "verdict": INCONCLUSIVE,
            "note": "the grid misses cells at the smallest or largest data size",
        }
    picks = bootstrap.picks_by_group(cells, seed=seed)
    boot = bootstrap.resampled_means(excess, picks)
    means = excess.groupby(cells).mean()
    point = {cell: means.get(i, np.nan) for cell, i in code.items()}
    smallest, largest = sizes[0], sizes[-1]
    thresholds = {
        n: _generalising_from(boot[[code[(o, n)] for o in o2is]].to_numpy(), margin)
        for n in (smallest, largest)
    }
    shift = thresholds[smallest] - thresholds[largest]
    informative = (thresholds[smallest] < len(o2is)) | (thresholds[largest] < len(o2is))
    informative &= (thresholds[smallest] > 0) | (thresholds[largest] > 0)
    p_claim, p_opposite = float(np.mean(shift > 0)), float(np.mean((shift <= 0) & informative))
    seeds = bootstrap.fewest_seeds(cells)
    point_thresholds = {
        n: int(_generalising_from(np.array([[point[(o, n)] for o in o2is]]), margin)[0])
        for n in (smallest, largest)
    }
    gains = [point[(o, largest)] - point[(o, smallest)] for o in o2is]
    note = (
        f"threshold level (0 = smallest O2I, {len(o2is)} = none) with {smallest} canvases: "
        f"{point_thresholds[smallest]}, with {largest}: {point_thresholds[largest]}; "
        f"P(moves down) {p_claim:.0%}, P(does not) {p_opposite:.0%}"
    )
    verdict, note = unless_few_seeds(probability_verdict(p_claim, p_opposite), note, seeds)
    return {
        "task": task,
        "seeds_min": seeds,
        "threshold_small_data": point_thresholds[smallest],
        "threshold_large_data": point_thresholds[largest],
        "p_moves_down": p_claim,
        "p_does_not": p_opposite,
        "gain_at_smallest_o2i": gains[0],
        "gain_at_largest_o2i": gains[-1],
        "verdict": verdict,
        "note": note,
    }
