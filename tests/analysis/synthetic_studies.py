"""Studies with a known answer, written to a real MLflow store by ``StoreBuilder``.

Each function logs one invocation of a study whose accuracies follow a stated rule (plus small,
seeded noise), so a test knows which verdict or which cell value is right.
"""

from __future__ import annotations

import math

import numpy as np
from mlflow.tracking import MlflowClient
from mlflow_store_builder import (
    MNIST_TASKS,
    StoreBuilder,
    canvas_labels,
    flat_config,
    label_distribution,
    mnist_history,
)

from study import tracking

EPOCHS = 4
PATCH_SIZES = (25, 50, 100, 150)
PUBLISHED = {
    "data.renderer": "followup_published"
}  # a paper-profile run: the paper's numbers stand beside it
THICKNESSES = (1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6)


def labels(seed: int = 0, vectors: bool = False, train: int = 300, val: int = 200) -> dict:
    rng = np.random.default_rng(seed)
    return label_distribution({"train": canvas_labels(train, rng), "val": canvas_labels(val, rng)}, vectors)


def chance_of(distribution: dict, split: str) -> dict[str, float]:
    """Most-frequent-class frequency per multiclass task, computed here from the counts."""
    out = {}
    for task in ("majority", "max", "top"):
        counts = distribution[split][task].values()
        out[task] = max(counts) / sum(counts)
    return out


def patch_study(
    builder: StoreBuilder, falls: bool, seeds=(0, 1, 2), extras: bool = False, noise=0.01, losses: bool = True
) -> str:
    """patch_size_low_data (digit 84): accuracy falls with log2(patch) (``falls``) or rises with it."""
    rng = np.random.default_rng(1 if falls else 2)
    parent = builder.invocation("patch_size_low_data", ["patches.size"])
    distribution = labels()
    for size in PATCH_SIZES:
        for seed in seeds:
            step = math.log2(size / 25)
            level = 0.95 - 0.12 * step if falls else 0.6 + 0.1 * step
            final = {task: level + rng.normal(0, noise) for task in MNIST_TASKS}
            config = flat_config(
                {"patches.size": size, "data.digit_size": 84, "data.train_canvases": 1000, **PUBLISHED}, seed
            )
            builder.trial(parent, config, mnist_history(final, EPOCHS, losses=losses), labels=distribution)
    if extras:
        add_status_extras(builder, parent, distribution)
    builder.finish(parent)
    return parent


def add_status_extras(builder: StoreBuilder, parent: str, distribution: dict) -> None:
    """One failed, one early-stopped, one still running and one not-converged trial."""
    train_chance = chance_of(distribution, "train")
    base = {"data.digit_size": 84, "data.train_canvases": 1000, **PUBLISHED}
    failed = flat_config({**base, "patches.size": 25}, seed=3)
    builder.trial(
        parent,
        failed,
        mnist_history(dict.fromkeys(MNIST_TASKS, 0.5), 2),
        status="failed",
        labels=distribution,
        error="NonFiniteLossError: loss is nan at epoch 3",
    )
    stopped = flat_config({**base, "patches.size": 50}, seed=4)
    builder.trial(
        parent,
        stopped,
        mnist_history(dict.fromkeys(MNIST_TASKS, 0.7), 3),
        status="early_stopped",
        labels=distribution,
    )
    running = flat_config({**base, "patches.size": 100}, seed=5)
    builder.trial(
        parent,
        running,
        mnist_history(dict.fromkeys(MNIST_TASKS, 0.6), 2),
        status="running",
        labels=distribution,
    )
    stuck = flat_config({**base, "patches.size": 150}, seed=6)
    at_chance = {**{t: train_chance[t] + 0.01 for t in train_chance}, "multi": 0.0}
    builder.trial(
        parent, stuck, mnist_history(at_chance, EPOCHS, train_final=at_chance, start=0.0), labels=distribution
    )


def thickness_study(builder: StoreBuilder, falls_from: float | None, seeds=(0, 1)) -> str:
    """noise_thickness: above chance below ``falls_from``, at chance from it on (None: never falls)."""
    rng = np.random.default_rng(3)
    parent = builder.invocation("noise_thickness", ["data.noise_thickness"])
    distribution = labels()
    chance = {"train": chance_of(distribution, "train"), "val": chance_of(distribution, "val")}
    for index, thickness in enumerate(THICKNESSES):
        for seed in seeds:
            at_chance = falls_from is not None and thickness >= falls_from - 1e-9
            finals = {}
            for split, learnt in (("train", 0.9), ("val", 0.8 - 0.03 * index)):
                finals[split] = {
                    t: (chance[split][t] if at_chance else learnt) + rng.normal(0, 0.01)
                    for t in chance[split]
                }
                finals[split]["multi"] = 0.0 if at_chance else learnt
            config = flat_config({"data.noise_thickness": thickness}, seed)
            history = mnist_history(
                finals["val"], EPOCHS, train_final=finals["train"], start=0.0, losses=False
            )
            builder.trial(parent, config, history, labels=distribution)
    builder.finish(parent)
    return parent


def noise_amount_study(builder: StoreBuilder, slope: float, seeds=(0, 1, 2)) -> str:
    """noise_amount with 5,000 training canvases: accuracy = 0.9 - slope x noise count (+ noise)."""
    rng = np.random.default_rng(4)
    parent = builder.invocation("noise_amount", ["data.noise_count"])
    distribution = labels()
    for count in (100, 200, 400, 800):
        for seed in seeds:
            final = {task: 0.9 - slope * count + rng.normal(0, 0.003) for task in MNIST_TASKS}
            config = flat_config({"data.noise_count": count, "data.train_canvases": 5000}, seed)
            builder.trial(parent, config, mnist_history(final, EPOCHS, losses=False), labels=distribution)
    builder.finish(parent)
    return parent


def memory_study(builder: StoreBuilder, rise: float, seeds=(0, 1, 2)) -> str:
    """memory_size: accuracy = 0.5 + rise x log2(memory / 10) (+ noise) at memory 10, 25, 50, 100."""
    rng = np.random.default_rng(6)
    parent = builder.invocation("memory_size", ["selection.memory_size"])
    distribution = labels()
    for memory in (10, 25, 50, 100):
        for seed in seeds:
            final = {t: 0.5 + rise * np.log2(memory / 10) + rng.normal(0, 0.005) for t in MNIST_TASKS}
            config = flat_config({"selection.memory_size": memory}, seed)
            builder.trial(parent, config, mnist_history(final, EPOCHS, losses=False), labels=distribution)
    builder.finish(parent)
    return parent


def o2i_study(builder: StoreBuilder, interaction: bool, seeds=(0, 1)) -> str:
    """o2i_data_size: digits 28/56/112 x 800/4000 canvases. With ``interaction`` the 56-pixel digit
    generalises only with 4,000 canvases (the threshold moves); without, it does with both."""
    rng = np.random.default_rng(5)
    parent = builder.invocation(
        "o2i_data_size", ["data.digit_size", "data.noise_count", "data.train_canvases"]
    )
    distribution = labels()
    chance = chance_of(distribution, "val")
    for digit in (28, 56, 112):
        for canvases in (800, 4000):
            generalises = digit == 112 or (digit == 56 and (canvases == 4000 or not interaction))
            for seed in seeds:
                final = {t: (0.85 if generalises else chance[t]) + rng.normal(0, 0.01) for t in chance}
                final["multi"] = 0.8 if generalises else 0.0
                changes = {
                    "data.digit_size": digit,
                    "data.noise_count": round(1000 - 7.14 * digit),
                    "data.train_canvases": canvases,
                }
                builder.trial(
                    parent,
                    flat_config(changes, seed),
                    mnist_history(final, EPOCHS, losses=False),
                    labels=distribution,
                )
    builder.finish(parent)
    return parent


def raw_final_values(client: MlflowClient, parent: str, metric: str) -> dict[str, float]:
    """run_id -> value of ``metric`` at its last step, straight from the client (latest timestamp)."""
    experiment = client.get_run(parent).info.experiment_id
    runs = client.search_runs([experiment], filter_string=f"tags.`{tracking.TAG_PARENT}` = '{parent}'")
    out = {}
    for run in runs:
        history = client.get_metric_history(run.info.run_id, metric)
        if not history:
            continue
        last_step = max(m.step for m in history)
        at_last = [m for m in history if m.step == last_step]
        out[run.info.run_id] = max(at_last, key=lambda m: m.timestamp).value
    return out
