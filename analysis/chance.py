"""Chance levels per task, from the logged ``label_distribution.json`` (never typed by hand).

The artifact holds ``{split: {task: {class: count}}}`` with split ``train`` or ``val``.

- **Multiclass** (argmax accuracy): chance is what always answering the most frequent class scores,
  ``max_c count_c / N`` with ``N = sum_c count_c``. (On Megapixel MNIST the ``max`` task's most
  frequent class is 9, at about 30%.)
- **Multilabel** (the trainer scores *exact match*: all labels right at threshold 0.5): chance is
  the frequency of the most frequent label *vector*. Per-class counts do not determine it, so:
  if the artifact also holds vector counts under the optional key
  ``{"vectors": {split: {task: {"0,3,7": count}}}}`` (classes present, comma-separated), that
  frequency is the chance level (``basis="label vectors"``). Otherwise the chance level is reported
  as **unknown** (NaN) together with the best bound the per-class counts give:
  ``P(Y = v) <= min_c P(Y_c = v_c)``, so chance ``<= min_c max(p_c, 1 - p_c)``
  (``basis="upper bound only"``). Unknown chance levels are left out of convergence checks rather
  than guessed. ``N`` for a multilabel task is the size of the split, read from a multiclass task
  of the same split, else from the ``data.train_canvases`` / ``data.validation_canvases`` params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.runs import LoggedStudy, Task

SPLIT_SIZE_PARAMS = {"train": "data.train_canvases", "val": "data.validation_canvases"}
VECTORS_KEY = "vectors"


@dataclass(frozen=True)
class Chance:
    value: float  # NaN when unknown
    upper_bound: float
    basis: str  # "most frequent class" | "label vectors" | "upper bound only" | "no label distribution"


def multiclass_chance(counts: dict[Any, int]) -> Chance:
    total = sum(counts.values())
    value = max(counts.values()) / total if total else math.nan
    return Chance(value, value, "most frequent class")


def multilabel_chance(counts: dict[Any, int], size: float, vectors: dict[str, int] | None) -> Chance:
    """Exact-match chance of a multilabel task (see the module docstring)."""
    if size and size > 0:
        frequencies = [counts.get(c, 0) / size for c in counts] or [0.0]
        bound = min(max(p, 1 - p) for p in frequencies)
    else:
        bound = math.nan
    if vectors:
        value = max(vectors.values()) / sum(vectors.values())
        return Chance(value, bound, "label vectors")
    return Chance(math.nan, bound, "upper bound only")


def split_size(distribution: dict[str, Any], split: str, tasks: list[Task], params: dict[str, Any]) -> float:
    """Number of images in ``split``: the count total of a multiclass task, else the size param."""
    for task in tasks:
        counts = distribution.get(split, {}).get(task.name)
        if task.kind == "multiclass" and counts:
            return float(sum(counts.values()))
    value = params.get(SPLIT_SIZE_PARAMS.get(split, ""))
    return float(value) if value is not None and not pd.isna(value) else math.nan


def chance_levels(
    distribution: dict[str, Any] | None, tasks: list[Task], split: str, params: dict[str, Any] | None = None
) -> dict[str, Chance]:
    """Chance level of every task on one split of one run's label distribution."""
    params = params or {}
    if not distribution or split not in distribution:
        return {task.name: Chance(math.nan, math.nan, "no label distribution") for task in tasks}
    size = split_size(distribution, split, tasks, params)
    levels = {}
    for task in tasks:
        counts = distribution[split].get(task.name) or {}
        if task.kind == "multilabel":
            vectors = distribution.get(VECTORS_KEY, {}).get(split, {}).get(task.name)
            levels[task.name] = multilabel_chance(counts, size, vectors)
        elif counts:
            levels[task.name] = multiclass_chance(counts)
        else:
            levels[task.name] = Chance(math.nan, math.nan, "no label distribution")
    return levels


def study_chance(study: LoggedStudy) -> pd.DataFrame:
    """Chance per trial, split and task: ``run_id, config_id, split, task, chance, upper_bound, basis``."""
    rows = []
    for trial in study.trials.to_dict("records"):
        distribution = study.labels.get(trial["run_id"])
        for split in ("train", "val"):
            for task, level in chance_levels(distribution, study.tasks, split, trial).items():
                rows.append((trial["run_id"], trial["config_id"], split, task, *_fields(level)))
    columns = ["run_id", "config_id", "split", "task", "chance", "upper_bound", "basis"]
    return pd.DataFrame(rows, columns=columns)


def _fields(level: Chance) -> tuple[float, float, str]:
    return level.value, level.upper_bound, level.basis


def config_chance(study: LoggedStudy, split: str = "val") -> pd.DataFrame:
    """One chance level per (config, task) on ``split``: the mean over the config's trials (seeds
    normally share their data, so this is each trial's value)."""
    levels = study_chance(study)
    levels = levels[levels["split"] == split]
    grouped = levels.groupby(["config_id", "task"], as_index=False)
    return grouped.agg(
        chance=("chance", "mean"), upper_bound=("upper_bound", "mean"), basis=("basis", "first")
    )
