"""Typed, frozen configuration of one IPS training run.

Every field has a full-word name (``memory_size``, not ``M``). Values that follow from others (the
number of patches, the object-to-image and object-to-patch ratios, the final learning rate) are
properties and can never be typed in inconsistently. Every invalid value raises ``ConfigError`` naming
the field and the fix, when the config is built, before any work starts.

Configs travel as plain nested dicts (``to_dict`` / ``from_dict``), as flat dotted keys for MLflow
params (``flatten``), and are varied by dotted overrides (``override(config, {"patches.size": 25})``),
which is what the study runner and the search spaces use.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints


class ConfigError(ValueError):
    """An invalid configuration value: the message names the field and how to fix it."""


def _require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{field_name}: {message}")


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
        _require(
            self.architecture in ("resnet18", "resnet50"),
            "encoder.architecture",
            f"unknown architecture {self.architecture!r}; use 'resnet18' or 'resnet50'",
        )
        _require(
            self.input_channels in (1, 3),
            "encoder.input_channels",
            f"got {self.input_channels}; use 1 (grey images) or 3 (colour images)",
        )
        _require(self.stages in (2, 4), "encoder.stages", f"got {self.stages}; use 2 or 4 residual stages")


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
            _require(value >= 1, f"aggregator.{name}", f"got {value}; must be a positive integer")
        _require(
            self.embedding_dim % self.heads == 0,
            "aggregator.embedding_dim",
            f"{self.embedding_dim} is not divisible by aggregator.heads={self.heads}; "
            f"choose an embedding_dim that is a multiple of heads (e.g. {self.heads * 16})",
        )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            _require(0.0 <= value < 1.0, f"aggregator.{name}", f"got {value}; must be in [0, 1)")


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
        _require(
            self.memory_size >= 1,
            "selection.memory_size",
            f"got {self.memory_size}; memory_size must be at least 1 (the paper uses 100 on Megapixel MNIST)",
        )
        _require(
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
        _require(self.size >= 1, "patches.size", f"got {self.size}; patch size must be a positive integer")
        _require(
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
        _require(
            self.bf16 in BF16_MODES,
            "optimisation.bf16",
            f"got {self.bf16!r}; use one of {list(BF16_MODES)}",
        )
        _require(self.epochs >= 1, "optimisation.epochs", f"got {self.epochs}; train for at least 1 epoch")
        _require(self.batch_size >= 1, "optimisation.batch_size", f"got {self.batch_size}; must be >= 1")
        _require(self.lr > 0, "optimisation.lr", f"got {self.lr}; the learning rate must be positive")
        _require(
            self.weight_decay >= 0, "optimisation.weight_decay", f"got {self.weight_decay}; must be >= 0"
        )
        _require(
            0 <= self.warmup_epochs <= self.epochs,
            "optimisation.warmup_epochs",
            f"got {self.warmup_epochs}; must be between 0 and epochs={self.epochs}",
        )
        _require(
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


@dataclass(frozen=True)
class TaskConfig:
    """One prediction task: its own query token and its own head."""

    name: str
    kind: Literal["multiclass", "multilabel"] = "multiclass"
    classes: int = 10

    def __post_init__(self) -> None:
        _require(
            bool(self.name) and self.name.isidentifier(),
            "tasks.name",
            f"got {self.name!r}; use a short identifier such as 'majority'",
        )
        _require(
            self.kind in ("multiclass", "multilabel"),
            f"tasks[{self.name}].kind",
            f"got {self.kind!r}; use 'multiclass' or 'multilabel'",
        )
        _require(self.classes >= 2, f"tasks[{self.name}].classes", f"got {self.classes}; need at least 2")


MEGAPIXEL_MNIST_TASKS: tuple[TaskConfig, ...] = (
    TaskConfig("majority", "multiclass", 10),  # class of the three equal digits
    TaskConfig("max", "multiclass", 10),  # largest of the five digits
    TaskConfig("top", "multiclass", 10),  # digit placed highest on the canvas
    TaskConfig("multi", "multilabel", 10),  # which classes are present
)
TRAFFIC_SIGNS_TASKS: tuple[TaskConfig, ...] = (
    TaskConfig("sign", "multiclass", 4),  # no sign, 50, 70, 80 km/h speed limit
)


# ------------------------------------------------------------------------------------------ datasets

DIGITS_PER_CANVAS = 5


def digits_fit(canvas_height: int, canvas_width: int, digit_size: int) -> bool:
    """Whether five digits can always be placed at random without overlap.

    Four placed digits forbid at most 4 (2d-1)^2 top-left positions; with more positions than that a
    free one always remains and random placement ends. A square canvas needs a side of 5d - 2.
    """
    free = (canvas_height - digit_size + 1) * (canvas_width - digit_size + 1)
    return free > (DIGITS_PER_CANVAS - 1) * (2 * digit_size - 1) ** 2


@dataclass(frozen=True)
class MegapixelMNISTConfig:
    """Megapixel MNIST canvases generated on the fly (see ``ips.data.megapixel_mnist``)."""

    name: Literal["megapixel_mnist"] = "megapixel_mnist"
    canvas_height: int = 3000
    canvas_width: int = 3000
    digit_size: int = 28  # pixels; MNIST digits are scaled from 28 to this
    train_canvases: int = 5000
    validation_canvases: int = 1000
    noise: Literal["bezier", "lines", "none"] = "bezier"
    noise_count: int = 800
    noise_size: int | None = None  # pixels; None: the digit size
    noise_thickness: float = 1.925  # stroke width in pixels at the 28-pixel scale
    data_seed: int = 0
    mnist_path: str | None = None  # a folder of MNIST IDX files; None: the 10,000 digits shipped
    # Who draws the canvas: "real_valued" (real-valued anti-aliased strokes, bicubic digits, maximum) or
    # "followup_published" (the follow-up's generator: int(thickness) strokes on 28-pixel patterns,
    # area resizing, boxes assigned in order); see ips.data.megapixel_mnist.
    renderer: Literal["real_valued", "followup_published"] = "real_valued"

    def __post_init__(self) -> None:
        _require(self.canvas_height >= 1, "data.canvas_height", f"got {self.canvas_height}; must be positive")
        _require(self.canvas_width >= 1, "data.canvas_width", f"got {self.canvas_width}; must be positive")
        _require(self.digit_size >= 1, "data.digit_size", f"got {self.digit_size}; must be positive")
        _require(
            self.digit_size <= min(self.canvas_height, self.canvas_width),
            "data.digit_size",
            f"{self.digit_size} is larger than the {self.canvas_height}x{self.canvas_width} canvas; "
            "use a smaller digit or a larger canvas",
        )
        _require(
            digits_fit(self.canvas_height, self.canvas_width, self.digit_size),
            "data.digit_size",
            f"five {self.digit_size}-pixel digits cannot be placed without overlap on a "
            f"{self.canvas_height}x{self.canvas_width} canvas; use a smaller digit_size or a canvas of at "
            f"least {5 * self.digit_size - 2}x{5 * self.digit_size - 2} pixels",
        )
        _require(self.train_canvases >= 1, "data.train_canvases", f"got {self.train_canvases}; must be >= 1")
        _require(
            self.validation_canvases >= 1,
            "data.validation_canvases",
            f"got {self.validation_canvases}; must be >= 1",
        )
        _require(
            self.noise in ("bezier", "lines", "none"),
            "data.noise",
            f"unknown noise kind {self.noise!r}; use 'bezier', 'lines' or 'none'",
        )
        _require(self.noise_count >= 0, "data.noise_count", f"got {self.noise_count}; must be >= 0")
        _require(
            self.noise_size is None or 1 <= self.noise_size <= min(self.canvas_height, self.canvas_width),
            "data.noise_size",
            f"got {self.noise_size}; must be positive and fit on the canvas (or None for the digit size)",
        )
        _require(
            self.noise_thickness > 0,
            "data.noise_thickness",
            f"got {self.noise_thickness}; the stroke thickness must be > 0",
        )
        _require(
            self.renderer in ("real_valued", "followup_published"),
            "data.renderer",
            f"unknown renderer {self.renderer!r}; use 'real_valued' or 'followup_published'",
        )
        _require(
            self.renderer != "followup_published" or self.noise != "bezier" or self.noise_thickness >= 1,
            "data.noise_thickness",
            f"{self.noise_thickness} draws no stroke with the followup_published renderer (it truncates "
            "the thickness to an integer); use at least 1, or data.renderer='real_valued'",
        )

    @property
    def image_height(self) -> int:
        return self.canvas_height

    @property
    def image_width(self) -> int:
        return self.canvas_width

    @property
    def channels(self) -> int:
        return 1

    @property
    def object_size(self) -> int:
        return self.digit_size

    @property
    def object_to_image_ratio(self) -> float:
        """Area of one digit over the area of the canvas (a fraction, not a percentage)."""
        return self.digit_size**2 / (self.canvas_height * self.canvas_width)


@dataclass(frozen=True)
class TrafficSignsConfig:
    """The Swedish Traffic Signs summer set (Set1/Set2), 4 classes (see ``ips.data.traffic_signs``)."""

    name: Literal["traffic_signs"] = "traffic_signs"
    root: str = "data/traffic_signs"  # folder holding Set1/ and Set2/
    fraction: float = 1.0  # stratified subset of the training set: 0.25, 0.5 or 1.0 in the paper
    image_height: int = 1200
    image_width: int = 1600
    augment: bool = True  # colour jitter and translation up to 100 pixels on training images
    data_seed: int = 0  # chooses which set trains and which validates, and the subset
    # "full": the whole validation set; "first_per_class": int(count x fraction) images of each class,
    # the first in file order, as the follow-up's code subsetted it (Tables 5 and 6 of the paper).
    validation_subset: Literal["full", "first_per_class"] = "full"

    def __post_init__(self) -> None:
        _require(bool(self.root), "data.root", "give the folder that holds Set1/ and Set2/")
        _require(0 < self.fraction <= 1, "data.fraction", f"got {self.fraction}; must be in (0, 1]")
        _require(
            self.validation_subset in ("full", "first_per_class"),
            "data.validation_subset",
            f"got {self.validation_subset!r}; use 'full' or 'first_per_class'",
        )
        _require(self.image_height >= 1, "data.image_height", f"got {self.image_height}; must be positive")
        _require(self.image_width >= 1, "data.image_width", f"got {self.image_width}; must be positive")

    @property
    def channels(self) -> int:
        return 3

    @property
    def object_size(self) -> int | None:
        return None  # signs vary in size


DataConfig = MegapixelMNISTConfig | TrafficSignsConfig
DATASET_CONFIGS: dict[str, type] = {
    "megapixel_mnist": MegapixelMNISTConfig,
    "traffic_signs": TrafficSignsConfig,
}


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
        _require(len(self.tasks) >= 1, "tasks", "give at least one task")
        names = [task.name for task in self.tasks]
        _require(len(set(names)) == len(names), "tasks", f"task names must be unique, got {names}")
        _require(
            self.patches.size <= min(self.data.image_height, self.data.image_width),
            "patches.size",
            f"a {self.patches.size}-pixel patch is larger than the {self.data.image_height}x"
            f"{self.data.image_width} image; use a patch size of at most "
            f"{min(self.data.image_height, self.data.image_width)}",
        )
        _require(
            self.encoder.input_channels == self.data.channels,
            "encoder.input_channels",
            f"{self.encoder.input_channels} does not match the {self.data.channels}-channel images of "
            f"{self.data.name}; set encoder.input_channels={self.data.channels}",
        )

    # derived values ------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------ dict <-> dataclasses


def to_dict(config: Any) -> Any:
    """A dataclass tree as plain nested dicts/lists (JSON-ready)."""
    if is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(item) for item in config]
    return config


def _build(cls: type, value: Any, path: str) -> Any:
    """Build dataclass ``cls`` from a dict, with errors naming unknown or mistyped fields."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping of fields, got {value!r}")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(
            f"{path + '.' if path else ''}{unknown[0]}: unknown field; valid fields are {sorted(known)}"
        )
    kwargs = {
        name: _convert(hints[name], item, f"{path}.{name}" if path else name) for name, item in value.items()
    }
    return cls(**kwargs)


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    if hint is DataConfig or (origin is Union and MegapixelMNISTConfig in get_args(hint)):
        if is_dataclass(value):
            return value
        name = value.get("name", "megapixel_mnist") if isinstance(value, dict) else None
        if name not in DATASET_CONFIGS:
            raise ConfigError(f"{path}.name: unknown dataset {name!r}; use one of {sorted(DATASET_CONFIGS)}")
        return _build(DATASET_CONFIGS[name], value, path)
    if origin is tuple:
        (item_hint, *_) = get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        return tuple(_convert(item_hint, item, f"{path}[{i}]") for i, item in enumerate(value))
    if isinstance(hint, type) and is_dataclass(hint):
        return _build(hint, value, path)
    return _check_scalar(hint, value, path)


def _check_scalar(hint: Any, value: Any, path: str) -> Any:
    allowed = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    if value is None:
        if type(None) in allowed:
            return None
        raise ConfigError(f"{path}: must not be None")
    for kind in allowed:
        if get_origin(kind) is Literal:
            if value in get_args(kind):
                return value
            continue
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is int and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind in (bool, str) and isinstance(value, kind):
            return value
    literals = [a for k in allowed if get_origin(k) is Literal for a in get_args(k)]
    if literals:
        raise ConfigError(f"{path}: got {value!r}; use one of {literals}")
    names = [getattr(k, "__name__", str(k)) for k in allowed]
    raise ConfigError(f"{path}: got {value!r} ({type(value).__name__}); expected {' or '.join(names)}")


def from_dict(data: dict[str, Any]) -> IPSConfig:
    """Build an ``IPSConfig`` from nested dicts; missing fields take their defaults.

    If ``data`` names a ``traffic_signs`` dataset and gives no tasks, the traffic-sign task is used.
    """
    data = dict(data)
    dataset = data.get("data")
    if isinstance(dataset, dict) and dataset.get("name") == "traffic_signs" and "tasks" not in data:
        data["tasks"] = TRAFFIC_SIGNS_TASKS
    return _build(IPSConfig, data, "")


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Flat dotted keys, e.g. ``{"selection.memory_size": 100, "tasks.0.name": "majority"}``."""
    tree = to_dict(config) if is_dataclass(config) else config
    flat: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            flat.update(flatten(value, f"{prefix}{i}."))
    else:
        flat[prefix[:-1]] = tree
    return flat


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


def parse_value(text: str) -> Any:
    """JSON where it parses (numbers, true/false/null, lists), else the string itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"selection.memory_size=50"`` -> ``("selection.memory_size", 50)``: one dotted override as typed
    on a command line (the value read by ``parse_value``); raises ``ConfigError`` without an ``=``."""
    key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"{text!r}: expected KEY=VALUE, e.g. selection.memory_size=50")
    return key.strip(), parse_value(value)


def _switch_dataset(tree: dict[str, Any], name: Any, changes: dict[str, Any]) -> None:
    """Point ``tree`` (a config as nested dicts) at dataset ``name``, starting from its defaults."""
    if name == tree["data"]["name"]:
        return
    if name not in DATASET_CONFIGS:
        raise ConfigError(f"data.name: unknown dataset {name!r}; use one of {sorted(DATASET_CONFIGS)}")
    defaults = DATASET_CONFIGS[name]()
    tree["data"] = to_dict(defaults)
    if "encoder.input_channels" not in changes:
        tree["encoder"]["input_channels"] = defaults.channels
    if "tasks" not in changes:
        tree["tasks"] = to_dict(TRAFFIC_SIGNS_TASKS if name == "traffic_signs" else MEGAPIXEL_MNIST_TASKS)


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` re-exported, for notebooks."""
    return dataclasses.replace(config, **changes)
