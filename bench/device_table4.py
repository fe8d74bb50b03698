"""The device check's Table 4 steps (``python -m bench.device_check table4`` and ``packing``): rendering
and loading onto the device, short fits of the paper's trial (images per second, peak allocated and
reserved memory, the process's footprint), and K trials at once on the card under the caps that
``ips.resources`` sets, with their total throughput.

Table 4's setting is the ``patch_size_low_data`` paper trial (3000x3000 canvases, 84-pixel digits, 400
curves, the published renderer, memory 100, iteration 100, batch 16), with fewer canvases and epochs;
``--quick`` shrinks it to a CPU-sized stand-in that runs the same code paths.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.device_probe import MIB, cuda_memory, device, guarded, save, smi


def table4_config(patch: int, quick: bool, **changes: Any):
    """The ``patch_size_low_data`` paper trial at ``patch`` (seed 0), with ``changes`` (dotted): the
    study's base with its paper profile's overrides, as the runner builds its trials."""
    from ips.config import override
    from search_spaces import STUDIES

    if quick:  # a CPU-sized stand-in: the same code paths
        changes = {
            "data.canvas_height": 300,
            "data.canvas_width": 300,
            "data.digit_size": 28,
            "data.noise_count": 12,
            "selection.memory_size": 8,
            "optimisation.batch_size": 2,
            "aggregator.embedding_dim": 32,
            **{k: v for k, v in changes.items() if not k.startswith("data.") or k.endswith("_canvases")},
        }
        patch = max(16, patch // 3)
    study = STUDIES["patch_size_low_data"]
    base = override(study.base, {**study.profiles["paper"].overrides, **changes})
    return override(base, {"patches.size": patch, "seed": 0})


def short_fit(patch: int, bf16: str, train: int, val: int, epochs: int, workers: int, quick: bool):
    """A fit of ``train`` canvases for ``epochs`` at Table 4 on this device: the last epoch's figures."""
    from ips.data import build_datasets
    from ips.train import fit

    if quick:  # a few canvases, one epoch, at most one worker: the code path, not a figure
        train, val, epochs, workers = min(train, 4), min(val, 2), 1, min(workers, 1)
    config = table4_config(
        patch,
        quick,
        **{
            "data.train_canvases": train,
            "data.validation_canvases": val,
            "optimisation.epochs": epochs,
            "optimisation.warmup_epochs": 0,
            "optimisation.bf16": bf16,
        },
    )
    train_data, val_data = build_datasets(config)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = fit(config, train_data, val_data, device=device(), num_workers=workers)
    last = result.history[-1]
    return {
        "patch": config.patches.size,
        "batch_size": config.optimisation.batch_size,
        "bf16_scan_and_step": list(config.optimisation.bf16_on(device().type)),
        "workers": workers,
        "epochs": epochs,
        "train_canvases": train,
        "images_per_second_last_epoch": last["time/images_per_second"],
        "seconds_per_batch_last_epoch": last["time/seconds_per_batch"],
        "epoch_seconds_last": last["time/epoch_seconds"],
        "peak_mb_logged": last["memory/peak_mb"],  # what MLflow gets: max_memory_allocated on CUDA
        "train_loss_last": last["train/loss"],
        "wall_seconds": time.perf_counter() - start,
        "model_device": str(next(result.model.parameters()).device),
        **cuda_memory(),
    }


def render_and_load(quick: bool) -> dict[str, Any]:
    """Seconds to render a canvas (one core), and the training loader's images/s onto the device."""
    from ips.data import build_datasets
    from ips.data.megapixel_mnist import MegapixelMNIST
    from ips.device import synchronize, to_device
    from ips.train import build_loaders

    canvases = 8 if quick else 64
    config = table4_config(50, quick, **{"data.train_canvases": canvases, "data.validation_canvases": 16})
    dataset = MegapixelMNIST(config.data, "train")
    start = time.perf_counter()
    dataset.noise_bank()
    bank = time.perf_counter() - start
    start = time.perf_counter()
    for index in range(8):
        dataset[index]
    result: dict[str, Any] = {
        "noise_bank_seconds": bank,
        "render_seconds_per_canvas": (time.perf_counter() - start) / 8,
    }
    result["canvas_mib"] = dataset[0][0].numel() * 4 / MIB
    train, val = build_datasets(config)
    for workers in (0, 1) if quick else (0, 3):
        loader, _ = build_loaders(config, train, val, device(), workers)
        start, images = time.perf_counter(), 0
        for batch, labels in loader:
            batch, labels = to_device(batch, labels, device())
            synchronize(device())
            images += batch.shape[0]
        result[f"loader_images_per_second_{workers}_workers"] = images / (time.perf_counter() - start)
    return result


def table4(args: argparse.Namespace) -> None:
    results: dict[str, Any] = {"render_and_load": guarded(render_and_load, args.quick)}
    save(args.out, "table4", results)
    runs = {  # name: (patch, bf16, train canvases, epochs, workers)
        "p50_bf16_3workers": (50, "auto", 48, 2, 3),
        "p50_fp32_3workers": (50, "off", 48, 2, 3),
        "p150_bf16_3workers": (150, "auto", 32, 1, 3),
        "p25_bf16_3workers": (25, "auto", 32, 1, 3),
    }
    for name, (patch, bf16, train, epochs, workers) in runs.items():
        print(f"--- table4 {name}", flush=True)
        results[name] = guarded(short_fit, patch, bf16, train, 16, epochs, workers, args.quick)
        save(args.out, "table4", results)


def packing_worker(args: argparse.Namespace) -> None:
    """One trial as the trainable runs it: its CPUs and GPU share, the cap, then a short Table 4 fit.
    Without CUDA (``--quick`` on a CPU) the trial is given no GPU, as ``--gpus-per-trial 0`` would."""
    from estimate.gpu_memory import cuda_context_mb
    from ips.resources import limit_to_resources, memory_fraction

    share = args.share if torch.cuda.is_available() else 0.0
    start = time.perf_counter()
    placed = limit_to_resources(args.cpus, share, cuda_context_mb())
    fraction = memory_fraction(share, cuda_context_mb()) if 0 < share < 1 else None
    figures = short_fit(50, "auto", 48, 16, 2, placed.workers, args.quick)
    print(
        json.dumps(
            {
                **figures,
                "share": share,
                "fraction": fraction,
                "trial_device": placed.name,
                "since_start": time.perf_counter() - start,
            }
        )
    )


def packing(args: argparse.Namespace) -> None:
    """K trials at once as ``--gpus-per-trial S --cpus-per-trial C`` runs them: 4 at 1/4 with a quarter of
    the cores each (3 loader workers), 16 at 1/16 with one core each (no workers; what ``auto`` gives
    Table 4's patch 25 and 50 on this card). Each layout is cut off at its deadline (seconds)."""
    cpus = os.cpu_count() or 1
    layouts = (
        [(2, 0.5, 1, 300)]
        if args.quick
        else [(4, 0.25, max(1, cpus // 4), 30), (16, 0.0625, max(1, cpus // 16), 42)]
    )
    results: dict[str, Any] = {}
    for trials, share, trial_cpus, deadline in layouts:
        name = f"{trials}_trials_share_{share:g}_cpus_{trial_cpus}"
        print(f"--- packing {name}", flush=True)
        results[name] = guarded(run_together, trials, share, trial_cpus, deadline, args.quick)
        save(args.out, "packing", results)


def run_together(trials: int, share: float, cpus: int, deadline: float, quick: bool) -> dict[str, Any]:
    """Start ``trials`` packing workers at once; sample nvidia-smi until they end or the deadline."""
    command = [sys.executable, "-m", "bench.device_check", "packing-worker", "--share", str(share)]
    command += ["--cpus", str(cpus), *(["--quick"] if quick else [])]
    with tempfile.TemporaryDirectory() as folder:
        logs = [open(Path(folder) / f"{i}.err", "w+") for i in range(trials)]  # noqa: SIM115
        start = time.perf_counter()
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True) for log in logs]
        samples, per_pid = [], {}
        while any(p.poll() is None for p in processes) and time.perf_counter() - start < deadline:
            samples += [[float(value) for value in row] for row in smi("memory.used,utilization.gpu")]
            for pid, used in smi("pid,used_memory", apps=True):
                per_pid[pid] = max(per_pid.get(pid, 0.0), float(used))
            time.sleep(0.5)
        outputs = []
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is None:
                process.kill()
            stdout = process.communicate(timeout=30)[0]
            log.seek(0)
            lines = stdout.strip().splitlines()
            ok = process.returncode == 0 and lines
            outputs.append(
                json.loads(lines[-1]) if ok else {"exit": process.returncode, "stderr": log.read()[-1500:]}
            )
            log.close()
    done = [o for o in outputs if "images_per_second_last_epoch" in o]
    return {
        "trials": trials,
        "share": share,
        "cpus_per_trial": cpus,
        "wall_seconds": time.perf_counter() - start,
        "finished": len(done),
        "aggregate_images_per_second": sum(o["images_per_second_last_epoch"] for o in done),
        "max_process_mib_nvidia_smi": max(per_pid.values(), default=None),
        "max_card_used_mib": max((sample[0] for sample in samples), default=None),
        "mean_utilization_percent": sum(sample[1] for sample in samples) / len(samples) if samples else None,
        "trials_detail": outputs,
    }
