"""Chance levels per task: the score of a model blind to the images, from ``label_distribution.json``.

The artifact holds ``{split: {task: {class: count}}}`` with split ``train`` or ``val`` (never typed
by hand). A model that never looks at an image can only learn the **training** set's label
frequencies, so chance on a split is what that model scores there:

- **Multiclass** (argmax accuracy): it always answers the training set's most frequent class ``c*``
  (ties: the smallest class); chance on a split is that class's share of the split,
  ``count_split(c*) / N_split``. On the training split that is the most frequent share; on
  validation it is not the validation set's own most frequent class (which a blind model cannot
  know): on the cpu validation canvases the majority digit's chance is 6%, not 16%.
- **Multilabel** (scored by *exact match*: every label right at threshold 0.5): a blind model trained
  on the training set outputs the training marginals, so at 0.5 it answers the vector
  ``v* = {c : P_train(c present) > 0.5}``; chance is the share of the split whose label vector is
  ``v*``. That needs the vector counts under the optional key
  ``{"vectors": {split: {task: {"0,3,7": count}}}}`` (classes present, comma-separated; the empty
  vector is ``""``): ``basis="training marginals"``. Without them chance is **unknown** (NaN) with the
  bound ``P(Y = v*) <= min_c P(Y_c = v*_c)`` (``basis="upper bound only"``), and checks that need a
  chance level leave the task out rather than guess. ``N`` for a multilabel task is the size of the
  split, read from a multiclass task of the same split, else from the ``data.train_canvases`` /
  ``data.validation_canvases`` params.

A study read back from ``trials.csv`` (``analysis.trials_csv``) carries these levels as they were
computed when the file was written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.runs import LoggedStudy, Task
from study import tracking

SPLIT_SIZE_PARAMS = {"train": "data.train_canvases", "val": "data.validation_canvases"}
VECTORS_KEY = "vectors"


@dataclass(frozen=True)
class Chance:
    value: float  # NaN when unknown
    upper_bound: float
    basis: str  # MOST_FREQUENT | MARGINALS | UPPER_BOUND_ONLY | NO_LABELS (below)


MOST_FREQUENT = "training's most frequent class"
MARGINALS = "training marginals"
UPPER_BOUND_ONLY = "upper bound only"
NO_LABELS = "no label distribution"


def multiclass_chance(train_counts: dict[Any, int], counts: dict[Any, int] | None = None) -> Chance:
    """Accuracy on a split with ``counts`` (default: the training split) of always answering the
    training set's most frequent class."""
    counts = train_counts if counts is None else counts
    total = sum(counts.values())
    if not total or not train_counts or not sum(train_counts.values()):
        return Chance(math.nan, math.nan, NO_LABELS)
    value = counts.get(tracking.blind_answer(train_counts), 0) / total
    return Chance(value, value, MOST_FREQUENT)


def blind_vector(train_counts: dict[Any, int], train_size: float) -> str:
    """The label vector a blind multilabel model answers: the classes present in more than half of the
    training images, as ``label_set_counts`` keys them (``"0,3,7"``; ``""`` for none)."""
    present = [c for c, n in train_counts.items() if train_size and n / train_size > 0.5]
    return ",".join(str(c) for c in sorted(present, key=tracking.class_order))


def multilabel_chance(
    train_counts: dict[Any, int],
    train_size: float,
    counts: dict[Any, int],
    size: float,
    vectors: dict[str, int] | None,
) -> Chance:
    """Exact-match chance on a split (``counts``, ``size``, its ``vectors``) of the blind model trained
    on the training split (``train_counts``, ``train_size``); see the module docstring."""
    answer = {c for c, n in train_counts.items() if train_size and n / train_size > 0.5}
    if size and size > 0 and counts:
        frequencies = {c: counts.get(c, 0) / size for c in counts}
        bound = min((p if c in answer else 1 - p) for c, p in frequencies.items())
    else:
        bound = math.nan
    if vectors:
        total = sum(vectors.values())
        value = vectors.get(blind_vector(train_counts, train_size), 0) / total if total else math.nan
        return Chance(value, bound, MARGINALS)
    return Chance(math.nan, bound, UPPER_BOUND_ONLY)


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
    """Chance level of every task on one split of one run's label distribution: the blind model's
    score there (its answer taken from the ``train`` split)."""
    params = params or {}
    if not distribution or split not in distribution or "train" not in distribution:
        return {task.name: Chance(math.nan, math.nan, NO_LABELS) for task in tasks}
    size = split_size(distribution, split, tasks, params)
    train_size = split_size(distribution, "train", tasks, params)
    levels = {}
    for task in tasks:
        counts = distribution[split].get(task.name) or {}
        train_counts = distribution["train"].get(task.name) or {}
        if not counts or not train_counts:
            levels[task.name] = Chance(math.nan, math.nan, NO_LABELS)
        elif task.kind == "multilabel":
            vectors = distribution.get(VECTORS_KEY, {}).get(split, {}).get(task.name)
            levels[task.name] = multilabel_chance(train_counts, train_size, counts, size, vectors)
        else:
            levels[task.name] = multiclass_chance(train_counts, counts)
    return levels


CHANCE_COLUMNS = ["run_id", "config_id", "split", "task", "chance", "upper_bound", "basis"]


def study_chance(study: LoggedStudy) -> pd.DataFrame:
    """Chance per trial, split and task: ``run_id, config_id, split, task, chance, upper_bound, basis``
    (as stored, for a study read from ``trials.csv``)."""
    if study.chance_levels is None:  # computed once from the labels, then kept with the study
        study.chance_levels = _from_labels(study)
    return study.chance_levels[CHANCE_COLUMNS]


def _from_labels(study: LoggedStudy) -> pd.DataFrame:
    rows = []
    for trial in study.trials.to_dict("records"):
        distribution = study.labels.get(trial["run_id"])
        for split in ("train", "val"):
            for task, level in chance_levels(distribution, study.tasks, split, trial).items():
                rows.append((trial["run_id"], trial["config_id"], split, task, *_fields(level)))
    return pd.DataFrame(rows, columns=CHANCE_COLUMNS)


def _fields(level: Chance) -> tuple[float, float, str]:
    return level.value, level.upper_bound, level.basis


def config_chance(study: LoggedStudy, split: str = "val") -> pd.DataFrame:
    """One chance level per (config, task) on ``split``: the mean over the config's trials (equal
    where the seeds share their data; where each seed draws its own canvases, their mean)."""
    levels = study_chance(study)
    levels = levels[levels["split"] == split]
    grouped = levels.groupby(["config_id", "task"], as_index=False)
    return grouped.agg(
        chance=("chance", "mean"), upper_bound=("upper_bound", "mean"), basis=("basis", "first")
    )
