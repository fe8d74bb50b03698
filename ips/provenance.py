"""What a training run's numbers depend on beyond its config: the machine, the libraries, the data drawn.

Training is bit-identical on one CPU model at one thread count and instruction set, and differs from
the first epoch on across them (measured: the same commit and seed gave majority 0.540 on one Xeon and
0.470 on another). So every run records, beside its config:

- ``machine()``: the CPU model, torch's thread count, the instruction set torch's kernels use (oneDNN's
  AVX2 / AVX512 / AVX512_BF16 ...), and the versions of Python, torch, numpy and Pillow;
- ``data_fingerprint(dataset)``: a short hash of what the run trains on: the first canvases and their
  labels of a generated dataset, or the files and labels of a dataset read from disk (whose
  augmentation is random per epoch, so its pixels would not repeat).

Two runs with equal fingerprints and machine records are expected to agree bit for bit.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any

import numpy
import PIL
import torch

FINGERPRINT_ITEMS = 4  # generated canvases hashed: enough to tell two data seeds or renderers apart


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, str]:
    """The facts of this process that training results depend on, as strings (MLflow tags)."""
    return {
        "cpu_model": cpu_model(),
        "torch_threads": str(torch.get_num_threads()),
        "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
    }


def data_fingerprint(dataset: Any, items: int = FINGERPRINT_ITEMS) -> str:
    """A 16-hex-digit hash of what ``dataset`` serves (see the module docstring)."""
    digest = hashlib.sha256()
    if hasattr(dataset, "files") and hasattr(dataset, "labels"):  # read from disk: its files and labels
        for name, label in zip(dataset.files, dataset.labels, strict=True):
            digest.update(f"{name}\t{label}\n".encode())
        return digest.hexdigest()[:16]
    for index in range(min(items, len(dataset))):
        image, labels = dataset[index]
        digest.update(image.numpy().tobytes())
        for task in sorted(labels):
            digest.update(task.encode())
            digest.update(labels[task].numpy().tobytes())
    return digest.hexdigest()[:16]
