"""Typed, frozen configuration of one IPS training run.

Every field has a full-word name (``memory_size``, not ``M``). Values that follow from others (the
number of patches, the object-to-image and object-to-patch ratios, the final learning rate) are
properties and can never be typed in inconsistently. Every invalid value raises ``ConfigError`` naming
the field and the fix, when the config is built, before any work starts.

Configs travel as plain nested dicts (``to_dict`` / ``from_dict``), as flat dotted keys for MLflow
params (``flatten``), and are varied by dotted overrides (``override(config, {"patches.size": 25})``),
which is what the study runner and the search spaces use.

Here: the model's parts, ``IPSConfig`` and ``from_dict`` / ``override``. The datasets' configs and their
tasks are in ``ips.dataset_config``; ``ConfigError``, dict conversion, typed coercion and command-line
``key=value`` parsing in ``ips.config_coercion``. Everything is importable from here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, is_dataclass
from typing import Any, Literal

from ips.config_coercion import ConfigError, build, flatten, require, to_dict

# The "X as X" imports re-export what this module does not use itself: ips.config offers every config part.
from ips.dataset_config import DIGITS_PER_CANVAS as DIGITS_PER_CANVAS
from ips.dataset_config import (
    MEGAPIXEL_MNIST_TASKS,
    DataConfig,
    MegapixelMNISTConfig,
    TaskConfig,
    dataset_config,
)
from ips.dataset_config import TRAFFIC_SIGNS_TASKS as TRAFFIC_SIGNS_TASKS
from ips.dataset_config import TrafficSignsConfig as TrafficSignsConfig
from ips.dataset_config import digits_fit as digits_fit


def patch_grid_shape(height: int, width: int, size: int, stride: int) -> tuple[int, int]:
    """Rows and columns of the patch grid over a ``height`` x ``width`` image.

    Patches start at 0, stride, 2*stride, ... and the grid covers the whole image: where the last
    patch would run past the border, the image is zero-padded at the bottom and right (never
    cropped, so an object at the border is never lost). For patch 75 on 1200x1600 this gives
    16 x 22 patches, the last column covering 1575..1650, of which 50 pixels are padding.
    """
    rows = max(1, math.ceil((height - size) / stride) + 1) if height > size else 1
    cols = max(1, math.ceil((width - size) / stride) + 1) if width > size else 1
    return rows, cols


# --------------------------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class EncoderConfig:
    """ResNet trunk that turns one patch into one embedding."""

    architecture: Literal["resnet18", "resnet50"] = "resnet18"
    pretrained: bool = False  # ImageNet weights (torchvision); needs them cached or downloadable
    input_channels: int = 1  # 1 (Megapixel MNIST) or 3 (traffic signs)
    stages: int = 2  # residual stages kept: 2 (Megapixel MNIST) or 4 (traffic signs)
    # The trunk in channels-last memory format: 1.1-1.3x faster, the same results to float rounding but not
    # to the last bit, so selections can differ where scores tie to the last bit (among blank patches).
    channels_last: bool = False

    def __post_init__(self) -> None:
        require(
            self.architecture in ("resnet18", "resnet50"),
            "encoder.architecture",
            f"unknown architecture {self.architecture!r}; use 'resnet18' or 'resnet50'",
        )
        require(
            self.input_channels in (1, 3),
            "encoder.input_channels",
            f"got {self.input_channels}; use 1 (grey images) or 3 (colour images)",
        )
        require(self.stages in (2, 4), "encoder.stages", f"got {self.stages}; use 2 or 4 residual stages")


@dataclass(frozen=True)
class AggregatorConfig:
    """Cross-attention pooling from one learnable query token per task to the patch embeddings."""

    embedding_dim: int = 128
    heads: int = 8
    key_dim_per_head: int = 16
    value_dim_per_head: int = 16
    mlp_dim: int = 512
    dropout: float = 0.1
    attention_dropout: float = 0.1
    # 1-D sinusoidal encoding of each patch's index in the grid. On by default, as in both published
    # codebases' Megapixel MNIST configs and every run of the follow-up (use_pos: True): without it the
    # pooling cannot tell where a patch is, and the 'top' task can only be guessed from content. IPS's
    # traffic-sign config turns it off (our traffic studies do too).
    positional_encoding: bool = True

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "heads", "key_dim_per_head", "value_dim_per_head", "mlp_dim"):
            value = getattr(self, name)
            require(value >= 1, f"aggregator.{name}", f"got {value}; must be a positive integer")
        require(
            self.embedding_dim % self.heads == 0,
            "aggregator.embedding_dim",
            f"{self.embedding_dim} is not divisible by aggregator.heads={self.heads}; "
            f"choose an embedding_dim that is a multiple of heads (e.g. {self.heads * 16})",
        )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            require(0.0 <= value < 1.0, f"aggregator.{name}", f"got {value}; must be in [0, 1)")


@dataclass(frozen=True)
class SelectionConfig:
    """The IPS loop: keep ``memory_size`` patches, scan ``iteration_size`` new ones at a time."""

    memory_size: int = 100
    iteration_size: int = 100
    # Visit patches in a random order (breaks ties among equal scores, e.g. blank patches, at random).
    # On by default, as in every IPS config and every published run; off, ties go to the top-left.
    shuffle: bool = True
    reuse_blank_patches: bool = True  # embed each constant patch once per pass: exact, same selections

    def __post_init__(self) -> None:
        require(
            self.memory_size >= 1,
            "selection.memory_size",
            f"got {self.memory_size}; memory_size must be at least 1 (the paper uses 100 on Megapixel MNIST)",
        )
        require(
            self.iteration_size >= 1,
            "selection.iteration_size",
            f"got {self.iteration_size}; iteration_size must be at least 1",
        )


@dataclass(frozen=True)
class PatchConfig:
    """Square patches of ``size`` pixels every ``stride`` pixels (``stride=None``: ``stride = size``)."""

    size: int = 50
    stride: int | None = None

    def __post_init__(self) -> None:
        require(self.size >= 1, "patches.size", f"got {self.size}; patch size must be a positive integer")
        require(
            self.stride is None or self.stride >= 1,
            "patches.stride",
            f"got {self.stride}; use a positive stride, or leave it unset for stride = size",
        )

    @property
    def effective_stride(self) -> int:
        """The stride actually used: ``stride``, or ``size`` where it is unset."""
        return self.stride if self.stride is not None else self.size


BF16_MODES = ("auto", "off", "scan", "scan_and_step")


@dataclass(frozen=True)
class OptimisationConfig:
    """AdamW with linear warm-up, then cosine decay to ``final_lr`` (= lr x 1e-3), stepped per batch."""

    epochs: int = 100
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_epochs: int = 10
    final_lr_ratio: float = 1e-3
    # bf16 autocast: "auto" (scan and step on CUDA, off on CPU), "off", "scan" (the selection pass only) or
    # "scan_and_step", on any device; True and False (older configs) mean "scan_and_step" and "off".
    bf16: bool | Literal["auto", "off", "scan", "scan_and_step"] = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.bf16, bool):
            object.__setattr__(self, "bf16", "scan_and_step" if self.bf16 else "off")
        require(
            self.bf16 in BF16_MODES,
            "optimisation.bf16",
            f"got {self.bf16!r}; use one of {list(BF16_MODES)}",
        )
        require(self.epochs >= 1, "optimisation.epochs", f"got {self.epochs}; train for at least 1 epoch")
        require(self.batch_size >= 1, "optimisation.batch_size", f"got {self.batch_size}; must be >= 1")
        require(self.lr > 0, "optimisation.lr", f"got {self.lr}; the learning rate must be positive")
        require(self.weight_decay >= 0, "optimisation.weight_decay", f"got {self.weight_decay}; must be >= 0")
        require(
            0 <= self.warmup_epochs <= self.epochs,
            "optimisation.warmup_epochs",
            f"got {self.warmup_epochs}; must be between 0 and epochs={self.epochs}",
        )
        require(
            0 < self.final_lr_ratio <= 1,
            "optimisation.final_lr_ratio",
            f"got {self.final_lr_ratio}; must be in (0, 1]",
        )

    @property
    def final_lr(self) -> float:
        return self.lr * self.final_lr_ratio

    def bf16_on(self, device_type: str) -> tuple[bool, bool]:
        """(bf16 for the selection pass, bf16 for the training step) on a ``device_type`` device."""
        mode = ("scan_and_step" if device_type == "cuda" else "off") if self.bf16 == "auto" else self.bf16
        return mode in ("scan", "scan_and_step"), mode == "scan_and_step"


# ----------------------------------------------------------------------------------------- the whole


@dataclass(frozen=True)
class IPSConfig:
    """Everything one training run needs: data, tasks, model, selection, patches, optimisation, seed."""

    data: DataConfig = field(default_factory=MegapixelMNISTConfig)
    tasks: tuple[TaskConfig, ...] = MEGAPIXEL_MNIST_TASKS
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    aggregator: AggregatorConfig = field(default_factory=AggregatorConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    patches: PatchConfig = field(default_factory=PatchConfig)
    optimisation: OptimisationConfig = field(default_factory=OptimisationConfig)
    seed: int = 0  # model initialisation, data order, dropout, shuffle of the selection

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        require(len(self.tasks) >= 1, "tasks", "give at least one task")
        names = [task.name for task in self.tasks]
        require(len(set(names)) == len(names), "tasks", f"task names must be unique, got {names}")
        require(
            self.patches.size <= min(self.data.image_height, self.data.image_width),
            "patches.size",
            f"a {self.patches.size}-pixel patch is larger than the {self.data.image_height}x"
            f"{self.data.image_width} image; use a patch size of at most "
            f"{min(self.data.image_height, self.data.image_width)}",
        )
        require(
            self.encoder.input_channels == self.data.channels,
            "encoder.input_channels",
            f"{self.encoder.input_channels} does not match the {self.data.channels}-channel images of "
            f"{self.data.name}; set encoder.input_channels={self.data.channels}",
        )

    # derived values ------------------------------------------------------------------------------

    @property
    def resolved_data(self) -> DataConfig:
        """The data config the datasets are built from: ``data`` with ``data_seed`` None replaced by the
        trial's ``seed`` (each seed then draws its own canvases; the flattened config, and so the
        configuration id, stays the same for every seed)."""
        if self.data.data_seed is not None:
            return self.data
        return dataclasses.replace(self.data, data_seed=self.seed)

    @property
    def patch_grid(self) -> tuple[int, int]:
        """(rows, columns) of the patch grid; see ``patch_grid_shape`` for the border rule."""
        return patch_grid_shape(
            self.data.image_height, self.data.image_width, self.patches.size, self.patches.effective_stride
        )

    @property
    def number_of_patches(self) -> int:
        rows, cols = self.patch_grid
        return rows * cols

    @property
    def object_to_patch_ratio(self) -> float | None:
        """Area of one object over the area of one patch (a fraction); None where objects vary."""
        size = self.data.object_size
        return None if size is None else size**2 / self.patches.size**2

    @property
    def object_to_image_ratio(self) -> float | None:
        size = self.data.object_size
        return None if size is None else size**2 / (self.data.image_height * self.data.image_width)

    # conversions ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def flatten(self) -> dict[str, Any]:
        return flatten(self)


# ------------------------------------------------------------------------------ from dicts, overrides


def from_dict(data: dict[str, Any]) -> IPSConfig:
    """Build an ``IPSConfig`` from nested dicts; missing fields take their defaults.

    A config that gives no tasks gets its dataset's (``default_tasks``: the traffic-sign task for
    ``traffic_signs``).
    """
    data = dict(data)
    dataset = data.get("data")
    if isinstance(dataset, dict):
        chosen = dataset_config(dataset.get("name", MegapixelMNISTConfig.name))
        data.setdefault("tasks", chosen.default_tasks)
    return build(IPSConfig, data, "")


def override(config: IPSConfig, changes: dict[str, Any]) -> IPSConfig:
    """A new config with dotted-key ``changes`` applied, e.g. ``{"patches.size": 25}``.

    ``data.name`` is applied first: switching datasets starts the data section from that dataset's
    defaults (other ``data.*`` keys of the same call then apply to it), sets ``encoder.input_channels``
    to its channels and, for traffic signs, the traffic-sign task, unless the call sets those itself.
    Unknown keys and invalid values raise ``ConfigError`` naming the key.
    """
    tree = to_dict(config)
    ordered = sorted(changes.items(), key=lambda item: item[0] != "data.name")  # data.name first
    for key, value in ordered:
        if key == "data.name":
            _switch_dataset(tree, value, changes)
            continue
        parts = key.split(".")
        node = tree
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                node = node[int(part)]
                continue
            if part not in node or not isinstance(node[part], (dict, list)):
                raise ConfigError(f"{key}: unknown field {'.'.join(parts[: depth + 1])!r}")
            node = node[part]
        leaf = parts[-1]
        if isinstance(node, list):
            node[int(leaf)] = value
        elif leaf not in node:
            raise ConfigError(f"{key}: unknown field; valid fields here are {sorted(node)}")
        else:
            node[leaf] = to_dict(value) if is_dataclass(value) or isinstance(value, tuple) else value
    return from_dict(tree)


def _switch_dataset(tree: dict[str, Any], name: Any, changes: dict[str, Any]) -> None:
    """Point ``tree`` (a config as nested dicts) at dataset ``name``, starting from its defaults."""
    if name == tree["data"]["name"]:
        return
    defaults = dataset_config(name)()
    tree["data"] = to_dict(defaults)
    if "encoder.input_channels" not in changes:
        tree["encoder"]["input_channels"] = defaults.channels
    if "tasks" not in changes:
        tree["tasks"] = to_dict(defaults.default_tasks)


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for notebooks."""
    return dataclasses.replace(config, **changes)
