"""Peak memory of one IPS training step per encoder and setting: the figures ``--gpus-per-trial auto``
packs trials by (``estimate.gpu_memory``).

    python -m bench.gpu_memory --json estimate/gpu_memory.json                 # CUDA when present
    python -m bench.gpu_memory --json /tmp/cpu.json --device cpu --threads 1

For each setting (encoder, patch size, memory size, iteration size, batch size) it builds the model
and AdamW, runs one warm-up training step (selection + forward + backward + step: the optimiser's state
now exists), then measures the peak of a second step with the bench's own meter
(``bench.throughput.selection_memory``): on CUDA ``torch.cuda.max_memory_allocated``, on CPU the peak resident
set size (VmHWM after ``/proc/self/clear_refs`` and ``malloc_trim``). Recorded are the absolute peak and
the peak above what the process held before the step (model, optimiser state and the batch are held
before): ``activation_mb``, what grows with batch x patches x patch area.

The images are random tensors of the setting's size (memory does not depend on their content), so one
path serves the 1-channel Megapixel MNIST encoder and the 3-channel traffic-sign encoder alike. Run on a
GPU machine and commit the JSON: ``estimate.gpu_memory`` prefers CUDA figures over CPU ones.

The JSON holds one report per device and precision (``reports``): a run merges its figures into the
report of its own device and precision, replacing the figures of the settings it measured and keeping
every other (so fp32, then ``--bf16``, then another device, keep all three). On CUDA a report also
holds ``cuda_context_mb``, this process's CUDA context measured after the steps: the card's used
memory (``torch.cuda.mem_get_info``) less what PyTorch's allocator reserved, which is the context
alone where no other process uses the card (the packing adds headroom: ``estimate.gpu_memory``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from bench.measure import write_json
from bench.throughput import machine, selection_memory
from estimate.gpu_memory import figure_reports, image_size
from ips.config import IPSConfig, override
from ips.model import IPSModel
from ips.optimisation import build_optimizer
from ips.train import train_step
from search_spaces._traffic import BASE as TRAFFIC_BASE

# (base config, its image size overrides, [(patch, memory, iteration, batch), ...]): the Megapixel MNIST
# encoder (ResNet-18, 2 stages, 1 channel, embedding 128) and the traffic-sign one (4 stages, 3 channels,
# embedding 512, the paper's), at patch sizes that bracket the studies' own.
MNIST = (IPSConfig(), {"data.canvas_height": 1000, "data.canvas_width": 1000})
TRAFFIC = (TRAFFIC_BASE, {"data.image_height": 1200, "data.image_width": 1600})
SETTINGS = (
    (*MNIST, [(8, 50, 100, 2), (25, 50, 100, 2), (50, 100, 100, 2), (100, 20, 20, 2)]),
    (*TRAFFIC, [(25, 10, 32, 2), (50, 10, 32, 2), (100, 10, 32, 2)]),
)


def setting_config(
    base: IPSConfig, size: dict, patch: int, memory: int, iteration: int, batch: int, bf16: bool
) -> IPSConfig:
    return override(
        base,
        {
            **size,
            "encoder.pretrained": False,
            "patches.size": patch,
            "selection.memory_size": memory,
            "selection.iteration_size": iteration,
            "optimisation.batch_size": batch,
            "optimisation.warmup_epochs": 0,
            "optimisation.bf16": bf16,
        },
    )


def random_batch(config: IPSConfig, device: torch.device) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    batch, channels = config.optimisation.batch_size, config.encoder.input_channels
    generator = torch.Generator().manual_seed(0)
    height, width = image_size(config)
    images = torch.rand(batch, channels, height, width, generator=generator)
    labels = {
        task.name: (
            torch.randint(task.classes, (batch,), generator=generator)
            if task.kind == "multiclass"
            else torch.randint(2, (batch, task.classes), generator=generator)
        )
        for task in config.tasks
    }
    return images.to(device), {name: value.to(device) for name, value in labels.items()}


def measure(config: IPSConfig, device: torch.device) -> dict[str, Any]:
    torch.manual_seed(0)
    model = IPSModel(config).to(device)
    optimizer = build_optimizer(model, config)
    images, labels = random_batch(config, device)

    def step() -> None:
        model.train()
        train_step(model, optimizer, images, labels, config)

    step()  # warm-up: the optimiser's state, lazy initialisation, the allocator's pools
    memory = selection_memory(step, device)
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "architecture": config.encoder.architecture,
        "stages": config.encoder.stages,
        "input_channels": config.encoder.input_channels,
        "embedding_dim": config.aggregator.embedding_dim,
        "image_height": image_size(config)[0],
        "image_width": image_size(config)[1],
        "patch_size": config.patches.size,
        "memory_size": config.selection.memory_size,
        "iteration_size": config.selection.iteration_size,
        "batch_size": config.optimisation.batch_size,
        "number_of_patches": config.number_of_patches,
        "bf16": config.optimisation.bf16_on(device.type)[1],  # bf16 autocast of the training step
        "parameters": parameters,
        "peak_mb": memory["selection_peak_mb"],  # the meter is the bench's; here it meters a whole step
        "activation_mb": memory["selection_peak_above_start_mb"],
        "memory_method": memory["memory_method"],
    }


NOTE = (
    "Peak memory of one IPS training step per encoder, written by python -m bench.gpu_memory (see its "
    "docstring): one report per device and precision; each run merges its figures into its own report. "
    "estimate.gpu_memory prefers CUDA figures: on a GPU machine run python -m bench.gpu_memory --json "
    "estimate/gpu_memory.json, and again with --bf16, and commit the file."
)
SETTING_FIELDS = (
    "architecture", "stages", "input_channels", "image_height", "image_width",
    "patch_size", "memory_size", "iteration_size", "batch_size",
)  # fmt: skip


def precision(report: dict[str, Any]) -> bool:
    """Whether a report's figures are of bf16 training steps (older reports lack ``bf16``)."""
    return bool(report.get("bf16", report["figures"][0]["bf16"] if report["figures"] else False))


def merge_report(data: dict[str, Any] | None, report: dict[str, Any]) -> dict[str, Any]:
    """The figures file's content ``data`` (None: none yet) with ``report`` merged in (the docstring)."""
    reports = figure_reports(data) if data else []
    kind = (report["device"], precision(report))
    same = [old for old in reports if (old["device"], precision(old)) == kind]
    others = [old for old in reports if (old["device"], precision(old)) != kind]
    measured = {tuple(figure[field] for field in SETTING_FIELDS) for figure in report["figures"]}
    kept = [
        figure
        for old in same
        for figure in old["figures"]
        if tuple(figure[field] for field in SETTING_FIELDS) not in measured
    ]
    merged = {**{k: v for old in same for k, v in old.items()}, **report, "figures": kept + report["figures"]}
    return {"note": NOTE, "reports": [*others, merged]}


def measured_context_mb(device: torch.device) -> float:
    """This process's CUDA context in MiB: the card's used memory less PyTorch's reserved memory."""
    torch.cuda.synchronize(device)
    free, total = torch.cuda.mem_get_info(device)
    return (total - free - torch.cuda.memory_reserved(device)) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="write the figures here")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when present")
    parser.add_argument(
        "--bf16", action="store_true", help="bf16 autocast for the training step (CUDA or CPU)"
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is available; use --device cpu", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    figures = []
    for base, size, points in SETTINGS:
        for patch, memory, iteration, batch in points:
            config = setting_config(base, size, patch, memory, iteration, batch, args.bf16)
            figure = measure(config, device)
            figures.append(figure)
            print(
                f"{figure['architecture']}/{figure['stages']} stages/{figure['input_channels']} ch, "
                f"patch {patch}, "
                f"memory {memory}, iteration {iteration}, batch {batch}: peak {figure['peak_mb']:.0f} MiB, "
                f"step above start {figure['activation_mb']:.0f} MiB",
                flush=True,
            )
    report = {"device": device.type, "bf16": args.bf16, "machine": machine(device), "figures": figures}
    if device.type == "cuda":
        report["cuda_context_mb"] = measured_context_mb(device)
        print(f"CUDA context (card used less reserved): {report['cuda_context_mb']:.0f} MiB", flush=True)
    existing = json.loads(args.json.read_text()) if args.json.exists() else None
    write_json(args.json, merge_report(existing, report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
