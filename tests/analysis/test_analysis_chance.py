"""Chance levels from the logged label distributions match the label frequencies themselves."""

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
def test_multiclass_chance_is_the_most_frequent_class(logged, canvases, split, task):
    labels = [canvas[task] for canvas in canvases[split]]
    expected = Counter(labels).most_common(1)[0][1] / len(labels)
    assert logged.loc[(split, task), "chance"] == pytest.approx(expected)
    assert logged.loc[(split, task), "basis"] == "most frequent class"


@pytest.mark.parametrize("split", ["train", "val"])
def test_multilabel_chance_is_the_most_frequent_label_vector(logged, canvases, split):
    vectors = Counter(canvas["multi"] for canvas in canvases[split])
    expected = vectors.most_common(1)[0][1] / len(canvases[split])
    assert logged.loc[(split, "multi"), "chance"] == pytest.approx(expected)


def test_multilabel_chance_without_vectors_is_unknown_with_a_bound(canvases):
    distribution = label_distribution(canvases)  # per-class counts only
    level = chance_levels(distribution, TASKS, "train")["multi"]
    present = [sum(c in canvas["multi"] for canvas in canvases["train"]) / 400 for c in range(10)]
    assert math.isnan(level.value) and level.basis == "upper bound only"
    assert level.upper_bound == pytest.approx(min(max(p, 1 - p) for p in present))
    vectors = Counter(canvas["multi"] for canvas in canvases["train"])
    assert vectors.most_common(1)[0][1] / 400 <= level.upper_bound


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
    levels = chance_levels({"val": counts}, TASKS, "val", {"data.validation_canvases": 40})
    labels = [dataset[i][1] for i in range(len(dataset))]  # renders every canvas
    for task in ("majority", "max", "top"):
        observed = Counter(int(item[task]) for item in labels)
        assert levels[task].value == pytest.approx(max(observed.values()) / len(labels))
    big = MegapixelMNIST(data, "train").label_counts()["max"]
    assert max(big, key=big.get) == 9 and 0.2 < big[9] / 300 < 0.4  # "max": class 9 at about 30%
