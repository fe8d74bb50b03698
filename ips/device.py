"""Where a training step runs: the default device, bf16 autocast, moving a batch, peak memory, sync.

Small helpers shared by ``ips.train`` and the benchmarks (``bench``); torch and numpy only.

A batch of uint8 images (the published canvases, ``MegapixelMNIST.byte_canvases``) is moved as bytes
and turned into float32 on the device by looking each byte up in ``BYTE_VALUES``: the very floats that
the published renderer reads its uint8 canvas back as (``astype(float32) / 255``, computed once by
numpy), so the result is bit for bit the float canvas whatever the device. A division on the device
would not promise that (CUDA divides by a scalar as a multiplication by its reciprocal).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from torch import Tensor

BYTE_VALUES = torch.from_numpy(np.arange(256, dtype=np.uint8).astype(np.float32) / np.float32(255))


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
    """The batch on ``device``; uint8 images become float32 in [0, 1] there (see the module)."""
    images = images.to(device, non_blocking=True)
    if images.dtype == torch.uint8:
        images = BYTE_VALUES.to(device)[images.int()]  # [B, C, H, W] float32
    return images, {name: value.to(device, non_blocking=True) for name, value in labels.items()}
