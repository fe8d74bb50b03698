"""The training engine: ``train_one_epoch``, ``evaluate`` and ``fit`` (in the style of MAE's engine).

One step, for a batch of images:

1. ``ImagePatches`` makes the batch a lazy source of patches (nothing is cut up front);
2. ``with evaluating(model): model.select(source)``: the no-grad IPS pass keeps ``memory_size`` patches;
3. ``model(patches, indices)``: the kept patches are embedded again *with* gradients, aggregated and
   classified (logits, one head per task);
4. per-task losses (cross-entropy / BCE-with-logits) averaged over tasks; AdamW step; the learning rate
   schedule (linear warm-up, then cosine to ``final_lr``) steps once per batch.

``fit`` seeds everything from ``config.seed``, trains for ``config.optimisation.epochs`` epochs and calls
``on_epoch_end(EpochEnd(...))`` after each one with the epoch's metrics and a ``save_checkpoint(folder)``
that writes the full state; ``fit(..., resume_from=folder)`` continues from it exactly (same batches,
same dropout masks, same selection shuffles, same learning rates).

``python -m ips.train --help`` runs one training run from the command line (see ``ips.cli``).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ips.config import IPSConfig, TaskConfig, flatten, from_dict, to_dict
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating, task_losses

CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_FILE = "config.json"


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite: the run cannot go on."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed with this config or data (the message says why)."""


@dataclass(frozen=True)
class EpochEnd:
    """What ``on_epoch_end`` receives after each epoch."""

    epoch: int  # 1-based
    metrics: dict[str, float]
    save_checkpoint: Callable[[str | Path], None]  # save_checkpoint(folder) writes the full state


@dataclass
class FitResult:
    history: list[dict[str, float]]  # one metrics dict per epoch, the resumed epochs included
    model: nn.Module


# ------------------------------------------------------------------------------ learning-rate schedule


def learning_rate(step: int, *, total_steps: int, warmup_steps: int, lr: float, final_lr: float) -> float:
    """The learning rate of optimiser step ``step`` (0-based), as in the IPS paper's code.

    Linear warm-up from 0 over ``warmup_steps`` (step 0 has lr 0), then half a cosine from ``lr`` down to
    ``final_lr``, reached at ``total_steps``.
    """
    if step < warmup_steps:
        return lr * step / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    weight = 0.5 * (1.0 + math.cos(math.pi * progress))
    return final_lr + (lr - final_lr) * weight


def build_optimizer(model: nn.Module, config: IPSConfig) -> torch.optim.AdamW:
    """AdamW over every parameter (as in the paper's code: no parameter groups)."""
    opt = config.optimisation
    return torch.optim.AdamW(model.parameters(), lr=opt.lr, weight_decay=opt.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: IPSConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step schedule: ``scheduler.step()`` after every batch; its position is in ``state_dict()``.

    Optimiser step ``k`` (0-based) runs at ``learning_rate(k + 1)``, as IPS sets the rate before each
    step (``adjust_learning_rate(..., data_it + 1)``): the first step is not wasted at rate 0 and the
    last one runs at ``final_lr``.
    """
    opt = config.optimisation
    schedule = partial(
        learning_rate,
        total_steps=opt.epochs * steps_per_epoch,
        warmup_steps=opt.warmup_epochs * steps_per_epoch,
        lr=1.0,
        final_lr=opt.final_lr_ratio,
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule(step + 1))


# ------------------------------------------------------------------------------------ small helpers


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator: data code may draw from it)
    torch.manual_seed(seed)


def bf16_autocast(device: torch.device, enabled: bool) -> torch.autocast:
    """bf16 autocast on ``device`` when ``enabled``; a no-op otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory in MiB: CUDA ``max_memory_allocated`` since the last reset on GPU; on CPU the peak
    resident set size of the whole process since it started (``getrusage``), which cannot be reset and
    so includes the data, earlier epochs and anything else the process holds."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def to_device(images: Tensor, labels: dict[str, Tensor], device: torch.device) -> tuple[Tensor, dict]:
    images = images.to(device, non_blocking=True)
    return images, {name: value.to(device, non_blocking=True) for name, value in labels.items()}


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
        images = max(1, self.images)
        metrics: dict[str, float] = {}
        for task in self.tasks:
            metrics[f"{split}/{task.name}/loss"] = self.loss[task.name] / images
            metrics[f"{split}/{task.name}/accuracy"] = self.correct[task.name] / images
        metrics[f"{split}/loss"] = float(np.mean([metrics[f"{split}/{t.name}/loss"] for t in self.tasks]))
        accuracies = [metrics[f"{split}/{t.name}/accuracy"] for t in self.tasks]
        metrics[f"{split}/accuracy"] = float(np.mean(accuracies))
        return metrics


# ------------------------------------------------------------------------------------- one step


def forward(
    model: nn.Module, images: Tensor, config: IPSConfig, generator: torch.Generator | None
) -> dict[str, Tensor]:
    """Selection (no grad, eval mode) then the model on the selected patches -> logits per task.

    Each part runs under bf16 autocast where ``config.optimisation.bf16`` says so for this device.
    """
    source = ImagePatches(images, config.patches.size, config.patches.effective_stride)
    scan_bf16, step_bf16 = config.optimisation.bf16_on(images.device.type)
    with evaluating(model), bf16_autocast(images.device, scan_bf16):
        selection = model.select(source, generator=generator)
    with bf16_autocast(images.device, step_bf16):
        return model(selection.patches, selection.indices)  # task -> [B, classes]


def mean_loss(logits: dict[str, Tensor], labels: dict[str, Tensor], config: IPSConfig):
    """(the mean of the per-task losses, the per-task losses), computed in float32."""
    losses = task_losses({name: value.float() for name, value in logits.items()}, labels, config.tasks)
    return torch.stack(list(losses.values())).mean(), losses


def check_finite(loss: Tensor, losses: dict[str, Tensor], where: str) -> float:
    value = loss.item()
    if not math.isfinite(value):
        per_task = ", ".join(f"{name}={item.item():.4g}" for name, item in losses.items())
        raise NonFiniteLossError(
            f"{where}: the training loss is {value} ({per_task}); the run diverged or the data holds "
            "NaN/inf values. Lower optimisation.lr, or check the images."
        )
    return value


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: Tensor,
    labels: dict[str, Tensor],
    config: IPSConfig,
    *,
    generator: torch.Generator | None = None,
    where: str = "training step",
) -> tuple[float, dict[str, Tensor], dict[str, Tensor]]:
    """Selection, forward, loss, backward, optimiser step on one batch already on its device.

    Returns (the mean loss, logits per task, losses per task); raises ``NonFiniteLossError`` before the
    update when the loss is NaN or infinite.
    """
    logits = forward(model, images, config, generator)
    loss, losses = mean_loss(logits, labels, config)
    value = check_finite(loss, losses, where)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return value, logits, losses


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: IPSConfig,
    *,
    device: torch.device,
    generator: torch.Generator | None = None,
    epoch: int = 1,
    progress: bool = False,
) -> dict[str, float]:
    """One pass over ``loader``: ``train/*`` metrics, ``lr`` (that of the epoch's last step), timings.

    ``time/seconds_per_batch`` and ``time/images_per_second`` are wall-clock over the whole loop, data
    loading included; train accuracy is that of the training forward passes (dropout on).
    """
    model.train()
    tally = MetricTally(config.tasks)
    last_lr = optimizer.param_groups[0]["lr"]
    batches = 0
    start = time.perf_counter()
    bar = tqdm(loader, desc=f"epoch {epoch}/{config.optimisation.epochs}", disable=not progress, leave=False)
    for batch, (images, labels) in enumerate(bar):
        images, labels = to_device(images, labels, device)
        value, logits, losses = train_step(
            model,
            optimizer,
            images,
            labels,
            config,
            generator=generator,
            where=f"epoch {epoch}, batch {batch}",
        )
        last_lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        tally.add(logits, labels, {name: item.item() for name, item in losses.items()})
        batches += 1
        bar.set_postfix(loss=f"{value:.4f}")
    synchronize(device)
    seconds = time.perf_counter() - start
    metrics = tally.summary("train")
    metrics["lr"] = last_lr
    metrics["time/seconds_per_batch"] = seconds / max(1, batches)
    metrics["time/images_per_second"] = tally.images / seconds if seconds > 0 else float("nan")
    return metrics


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    config: IPSConfig,
    *,
    device: torch.device,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """``val/*`` metrics: selection and model in eval mode, no gradients (a bar with ``progress``).

    With ``selection.shuffle`` pass a ``generator``; ``fit`` gives a fresh one seeded from ``config.seed``
    on every call, so validation metrics do not depend on how far training has consumed its generators.
    """
    tally = MetricTally(config.tasks)
    with evaluating(model):
        for images, labels in tqdm(loader, desc="validation", disable=not progress, leave=False):
            images, labels = to_device(images, labels, device)
            logits = forward(model, images, config, generator)
            _, losses = mean_loss(logits, labels, config)
            tally.add(logits, labels, {name: item.item() for name, item in losses.items()})
    return tally.summary("val")


# ------------------------------------------------------------------------------------- the state


@dataclass
class TrainState:
    """Everything a checkpoint holds besides the config."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader_generator: torch.Generator  # the training DataLoader's shuffle
    shuffle_generator: torch.Generator  # the selection's patch order (selection.shuffle); on the CPU
    steps_per_epoch: int
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)


def rng_states(state: TrainState) -> dict[str, Any]:
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "loader": state.loader_generator.get_state(),
        "shuffle": state.shuffle_generator.get_state(),
    }


def set_rng_states(state: TrainState, rng: dict[str, Any]) -> None:
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = rng["numpy"]
    keys = numpy_state["keys"].numpy().astype(np.uint32)
    position, has_gauss, cached = (
        numpy_state["position"],
        numpy_state["has_gauss"],
        numpy_state["cached_gaussian"],
    )
    np.random.set_state((numpy_state["name"], keys, position, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])
    state.loader_generator.set_state(rng["loader"])
    state.shuffle_generator.set_state(rng["shuffle"])


def save_checkpoint(folder: str | Path, state: TrainState, config: IPSConfig) -> None:
    """Write ``folder/checkpoint.pt`` (model, optimiser, scheduler position, epoch, history, RNG states,
    config) and ``folder/config.json``; each file is replaced atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "epoch": state.epoch,
        "steps_per_epoch": state.steps_per_epoch,
        "history": state.history,
        "rng": rng_states(state),
        "config": to_dict(config),
    }
    partial_file = folder / (CHECKPOINT_FILE + ".partial")
    torch.save(payload, partial_file)
    partial_file.replace(folder / CHECKPOINT_FILE)
    config_partial = folder / (CONFIG_FILE + ".partial")
    config_partial.write_text(json.dumps(to_dict(config), indent=2) + "\n")
    config_partial.replace(folder / CONFIG_FILE)


CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "epoch", "steps_per_epoch", "history", "rng", "config")


def read_checkpoint(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(
            f"resume_from={str(folder)!r}: no {CHECKPOINT_FILE} there; give a folder written by "
            "save_checkpoint (e.g. the --checkpoint-dir of an earlier run)"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, EOFError or pickle errors on a torn file
        raise CheckpointError(
            f"resume_from={str(folder)!r}: {CHECKPOINT_FILE} cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}); it is truncated or damaged: "
            "resume from an intact checkpoint, or start a new run"
        ) from error
    is_dict = isinstance(checkpoint, dict)
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if is_dict else []
    if not is_dict or missing:
        raise CheckpointError(
            f"resume_from={str(folder)!r}: {CHECKPOINT_FILE} is not a training checkpoint"
            f"{f' (no {missing})' if missing else ''}; give a folder written by save_checkpoint"
        )
    return checkpoint


def config_differences(saved: IPSConfig, config: IPSConfig) -> list[str]:
    """``key: checkpoint X, now Y`` for every dotted field that differs."""
    old, new = flatten(saved), flatten(config)
    return [
        f"{key}: checkpoint {old.get(key, '<absent>')!r}, now {new.get(key, '<absent>')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key, "<absent>") != new.get(key, "<absent>")
    ]


def check_resume(folder: str | Path, config: IPSConfig, checkpoint: dict[str, Any] | None = None) -> None:
    """Raise ``CheckpointError`` unless ``folder`` holds a checkpoint saved with exactly ``config``."""
    checkpoint = read_checkpoint(folder) if checkpoint is None else checkpoint
    differences = config_differences(from_dict(checkpoint["config"]), config)
    if differences:
        raise CheckpointError(
            f"resume_from={str(folder)!r} was saved with a different config ({'; '.join(differences)}). "
            f"Resume with the checkpoint's config ({Path(folder) / CONFIG_FILE}) or start a new run."
        )


def load_checkpoint(
    folder: str | Path, state: TrainState, config: IPSConfig, checkpoint: dict[str, Any] | None = None
) -> None:
    """Restore ``state`` in place from ``folder`` (or its already read ``checkpoint``), after checking
    that the config and the number of batches per epoch match."""
    checkpoint = read_checkpoint(folder) if checkpoint is None else checkpoint
    check_resume(folder, config, checkpoint)
    if checkpoint["steps_per_epoch"] != state.steps_per_epoch:
        raise CheckpointError(
            f"resume_from={str(folder)!r}: the checkpoint's epochs had {checkpoint['steps_per_epoch']} "
            f"batches, this training set gives {state.steps_per_epoch}; resume with the same data."
        )
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    state.scheduler.load_state_dict(checkpoint["scheduler"])
    state.epoch = checkpoint["epoch"]
    state.history = list(checkpoint["history"])
    set_rng_states(state, checkpoint["rng"])


# ------------------------------------------------------------------------------------------- fit


def build_state(config: IPSConfig, train_loader: DataLoader, device: torch.device) -> TrainState:
    """Model, optimiser and schedule; call after ``seed_everything`` so initialisation is seeded."""
    model = IPSModel(config).to(device)
    optimizer = build_optimizer(model, config)
    steps_per_epoch = len(train_loader)
    return TrainState(
        model=model,
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, config, steps_per_epoch),
        loader_generator=train_loader.generator,
        shuffle_generator=torch.Generator().manual_seed(config.seed),
        steps_per_epoch=steps_per_epoch,
    )


def build_loaders(
    config: IPSConfig, train_data: Dataset, val_data: Dataset, device: torch.device, num_workers: int
) -> tuple[DataLoader, DataLoader]:
    common = {
        "batch_size": config.optimisation.batch_size,
        "num_workers": num_workers,
        "pin_memory": device.type == "cuda",
    }
    train = DataLoader(
        train_data, shuffle=True, generator=torch.Generator().manual_seed(config.seed), **common
    )
    return train, DataLoader(val_data, shuffle=False, **common)


def fit(
    config: IPSConfig,
    train_data: Dataset,
    val_data: Dataset,
    *,
    on_epoch_end: Callable[[EpochEnd], None] | None = None,
    resume_from: str | Path | None = None,
    progress: bool = False,
    device: str | torch.device | None = None,
    num_workers: int = 0,
) -> FitResult:
    """Train ``config.optimisation.epochs`` epochs (or the rest of them, from ``resume_from``).

    ``device``: None picks CUDA when present, else CPU. ``num_workers``: DataLoader worker processes
    (their seeds come from the loader's seeded generator, so runs stay reproducible).
    """
    checkpoint = None
    if resume_from is not None:
        checkpoint = read_checkpoint(resume_from)
        check_resume(resume_from, config, checkpoint)  # before any work
    device = torch.device(device) if device is not None else default_device()
    seed_everything(config.seed)
    train_loader, val_loader = build_loaders(config, train_data, val_data, device, num_workers)
    state = build_state(config, train_loader, device)
    if resume_from is not None:
        load_checkpoint(resume_from, state, config, checkpoint)
    for epoch in range(state.epoch + 1, config.optimisation.epochs + 1):
        start = time.perf_counter()
        reset_peak_memory(device)
        metrics: dict[str, float] = {"epoch": epoch}
        metrics |= train_one_epoch(
            state.model,
            train_loader,
            state.optimizer,
            state.scheduler,
            config,
            device=device,
            generator=state.shuffle_generator,
            epoch=epoch,
            progress=progress,
        )
        val_generator = torch.Generator().manual_seed(config.seed)
        metrics |= evaluate(
            state.model, val_loader, config, device=device, generator=val_generator, progress=progress
        )
        metrics["time/epoch_seconds"] = time.perf_counter() - start
        metrics["memory/peak_mb"] = peak_memory_mb(device)
        state.epoch = epoch
        state.history.append(metrics)
        if on_epoch_end is not None:
            on_epoch_end(EpochEnd(epoch, dict(metrics), partial(save_checkpoint, state=state, config=config)))
    return FitResult(history=state.history, model=state.model)


if __name__ == "__main__":
    from ips.cli import main

    raise SystemExit(main())
