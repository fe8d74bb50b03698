"""The device check's helpers and its first step (``python -m bench.device_check facts``): the card,
the software, and what CUDA's start costs a process, as nvidia-smi counts it (``context_probe``).

Every step of ``bench.device_check`` adds its part to ``DIR/results.json`` (``save``: read, updated,
written back) and wraps each measurement (``guarded``), so that what finished survives a later error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

RESULTS = "results.json"
MIB = 2**20
PACKAGES = ("torch", "torchvision", "numpy", "pandas", "pyarrow", "protobuf", "pytest", "ray",
            "mlflow-skinny", "mlflow", "optuna", "pydantic", "sqlalchemy")  # fmt: skip


def load(out: Path) -> dict[str, Any]:
    path = out / RESULTS
    return json.loads(path.read_text()) if path.is_file() else {}


def save(out: Path, key: str, value: Any) -> None:
    data = load(out)
    data[key] = value
    (out / RESULTS).write_text(json.dumps(data, indent=1, default=str) + "\n")


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def guarded(function, *args, **kwargs) -> dict[str, Any]:
    """``function``'s result, or what went wrong (the study's own errors included), and the seconds."""
    start = time.perf_counter()
    try:
        result = {"result": function(*args, **kwargs)}
    except Exception as error:  # noqa: BLE001 (recorded, and the next measurement runs)
        result = {"error": f"{type(error).__name__}: {error}"[:2000], "trace": traceback.format_exc()[-3000:]}
        print(f"  error: {result['error'][:300]}", flush=True)
    result["seconds"] = round(time.perf_counter() - start, 2)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


def smi(query: str, apps: bool = False) -> list[list[str]]:
    """nvidia-smi's answer to ``--query-gpu`` (or ``--query-compute-apps``), [] where there is none."""
    flag = "--query-compute-apps" if apps else "--query-gpu"
    try:
        done = subprocess.run(
            ["nvidia-smi", f"{flag}={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [[cell.strip() for cell in line.split(",")] for line in done.stdout.splitlines() if line.strip()]


def own_gpu_mib() -> float | None:
    """This process's GPU memory as nvidia-smi counts it (its context included), None where unknown."""
    for pid, used in smi("pid,used_memory", apps=True):
        if pid == str(os.getpid()):
            return float(used)
    return None


def cuda_memory() -> dict[str, float]:
    if not torch.cuda.is_available():
        return {}
    return {
        "peak_allocated_mib": torch.cuda.max_memory_allocated() / MIB,
        "peak_reserved_mib": torch.cuda.max_memory_reserved() / MIB,
        "process_mib_nvidia_smi": own_gpu_mib(),
    }


def context_probe() -> dict[str, Any]:
    """Run in a child process: nvidia-smi's count of this process at each stage of CUDA's start."""
    stages: dict[str, Any] = {}

    def stage(name: str) -> None:
        stages[name] = {"process_mib": own_gpu_mib(), "reserved_mib": torch.cuda.memory_reserved() / MIB}

    torch.cuda.get_device_properties(0)  # what the study driver calls (card_memory_mb)
    torch.cuda.get_rng_state_all()  # what a CPU trial's checkpoint calls on a GPU machine
    stage("properties_and_rng_state")
    torch.zeros(1, device="cuda")
    torch.cuda.synchronize()
    stage("first_allocation")
    x = torch.rand(256, 1, 50, 50, device="cuda")
    conv = torch.nn.Conv2d(1, 64, 7, 2, 3).cuda()
    with torch.autocast("cuda", torch.bfloat16):
        conv(x).sum().backward()
    (torch.rand(512, 512, device="cuda") @ torch.rand(512, 512, device="cuda")).sum().item()
    torch.cuda.synchronize()
    stage("after_cudnn_and_cublas")
    return stages


def facts(args: argparse.Namespace) -> None:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "tf32": {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32},
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "packages": {},
    }
    for name in PACKAGES:
        try:
            info["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info["packages"][name] = None
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        info["meminfo_kib"] = {
            line.split(":")[0]: int(line.split()[1]) for line in meminfo if line.startswith(("Mem", "Shmem"))
        }
        usage = shutil.disk_usage("/dev/shm")
        info["dev_shm_gib"] = {"total": usage.total / 2**30, "free": usage.free / 2**30}
    except OSError as error:
        info["meminfo_error"] = str(error)
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = {
            "name": props.name,
            "total_memory_mib": props.total_memory / MIB,
            "multiprocessors": props.multi_processor_count,
            "capability": f"{props.major}.{props.minor}",
            "nvidia_smi": smi("name,memory.total,memory.used,driver_version,clocks.max.sm,power.limit"),
        }
        probe = subprocess.run(
            [sys.executable, "-m", "bench.device_check", "context-probe"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = probe.stdout.strip().splitlines()
        info["context_probe"] = (
            json.loads(lines[-1]) if probe.returncode == 0 and lines else probe.stderr[-2000:]
        )
    save(args.out, "facts", info)
    print(json.dumps(info, indent=1, default=str)[:3000])
