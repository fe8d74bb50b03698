"""The datasets' configs and their prediction tasks: ``MegapixelMNISTConfig``, ``TrafficSignsConfig``.

Each dataset config checks all of its own fields in ``__post_init__`` (the one place a dataset's
parameters are validated: the datasets in ``ips.data`` take the config as it is) and names its default
tasks (``default_tasks``), which ``ips.config`` uses when a config switches datasets or gives none.
``DATASET_CONFIGS`` maps ``data.name`` to its class. Re-exported by ``ips.config``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ips.config_coercion import is_integer, require

NOISE_KINDS = ("bezier", "lines", "none")
RENDERERS = ("real_valued", "followup_published")


@dataclass(frozen=True)
class TaskConfig:
    """One prediction task: its own query token and its own head."""

    name: str
    kind: Literal["multiclass", "multilabel"] = "multiclass"
    classes: int = 10

    def __post_init__(self) -> None:
        require(
            bool(self.name) and self.name.isidentifier(),
            "tasks.name",
            f"got {self.name!r}; use a short identifier such as 'majority'",
        )
        require(
            self.kind in ("multiclass", "multilabel"),
            f"tasks[{self.name}].kind",
            f"got {self.kind!r}; use 'multiclass' or 'multilabel'",
        )
        require(self.classes >= 2, f"tasks[{self.name}].classes", f"got {self.classes}; need at least 2")


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


def check_data_seed(value: Any) -> None:
    require(
        value is None or (is_integer(value) and value >= 0),
        "data.data_seed",
        f"got {value!r}; use a non-negative integer, or None for the trial's seed",
    )


@dataclass(frozen=True)
class MegapixelMNISTConfig:
    """Megapixel MNIST canvases generated on the fly (see ``ips.data.megapixel_mnist``)."""

    name: Literal["megapixel_mnist"] = "megapixel_mnist"
    default_tasks: ClassVar[tuple[TaskConfig, ...]] = MEGAPIXEL_MNIST_TASKS  # unless a config gives its own
    canvas_height: int = 3000
    canvas_width: int = 3000
    digit_size: int = 28  # pixels; MNIST digits are scaled from 28 to this
    train_canvases: int = 5000
    validation_canvases: int = 1000
    noise: Literal["bezier", "lines", "none"] = "bezier"
    noise_count: int = 800
    noise_size: int | None = None  # pixels; None: the digit size
    noise_thickness: float = 1.925  # stroke width in pixels at the 28-pixel scale
    # Which canvases are drawn; None: the trial's seed (``IPSConfig.resolved_data``), so that each seed
    # of a study draws its own training and validation canvases.
    data_seed: int | None = 0
    mnist_path: str | None = None  # a folder of MNIST IDX files; None: the 10,000 digits shipped
    # Who draws the canvas: "real_valued" (real-valued anti-aliased strokes, bicubic digits, maximum) or
    # "followup_published" (the follow-up's generator: int(thickness) strokes on 28-pixel patterns,
    # area resizing, boxes assigned in order); see ips.data.megapixel_mnist.
    renderer: Literal["real_valued", "followup_published"] = "real_valued"

    def __post_init__(self) -> None:
        for name in ("canvas_height", "canvas_width", "digit_size"):
            value = getattr(self, name)
            require(
                is_integer(value) and value >= 1,
                f"data.{name}",
                f"got {value!r}; use a positive number of pixels",
            )
        side = min(self.canvas_height, self.canvas_width)
        require(
            self.digit_size <= side,
            "data.digit_size",
            f"{self.digit_size} pixels is larger than the {self.canvas_height}x{self.canvas_width} canvas; "
            f"use at most {side} or a larger canvas",
        )
        require(
            digits_fit(self.canvas_height, self.canvas_width, self.digit_size),
            "data.digit_size",
            f"five {self.digit_size}-pixel digits cannot be placed without overlap on a "
            f"{self.canvas_height}x{self.canvas_width} canvas; use a smaller digit_size or a canvas of at "
            f"least {5 * self.digit_size - 2}x{5 * self.digit_size - 2} pixels",
        )
        for name in ("train_canvases", "validation_canvases"):
            value = getattr(self, name)
            require(is_integer(value) and value >= 1, f"data.{name}", f"got {value!r}; use a positive count")
        require(
            self.noise in NOISE_KINDS,
            "data.noise",
            f"unknown noise kind {self.noise!r}; use one of {list(NOISE_KINDS)}",
        )
        require(
            is_integer(self.noise_count) and self.noise_count >= 0,
            "data.noise_count",
            f"got {self.noise_count!r}; must be >= 0",
        )
        if self.noise_size is not None:
            require(
                is_integer(self.noise_size) and self.noise_size >= 1,
                "data.noise_size",
                f"got {self.noise_size!r}; use a positive number of pixels, or None for the digit size",
            )
            require(
                self.noise_size <= side,
                "data.noise_size",
                f"{self.noise_size} pixels is larger than the {self.canvas_height}x{self.canvas_width} "
                f"canvas; use at most {side} or a larger canvas",
            )
        require(
            isinstance(self.noise_thickness, (int, float))
            and math.isfinite(self.noise_thickness)
            and self.noise_thickness > 0,
            "data.noise_thickness",
            f"got {self.noise_thickness}; the stroke thickness must be > 0 (pixels at the 28-pixel scale, "
            "e.g. 1.925)",
        )
        check_data_seed(self.data_seed)
        require(
            self.renderer in RENDERERS,
            "data.renderer",
            f"unknown renderer {self.renderer!r}; use one of {list(RENDERERS)}",
        )
        require(
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
        """The side of one digit: ``IPSConfig`` derives the object-to-image and -patch ratios from it."""
        return self.digit_size

    @property
    def images_per_split(self) -> tuple[int, int]:
        """(training, validation) images: the canvases of each split."""
        return self.train_canvases, self.validation_canvases


IMAGES_PER_SET = 750  # about this many images of Set1 (and of Set2) keep a speed-limit label


@dataclass(frozen=True)
class TrafficSignsConfig:
    """The Swedish Traffic Signs summer set (Set1/Set2), 4 classes (see ``ips.data.traffic_signs``)."""

    name: Literal["traffic_signs"] = "traffic_signs"
    default_tasks: ClassVar[tuple[TaskConfig, ...]] = TRAFFIC_SIGNS_TASKS
    root: str = "data/traffic_signs"  # folder holding Set1/ and Set2/
    fraction: float = 1.0  # stratified subset of the training set: 0.25, 0.5 or 1.0 in the paper
    image_height: int = 1200
    image_width: int = 1600
    augment: bool = True  # colour jitter and translation up to 100 pixels on training images
    # chooses which set trains and which validates, and the subset; None: the trial's seed
    data_seed: int | None = 0
    # "full": the whole validation set; "first_per_class": int(count x fraction) images of each class,
    # the first in file order, as the follow-up's code subsetted it (Tables 5 and 6 of the paper).
    validation_subset: Literal["full", "first_per_class"] = "full"

    def __post_init__(self) -> None:
        require(bool(self.root), "data.root", "give the folder that holds Set1/ and Set2/")
        check_data_seed(self.data_seed)
        require(0 < self.fraction <= 1, "data.fraction", f"got {self.fraction}; must be in (0, 1]")
        require(
            self.validation_subset in ("full", "first_per_class"),
            "data.validation_subset",
            f"got {self.validation_subset!r}; use 'full' or 'first_per_class'",
        )
        require(self.image_height >= 1, "data.image_height", f"got {self.image_height}; must be positive")
        require(self.image_width >= 1, "data.image_width", f"got {self.image_width}; must be positive")

    @property
    def channels(self) -> int:
        return 3

    @property
    def object_size(self) -> int | None:
        return None  # signs vary in size

    @property
    def images_per_split(self) -> tuple[int, int]:
        """(training, validation) images, about: each set holds about ``IMAGES_PER_SET`` labelled images
        (the true counts are read from the folder); training keeps ``fraction`` of its set, validation
        too with ``first_per_class``."""
        train = round(IMAGES_PER_SET * self.fraction)
        return train, train if self.validation_subset == "first_per_class" else IMAGES_PER_SET


DataConfig = MegapixelMNISTConfig | TrafficSignsConfig
DATASET_CONFIGS: dict[str, type[DataConfig]] = {
    config.name: config for config in (MegapixelMNISTConfig, TrafficSignsConfig)
}


def dataset_config(name: Any) -> type[DataConfig]:
    """The config class of dataset ``name``; ``ConfigError`` naming the known ones otherwise."""
    require(
        name in DATASET_CONFIGS,
        "data.name",
        f"unknown dataset {name!r}; use one of {sorted(DATASET_CONFIGS)}",
    )
    return DATASET_CONFIGS[name]
