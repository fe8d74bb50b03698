"""Measuring helpers of the benchmarks: wall-clock time and peak memory of one call, on CPU or CUDA.

Peak memory: on CUDA ``max_memory_allocated`` (absolute, and above what was allocated before the call);
on CPU the process's peak resident set size during the call, reset just before it through
``/proc/self/clear_refs`` on Linux (elsewhere ``getrusage``'s peak since the process started, which
cannot be reset and so only ever grows), absolute and above the resident size before the call, after
glibc has handed its free pages back (``malloc_trim``) so that what the call touches shows up.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from ips.device import peak_memory_mb, synchronize


def timed(function, device: torch.device, repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls (the device synchronised around each)."""
    seconds = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        function()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return seconds


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``), so that the pages a pass
    touches next show up in the resident set size: glibc otherwise keeps freed tensors resident for
    reuse, which would hide a pass's peak. False where there is no glibc."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim(0) >= 0
    except (OSError, AttributeError):
        return False


def resident_mb() -> float:
    """The process's current resident set size in MiB (Linux), else NaN."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_cpu_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def cpu_peak_mb() -> float:
    """VmHWM (peak RSS since the last reset) in MiB where /proc has it, else getrusage's lifetime peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    return peak_memory_mb(torch.device("cpu"))


def peak_memory(function, device: torch.device, name: str = "selection") -> dict[str, Any]:
    """Peak memory of one call, absolute and above the memory held just before it:
    ``{name}_peak_mb``, ``{name}_peak_above_start_mb`` and ``memory_method``."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) / 2**20
        function()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        method = "torch.cuda.max_memory_allocated"
    else:
        gc.collect()
        trimmed = release_free_memory()
        before = resident_mb()
        method = "VmHWM after /proc/self/clear_refs" if reset_cpu_peak() else "getrusage ru_maxrss (lifetime)"
        method += ", after malloc_trim" if trimmed else ""
        function()
        peak = cpu_peak_mb()
    return {
        f"{name}_peak_mb": peak,
        f"{name}_peak_above_start_mb": peak - before,
        "memory_method": method,
    }


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write a bench's ``report`` to ``path`` (its folder made if needed) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {path}")
