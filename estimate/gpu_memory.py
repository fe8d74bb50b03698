"""A trial's peak GPU memory, and the share of a card that holds it (``--gpus-per-trial auto``).

A trial's peak GPU memory is estimated from measured figures (``gpu_memory.json`` beside this module,
written by ``python -m bench.gpu_memory``) for its encoder:

    peak = state + images + activations
    state       = 16 bytes x parameters        (weights, gradients, AdamW's two moments, float32)
    images      = 4 bytes x B x C x H x W      (the batch on the device)
    activations = B x (c + k x (kept + scanned) x P^2)

with B the batch size, kept = min(memory size, N) and scanned = min(iteration size, N) the patches
in flight per image, P the patch size. k (MiB per patch pixel) and c (MiB per image) come from the
encoder's figures, each a step's memory above its start per image against (kept + scanned) x P^2: k is
the least-squares slope through them, c the smallest offset that puts every figure on or under the
line, so the estimate errs high on every measured setting. The share is that peak times ``MARGIN``
plus ``cuda_context_mb()`` (the CUDA context, outside PyTorch's allocator), as a fraction of the card,
rounded up to 1/16, 1/8, 1/4, 1/2 or 1: shares that are powers of two fill cards without gaps whatever
the mix, small trials pack densely and a trial that needs more than half a card gets a whole one. The
trainable caps each trial's CUDA memory to its share less the context
(``ips.resources.limit_to_resources``).

Which figures: CUDA ones where the JSON holds them for the encoder (``torch.cuda.max_memory_allocated``),
else CPU ones (peak resident set size, measured with the same code). The shipped JSON holds CPU figures
only (no GPU was at hand when it was written): CPU convolutions keep other workspaces than cuDNN, and
bf16 roughly halves activations, which the fp32 figures do not know; ``MARGIN`` covers the first and the
second only errs high. Re-calibrate on a GPU machine with ``python -m bench.gpu_memory --json
estimate/gpu_memory.json`` (and ``--bf16`` for bf16 figures, used for bf16 trials): each run merges its
report into the file, replacing only the report of the same device and precision.

The CUDA context: a CUDA report also holds the context's size as measured on that card
(``cuda_context_mb``: the card's used memory less what PyTorch reserved, after a training step loaded
cuDNN and cuBLAS); the packing uses the largest measured one times ``CONTEXT_HEADROOM``. Until a GPU
has measured it, it assumes ``ASSUMED_CUDA_CONTEXT_MB`` (600 MiB, a common size for CUDA 12-13 with
cuDNN and cuBLAS loaded; never measured here).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ips.config import IPSConfig

FIGURES_FILE = Path(__file__).with_name("gpu_memory.json")
DEFAULT_CARD_GB = 80.0  # an A100/H100 80 GB; "auto:GB" names another card, e.g. auto:24
MARGIN = 1.25  # on the estimated peak: allocator rounding and fragmentation, cuDNN workspaces
ASSUMED_CUDA_CONTEXT_MB = 600.0  # the CUDA context of one process until measured (see the module)
CONTEXT_HEADROOM = 1.25  # on a measured context: its size varies with the kernels a trial loads
SHARES = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
MIB = 2**20


class EstimateError(ValueError):
    """A trial the memory model cannot place: no figures for its encoder, or more than a card."""


def local_card_mb() -> float:
    """The memory of this machine's first CUDA device in MiB, else ``DEFAULT_CARD_GB``'s."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_properties(0).total_memory / MIB
    return DEFAULT_CARD_GB * 1024


# --------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Encoder:
    """What decides a trial's memory per patch pixel."""

    architecture: str
    stages: int
    input_channels: int
    bf16: bool

    @classmethod
    def of(cls, config: IPSConfig) -> Encoder:
        e = config.encoder
        # The training step's precision on a GPU decides its activations' size.
        return cls(e.architecture, e.stages, e.input_channels, config.optimisation.bf16_on("cuda")[1])

    def fp32(self) -> Encoder:
        return Encoder(self.architecture, self.stages, self.input_channels, False)

    def __str__(self) -> str:
        kind = "bf16" if self.bf16 else "fp32"
        return f"{self.architecture}, {self.stages} stages, {self.input_channels} channel(s), {kind}"


@dataclass(frozen=True)
class Calibration:
    mib_per_patch_pixel: float  # k
    mib_per_image: float  # c
    parameters: int
    device: str  # where the figures were measured: cuda or cpu


def patch_pixels_in_flight(figure: dict[str, Any]) -> int:
    """(kept + scanned) x P^2 of one image of a figure."""
    patches = figure["number_of_patches"]
    in_flight = min(figure["memory_size"], patches) + min(figure["iteration_size"], patches)
    return in_flight * figure["patch_size"] ** 2


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(slope >= 0, offset >= 0): the least-squares slope, raised to lie on or above every point."""
    if len(points) == 1:
        (x, y), offset = points[0], 0.0
        return max(y, 0.0) / x, offset
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = max(0.0, sum((x - mean_x) * (y - mean_y) for x, y in points) / spread) if spread else 0.0
    return slope, max(0.0, *(y - slope * x for x, y in points))


def calibrate(report: dict[str, Any]) -> dict[Encoder, Calibration]:
    """One calibration per encoder of a ``bench.gpu_memory`` report (see the module's docstring)."""
    groups: dict[Encoder, list[dict[str, Any]]] = {}
    for figure in report["figures"]:
        encoder = Encoder(figure["architecture"], figure["stages"], figure["input_channels"], figure["bf16"])
        groups.setdefault(encoder, []).append(figure)
    calibrations = {}
    for encoder, figures in groups.items():
        points = [(patch_pixels_in_flight(f), f["activation_mb"] / f["batch_size"]) for f in figures]
        slope, offset = fit_line(points)
        parameters = max(f["parameters"] for f in figures)
        calibrations[encoder] = Calibration(slope, offset, parameters, report["device"])
    return calibrations


def figure_reports(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``bench.gpu_memory`` reports of a figures file's content (one report, or ``reports``)."""
    return data["reports"] if "reports" in data else [data]


def calibrate_all(data: dict[str, Any]) -> dict[Encoder, Calibration]:
    """The calibrations of a figures file's content: CUDA figures where they exist, else CPU ones."""
    result: dict[Encoder, Calibration] = {}
    for report in sorted(figure_reports(data), key=lambda r: r["device"] == "cuda"):  # CUDA last: it wins
        result.update(calibrate(report))
    return result


@cache
def shipped_calibrations(path: Path = FIGURES_FILE) -> dict[Encoder, Calibration]:
    """The calibrations of the figures file (see ``calibrate_all``)."""
    return calibrate_all(json.loads(path.read_text()))


@cache
def cuda_context_mb(path: Path = FIGURES_FILE) -> float:
    """MiB of one process's CUDA context, outside the allocator's cap (see the module's docstring)."""
    measured = [
        report["cuda_context_mb"]
        for report in figure_reports(json.loads(path.read_text()))
        if report["device"] == "cuda" and report.get("cuda_context_mb")
    ]
    return max(measured) * CONTEXT_HEADROOM if measured else ASSUMED_CUDA_CONTEXT_MB


def calibration_for(config: IPSConfig, calibrations: dict[Encoder, Calibration]) -> Calibration:
    encoder = Encoder.of(config)
    found = calibrations.get(encoder) or calibrations.get(encoder.fp32())
    if found is None:
        known = "; ".join(str(e) for e in calibrations) or "none"
        raise EstimateError(
            f"--gpus-per-trial auto: no measured memory figures for the encoder {encoder} (figures exist "
            f"for: {known}); measure them on the GPU with python -m bench.gpu_memory, or give a "
            "share such as --gpus-per-trial 0.25"
        )
    return found


# ---------------------------------------------------------------------------------------- shares


def image_size(config: IPSConfig) -> tuple[int, int]:
    """(height, width) of a trial's images: Megapixel MNIST canvases or traffic-sign images."""
    return config.data.image_height, config.data.image_width


def estimated_peak_mb(config: IPSConfig, calibration: Calibration) -> float:
    """The estimated peak GPU memory of one training step of ``config`` in MiB (see the module)."""
    batch = config.optimisation.batch_size
    patches = config.number_of_patches
    in_flight = config.kept_patches + min(config.selection.iteration_size, patches)
    height, width = image_size(config)
    images = 4 * batch * config.encoder.input_channels * height * width / MIB
    state = 16 * calibration.parameters / MIB
    per_image = (
        calibration.mib_per_image + calibration.mib_per_patch_pixel * in_flight * config.patches.size**2
    )
    activations = batch * per_image
    return state + images + activations


def share_for(peak_mb: float, card_mb: float) -> float:
    """The smallest of ``SHARES`` that holds ``peak_mb`` with its margin and a CUDA context."""
    needed = peak_mb * MARGIN + cuda_context_mb()
    for share in SHARES:
        if needed <= share * card_mb:
            return share
    raise EstimateError(
        f"--gpus-per-trial auto: a trial needs about {needed / 1024:.1f} GB, more than one "
        f"{card_mb / 1024:.0f} GB card; reduce optimisation.batch_size or selection.memory_size, or name a "
        "larger card (auto:GB)"
    )


@dataclass(frozen=True)
class TrialShare:
    peak_mb: float
    share: float


def trial_share(config: IPSConfig, card_mb: float, calibrations: dict | None = None) -> TrialShare:
    calibration = calibration_for(config, calibrations or shipped_calibrations())
    peak = estimated_peak_mb(config, calibration)
    return TrialShare(peak, share_for(peak, card_mb))
