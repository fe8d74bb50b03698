"""Checkpoints of a training run: the full state (model, optimiser, schedule, epoch, history, every RNG)
saved after an epoch and restored so that ``ips.train.fit(..., resume_from=folder)`` continues exactly.

``save_checkpoint(folder, state, config)`` writes ``folder/checkpoint.pt`` and ``folder/config.json``
(each replaced atomically); ``check_resume`` refuses a checkpoint saved with another config before any
work, naming every differing field; ``load_checkpoint`` restores a ``TrainState`` in place.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ips.config import IPSConfig, flatten, from_dict, to_dict

CHECKPOINT_FILE = "checkpoint.pt"
CONFIG_FILE = "config.json"


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed with this config or data (the message says why)."""


@dataclass
class TrainState:
    """Everything a checkpoint holds besides the config."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loader_generator: torch.Generator  # the training DataLoader's shuffle
    shuffle_generator: torch.Generator  # the selection's patch order (selection.shuffle); on the CPU
    steps_per_epoch: int
    epoch: int = 0  # epochs completed
    history: list[dict[str, float]] = field(default_factory=list)


def rng_states(state: TrainState) -> dict[str, Any]:
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "loader": state.loader_generator.get_state(),
        "shuffle": state.shuffle_generator.get_state(),
    }


def set_rng_states(state: TrainState, rng: dict[str, Any]) -> None:
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = rng["numpy"]
    keys = numpy_state["keys"].numpy().astype(np.uint32)
    position, has_gauss, cached = (
        numpy_state["position"],
        numpy_state["has_gauss"],
        numpy_state["cached_gaussian"],
    )
    np.random.set_state((numpy_state["name"], keys, position, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])
    state.loader_generator.set_state(rng["loader"])
    state.shuffle_generator.set_state(rng["shuffle"])


def save_checkpoint(folder: str | Path, state: TrainState, config: IPSConfig) -> None:
    """Write ``folder/checkpoint.pt`` (model, optimiser, scheduler position, epoch, history, RNG states,
    config) and ``folder/config.json``; each file is replaced atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "epoch": state.epoch,
        "steps_per_epoch": state.steps_per_epoch,
        "history": state.history,
        "rng": rng_states(state),
        "config": to_dict(config),
    }
    partial_file = folder / (CHECKPOINT_FILE + ".partial")
    torch.save(payload, partial_file)
    partial_file.replace(folder / CHECKPOINT_FILE)
    config_partial = folder / (CONFIG_FILE + ".partial")
    config_partial.write_text(json.dumps(to_dict(config), indent=2) + "\n")
    config_partial.replace(folder / CONFIG_FILE)


CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "epoch", "steps_per_epoch", "history", "rng", "config")


def read_checkpoint(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(
            f"resume_from={str(folder)!r}: no {CHECKPOINT_FILE} there; give a folder written by "
            "save_checkpoint (e.g. the --checkpoint-dir of an earlier run)"
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises RuntimeError, EOFError or pickle errors on a torn file
        raise CheckpointError(
            f"resume_from={str(folder)!r}: {CHECKPOINT_FILE} cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else 'no detail'}); it is truncated or damaged: "
            "resume from an intact checkpoint, or start a new run"
        ) from error
    is_dict = isinstance(checkpoint, dict)
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if is_dict else []
    if not is_dict or missing:
        raise CheckpointError(
            f"resume_from={str(folder)!r}: {CHECKPOINT_FILE} is not a training checkpoint"
            f"{f' (no {missing})' if missing else ''}; give a folder written by save_checkpoint"
        )
    return checkpoint


def config_differences(saved: IPSConfig, config: IPSConfig) -> list[str]:
    """``key: checkpoint X, now Y`` for every dotted field that differs."""
    old, new = flatten(saved), flatten(config)
    return [
        f"{key}: checkpoint {old.get(key, '<absent>')!r}, now {new.get(key, '<absent>')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key, "<absent>") != new.get(key, "<absent>")
    ]


def check_resume(folder: str | Path, config: IPSConfig, checkpoint: dict[str, Any] | None = None) -> None:
    """Raise ``CheckpointError`` unless ``folder`` holds a checkpoint saved with exactly ``config``."""
    checkpoint = read_checkpoint(folder) if checkpoint is None else checkpoint
    differences = config_differences(from_dict(checkpoint["config"]), config)
    if differences:
        raise CheckpointError(
            f"resume_from={str(folder)!r} was saved with a different config ({'; '.join(differences)}). "
            f"Resume with the checkpoint's config ({Path(folder) / CONFIG_FILE}) or start a new run."
        )


def load_checkpoint(
    folder: str | Path, state: TrainState, config: IPSConfig, checkpoint: dict[str, Any] | None = None
) -> None:
    """Restore ``state`` in place from ``folder`` (or its already read ``checkpoint``), after checking
    that the config and the number of batches per epoch match."""
    checkpoint = read_checkpoint(folder) if checkpoint is None else checkpoint
    check_resume(folder, config, checkpoint)
    if checkpoint["steps_per_epoch"] != state.steps_per_epoch:
        raise CheckpointError(
            f"resume_from={str(folder)!r}: the checkpoint's epochs had {checkpoint['steps_per_epoch']} "
            f"batches, this training set gives {state.steps_per_epoch}; resume with the same data."
        )
    state.model.load_state_dict(checkpoint["model"])
    state.optimizer.load_state_dict(checkpoint["optimizer"])
    state.scheduler.load_state_dict(checkpoint["scheduler"])
    state.epoch = checkpoint["epoch"]
    state.history = list(checkpoint["history"])
    set_rng_states(state, checkpoint["rng"])
