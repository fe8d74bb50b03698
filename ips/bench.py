"""Throughput and memory of IPS at the paper's Megapixel MNIST setting, for a growing number of patches.

    python -m ips.bench --json bench.json                   # CUDA when present, batch 16
    python -m ips.bench --json bench.json --device cpu      # batch 1, about 5 minutes on 2 idle cores

On generated Megapixel MNIST canvases of 1500, 3000 and 6000 pixels (N = 900, 3,600 and 14,400 patches
of 50x50; memory 100, iteration 100; ResNet-18 trunk with 2 stages, embedding 128, the 4 tasks) it
measures, per canvas size:

- images per second of the selection pass (eval mode, no grad);
- images per second of a full training step (selection + forward + backward + AdamW step);
- peak memory of the selection pass: on CUDA ``max_memory_allocated`` (absolute, and above what was
  allocated before the pass); on CPU the process's peak resident set size during the pass, reset just
  before it through ``/proc/self/clear_refs`` on Linux (elsewhere ``getrusage``'s peak since the process
  started, which cannot be reset and so only ever grows), absolute and above the resident size before
  the pass.

This is a benchmark, not a test: nothing is asserted. The JSON records the setting, the machine, the
batch size and every measurement.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import default_collate

from ips.config import AggregatorConfig, IPSConfig, MegapixelMNISTConfig, OptimisationConfig, override
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating
from ips.train import build_optimizer, peak_memory_mb, synchronize, to_device, train_step

CANVASES = (1500, 3000, 6000)  # N = 900, 3,600, 14,400 patches of 50x50


def bench_config(canvas: int, batch_size: int, bf16: bool) -> IPSConfig:
    """The paper's Megapixel MNIST setting on a ``canvas`` x ``canvas`` image."""
    data = MegapixelMNISTConfig(
        canvas_height=canvas, canvas_width=canvas, train_canvases=batch_size, validation_canvases=1
    )
    config = IPSConfig(
        data=data,
        aggregator=AggregatorConfig(embedding_dim=128),
        optimisation=OptimisationConfig(batch_size=batch_size, warmup_epochs=0, bf16=bf16),
    )
    return override(
        config, {"patches.size": 50, "selection.memory_size": 100, "selection.iteration_size": 100}
    )


def batch_of_canvases(config: IPSConfig, device: torch.device) -> tuple[Tensor, dict[str, Tensor]]:
    """``batch_size`` generated training canvases [B, 1, H, W] and their labels, on ``device``."""
    dataset = MegapixelMNIST.from_config(config.data, "train")
    images, labels = default_collate([dataset[i] for i in range(config.optimisation.batch_size)])
    return to_device(images, labels, device)


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


# ------------------------------------------------------------------------------------------ memory


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


def selection_memory(select, device: torch.device) -> dict[str, Any]:
    """Peak memory of one selection pass, absolute and above the memory held just before it."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) / 2**20
        select()
        synchronize(device)
        peak = torch.cuda.max_memory_allocated(device) / 2**20
        method = "torch.cuda.max_memory_allocated"
    else:
        gc.collect()
        trimmed = release_free_memory()
        before = resident_mb()
        method = "VmHWM after /proc/self/clear_refs" if reset_cpu_peak() else "getrusage ru_maxrss (lifetime)"
        method += ", after malloc_trim" if trimmed else ""
        select()
        peak = cpu_peak_mb()
    return {
        "selection_peak_mb": peak,
        "selection_peak_above_start_mb": peak - before,
        "memory_method": method,
    }


# ------------------------------------------------------------------------------------------ one size


def bench_canvas(
    canvas: int, batch_size: int, repeats: int, device: torch.device, bf16: bool, warm_up: bool
) -> dict[str, Any]:
    config = bench_config(canvas, batch_size, bf16)
    images, labels = batch_of_canvases(config, device)
    torch.manual_seed(0)
    model = IPSModel(config).to(device)
    optimizer = build_optimizer(model, config)

    def select() -> None:
        source = ImagePatches(images, config.patches.size, config.patches.step)
        with (
            evaluating(model),
            torch.autocast(device.type, torch.bfloat16, enabled=bf16 and device.type == "cuda"),
        ):
            model.select(source)

    def step() -> None:
        model.train()
        train_step(model, optimizer, images, labels, config)

    if warm_up:  # allocator, cuDNN autotuning, lazy initialisation: the chunk shapes do not depend on N
        select()
        step()
    memory = selection_memory(select, device)
    selection_seconds = timed(select, device, repeats)
    step_seconds = timed(step, device, repeats)
    return {
        "canvas": canvas,
        "patches": config.number_of_patches,
        "selection_seconds_per_batch": statistics.median(selection_seconds),
        "selection_images_per_second": batch_size / statistics.median(selection_seconds),
        "train_step_seconds_per_batch": statistics.median(step_seconds),
        "train_step_images_per_second": batch_size / statistics.median(step_seconds),
        "selection_seconds_all": selection_seconds,
        "train_step_seconds_all": step_seconds,
        **memory,
    }


def machine(device: torch.device) -> dict[str, Any]:
    info = {
        "device": device.type,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1_5_15_min": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ips.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, required=True, help="write the results here")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when present")
    p.add_argument("--batch-size", type=int, help="images per batch (default 16 on cuda, 1 on cpu)")
    p.add_argument(
        "--repeats",
        type=int,
        help="timed repeats per measurement, median reported (default 3 on cuda, 1 on cpu)",
    )
    p.add_argument("--canvases", type=int, nargs="+", default=list(CANVASES), help="canvas sides in pixels")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA only)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own choice)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is available; use --device cpu", file=sys.stderr)
        return 2
    if args.threads is not None:
        if args.threads < 1:
            print("error: --threads must be >= 1", file=sys.stderr)
            return 2
        torch.set_num_threads(args.threads)
    batch_size = args.batch_size or (16 if device.type == "cuda" else 1)
    repeats = args.repeats or (3 if device.type == "cuda" else 1)
    if batch_size < 1 or repeats < 1 or min(args.canvases) < 50:
        print("error: --batch-size and --repeats must be >= 1 and canvases >= 50 pixels", file=sys.stderr)
        return 2
    results = []
    for number, canvas in enumerate(args.canvases):
        result = bench_canvas(canvas, batch_size, repeats, device, args.bf16, warm_up=number == 0)
        results.append(result)
        print(
            f"canvas {canvas} (N={result['patches']}):"
            f" selection {result['selection_images_per_second']:.2f} img/s,"
            f" train step {result['train_step_images_per_second']:.2f} img/s,"
            f" selection peak {result['selection_peak_mb']:.0f} MiB"
            f" (+{result['selection_peak_above_start_mb']:.0f} MiB)",
            flush=True,
        )
    report = {
        "setting": {
            "dataset": "megapixel_mnist (generated, training split, bezier noise)",
            "patch_size": 50,
            "memory_size": 100,
            "iteration_size": 100,
            "encoder": "resnet18, 2 stages",
            "embedding_dim": 128,
            "tasks": 4,
            "bf16": bool(args.bf16 and device.type == "cuda"),
        },
        "batch_size": batch_size,
        "repeats": repeats,
        "machine": machine(device),
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
