"""The metrics a training run reports, by name: the one list of what ``ips.train`` logs.

Per epoch ``fit`` reports ``epoch``, ``lr``, ``{split}/loss`` and ``{split}/accuracy`` (the means over
tasks) and ``{split}/{task}/loss``, ``{split}/{task}/accuracy`` for ``split`` in ``train``, ``val``,
and the timings and peak memory below. ``study.tracking`` names the same metrics for MLflow;
``tests/test_metric_names.py`` pins that both say the same. Accuracy: argmax for a multiclass task,
exact match of all labels at 0.5 for a multilabel one.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import Tensor

from ips.config import TaskConfig

METRIC_EPOCH = "epoch"
METRIC_LR = "lr"  # that of the epoch's last optimiser step
METRIC_SECONDS_PER_BATCH = "time/seconds_per_batch"
METRIC_IMAGES_PER_SECOND = "time/images_per_second"
METRIC_EPOCH_SECONDS = "time/epoch_seconds"
METRIC_PEAK_MEMORY_MB = "memory/peak_mb"
TRAIN, VAL = (
    "train",
    "val",
)  # the metric prefixes of the two splits (the datasets call the second "validation")


def loss_metric(split: str, task: str | None = None) -> str:
    """``train/loss`` (mean over tasks) or ``train/majority/loss``."""
    return f"{split}/loss" if task is None else f"{split}/{task}/loss"


def accuracy_metric(split: str, task: str | None = None) -> str:
    """``val/accuracy`` (mean over tasks) or ``val/majority/accuracy``."""
    return f"{split}/accuracy" if task is None else f"{split}/{task}/accuracy"


def correct(logits: Tensor, labels: Tensor, task: TaskConfig) -> Tensor:
    """Per-image correctness [B]: argmax for multiclass; exact match at 0.5 (on sigmoid) for multilabel."""
    if task.kind == "multiclass":
        return logits.argmax(dim=-1) == labels
    predicted = logits > 0.0  # sigmoid(logits) > 0.5
    return (predicted == (labels > 0.5)).all(dim=-1)


class MetricTally:
    """Sums of per-task losses and correct predictions over an epoch, weighted by batch size."""

    def __init__(self, tasks: Iterable[TaskConfig]) -> None:
        self.tasks = tuple(tasks)
        self.images = 0
        self.loss = {task.name: 0.0 for task in self.tasks}
        self.correct = {task.name: 0 for task in self.tasks}

    def add(self, logits: dict[str, Tensor], labels: dict[str, Tensor], losses: dict[str, float]) -> None:
        batch = next(iter(labels.values())).shape[0]
        self.images += batch
        for task in self.tasks:
            self.loss[task.name] += losses[task.name] * batch
            self.correct[task.name] += int(correct(logits[task.name], labels[task.name], task).sum())

    def summary(self, split: str) -> dict[str, float]:
        """``{split}/{task}/loss``, ``{split}/{task}/accuracy`` and their means over tasks."""
        images = max(1, self.images)
        metrics: dict[str, float] = {}
        for task in self.tasks:
            metrics[loss_metric(split, task.name)] = self.loss[task.name] / images
            metrics[accuracy_metric(split, task.name)] = self.correct[task.name] / images
        losses = [metrics[loss_metric(split, t.name)] for t in self.tasks]
        metrics[loss_metric(split)] = float(np.mean(losses))
        accuracies = [metrics[accuracy_metric(split, t.name)] for t in self.tasks]
        metrics[accuracy_metric(split)] = float(np.mean(accuracies))
        return metrics
