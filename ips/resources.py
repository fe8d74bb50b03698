"""Where a training process trains, from the cores and GPU share it was given, and what it may use there.

A trial given a GPU share trains on ``cuda:0`` (Ray shows each trial its own card as device 0), with one
torch thread, its other cores as DataLoader workers rendering canvases, and its CUDA memory capped to
its share less a CUDA context (Ray's fractional GPUs do not isolate memory), so that the trials on a
card cannot together take more than it has. A trial given no GPU trains on the CPU with all its cores
as torch threads, even where it can see a GPU: Ray 2.60 no longer sets ``CUDA_VISIBLE_DEVICES=""`` for
a worker given no GPU unless ``RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO=1``
(``study.ray_config.HIDE_GPUS_FROM_CPU_TRIALS``, which ``study.launch`` sets), and ``ips.train.fit``
would otherwise pick CUDA whenever it sees one. A GPU trial that cannot see CUDA raises ``NoCudaError``
instead of training on the CPU without a word (and logging its process's resident memory as its GPU
peak).

Torch only: the study's trainable calls it with what Ray assigned its trial (and the CUDA context
estimated by ``estimate.gpu_memory.cuda_context_mb``); the gpu tests' cap probe and ``bench`` call it alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


class NoCudaError(RuntimeError):
    """A trial was given a GPU share but this process cannot see a CUDA device."""


@dataclass(frozen=True)
class TrialDevice:
    device: torch.device
    workers: int  # DataLoader worker processes

    @property
    def name(self) -> str:
        """``cpu`` or ``cuda:0``: the run's ``ips.machine.device`` tag."""
        return str(self.device)


def memory_fraction(share: float, context_mb: float) -> float:
    """The CUDA allocator's cap of a trial with ``share`` of the card: the share less a CUDA context of
    ``context_mb`` MiB (outside the allocator), never below half the share."""
    total_mb = torch.cuda.get_device_properties(0).total_memory / 2**20
    return max(share - context_mb / total_mb, share / 2)


def limit_to_resources(cpus: float, gpus: float, context_mb: float) -> TrialDevice:
    """The device, threads, loader workers and CUDA cap of a trial given ``cpus`` cores and ``gpus``
    GPUs, a CUDA context taking ``context_mb`` MiB (see the module's docstring)."""
    cores = max(1, int(cpus))
    if gpus <= 0:
        torch.set_num_threads(cores)
        return TrialDevice(torch.device("cpu"), 0)
    if not torch.cuda.is_available():
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "(not set)")
        raise NoCudaError(
            f"this trial was given {gpus:g} GPU(s) but sees no CUDA device (CUDA_VISIBLE_DEVICES="
            f"{visible!r}, torch {torch.__version__}, built for CUDA {torch.version.cuda}); check the "
            "driver with nvidia-smi and that torch is a CUDA build, or run with --gpus-per-trial 0"
        )
    torch.set_num_threads(1)
    if gpus < 1:
        # Ray shows the trial one GPU, as device 0
        torch.cuda.set_per_process_memory_fraction(memory_fraction(gpus, context_mb), device=0)
    return TrialDevice(torch.device("cuda", 0), cores - 1)
