"""The optimiser of a training run: AdamW, and its learning-rate schedule stepped once per batch
(linear warm-up, then half a cosine down to ``final_lr``), as in the IPS paper's code."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from ips.config import IPSConfig


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
