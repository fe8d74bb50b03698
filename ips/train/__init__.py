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

``python -m ips.train --help`` runs one training run from the command line (``ips/train/__main__.py``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ips.checkpoint import TrainState, check_resume, load_checkpoint, read_checkpoint, save_checkpoint
from ips.config import IPSConfig
from ips.data.patches import ImagePatches
from ips.device import (
    bf16_autocast,
    default_device,
    peak_memory_mb,
    reset_peak_memory,
    synchronize,
    to_device,
)
from ips.metrics import (
    METRIC_EPOCH,
    METRIC_EPOCH_SECONDS,
    METRIC_IMAGES_PER_SECOND,
    METRIC_LR,
    METRIC_PEAK_MEMORY_MB,
    METRIC_SECONDS_PER_BATCH,
    TRAIN,
    VAL,
    MetricTally,
)
from ips.model import IPSModel, evaluating, task_losses
from ips.optimisation import build_optimizer, build_scheduler


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite: the run cannot go on."""


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


# ------------------------------------------------------------------------------------ seeding


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator: data code may draw from it)
    torch.manual_seed(seed)


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
    metrics = tally.summary(TRAIN)
    metrics[METRIC_LR] = last_lr
    metrics[METRIC_SECONDS_PER_BATCH] = seconds / max(1, batches)
    metrics[METRIC_IMAGES_PER_SECOND] = tally.images / seconds if seconds > 0 else float("nan")
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
    return tally.summary(VAL)


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
    config: IPSConfig,
    train_data: Dataset,
    validation_data: Dataset,
    device: torch.device,
    num_workers: int,
) -> tuple[DataLoader, DataLoader]:
    """The training and validation loaders. To a GPU the canvases travel as bytes where they are bytes
    (the published renderer: ``byte_canvases``, made floats on the device by ``to_device``, bit for bit);
    on the CPU the datasets serve floats as they are. ``num_workers`` processes render while the device
    trains (a study gives a GPU trial's spare cores to them)."""
    if device.type == "cuda":
        train_data, validation_data = (
            data.byte_canvases() if hasattr(data, "byte_canvases") else data
            for data in (train_data, validation_data)
        )
    common = {
        "batch_size": config.optimisation.batch_size,
        "num_workers": num_workers,
        "pin_memory": device.type == "cuda",
    }
    train = DataLoader(
        train_data, shuffle=True, generator=torch.Generator().manual_seed(config.seed), **common
    )
    return train, DataLoader(validation_data, shuffle=False, **common)


def fit(
    config: IPSConfig,
    train_data: Dataset,
    validation_data: Dataset,
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
    train_loader, validation_loader = build_loaders(config, train_data, validation_data, device, num_workers)
    state = build_state(config, train_loader, device)
    if resume_from is not None:
        load_checkpoint(resume_from, state, config, checkpoint)
    for epoch in range(state.epoch + 1, config.optimisation.epochs + 1):
        start = time.perf_counter()
        reset_peak_memory(device)
        metrics: dict[str, float] = {METRIC_EPOCH: epoch}
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
        validation_generator = torch.Generator().manual_seed(config.seed)
        metrics |= evaluate(
            state.model,
            validation_loader,
            config,
            device=device,
            generator=validation_generator,
            progress=progress,
        )
        metrics[METRIC_EPOCH_SECONDS] = time.perf_counter() - start
        metrics[METRIC_PEAK_MEMORY_MB] = peak_memory_mb(device)
        state.epoch = epoch
        state.history.append(metrics)
        if on_epoch_end is not None:
            on_epoch_end(EpochEnd(epoch, dict(metrics), partial(save_checkpoint, state=state, config=config)))
    return FitResult(history=state.history, model=state.model)
