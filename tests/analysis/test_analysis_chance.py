"""Chance levels from the logged label distributions: what a model blind to the images scores.

It can only learn the training set's labels, so it answers the training set's most frequent class (or,
for the multilabel task, the vector of classes present in more than half of the training canvases), and
chance on each split is its score there, computed here from the canvases' own labels."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from mlflow_store_builder import canvas_labels, flat_config, label_distribution, mnist_history

from analysis.chance import chance_levels, study_chance
from analysis.runs import Task, load_study

TASKS = [
    Task("majority", "multiclass", 10),
    Task("max", "multiclass", 10),
    Task("top", "multiclass", 10),
    Task("multi", "multilabel", 10),
]
FINAL = {"majority": 0.5, "max": 0.6, "top": 0.7, "multi": 0.4}


@pytest.fixture(scope="module")
def canvases():
    rng = np.random.default_rng(7)
    return {"train": canvas_labels(400, rng), "val": canvas_labels(150, rng)}


@pytest.fixture(scope="module")
def logged(new_store, canvases):
    """One trial whose label_distribution.json (with label-vector counts) went through MLflow."""
    builder = new_store("chance")
    parent = builder.invocation("memory_size", ["selection.memory_size"])
    config = flat_config(
        {"selection.memory_size": 10, "data.train_canvases": 400, "data.validation_canvases": 150}
    )
    builder.trial(parent, config, mnist_history(FINAL, 2), labels=label_distribution(canvases, vectors=True))
    return study_chance(load_study("memory_size", builder.uri)).set_index(["split", "task"])


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize("task", ["majority", "max", "top"])
def test_multiclass_chance_is_the_training_sets_most_frequent_class_scored_on_the_split(
    logged, canvases, split, task
):
    train = Counter(canvas[task] for canvas in canvases["train"])
    answer = min(c for c, n in train.items() if n == max(train.values()))  # ties: the smallest class
    labels = [canvas[task] for canvas in canvases[split]]
    expected = sum(label == answer for label in labels) / len(labels)
    assert logged.loc[(split, task), "chance"] == pytest.approx(expected)
    assert logged.loc[(split, task), "basis"] == "training's most frequent class"


def test_validation_chance_is_not_the_validation_sets_own_most_frequent_class():
    """A blind model cannot know the validation labels: it scores the training set's answer there."""
    distribution = {
        "train": {"majority": {"0": 30, "1": 20, "2": 10}},
        "val": {"majority": {"0": 5, "1": 25, "2": 10}},
    }
    level = chance_levels(distribution, TASKS[:1], "val")["majority"]
    assert level.value == pytest.approx(5 / 40)  # not 25 / 40, the validation set's own majority


@pytest.mark.parametrize("split", ["train", "val"])
def test_multilabel_chance_is_the_share_of_the_vector_the_training_marginals_answer(logged, canvases, split):
    present = Counter(c for canvas in canvases["train"] for c in canvas["multi"])
    answer = tuple(sorted(c for c, n in present.items() if n / len(canvases["train"]) > 0.5))
    expected = sum(canvas["multi"] == answer for canvas in canvases[split]) / len(canvases[split])
    assert logged.loc[(split, "multi"), "chance"] == pytest.approx(expected)
    assert logged.loc[(split, "multi"), "basis"] == "training marginals"


def test_a_class_present_in_most_training_canvases_is_part_of_the_blind_answer():
    distribution = {
        "train": {"multi": {"0": 8, "1": 3, "2": 9}, "majority": {"0": 10}},
        "val": {"multi": {"0": 4, "1": 1, "2": 5}, "majority": {"0": 5}},
        "vectors": {"val": {"multi": {"0,2": 3, "0": 1, "2": 1}}},
    }
    tasks = [Task("majority", "multiclass", 10), Task("multi", "multilabel", 10)]
    level = chance_levels(distribution, tasks, "val")["multi"]
    assert level.value == pytest.approx(3 / 5)  # the answer {0, 2}: 3 of the 5 validation canvases


def test_multilabel_chance_without_vectors_is_unknown_with_a_bound(canvases):
    distribution = label_distribution(canvases)  # per-class counts only
    level = chance_levels(distribution, TASKS, "train")["multi"]
    present = [sum(c in canvas["multi"] for canvas in canvases["train"]) / 400 for c in range(10)]
    assert math.isnan(level.value) and level.basis == "upper bound only"
    # the blind answer holds the classes present in more than half: P(Y_c = answer_c) for each class
    assert level.upper_bound == pytest.approx(min(p if p > 0.5 else 1 - p for p in present))
    answer = tuple(c for c in range(10) if present[c] > 0.5)
    share = sum(canvas["multi"] == answer for canvas in canvases["train"]) / 400
    assert share <= level.upper_bound


def test_chance_of_real_megapixel_canvases_matches_their_labels():
    """label_counts() of generated canvases, as the runner logs them, against the canvases' own labels."""
    from ips.config import MegapixelMNISTConfig
    from ips.data.megapixel_mnist import MegapixelMNIST

    data = MegapixelMNISTConfig(
        canvas_height=120,
        canvas_width=120,
        digit_size=14,
        train_canvases=300,
        validation_canvases=40,
        noise="none",
    )
    dataset = MegapixelMNIST(data, "validation")
    counts = {task: {str(c): n for c, n in per.items()} for task, per in dataset.label_counts().items()}
    levels = chance_levels({"train": counts, "val": counts}, TASKS, "val", {"data.validation_canvases": 40})
    labels = [dataset[i][1] for i in range(len(dataset))]  # renders every canvas
    for task in ("majority", "max", "top"):  # trained and scored on the same canvases: their majority
        observed = Counter(int(item[task]) for item in labels)
        assert levels[task].value == pytest.approx(max(observed.values()) / len(labels))
    big = MegapixelMNIST(data, "train").label_counts()["max"]
    assert max(big, key=big.get) == 9 and 0.2 < big[9] / 300 < 0.4  # "max": class 9 at about 30%
