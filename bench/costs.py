"""Per-patch encoder costs, measured: the calibration of the dry run's time estimate (``estimate.cost``).

    python -m bench.costs --json estimate/encoder_costs.json --threads 1     # about 2 minutes on 1 core

For each encoder depth (ResNet-18 with 2 stages on 1-channel patches, as on Megapixel MNIST; with 4
stages on 3-channel patches, as on traffic signs) and each patch size it times, on one thread:

- ``scan``: seconds per patch of the selection pass's encoder work (eval mode, inference mode, fp32), in
  batches of ``SCAN_BATCH`` patches;
- ``train``: seconds per patch of the training step's encoder work (train mode, forward and backward with
  respect to the weights, fp32) on the patches of one training step: batch 16 x memory 50 = 800
  (``TRAIN_PATCHES``), fewer for large patches (at most ``TRAIN_PIXELS`` pixels), since a small batch's
  per-call overhead made small patches look several times dearer than a real step pays;
- ``other_per_image``: seconds per image of a whole selection pass minus its encoder work (cutting,
  scoring, sorting), at Table 4's setting with blank-patch reuse off.

Each figure is the median of ``--repeats`` timings after one warm-up. The JSON holds the figures, the
machine, the load average while they were taken and this description; ``estimate.cost`` reads it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.measure import timed, write_json
from bench.throughput import batch_of_canvases, bench_config, machine
from ips.config import EncoderConfig, override
from ips.data.patches import ImagePatches
from ips.encoder import PatchEncoder
from ips.model import IPSModel, evaluating

DEPTHS = {
    "resnet18-2": EncoderConfig(stages=2, input_channels=1),  # Megapixel MNIST
    "resnet18-4": EncoderConfig(stages=4, input_channels=3),  # traffic signs
}
PATCH_SIZES = (8, 17, 25, 33, 50, 100, 150)  # the paper's and the cpu profiles' (25..150 divided by 3)
SCAN_BATCH = 100
TRAIN_PATCHES = 800  # one training step: batch 16 x memory 50
TRAIN_PIXELS = 4_000_000  # ... at most this many pixels (800 patches of 150 px would need many GB)


def train_batch(size: int) -> int:
    """Patches of ``size`` px timed together as one training step."""
    return max(16, min(TRAIN_PATCHES, TRAIN_PIXELS // size**2))


def encoder_seconds_per_patch(encoder: EncoderConfig, size: int, repeats: int) -> dict[str, float]:
    """Scan and training seconds per patch of ``size`` x ``size`` pixels."""
    torch.manual_seed(0)
    model = PatchEncoder(encoder, 128)
    channels = encoder.input_channels
    scan_patches = torch.rand(SCAN_BATCH, channels, size, size)
    train_patches = torch.rand(train_batch(size), channels, size, size)

    def scan() -> None:
        with evaluating(model), torch.inference_mode():
            model(scan_patches)

    def train() -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        model(train_patches).sum().backward()

    cpu = torch.device("cpu")
    scan(), train()  # warm-up
    return {
        "scan": statistics.median(timed(scan, cpu, repeats)) / SCAN_BATCH,
        "train": statistics.median(timed(train, cpu, repeats)) / len(train_patches),
    }


def other_seconds_per_image(repeats: int) -> float:
    """A plain selection pass at Table 4's setting minus its encoder work: seconds per image."""
    config = override(bench_config(3000, 1, "off", 84, 400), {"selection.reuse_blank_patches": False})
    images, _ = batch_of_canvases(config, torch.device("cpu"))
    torch.manual_seed(0)
    model = IPSModel(config)
    source = ImagePatches(images, 50)
    embed = model.embed
    encoder_seconds: list[float] = []

    def timed_embed(patches):
        start = time.perf_counter()
        embeddings = embed(patches)
        encoder_seconds.append(time.perf_counter() - start)
        return embeddings

    model.embed = timed_embed
    others = []
    for _ in range(repeats + 1):  # the first is a warm-up
        encoder_seconds.clear()
        start = time.perf_counter()
        with evaluating(model):
            model.select(source)
        others.append(time.perf_counter() - start - sum(encoder_seconds))
    return statistics.median(others[1:])


def measure(repeats: int) -> dict[str, Any]:
    costs: dict[str, Any] = {}
    for name, encoder in DEPTHS.items():
        costs[name] = {}
        for size in PATCH_SIZES:
            costs[name][str(size)] = encoder_seconds_per_patch(encoder, size, repeats)
            print(f"{name} patch {size}: {costs[name][str(size)]}", flush=True)
    return costs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.costs", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path, required=True, help="write the calibration here")
    p.add_argument("--repeats", type=int, default=3, help="timings per figure, median kept (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: per core)")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        print("error: --repeats and --threads must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    report = {
        "description": __doc__,
        "unit": "seconds per patch on one CPU core (torch threads as in machine.torch_threads), fp32",
        "scan_batch": SCAN_BATCH,
        "train_batch": {str(size): train_batch(size) for size in PATCH_SIZES},
        "repeats": args.repeats,
        "encoders": {name: vars(encoder) for name, encoder in DEPTHS.items()},
        "seconds_per_patch": measure(args.repeats),
        "other_per_image": other_seconds_per_image(args.repeats),
        "machine": machine(torch.device("cpu")),
    }
    write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
