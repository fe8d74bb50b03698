"""Build real MLflow stores (temporary SQLite file) in exactly the layout of ``study/tracking.py``.

No mocks: the real ``MlflowClient`` writes an experiment per study, a parent run per invocation and a
child run per trial, with the flattened ``ips.config`` as params, ``derived.*`` params, per-epoch
metrics at step = epoch and a ``label_distribution.json`` artifact. Tests then read the store back
through ``analysis`` and compare with values they computed themselves.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from ips.config import IPSConfig, override
from study import tracking

MNIST_TASKS = ("majority", "max", "top", "multi")
CLASSES = 10


def flat_config(changes: dict[str, Any] | None = None, seed: int = 0) -> dict[str, Any]:
    """The real flattened ``IPSConfig`` (defaults + ``changes``) plus its ``derived.*`` values."""
    config = override(IPSConfig(seed=seed), dict(changes or {}))
    flat = config.flatten()
    flat.update({tracking.DERIVED_PREFIX + key: value for key, value in config.derived().items()})
    return flat


def canvas_labels(count: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Labels of ``count`` Megapixel-MNIST-like canvases: 3 digits of one class, 2 of others."""
    canvases = []
    for _ in range(count):
        majority = int(rng.integers(CLASSES))
        others = [int(c) for c in rng.choice([c for c in range(CLASSES) if c != majority], size=2)]
        classes = [majority] * 3 + others
        canvases.append(
            {
                "majority": majority,
                "max": max(classes),
                "top": int(rng.choice(classes)),
                "multi": tuple(sorted(set(classes))),
            }
        )
    return canvases


def label_distribution(splits: dict[str, list[dict[str, Any]]], vectors: bool = False) -> dict[str, Any]:
    """``{split: {task: {class: count}}}`` of the given canvases (``multi``: classes present)."""
    out: dict[str, Any] = {}
    for split, canvases in splits.items():
        out[split] = {}
        for task in MNIST_TASKS:
            if task == "multi":
                counts = Counter(c for canvas in canvases for c in canvas["multi"])
            else:
                counts = Counter(canvas[task] for canvas in canvases)
            out[split][task] = {str(k): counts.get(k, 0) for k in range(CLASSES)}
    if vectors:
        out["vectors"] = {
            split: {"multi": dict(Counter(",".join(map(str, c["multi"])) for c in canvases))}
            for split, canvases in splits.items()
        }
    return out


def ramp(start: float, end: float, epochs: int) -> list[float]:
    """``epochs`` values from ``start`` (epoch 1) to ``end`` (last epoch), linearly."""
    return list(np.linspace(start, end, epochs)) if epochs > 1 else [end]


def mnist_history(
    final: dict[str, float],
    epochs: int,
    train_final: dict[str, float] | None = None,
    start: float = 0.1,
    losses: bool = True,
) -> dict[str, list[float]]:
    """Per-epoch metrics of a Megapixel MNIST trial whose val accuracy ramps to ``final[task]``
    (``losses=False``: accuracies, time and memory only, for smaller, faster stores)."""
    train_final = train_final or final
    history: dict[str, list[float]] = {}
    for split, ends in (("train", train_final), ("val", final)):
        for task, end in ends.items():
            history[tracking.accuracy_metric(split, task)] = ramp(min(start, end), end, epochs)
            if losses:
                history[tracking.loss_metric(split, task)] = ramp(2.3, 2.3 * (1 - end) + 0.05, epochs)
        accuracies = [history[tracking.accuracy_metric(split, t)] for t in ends]
        history[tracking.accuracy_metric(split)] = list(np.mean(accuracies, axis=0))
        if losses:
            task_losses = [history[tracking.loss_metric(split, t)] for t in ends]
            history[tracking.loss_metric(split)] = list(np.mean(task_losses, axis=0))
    history[tracking.METRIC_SECONDS_PER_BATCH] = [0.5] * epochs
    history[tracking.METRIC_PEAK_MEMORY_MB] = [100.0 + e for e in range(epochs)]
    if losses:
        history[tracking.METRIC_LR] = ramp(1e-3, 1e-6, epochs)
        history[tracking.METRIC_EPOCH] = [float(e + 1) for e in range(epochs)]
    return history


class StoreBuilder:
    """A temporary MLflow SQLite store filled like ``python -m study.run`` fills it."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.uri = f"sqlite:///{self.folder / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri)
        self.clock = int(time.time() * 1000)
        self.trials = 0

    def tick(self, ms: int = 1) -> int:
        self.clock += ms
        return self.clock

    def experiment(self, study: str) -> str:
        found = self.client.get_experiment_by_name(study)
        if found is not None:
            return found.experiment_id
        location = (self.folder / "artifacts" / study).as_uri()
        return self.client.create_experiment(study, artifact_location=location)

    def invocation(
        self, study: str, axes: list[str], profile: str = "smoke", metric: str = "val/accuracy"
    ) -> str:
        """A parent run (one `python -m study.run` invocation); returns its run id."""
        tags = {
            tracking.TAG_ROLE: tracking.ROLE_PARENT,
            tracking.TAG_STUDY: study,
            tracking.TAG_PROFILE: profile,
            tracking.TAG_GIT_COMMIT: "0" * 40,
            tracking.TAG_AXES: json.dumps(axes),
            tracking.TAG_METRIC: metric,
            tracking.TAG_MODE: "max",
            tracking.TAG_STORAGE: str(self.folder / "ray"),
        }
        run = self.client.create_run(self.experiment(study), start_time=self.tick(), tags=tags)
        return run.info.run_id

    def trial(
        self,
        parent: str,
        config: dict[str, Any],
        history: dict[str, list[float]],
        status: str = tracking.STATUS_COMPLETED,
        labels: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> str:
        """A child run with the config as params, ``history[metric][epoch - 1]`` at step = epoch."""
        self.trials += 1
        experiment = self.client.get_run(parent).info.experiment_id
        tags = {
            tracking.TAG_ROLE: tracking.ROLE_TRIAL,
            tracking.TAG_PARENT: parent,
            tracking.TAG_TRIAL_ID: f"trial_{self.trials:05d}",
            tracking.TAG_SEED: str(config[tracking.PARAM_SEED]),
            tracking.TAG_CONFIG_ID: tracking.config_id(config),
            tracking.TAG_STATUS: status,
        }
        if error:
            tags[tracking.TAG_ERROR] = error
        run_id = self.client.create_run(experiment, start_time=self.tick(), tags=tags).info.run_id
        self.log_params(run_id, config)
        self.log_history(run_id, history)
        if labels is not None:
            self.client.log_dict(run_id, labels, tracking.ARTIFACT_LABELS)
        if status != tracking.STATUS_RUNNING:
            final = "FAILED" if status == tracking.STATUS_FAILED else "FINISHED"
            self.client.set_terminated(run_id, final, end_time=self.tick())
        return run_id

    def log_params(self, run_id: str, config: dict[str, Any]) -> None:
        params = [Param(key, str(value)) for key, value in sorted(config.items())]
        for start in range(0, len(params), 100):
            self.client.log_batch(run_id, params=params[start : start + 100])

    def log_history(self, run_id: str, history: dict[str, list[float]]) -> None:
        epochs = max((len(v) for v in history.values()), default=0)
        metrics = []
        for epoch in range(1, epochs + 1):
            stamp = self.tick(1000)  # one timestamp per epoch, increasing, as a live run logs them
            metrics += [
                Metric(key, float(v[epoch - 1]), stamp, epoch)
                for key, v in history.items()
                if len(v) >= epoch
            ]
        for start in range(0, len(metrics), 1000):  # MLflow takes at most 1000 metrics per batch
            self.client.log_batch(run_id, metrics=metrics[start : start + 1000])

    def log_value(self, run_id: str, key: str, value: float, step: int, timestamp: int | None = None) -> None:
        """One more value (for duplicate-step tests); ``timestamp`` defaults to now on the builder's clock."""
        stamp = self.tick(1000) if timestamp is None else timestamp
        self.client.log_batch(run_id, metrics=[Metric(key, value, stamp, step)])

    def tag(self, run_id: str, key: str, value: str) -> None:
        self.client.log_batch(run_id, tags=[RunTag(key, value)])

    def finish(self, parent: str) -> None:
        self.client.set_terminated(parent, "FINISHED", end_time=self.tick())
