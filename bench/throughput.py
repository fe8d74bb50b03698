"""Throughput and memory of IPS on Megapixel MNIST, for a growing number of patches; fast path vs plain.

    python -m bench --json bench.json                   # CUDA when present, batch 16
    python -m bench --json bench.json --device cpu      # batch 1
    python -m bench --baseline --device cpu --json bench.json --canvases 3000 \\
        --digit-size 84 --noise-count 400 --threads 1       # Table 4's setting, fast and plain side by side

On generated training canvases (default 1500, 3000 and 6000 pixels: N = 900, 3,600 and 14,400 patches
of 50x50; memory 100, iteration 100; ResNet-18 trunk with 2 stages, embedding 128, the 4 tasks) it
measures, per canvas size, for the fast path (the config's defaults: blank-patch reuse, inference mode;
channels-last with ``--channels-last``, bf16 as ``--bf16`` says):

- the selection pass (eval mode, no grad) and a full training step (selection + forward + backward +
  AdamW step), in seconds per batch and images per second (median of ``--repeats``);
- peak memory of the selection pass and of a training step (``bench.measure.peak_memory``).

``--baseline`` also builds the plain path (``PLAIN``: no blank-patch reuse, default memory format, fp32,
as the code ran before the fast path) with the same weights, checks that both select the same patches
on the same batch, runs one training step of each from the same weights and dropout masks, then times
the two interleaved (plain selection, fast selection, plain step, fast step, and again), so that both see
the same machine load.

JSON (the contract other tools read; only keys are added over time):
``setting`` (dataset, patch_size, memory_size, iteration_size, encoder, embedding_dim, tasks, bf16 (the
mode), bf16_scan_and_step, channels_last, digit_size, noise_count, plain_path), ``batch_size``,
``repeats``, ``machine``, and ``results``: one object per canvas with ``canvas``, ``patches``,
``blank_fraction``, ``selection_seconds_per_batch``, ``selection_images_per_second``,
``train_step_seconds_per_batch``, ``train_step_images_per_second``, ``selection_seconds_all``,
``train_step_seconds_all``, ``selection_peak_mb``, ``selection_peak_above_start_mb``,
``train_step_peak_mb``, ``train_step_peak_above_start_mb``, ``memory_method`` (all of the fast path);
with ``--baseline`` also ``baseline`` (the same keys for the plain path), ``speedup`` (``selection``
and ``train_step``: plain seconds over fast seconds, medians; ``selection_per_pair`` and
``train_step_per_pair``: the ratio of each interleaved pair of timings),
``same_indices`` (the same patches in the same order), ``same_index_sets`` and ``first_step_loss``
(``fast``, ``plain``). This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import default_collate

from bench.measure import peak_memory, timed, write_json
from ips.config import BF16_MODES, IPSConfig, override
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.data.patches import ImagePatches
from ips.device import bf16_autocast, to_device
from ips.model import IPSModel, evaluating
from ips.optimisation import build_optimizer
from ips.selection import Selection
from ips.train import train_step

CANVASES = (1500, 3000, 6000)  # N = 900, 3,600, 14,400 patches of 50x50
PLAIN = {"selection.reuse_blank_patches": False, "encoder.channels_last": False, "optimisation.bf16": "off"}


def args_config(args: argparse.Namespace, canvas: int) -> IPSConfig:
    return bench_config(
        canvas, args.batch_size, args.bf16, args.digit_size, args.noise_count, args.channels_last
    )


def bench_config(
    canvas: int,
    batch_size: int,
    bf16: str,
    digit_size: int = 28,
    noise_count: int = 800,
    channels_last: bool = False,
) -> IPSConfig:
    """The paper's Megapixel MNIST setting on a ``canvas`` x ``canvas`` image (the fast path)."""
    return override(
        IPSConfig(),
        {
            "data.canvas_height": canvas,
            "data.canvas_width": canvas,
            "data.digit_size": digit_size,
            "data.noise_count": noise_count,
            "data.train_canvases": batch_size,
            "data.validation_canvases": 1,
            "aggregator.embedding_dim": 128,
            "optimisation.batch_size": batch_size,
            "optimisation.warmup_epochs": 0,
            "optimisation.bf16": bf16,
            "encoder.channels_last": channels_last,
            "patches.size": 50,
            "selection.memory_size": 100,
            "selection.iteration_size": 100,
        },
    )


def batch_of_canvases(config: IPSConfig, device: torch.device) -> tuple[Tensor, dict[str, Tensor]]:
    """``batch_size`` generated training canvases [B, 1, H, W] and their labels, on ``device``."""
    dataset = MegapixelMNIST(config.resolved_data, "train")
    images, labels = default_collate([dataset[i] for i in range(config.optimisation.batch_size)])
    return to_device(images, labels, device)


def selection_memory(select, device: torch.device) -> dict[str, Any]:
    """Peak memory of one call of ``select``: ``selection_peak_mb``, ``selection_peak_above_start_mb``,
    ``memory_method`` (``bench.gpu_memory`` meters a whole training step with it)."""
    return peak_memory(select, device, "selection")


def blank_fraction(images: Tensor, config: IPSConfig) -> float:
    """The fraction of the batch's patches that hold one constant value."""
    constant, _ = ImagePatches(images, config.patches.size, config.patches.effective_stride).constant_fills()
    return float(constant.float().mean())


@dataclass
class BenchPath:
    """One way of running IPS (a config and its own model and optimiser) on one batch."""

    config: IPSConfig
    model: IPSModel
    optimizer: torch.optim.Optimizer
    images: Tensor
    labels: dict[str, Tensor]

    def select(self) -> Selection:
        source = ImagePatches(self.images, self.config.patches.size, self.config.patches.effective_stride)
        scan_bf16, _ = self.config.optimisation.bf16_on(self.images.device.type)
        with evaluating(self.model), bf16_autocast(self.images.device, scan_bf16):
            return self.model.select(source)

    def step(self) -> float:
        self.model.train()
        return train_step(self.model, self.optimizer, self.images, self.labels, self.config)[0]


def build_path(config: IPSConfig, images: Tensor, labels: dict, weights: dict | None = None) -> BenchPath:
    torch.manual_seed(0)
    model = IPSModel(config).to(images.device)
    if weights is not None:
        model.load_state_dict(weights)
    return BenchPath(config, model, build_optimizer(model, config), images, labels)


def seconds_summary(selection: list[float], step: list[float], batch_size: int) -> dict[str, Any]:
    return {
        "selection_seconds_per_batch": statistics.median(selection),
        "selection_images_per_second": batch_size / statistics.median(selection),
        "train_step_seconds_per_batch": statistics.median(step),
        "train_step_images_per_second": batch_size / statistics.median(step),
        "selection_seconds_all": selection,
        "train_step_seconds_all": step,
    }


def memory_summary(path: BenchPath, device: torch.device) -> dict[str, Any]:
    return peak_memory(path.select, device, "selection") | peak_memory(path.step, device, "train_step")


def compare(fast: BenchPath, plain: BenchPath) -> dict[str, Any]:
    """Selections and first training-step losses of the two paths from the same weights."""
    picks = []
    for path in (fast, plain):
        torch.manual_seed(2)  # the same selection shuffle (selection.shuffle breaks ties at random)
        picks.append(path.select().indices)  # [B, M]
    chosen, reference = picks
    losses = {}
    for name, path in (("fast", fast), ("plain", plain)):
        torch.manual_seed(1)  # the same dropout masks
        losses[name] = path.step()
    return {
        "same_indices": bool(torch.equal(chosen.cpu(), reference.cpu())),
        "same_index_sets": bool(torch.equal(chosen.sort(1).values.cpu(), reference.sort(1).values.cpu())),
        "first_step_loss": losses,
    }


# ------------------------------------------------------------------------------------------ one size


def bench_canvas(canvas: int, args: argparse.Namespace, device: torch.device, warm_up: bool) -> dict:
    config = args_config(args, canvas)
    images, labels = batch_of_canvases(config, device)
    fast = build_path(config, images, labels)
    paths = {"fast": fast}
    if args.baseline:
        paths["plain"] = build_path(override(config, PLAIN), images, labels, fast.model.state_dict())
    result: dict[str, Any] = {
        "canvas": canvas,
        "patches": config.number_of_patches,
        "blank_fraction": blank_fraction(images, config),
    }
    if args.baseline:
        result |= compare(fast, paths["plain"])
    if warm_up:  # allocator, cuDNN autotuning, lazy initialisation: the chunk shapes do not depend on N
        for path in paths.values():
            path.select()
            path.step()
    memory = {name: memory_summary(path, device) for name, path in paths.items()}
    seconds: dict[str, dict[str, list[float]]] = {name: {"select": [], "step": []} for name in paths}
    for _ in range(args.repeats):  # interleaved, so that both paths see the same load
        for kind in ("select", "step"):
            for name in reversed(paths):  # plain first
                seconds[name][kind] += timed(getattr(paths[name], kind), device, 1)
    summaries = {
        name: seconds_summary(seconds[name]["select"], seconds[name]["step"], args.batch_size) | memory[name]
        for name in paths
    }
    result |= summaries["fast"]
    if args.baseline:
        plain = summaries["plain"]
        result["baseline"] = plain
        pairs = {
            kind: [slow / fast for slow, fast in zip(plain[key], result[key], strict=True)]
            for kind, key in (
                ("selection", "selection_seconds_all"),
                ("train_step", "train_step_seconds_all"),
            )
        }
        result["speedup"] = {
            "selection": plain["selection_seconds_per_batch"] / result["selection_seconds_per_batch"],
            "train_step": plain["train_step_seconds_per_batch"] / result["train_step_seconds_per_batch"],
            "selection_per_pair": pairs["selection"],  # each timing of the plain path over the fast one's
            "train_step_per_pair": pairs["train_step"],  # taken just after it
        }
    return result


def describe(result: dict[str, Any]) -> str:
    line = (
        f"canvas {result['canvas']} (N={result['patches']}, {100 * result['blank_fraction']:.0f}% blank):"
        f" selection {result['selection_seconds_per_batch']:.3f} s,"
        f" train step {result['train_step_seconds_per_batch']:.3f} s per batch,"
        f" selection peak +{result['selection_peak_above_start_mb']:.0f} MiB"
    )
    if "baseline" in result:
        plain, speedup = result["baseline"], result["speedup"]
        line += (
            f"; plain: selection {plain['selection_seconds_per_batch']:.3f} s, train step"
            f" {plain['train_step_seconds_per_batch']:.3f} s,"
            f" peak +{plain['selection_peak_above_start_mb']:.0f} MiB;"
            f" speed-up: selection {speedup['selection']:.2f}x, train step {speedup['train_step']:.2f}x;"
            f" same indices: {result['same_indices']} (same sets: {result['same_index_sets']})"
        )
    return line


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
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, required=True, help="write the results here")
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when present")
    p.add_argument("--batch-size", type=int, help="images per batch (default 16 on cuda, 1 on cpu)")
    p.add_argument(
        "--repeats",
        type=int,
        help="timed repeats per measurement, median reported (default 3 on cuda, 1 on cpu)",
    )
    p.add_argument("--canvases", type=int, nargs="+", default=list(CANVASES), help="canvas sides in pixels")
    p.add_argument("--digit-size", type=int, default=28, help="digit side in pixels (Table 4: 84)")
    p.add_argument("--noise-count", type=int, default=800, help="noise curves per canvas (Table 4: 400)")
    p.add_argument(
        "--bf16",
        nargs="?",
        const="scan_and_step",
        default="auto",
        choices=BF16_MODES,
        help="bf16 autocast of the fast path (default auto: on CUDA, off on CPU; --bf16 alone: both)",
    )
    p.add_argument("--channels-last", action="store_true", help="the fast path's encoder in channels-last")
    p.add_argument("--baseline", action="store_true", help="also run the plain path, alternating")
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
    args.batch_size = args.batch_size or (16 if device.type == "cuda" else 1)
    args.repeats = args.repeats or (3 if device.type == "cuda" else 1)
    if args.batch_size < 1 or args.repeats < 1 or min(args.canvases) < 50:
        print("error: --batch-size and --repeats must be >= 1 and canvases >= 50 pixels", file=sys.stderr)
        return 2
    try:
        args_config(args, min(args.canvases))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = []
    for number, canvas in enumerate(args.canvases):
        results.append(bench_canvas(canvas, args, device, warm_up=number == 0))
        print(describe(results[-1]), flush=True)
    config = args_config(args, args.canvases[0])
    report = {
        "setting": {
            "dataset": "megapixel_mnist (generated, training split, bezier noise)",
            "patch_size": 50,
            "memory_size": 100,
            "iteration_size": 100,
            "encoder": "resnet18, 2 stages",
            "embedding_dim": 128,
            "tasks": 4,
            "bf16": args.bf16,
            "bf16_scan_and_step": list(config.optimisation.bf16_on(device.type)),
            "channels_last": args.channels_last,
            "digit_size": args.digit_size,
            "noise_count": args.noise_count,
            "plain_path": PLAIN if args.baseline else None,
        },
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "machine": machine(device),
        "results": results,
    }
    write_json(args.json, report)
    return 0
