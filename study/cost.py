"""A rough cost estimate of a plan, for ``--dry-run``: encoder multiply-accumulates and wall time.

The patch encoder dominates IPS's compute: every epoch it embeds all N patches of every canvas without
gradients (selection), then the M kept patches again with gradients (about 3x a forward pass). The
estimate counts the convolutions of the ResNet trunk analytically and divides by a throughput measured
on this project's machines (``CPU_MACS_PER_CORE_SECOND``, ``GPU_MACS_PER_SECOND``); canvas rendering,
the aggregator and Ray's overhead per trial (a few seconds) are left out, so take it as an order of
magnitude, not a promise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ips.config import IPSConfig

# Encoder throughput. CPU: one epoch of cpu-profile trials (one torch thread) ran at 7 to 10 GMAC/s on
# a 2-core machine shared with other jobs (load 5); 12 GMAC/s is assumed for a core of its own.
# GPU: an assumption for an H100-class card at batch 16 (not measured on this project's machines yet).
CPU_MACS_PER_CORE_SECOND = 12e9
GPU_MACS_PER_SECOND = 8e12
RAY_SECONDS_PER_TRIAL = 6.0  # start-up of a trial process, imports, the datasets, the attention map
RAY_START_SECONDS = 30.0  # ray.init, the MLflow store, Ray's shutdown (measured 25 to 45 s on 2 cores)

# (channels, blocks) of the ResNet-18 stages; ResNet-50 is counted as ResNet-18 x BOTTLENECK_FACTOR.
RESNET18_STAGES = ((64, 2), (128, 2), (256, 2), (512, 2))
BOTTLENECK_FACTOR = 2.3


def conv_out(size: int, stride: int) -> int:
    return math.ceil(size / stride)


def encoder_macs(config: IPSConfig) -> float:
    """Multiply-accumulates of the encoder on one patch (stem and the kept residual stages)."""
    size, channels = config.patches.size, config.encoder.input_channels
    side = conv_out(size, 2)
    macs = side * side * 7 * 7 * channels * 64  # stem conv, stride 2
    side = conv_out(side, 2)  # max pool
    width = 64
    for stage, (out, blocks) in enumerate(RESNET18_STAGES[: config.encoder.stages]):
        if stage > 0:
            side = conv_out(side, 2)
            macs += side * side * width * out  # 1x1 downsample of the shortcut
        macs += side * side * 9 * width * out  # first conv of the stage
        macs += side * side * 9 * out * out * (2 * blocks - 1)  # the others
        width = out
    factor = BOTTLENECK_FACTOR if config.encoder.architecture == "resnet50" else 1.0
    return macs * factor + width * config.aggregator.embedding_dim


@dataclass(frozen=True)
class TrialCost:
    macs: float  # encoder multiply-accumulates of the whole trial
    patches_per_image: int


def trial_cost(config: IPSConfig) -> TrialCost:
    patches = config.number_of_patches
    kept = min(config.selection.memory_size, patches)
    per_patch = encoder_macs(config)
    data = config.data
    train = getattr(data, "train_canvases", None)
    val = getattr(data, "validation_canvases", None)
    if train is None:  # traffic signs: about 750 images per split before the fraction
        train, val = round(750 * getattr(data, "fraction", 1.0)), 750
    per_epoch = train * (patches + 3 * kept) + val * (patches + kept)
    return TrialCost(per_epoch * config.optimisation.epochs * per_patch, patches)


def wall_seconds(total_macs: float, trials: int, *, cpus: int, gpus: float, concurrent: int) -> float:
    """Seconds for ``trials`` trials costing ``total_macs`` with ``concurrent`` of them at once."""
    if gpus > 0:
        compute = total_macs / (GPU_MACS_PER_SECOND * min(1.0, gpus * concurrent))
    else:
        compute = total_macs / (CPU_MACS_PER_CORE_SECOND * cpus)
    return RAY_START_SECONDS + compute + RAY_SECONDS_PER_TRIAL * trials / max(1, concurrent)


def human_seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def human_count(value: float) -> str:
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f}"
