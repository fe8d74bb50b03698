"""Studies with a known answer, written to a real MLflow store by ``StoreBuilder``.

Each function logs one invocation of a study whose accuracies follow a stated rule plus seeded
seed-to-seed noise of standard deviation ``sd`` (small by default, so that a test of a rule's
direction is not a test of its power; ``sd=0.15`` is the spread the cpu runs showed), so a test knows
which verdict or which cell value is right. Every trial's training accuracy sits ``LEARNED`` above its
validation accuracy unless the rule puts it at chance, so the headline task learned somewhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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
SEEDS = (0, 1, 2)
LEARNED = 0.15  # training accuracy above validation accuracy, where a trial learned
PATCH_SIZES = (25, 50, 100, 150)
PUBLISHED = {
    "data.renderer": "followup_published"
}  # a paper-profile run: the paper's numbers stand beside it
THICKNESSES = (1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6)
MEMORY = (10, 25, 50, 100)


def labels(seed: int = 0, vectors: bool = False, train: int = 300, val: int = 200) -> dict:
    rng = np.random.default_rng(seed)
    return label_distribution({"train": canvas_labels(train, rng), "val": canvas_labels(val, rng)}, vectors)


def chance_of(distribution: dict, split: str) -> dict[str, float]:
    """Per multiclass task, the share of ``split`` of the training set's most frequent class (the
    blind model's score; ties to the smallest class), computed here from the counts."""
    out = {}
    for task in ("majority", "max", "top"):
        train = {int(c): n for c, n in distribution["train"][task].items()}
        answer = min(c for c, n in train.items() if n == max(train.values()))
        counts = distribution[split][task]
        out[task] = counts[str(answer)] / sum(counts.values())
    return out


Rule = Callable[[dict, str, str], float]  # (grid point, split, task) -> mean accuracy of its seeds


def grid_study(
    builder: StoreBuilder,
    study: str,
    axes: list[str],
    points: list[dict],
    rule: Rule,
    *,
    seeds=SEEDS,
    sd: float = 0.01,
    rng_seed: int = 0,
    profile: str = "cpu",
    base: dict | None = None,
    losses: bool = False,
    distribution: dict | None = None,
) -> str:
    """One invocation: every grid point x seed, final accuracies ``rule(point, split, task)`` plus a
    normal seed effect of SD ``sd`` (clipped to [0, 1]); returns the parent run id."""
    rng = np.random.default_rng(rng_seed)
    parent = builder.invocation(study, axes, profile=profile)
    distribution = distribution or labels()
    for point in points:
        for seed in seeds:
            finals = {
                split: {
                    task: float(np.clip(rule(point, split, task) + rng.normal(0, sd), 0, 1))
                    for task in MNIST_TASKS
                }
                for split in ("train", "val")
            }
            history = mnist_history(
                finals["val"], EPOCHS, train_final=finals["train"], start=0.0, losses=losses
            )
            config = flat_config({**(base or {}), **point}, seed)
            builder.trial(parent, config, history, labels=distribution)
    builder.finish(parent)
    return parent


def learned(val: Callable[[dict, str], float]) -> Rule:
    """A rule whose validation accuracy is ``val(point, task)`` and training accuracy ``LEARNED``
    higher (the multilabel task the same on both)."""
    return lambda point, split, task: val(point, task) + (LEARNED if split == "train" else 0.0)


def patch_rule(falls: bool | None) -> Rule:
    """Accuracy against log2(patch / 25): -12 points per doubling (``falls``), +10 (False), flat (None)."""
    slope = {True: -0.12, False: 0.10, None: 0.0}[falls]
    start = 0.95 if falls else 0.6 if falls is False else 0.5
    return learned(lambda point, task: start + slope * math.log2(point["patches.size"] / 25))


def patch_study(
    builder: StoreBuilder,
    falls: bool | None,
    seeds=SEEDS,
    extras: bool = False,
    sd: float = 0.01,
    losses: bool = True,
    rng_seed: int | None = None,
) -> str:
    """patch_size_low_data (digit 84, the paper's setting): accuracy falls with log2(patch) by 12 points
    per doubling (``falls``), rises by 10 (``False``), or does not change (``None``)."""
    base = {"data.digit_size": 84, "data.train_canvases": 1000, **PUBLISHED}
    rng_seed = {True: 1, False: 2, None: 3}[falls] if rng_seed is None else rng_seed
    points = [{"patches.size": size} for size in PATCH_SIZES]
    rule = patch_rule(falls)
    parent = _grid(
        builder, "patch_size_low_data", ["patches.size"], points, rule, seeds, sd, rng_seed, base, losses
    )
    if extras:
        add_status_extras(builder, parent, labels())
    return parent


def _grid(builder, study, axes, points, rule, seeds, sd, rng_seed, base=None, losses=False) -> str:
    return grid_study(
        builder, study, axes, points, rule, seeds=seeds, sd=sd, rng_seed=rng_seed, base=base, losses=losses
    )


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


def thickness_study(builder: StoreBuilder, falls_from: float | None, seeds=SEEDS, sd: float = 0.01) -> str:
    """noise_thickness: learning below ``falls_from``, training and validation at chance from it on
    (None: never falls)."""
    distribution = labels()
    chance = {split: chance_of(distribution, split) for split in ("train", "val")}

    def rule(point: dict, split: str, task: str) -> float:
        thickness = point["data.noise_thickness"]
        if falls_from is not None and thickness >= falls_from - 1e-9:
            return chance[split].get(task, 0.0)
        index = THICKNESSES.index(thickness)
        return 0.9 if split == "train" else 0.8 - 0.03 * index

    points = [{"data.noise_thickness": t} for t in THICKNESSES]
    return grid_study(
        builder,
        "noise_thickness",
        ["data.noise_thickness"],
        points,
        rule,
        seeds=seeds,
        sd=sd,
        rng_seed=3,
        distribution=distribution,
    )


def noise_amount_study(builder: StoreBuilder, slope: float, seeds=SEEDS, sd: float = 0.003) -> str:
    """noise_amount with 5,000 training canvases: accuracy = 0.9 - slope x noise count (+ noise)."""
    points = [{"data.noise_count": count} for count in (100, 200, 400, 800)]
    rule = learned(lambda point, task: 0.8 - slope * point["data.noise_count"])
    base = {"data.train_canvases": 5000}
    return _grid(builder, "noise_amount", ["data.noise_count"], points, rule, seeds, sd, 4, base)


def memory_study(
    builder: StoreBuilder, rise: float, seeds=SEEDS, sd: float = 0.005, multi_at_chance: bool = False
) -> str:
    """memory_size: accuracy = 0.5 + rise x log2(memory / 10) at memory 10, 25, 50, 100 on every task,
    or on all but the multilabel task, which stays at 0 (``multi_at_chance``: it never learns)."""

    points = [{"selection.memory_size": m} for m in MEMORY]
    rule = memory_rule(rise, multi_at_chance)
    return _grid(builder, "memory_size", ["selection.memory_size"], points, rule, seeds, sd, 6)


def memory_rule(rise: float, multi_at_chance: bool = False) -> Rule:
    def rule(point: dict, split: str, task: str) -> float:
        if multi_at_chance and task == "multi":
            return 0.0
        bonus = LEARNED if split == "train" else 0.0
        return 0.5 + rise * math.log2(point["selection.memory_size"] / 10) + bonus

    return rule


O2I_KINDS = {
    # (digit, canvases) -> validation accuracy of every multiclass task ("chance": the blind model's)
    "paper": {(28, 800): "chance", (28, 4000): 0.70, (112, 800): 0.75, (112, 4000): 0.85},
    "data only": {(28, 800): 0.30, (28, 4000): 0.60, (112, 800): 0.50, (112, 4000): 0.80},
    "learns only with data": {(28, 800): "chance", (28, 4000): 0.70, (112, 800): "chance", (112, 4000): 0.70},
    "reversed": {(28, 800): 0.25, (28, 4000): 0.44, (112, 800): 0.30, (112, 4000): 0.64},
}


def o2i_study(builder: StoreBuilder, kind: str, seeds=SEEDS, sd: float = 0.01) -> str:
    """o2i_data_size: digits 28 and 112 x 800 and 4,000 canvases (``O2I_KINDS``): Figure 4's
    interaction (the gain from data larger at the small O2I), a data-size effect alike at both O2I, a
    plain one (both at chance with few canvases, both learn with many), or the reverse."""
    distribution = labels()
    rule = o2i_rule(kind, distribution)
    points = [
        {"data.digit_size": d, "data.noise_count": round(1000 - 7.14 * d), "data.train_canvases": n}
        for d in (28, 112)
        for n in (800, 4000)
    ]
    axes = ["data.digit_size", "data.noise_count", "data.train_canvases"]
    return grid_study(
        builder,
        "o2i_data_size",
        axes,
        points,
        rule,
        seeds=seeds,
        sd=sd,
        rng_seed=5,
        distribution=distribution,
    )


def o2i_rule(kind: str, distribution: dict) -> Rule:
    chance = {split: chance_of(distribution, split) for split in ("train", "val")}
    grid = O2I_KINDS[kind]

    def rule(point: dict, split: str, task: str) -> float:
        cell = grid[(point["data.digit_size"], point["data.train_canvases"])]
        if cell == "chance":
            return chance[split].get(task, 0.0)
        return cell + (LEARNED if split == "train" else 0.0)

    return rule


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
