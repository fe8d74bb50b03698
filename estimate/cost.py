"""A rough cost estimate of a plan, for ``--dry-run``: encoder multiply-accumulates and wall time.

The patch encoder dominates IPS's compute: every epoch it embeds all N patches of every canvas without
gradients (selection), then the M kept patches again with gradients. On CPUs the time comes from
per-patch costs measured by ``python -m bench.costs`` (``encoder_costs.json`` beside this file: scan
and training seconds per patch for each encoder depth and patch size, interpolated in the patch size,
and the selection pass's work outside the encoder per image). With blank-patch reuse on (the default)
the scan encodes only the patches that are not blank: their share is counted on the first generated
training canvas of the trial's Megapixel MNIST setting (traffic-sign photos have none). On GPUs it
divides the multiply-accumulates, counted analytically, by an assumed throughput (``GPU_MACS_PER_SECOND``,
not measured). Each image and epoch adds a fixed cost for rendering, loading, the aggregator's step and
the metrics (``IMAGE_SECONDS``, from the cpu pilots), each trial Ray's start-up. On GPUs the images
are rendered on the trial's cores (``LOADING_SECONDS_PER_MEGAPIXEL``): a trial with one core renders
between its steps (compute plus loading), one with more renders on its spare cores while it trains
(the longer of the two). Take the result as an
order of magnitude: on the pilots' 300-pixel settings it came within about 15% of the measured times.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ips.config import IPSConfig, override
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.data.patches import ImagePatches

CALIBRATION_FILE = Path(__file__).with_name("encoder_costs.json")  # python -m bench.costs writes it
# GPU: an assumption for an H100-class card at batch 16 (not measured on this project's machines yet).
GPU_MACS_PER_SECOND = 8e12
RAY_SECONDS_PER_TRIAL = 6.0  # start-up of a trial process, imports, the datasets, the attention map
RAY_START_SECONDS = 30.0  # ray.init, the MLflow store, Ray's shutdown (measured 25 to 45 s on 2 cores)
# The selection pass's work outside the encoder (cutting, scoring, sorting) was measured on 3,600 patches
# of 50x50 pixels (``bench.costs``); it grows with the pixels cut, not with the number of patches.
CALIBRATION_PIXELS = 3600 * 50 * 50
# Per image and epoch, beyond the encoder and the selection: rendering, loading, the aggregator's step
# and the metrics. From the single-thread pilots of docs/results/cpu-pilots.md (two trials at once):
# 20-22 s per epoch of 1,100 300-pixel canvases at patch 8 where the encoder costs 12.4, 58-60 s at
# patch 17 where it costs 48 (8 and 10 ms per image).
IMAGE_SECONDS = 0.009
# GPU trials: rendering a canvas and collating it, per megapixel on one core. Measured on the shared
# 2-core machine at load 5 with the published renderer at 3000x3000 px: 188 ms per canvas (20.9 ms per
# megapixel), uint8 collation 6 ms more per canvas. An idle core renders faster (17 ms per canvas in
# the GPU review, shared/gpu/FINDINGS.md F1), so this errs high; bench.device_check measures it there.
LOADING_SECONDS_PER_MEGAPIXEL = 0.021

# (channels, blocks) of the ResNet-18 stages; (width, output channels, blocks) of the ResNet-50 ones.
RESNET18_STAGES = ((64, 2), (128, 2), (256, 2), (512, 2))
RESNET50_STAGES = ((64, 256, 3), (128, 512, 4), (256, 1024, 6), (512, 2048, 3))


def conv_out(size: int, stride: int) -> int:
    return math.ceil(size / stride)


def _stem_macs(size: int, channels: int) -> tuple[float, int]:
    """MACs of the 7x7 stride-2 stem conv and the side of the map after the max pool."""
    side = conv_out(size, 2)
    return side * side * 7 * 7 * channels * 64, conv_out(side, 2)


def _resnet18_macs(side: int, stages: int) -> tuple[float, int]:
    macs, width = 0.0, 64
    for stage, (out, blocks) in enumerate(RESNET18_STAGES[:stages]):
        if stage > 0:
            side = conv_out(side, 2)
            macs += side * side * width * out  # 1x1 downsample of the shortcut
        macs += side * side * 9 * width * out  # first conv of the stage
        macs += side * side * 9 * out * out * (2 * blocks - 1)  # the others
        width = out
    return macs, width


def _resnet50_macs(side: int, stages: int) -> tuple[float, int]:
    macs, width = 0.0, 64
    for stage, (inner, out, blocks) in enumerate(RESNET50_STAGES[:stages]):
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            area_in, side = side * side, conv_out(side, stride)
            macs += area_in * width * inner  # 1x1 reduce (torchvision puts the stride on the 3x3)
            macs += side * side * 9 * inner * inner  # 3x3
            macs += side * side * inner * out  # 1x1 expand
            if block == 0:
                macs += side * side * width * out  # 1x1 projection of the shortcut
            width = out
    return macs, width


def encoder_macs(config: IPSConfig) -> float:
    """Multiply-accumulates of the encoder on one patch (stem, the kept residual stages, projection)."""
    stem, side = _stem_macs(config.patches.size, config.encoder.input_channels)
    trunk = _resnet50_macs if config.encoder.architecture == "resnet50" else _resnet18_macs
    macs, width = trunk(side, config.encoder.stages)
    return stem + macs + width * config.aggregator.embedding_dim


@cache
def calibration() -> dict:
    """The measured per-patch costs (``encoder_costs.json``)."""
    return json.loads(CALIBRATION_FILE.read_text())


def _interpolated(points: dict[str, float], size: int) -> float:
    """Log-log interpolation of cost against patch side (extrapolated from the nearest two points)."""
    sizes = sorted(int(key) for key in points)
    low = max([s for s in sizes[:-1] if s <= size] or [sizes[0]])
    high = sizes[sizes.index(low) + 1]
    slope = math.log(points[str(high)] / points[str(low)]) / math.log(high / low)
    return points[str(low)] * (size / low) ** slope


def seconds_per_patch(config: IPSConfig, kind: str) -> float:
    """Measured seconds per patch on one core: ``kind`` "scan" (selection) or "train" (forward+backward).

    Depths not measured (ResNet-50) are scaled from ResNet-18 of the same depth by their counted MACs.
    """
    table = calibration()["seconds_per_patch"][f"resnet18-{config.encoder.stages}"]
    seconds = _interpolated({size: costs[kind] for size, costs in table.items()}, config.patches.size)
    if config.encoder.architecture != "resnet18":
        resnet18 = encoder_macs(override(config, {"encoder.architecture": "resnet18"}))
        seconds *= encoder_macs(config) / resnet18
    return seconds


@dataclass(frozen=True)
class TrialCost:
    macs: float  # encoder multiply-accumulates of the whole trial
    patches_per_image: int
    cpu_seconds: float  # on one core, from the measured per-patch costs
    loading_seconds: float = 0.0  # on one core: rendering and collating its images (GPU trials)


# A canvas past these is not rendered to measure its blank share (rendering would take minutes; the
# paper's largest is 3000 x 3000 pixels with 800 curves): its cost is estimated with none blank.
MAX_MEASURED_NOISE_CURVES = 20_000
MAX_MEASURED_PIXELS = 10_000 * 10_000


@cache
def _blank_fraction(data, size: int, stride: int) -> float:
    if data.name != "megapixel_mnist":
        return 0.0
    if (
        data.noise_count > MAX_MEASURED_NOISE_CURVES
        or data.canvas_height * data.canvas_width > MAX_MEASURED_PIXELS
    ):
        return 0.0  # an upper bound of the cost, at once
    # the shipped digits (no file to read) and data seed 0 (any seed draws the same geometry)
    data = dataclasses.replace(data, mnist_path=None, data_seed=0)
    image, _ = MegapixelMNIST(data, "train")[0]  # [1, H, W]
    constant, _ = ImagePatches(image.unsqueeze(0), size, stride).constant_fills()  # [1, N]
    return float(constant.float().mean())


def blank_fraction(config: IPSConfig) -> float:
    """The share of a canvas's patches that the scan does not encode (0 with reuse off)."""
    if not config.selection.reuse_blank_patches:
        return 0.0
    return _blank_fraction(config.data, config.patches.size, config.patches.effective_stride)


def trial_cost(config: IPSConfig) -> TrialCost:
    patches = config.number_of_patches
    kept = config.kept_patches
    per_patch = encoder_macs(config)
    data = config.data
    train, val = data.images_per_split
    epochs = config.optimisation.epochs
    macs = (train * (patches + 3 * kept) + val * (patches + kept)) * epochs * per_patch
    scan, step = seconds_per_patch(config, "scan"), seconds_per_patch(config, "train")
    pixels_cut = patches * config.patches.size**2
    other = calibration()["other_per_image"] * pixels_cut / CALIBRATION_PIXELS + IMAGE_SECONDS
    encoded = patches * (1.0 - blank_fraction(config)) + 1  # one blank patch per pass at most
    seconds = (train * (encoded * scan + kept * step) + val * (encoded + kept) * scan) * epochs
    seconds += (train + val) * epochs * other
    megapixels = data.image_height * data.image_width * config.encoder.input_channels / 1e6
    loading = (train + val) * epochs * megapixels * LOADING_SECONDS_PER_MEGAPIXEL
    return TrialCost(macs, patches, seconds, loading)


def wall_seconds(
    total_macs: float,
    trials: int,
    *,
    cpus: int,
    gpus: float,
    concurrent: int,
    cpu_seconds: float,
    loading_seconds: float = 0.0,
) -> float:
    """Seconds for ``trials`` trials costing ``total_macs`` (``cpu_seconds`` on one core; on a GPU
    ``loading_seconds`` of rendering on one core) with ``concurrent`` of them at once on ``cpus``
    cores in all."""
    if gpus > 0:
        compute = total_macs / (GPU_MACS_PER_SECOND * min(1.0, gpus * concurrent))
        workers = cpus - concurrent  # each trial steps on one core; its others render (ips.resources)
        if workers > 0:
            compute = max(compute, loading_seconds / workers)
        else:
            compute += loading_seconds / max(1, concurrent)
    else:
        compute = cpu_seconds / cpus
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
