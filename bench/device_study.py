"""The device check's last steps: a small paper-profile study through Ray Tune and MLflow
(``python -m bench.device_check study``) and the short table printed last (``summary``)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import torch

from bench.device_probe import load, save


def study(args: argparse.Namespace) -> None:
    """The real thing, small: ``python -m study.run patch_size_low_data`` (the paper profile, seed 0, one
    epoch of 32 canvases; 4 trials) with ``--gpus-per-trial auto`` and a quarter of the cores per trial
    (so loader workers run inside Ray's actors) through Ray Tune and MLflow, then each trial's logged
    figures (needs Ray and MLflow: the wheels)."""
    folder = Path(tempfile.mkdtemp())
    sets = ["optimisation.epochs=1", "optimisation.warmup_epochs=0", "data.train_canvases=32"]
    sets += ["data.validation_canvases=16"]
    if args.quick:
        sets += [
            "data.canvas_height=300",
            "data.canvas_width=300",
            "data.digit_size=28",
            "data.noise_count=12",
        ]
        sets += ["selection.memory_size=8", "optimisation.batch_size=2"]
    command = [sys.executable, "-m", "study.run", "patch_size_low_data", "--seeds", "1"]
    command += [f"--set={item}" for item in sets]
    cpus = max(1, (os.cpu_count() or 1) // 4)  # 4 trials at once, 3 loader workers each inside Ray's actors
    command += ["--cpus-per-trial", str(cpus), "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    command += ["--storage", str(folder / "ray")]
    if torch.cuda.is_available():
        command += ["--gpus-per-trial", "auto"]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=folder)
    try:
        stdout, stderr = process.communicate(timeout=args.deadline)
    except subprocess.TimeoutExpired:
        process.terminate()  # the study stops as on Ctrl-C: Ray shut down, its runs closed
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    result: dict[str, Any] = {
        "command": command[2:],
        "exit_code": process.returncode,
        "seconds": time.perf_counter() - start,
        "stdout_tail": stdout[-2500:],
        "stderr_tail": stderr[-2500:],
    }
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("patch_size_low_data")
    trials = []
    if experiment is not None:
        for run in client.search_runs([experiment.experiment_id], "tags.`ips.role` = 'trial'"):
            metrics = run.data.metrics
            trials.append(
                {
                    "patch": run.data.params.get("patches.size"),
                    "status": run.info.status,
                    "device": run.data.tags.get("ips.machine.device"),  # cuda:0, or where it really ran
                    "seconds": (run.info.end_time or 0) / 1000 - run.info.start_time / 1000,
                    **{name: metrics.get(name) for name in ("memory/peak_mb", "time/images_per_second")},
                    "peak_mb_history": [
                        m.value for m in client.get_metric_history(run.info.run_id, "memory/peak_mb")
                    ],
                }
            )
    result["trials"] = trials
    save(args.out, "study", result)
    shutil.rmtree(folder, ignore_errors=True)


def junit(path: Path) -> str:
    if not path.is_file():
        return "not run"
    root = ElementTree.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    failed = [
        case.get("name")
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return f"{counts} failed: {failed[:8]}"


def table4_projection(data: dict[str, Any]) -> dict[str, Any] | None:
    """One paper Table 4 trial's wall time at the short fit's training pace (validation is faster, so
    this errs high): its canvases x epochs over the patch-50 bf16 fit's images per second."""
    from bench.device_table4 import table4_config

    figure = (data.get("table4", {}).get("p50_bf16_3workers") or {}).get("result")
    if not figure or not figure.get("images_per_second_last_epoch"):
        return None
    config = table4_config(50, False)
    epochs = config.optimisation.epochs
    images = (config.data.train_canvases + config.data.validation_canvases) * epochs
    pace = figure["images_per_second_last_epoch"]
    return {"images_per_second": pace, "images": images, "epochs": epochs, "hours": images / pace / 3600}


def summary(args: argparse.Namespace) -> None:
    data = load(args.out)
    lines = [
        f"tests core: {junit(args.out / 'junit-core.xml')}",
        f"tests study: {junit(args.out / 'junit-study.xml')}",
    ]
    for name, run in data.get("bench", {}).items():
        rows = (run.get("result") or {}).get("report") or {}
        for row in rows.get("results", []):
            lines.append(
                f"bench {name} canvas {row['canvas']}: step {row['train_step_images_per_second']:.1f} img/s, "
                f"selection {row['selection_images_per_second']:.1f} img/s, "
                f"step peak {row['train_step_peak_mb']:.0f} MiB"
                + (f", plain step x{row['speedup']['train_step']:.2f}" if "speedup" in row else "")
            )
        if "error" in run:
            lines.append(f"bench {name}: {run['error'][:200]}")
    for name, run in data.get("table4", {}).items():
        figure = run.get("result") or {}
        if name == "render_and_load":
            lines.append(f"table4 render/load: {json.dumps({k: round(v, 3) for k, v in figure.items()})}")
        elif figure:
            lines.append(
                f"table4 {name}: {figure['images_per_second_last_epoch']:.1f} img/s, allocated "
                f"{figure.get('peak_allocated_mib', 0):.0f}, reserved "
                f"{figure.get('peak_reserved_mib', 0):.0f}, "
                f"process {figure.get('process_mib_nvidia_smi')} MiB"
            )
        else:
            lines.append(f"table4 {name}: {run.get('error', '')[:200]}")
    for name, run in data.get("packing", {}).items():
        figure = run.get("result") or {}
        lines.append(
            f"packing {name}: {figure.get('finished')}/{figure.get('trials')} finished, "
            f"{figure.get('aggregate_images_per_second', 0):.1f} img/s together, max process "
            f"{figure.get('max_process_mib_nvidia_smi')} MiB, card {figure.get('max_card_used_mib')} MiB, "
            f"util {figure.get('mean_utilization_percent')}%"
            + (f" {run['error'][:150]}" if "error" in run else "")
        )
    run = data.get("study")
    if run:
        rows = [
            (t["patch"], t["status"], t["device"], t["memory/peak_mb"], t["time/images_per_second"])
            for t in run.get("trials", [])
        ]
        lines.append(
            f"study exit {run['exit_code']} in {run['seconds']:.0f} s: "
            f"(patch, status, device, MiB, img/s) {rows}"
        )
    memory = data.get("memory", {})
    for row in memory.get("table4_shares", []):
        cells = [
            f"{name} {1 / row[name]['share']:.0f}/card ({row[name]['peak_mb']:.0f} MiB)"
            if isinstance(row[name], dict)
            else f"{name}: {row[name][:80]}"
            for name in ("shipped", "measured")
        ]
        lines.append(f"share Table 4 patch {row['patch']} bf16 {row['bf16']}: " + ", ".join(cells))
    if memory.get("cuda_context_mb"):
        lines.append(f"CUDA context measured (MiB, fp32 and bf16 runs): {memory['cuda_context_mb']}")
    projection = table4_projection(data)
    if projection:
        lines.append(
            f"one Table 4 trial (patch 50, bf16, 3 workers) at {projection['images_per_second']:.1f} img/s: "
            f"{projection['images']} images in {projection['epochs']} epochs, about "
            f"{projection['hours']:.1f} h alone on the card"
        )
        save(args.out, "table4_projection", projection)
    checks = memory.get("estimate_checks", [])
    failing = [
        (c["stages"], c["patch"], c["bf16"], round(c["peak_mb"]), round(c["estimate_x_margin_mb"]))
        for c in checks
        if not c["holds"]
    ]
    if checks:
        lines.append(
            f"shipped estimate holds for {len(checks) - len(failing)}/{len(checks)} figures; not: {failing}"
        )
    print("\n".join(lines))
