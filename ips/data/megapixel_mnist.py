"""Megapixel MNIST: five MNIST digits among scribble noise on a large, mostly empty canvas.

The benchmark of IPS (Bergner et al., 2023), after attention sampling (Katharopoulos & Fleuret, 2019),
with every factor of the follow-up's study as a parameter: canvas size, digit size (the object-to-image
ratio), noise kind, count, size and stroke thickness.

A canvas holds five digits, three of one class and two of other classes (drawn uniformly from the nine
others, independently), at uniformly random positions where they do not overlap. Its four labels:

- ``majority``: the class of the three;
- ``max``: the largest of the five classes;
- ``top``: the class of the digit placed highest (smallest top row; on a tie, the leftmost);
- ``multi``: which of the ten classes are present (multilabel, float 0/1).

Noise is drawn first and the digits over it: ``noise_count`` patterns of ``noise_size`` pixels, drawn
with replacement from a bank of ``noise_bank_size`` pre-rendered patterns, each placed uniformly where
it fits on the canvas. Two renderers turn that layout into pixels (``renderer``):

- ``real_valued`` (default; what the paper's text describes): real-valued, anti-aliased stroke widths
  drawn at the noise size (``ips.data.noise``), digits resized bicubically, pixel-wise maximum;
- ``followup_published`` (what produced the paper's numbers): the authors' generator, integer strokes
  ``int(thickness)`` on a 28-pixel pattern, area resizing, boxes composited by assignment on a uint8
  canvas (``ips.data.followup_renderer``).

Nothing is stored. Canvas ``index`` of a split is generated on the fly from ``(seed, split, index)``
with numpy's ``Generator`` seeded by a ``SeedSequence``: the same canvas is bit-identical in any
process. Digits and noise come from two separate streams, so a canvas keeps its digits, positions and
labels when only the noise settings change, and ``label_counts`` needs the digit stream only. The
noise bank of each split has its own seed, so training and validation share neither digits nor noise.

Command line (``python -m ips.data.megapixel_mnist --help``): ``--preview OUT.png`` draws one canvas
for a person to judge, ``--stats`` prints its numbers, ``--bench`` times canvas generation.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor
from torch.utils.data import Dataset

from ips.config import DIGITS_PER_CANVAS, MegapixelMNISTConfig, PatchConfig, digits_fit, patch_grid_shape
from ips.data.followup_renderer import (
    RENDERERS,
    area_resize,
    assign,
    followup_noise_bank,
    stroke_width,
    to_uint8,
)
from ips.data.mnist_digits import CLASSES, DigitPool, load_digit_pools, resize_square
from ips.data.noise import NOISE_KINDS
from ips.data.noise import noise_bank as cached_noise_bank

SPLITS = {"train": 0, "validation": 1}
MAJORITY_COPIES = 3
NOISE_BANK_SIZE = 1000  # patterns per bank; a canvas draws its noise_count patterns from it
DIGIT_STREAM, NOISE_STREAM, NOISE_BANK_STREAM = 0, 1, 2
TASKS = ("majority", "max", "top", "multi")


def followup_noise_count(digit_size: int) -> int:
    """The follow-up's noise count for a digit size: round(1000 - 7.14 x size) (800, 600, 400, 200)."""
    return max(0, round(1000 - 7.14 * digit_size))


# ------------------------------------------------------------------------------------- checks


def _require(condition: bool, parameter: str, message: str) -> None:
    if not condition:
        raise ValueError(f"{parameter}: {message}")


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def validate_parameters(
    canvas_height: int,
    canvas_width: int,
    digit_size: int,
    canvases: int,
    split: str,
    noise: str,
    noise_count: int,
    noise_size: int,
    noise_thickness: float,
    seed: int,
    noise_bank_size: int,
    renderer: str = "real_valued",
) -> None:
    """Raise ``ValueError`` naming the parameter and the fix for any value a canvas cannot be built from."""
    for name, value in (("canvas_height", canvas_height), ("canvas_width", canvas_width)):
        _require(_is_int(value) and value >= 1, name, f"got {value!r}; use a positive number of pixels")
    for name, value in (("digit_size", digit_size), ("noise_size", noise_size)):
        _require(_is_int(value) and value >= 1, name, f"got {value!r}; use a positive number of pixels")
        _require(
            value <= min(canvas_height, canvas_width),
            name,
            f"{value} pixels is larger than the {canvas_height}x{canvas_width} canvas; "
            f"use at most {min(canvas_height, canvas_width)} or a larger canvas",
        )
    _require(
        digits_fit(canvas_height, canvas_width, digit_size),
        "digit_size",
        f"five {digit_size}-pixel digits cannot be placed at random without overlap on a "
        f"{canvas_height}x{canvas_width} canvas; use a smaller digit_size or a canvas of at least "
        f"{5 * digit_size - 2}x{5 * digit_size - 2} pixels",
    )
    _require(_is_int(canvases) and canvases >= 1, "canvases", f"got {canvases!r}; use a positive count")
    _require(split in SPLITS, "split", f"unknown split {split!r}; use 'train' or 'validation'")
    _require(noise in NOISE_KINDS, "noise", f"unknown noise kind {noise!r}; use one of {list(NOISE_KINDS)}")
    _require(_is_int(noise_count) and noise_count >= 0, "noise_count", f"got {noise_count!r}; use 0 or more")
    _require(
        isinstance(noise_thickness, (int, float)) and math.isfinite(noise_thickness) and noise_thickness > 0,
        "noise_thickness",
        f"got {noise_thickness!r}; use a stroke width > 0 in pixels at the 28-pixel scale (e.g. 1.925)",
    )
    _require(
        renderer in RENDERERS, "renderer", f"unknown renderer {renderer!r}; use one of {list(RENDERERS)}"
    )
    if renderer == "followup_published" and noise == "bezier":
        stroke_width(noise_thickness)  # raises for a thickness below 1 (no integer stroke)
    _require(_is_int(seed) and seed >= 0, "seed", f"got {seed!r}; use a non-negative integer")
    _require(
        _is_int(noise_bank_size) and noise_bank_size >= 1,
        "noise_bank_size",
        f"got {noise_bank_size!r}; use a positive number of patterns (default {NOISE_BANK_SIZE})",
    )


# ------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class CanvasLayout:
    """Everything drawn on one canvas, without the pixels."""

    classes: np.ndarray  # [5] int64; the first three are the majority class
    digit_indices: np.ndarray  # [5] indices into the split's DigitPool
    digit_positions: np.ndarray  # [5, 2] (row, column) of each digit's top-left pixel
    noise_patterns: np.ndarray  # [noise_count] indices into the noise bank
    noise_positions: np.ndarray  # [noise_count, 2] (row, column) of each pattern's top-left pixel


def canvas_labels(classes: np.ndarray, positions: np.ndarray) -> dict[str, object]:
    """The four labels of five digits of ``classes`` [5] at top-left ``positions`` [5, 2] (row, column)."""
    top = np.lexsort((positions[:, 1], positions[:, 0]))[0]  # smallest row, then smallest column
    multi = np.zeros(CLASSES, dtype=np.float32)
    multi[classes] = 1.0
    return {
        "majority": int(np.bincount(classes, minlength=CLASSES).argmax()),
        "max": int(classes.max()),
        "top": int(classes[top]),
        "multi": multi,
    }


def place_without_overlap(rng: np.random.Generator, height: int, width: int, size: int, count: int):
    """``count`` top-left positions [count, 2] of ``size``-pixel squares, uniform, pairwise non-overlapping.

    Rejection sampling: candidates are drawn ``count`` at a time and one overlapping an earlier square is
    skipped. ``validate_parameters`` guarantees that a free position always exists.
    """
    placed: list[tuple[int, int]] = []
    while len(placed) < count:
        for row, col in rng.integers(0, (height - size + 1, width - size + 1), size=(count, 2)).tolist():
            if len(placed) < count and all(abs(row - r) >= size or abs(col - c) >= size for r, c in placed):
                placed.append((row, col))
    return np.array(placed, dtype=np.int64)


def paste(canvas: np.ndarray, pattern: np.ndarray, row: int, col: int) -> None:
    """Draw ``pattern`` onto ``canvas`` at top-left (row, col), keeping the brighter pixel."""
    region = canvas[row : row + pattern.shape[0], col : col + pattern.shape[1]]
    np.maximum(region, pattern, out=region)


# ------------------------------------------------------------------------------------ dataset


class MegapixelMNIST(Dataset):
    """``canvases`` Megapixel MNIST canvases of one split, generated on the fly.

    ``dataset[i] -> (image float32 [1, H, W] in [0, 1], {"majority", "max", "top": int64 scalars,
    "multi": float32 [10]})``.
    """

    def __init__(
        self,
        *,
        canvas_height: int = 3000,
        canvas_width: int = 3000,
        digit_size: int = 28,
        canvases: int = 5000,
        split: str = "train",
        noise: str = "bezier",
        noise_count: int = 800,
        noise_size: int | None = None,
        noise_thickness: float = 1.925,
        seed: int = 0,
        mnist_path: str | None = None,
        noise_bank_size: int = NOISE_BANK_SIZE,
        renderer: str = "real_valued",
    ) -> None:
        noise_size = digit_size if noise_size is None else noise_size
        validate_parameters(
            canvas_height, canvas_width, digit_size, canvases, split, noise, noise_count, noise_size,
            noise_thickness, seed, noise_bank_size, renderer,
        )  # fmt: skip
        self.renderer = renderer
        self.canvas_height = int(canvas_height)
        self.canvas_width = int(canvas_width)
        self.digit_size = int(digit_size)
        self.canvases = int(canvases)
        self.split = split
        self.noise = noise
        self.noise_count = int(noise_count)
        self.noise_size = int(noise_size)
        self.noise_thickness = float(noise_thickness)
        self.seed = int(seed)
        self.noise_bank_size = int(noise_bank_size)
        self.digits: DigitPool = load_digit_pools(mnist_path)[split]

    @classmethod
    def from_config(cls, data: MegapixelMNISTConfig, split: str) -> MegapixelMNIST:
        """The ``split`` ("train" | "validation") of the canvases that ``data`` describes."""
        _require(split in SPLITS, "split", f"unknown split {split!r}; use 'train' or 'validation'")
        return cls(
            canvas_height=data.canvas_height,
            canvas_width=data.canvas_width,
            digit_size=data.digit_size,
            canvases=data.train_canvases if split == "train" else data.validation_canvases,
            split=split,
            noise=data.noise,
            noise_count=data.noise_count,
            noise_size=data.noise_size,
            noise_thickness=data.noise_thickness,
            seed=data.data_seed,
            mnist_path=data.mnist_path,
            renderer=data.renderer,
        )

    def __len__(self) -> int:
        return self.canvases

    # derived values ---------------------------------------------------------------------------

    @property
    def object_to_image_ratio(self) -> float:
        """Area of one digit over the area of the canvas (a fraction, not a percentage)."""
        return self.digit_size**2 / (self.canvas_height * self.canvas_width)

    def object_to_patch_ratio(self, patch_size: int) -> float:
        """Area of one digit over the area of one ``patch_size``-pixel patch (a fraction)."""
        return self.digit_size**2 / patch_size**2

    @property
    def has_noise(self) -> bool:
        return self.noise != "none" and self.noise_count > 0

    def noise_bank(self) -> np.ndarray:
        """This split's noise patterns [noise_bank_size, noise_size, noise_size], rendered once a process."""
        entropy = (self.seed, SPLITS[self.split], 0, NOISE_BANK_STREAM)
        if self.published and self.noise == "bezier":
            return followup_noise_bank(self.noise_bank_size, self.noise_size, self.noise_thickness, entropy)
        return cached_noise_bank(
            self.noise, self.noise_bank_size, self.noise_size, self.noise_thickness, entropy
        )

    # layout (cheap: random numbers only) -------------------------------------------------------

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence((self.seed, SPLITS[self.split], index, stream)))

    def _check_index(self, index: int) -> int:
        if not 0 <= index < self.canvases:
            raise IndexError(f"canvas {index} is out of range for {self.canvases} {self.split} canvases")
        return int(index)

    def digit_layout(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(classes [5], digit_indices [5], positions [5, 2]) of canvas ``index``, from the digit stream."""
        rng = self._rng(self._check_index(index), DIGIT_STREAM)
        majority = int(rng.integers(CLASSES))
        others = (majority + rng.integers(1, CLASSES, size=DIGITS_PER_CANVAS - MAJORITY_COPIES)) % CLASSES
        classes = np.array([majority] * MAJORITY_COPIES + others.tolist(), dtype=np.int64)
        members = self.digits.by_class
        chosen = members[majority][rng.choice(len(members[majority]), MAJORITY_COPIES, replace=False)]
        others_chosen = [members[c][rng.integers(len(members[c]))] for c in others]
        indices = np.concatenate([chosen, others_chosen]).astype(np.int64)
        positions = place_without_overlap(
            rng, self.canvas_height, self.canvas_width, self.digit_size, DIGITS_PER_CANVAS
        )
        return classes, indices, positions

    def noise_layout(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(bank indices [noise_count], positions [noise_count, 2]) of canvas ``index`` (noise stream)."""
        count = self.noise_count if self.has_noise else 0
        rng = self._rng(self._check_index(index), NOISE_STREAM)
        patterns = rng.integers(self.noise_bank_size, size=count)
        limits = (self.canvas_height - self.noise_size + 1, self.canvas_width - self.noise_size + 1)
        positions = rng.integers(0, limits, size=(count, 2))
        return patterns, positions

    def layout(self, index: int) -> CanvasLayout:
        """What canvas ``index`` shows (digit classes, positions and noise placements), without rendering."""
        classes, digit_indices, digit_positions = self.digit_layout(index)
        noise_patterns, noise_positions = self.noise_layout(index)
        return CanvasLayout(classes, digit_indices, digit_positions, noise_patterns, noise_positions)

    def label_counts(self) -> dict[str, dict[int, int]]:
        """{task: {class: number of canvases}} from the digit layouts alone (no image is rendered).

        For ``multi``, the number of canvases on which the class is present.
        """
        counts = {task: dict.fromkeys(range(CLASSES), 0) for task in TASKS}
        for index in range(len(self)):
            classes, _, positions = self.digit_layout(index)
            labels = canvas_labels(classes, positions)
            for task in ("majority", "max", "top"):
                counts[task][labels[task]] += 1
            for present in np.flatnonzero(labels["multi"]).tolist():
                counts["multi"][present] += 1
        return counts

    def label_set_counts(self) -> dict[str, dict[str, int]]:
        """{"multi": {"0,3,7": number of canvases}}: how often each set of present classes occurs.

        The most frequent set's share is the exact-match chance level of the multilabel task, which
        per-class counts cannot give. From the digit layouts alone, like ``label_counts``.
        """
        counts: dict[str, int] = {}
        for index in range(len(self)):
            classes, _, positions = self.digit_layout(index)
            present = np.flatnonzero(canvas_labels(classes, positions)["multi"]).tolist()
            key = ",".join(str(label) for label in present)
            counts[key] = counts.get(key, 0) + 1
        return {"multi": counts}

    # rendering ------------------------------------------------------------------------------

    @property
    def published(self) -> bool:
        """Whether the follow-up's published renderer draws the canvases."""
        return self.renderer == "followup_published"

    def digit_image(self, pool_index: int) -> np.ndarray:
        """Digit ``pool_index`` of this split's pool scaled to [digit_size, digit_size] float32 in [0, 1]
        (bicubic; by area with the published renderer)."""
        digit = self.digits.images[pool_index].astype(np.float32) / np.float32(255)
        return (area_resize if self.published else resize_square)(digit, self.digit_size)

    def render(self, layout: CanvasLayout) -> np.ndarray:
        """The canvas [H, W] float32 of ``layout``: noise first, then the digits over it."""
        if self.published:
            return self.render_published(layout)
        canvas = np.zeros((self.canvas_height, self.canvas_width), dtype=np.float32)
        if len(layout.noise_patterns):
            bank = self.noise_bank()
            noise = zip(layout.noise_patterns.tolist(), layout.noise_positions.tolist(), strict=True)
            for pattern, (row, col) in noise:
                paste(canvas, bank[pattern], row, col)
        digits = zip(layout.digit_indices.tolist(), layout.digit_positions.tolist(), strict=True)
        for digit, (row, col) in digits:
            paste(canvas, self.digit_image(digit), row, col)
        return canvas

    def render_published(self, layout: CanvasLayout) -> np.ndarray:
        """As the follow-up's generator: a uint8 canvas, every box assigned in order (noise, then digits)."""
        canvas = np.zeros((self.canvas_height, self.canvas_width), dtype=np.uint8)
        if len(layout.noise_patterns):
            bank = to_uint8(self.noise_bank())
            for pattern, (row, col) in zip(
                layout.noise_patterns.tolist(), layout.noise_positions.tolist(), strict=True
            ):
                assign(canvas, bank[pattern], row, col)
        for digit, (row, col) in zip(
            layout.digit_indices.tolist(), layout.digit_positions.tolist(), strict=True
        ):
            assign(canvas, to_uint8(self.digit_image(digit)), row, col)
        return canvas.astype(np.float32) / np.float32(255)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        layout = self.layout(index)
        image = torch.from_numpy(self.render(layout)).unsqueeze(0)  # [1, H, W]
        labels = canvas_labels(layout.classes, layout.digit_positions)
        return image, {
            "majority": torch.tensor(labels["majority"], dtype=torch.int64),
            "max": torch.tensor(labels["max"], dtype=torch.int64),
            "top": torch.tensor(labels["top"], dtype=torch.int64),
            "multi": torch.from_numpy(labels["multi"]),
        }


# ------------------------------------------------------------------------------ command line


def describe(dataset: MegapixelMNIST, index: int) -> str:
    """One line naming a canvas and its parameters."""
    noise = f"noise {dataset.noise} x{dataset.noise_count if dataset.has_noise else 0}"
    if dataset.has_noise:
        noise += f" ({dataset.noise_size} px"
        noise += f", thickness {dataset.noise_thickness})" if dataset.noise == "bezier" else ")"
    return (
        f"{dataset.split} canvas {index} (seed {dataset.seed}): {dataset.canvas_height}x"
        f"{dataset.canvas_width}, digits {dataset.digit_size} px, {noise}, renderer {dataset.renderer}"
    )


def describe_labels(labels: dict[str, object]) -> str:
    present = np.flatnonzero(labels["multi"]).tolist()
    return f"majority {labels['majority']}, max {labels['max']}, top {labels['top']}, multi {present}"


def _to_image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(pixels * 255).astype(np.uint8))


def _crop(canvas: np.ndarray, row: int, col: int, size: int, tile: int) -> Image.Image:
    """The ``2 * size`` square around a ``size``-pixel object at (row, col), scaled to ``tile`` pixels."""
    top, left = max(0, row - size // 2), max(0, col - size // 2)
    crop = canvas[top : top + 2 * size, left : left + 2 * size]
    scale = tile / max(crop.shape)
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.BOX
    shape = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    return _to_image(crop).resize(shape, resample)


def preview(dataset: MegapixelMNIST, index: int, path: str, overview: int = 900, tile: int = 170) -> None:
    """Write a PNG: the canvas shrunk (digits boxed in red), then crops around each digit and 5 noises."""
    layout = dataset.layout(index)
    canvas = dataset.render(layout)
    scale = overview / max(canvas.shape)
    shrunk = _to_image(canvas).resize(
        (round(canvas.shape[1] * scale), round(canvas.shape[0] * scale)), Image.Resampling.BOX
    )
    header, caption, gap = 50, 14, 12
    width = max(shrunk.width, DIGITS_PER_CANVAS * (tile + gap))
    sheet = Image.new("RGB", (width, header + shrunk.height + 2 * (caption + tile + gap)))
    draw = ImageDraw.Draw(sheet)
    draw.text((8, 6), describe(dataset, index), fill="white")
    draw.text((8, 26), describe_labels(canvas_labels(layout.classes, layout.digit_positions)), fill="white")
    sheet.paste(shrunk.convert("RGB"), (0, header))
    boxed = dataset.digit_size * scale + 6  # a red square 3 shrunk pixels wider than the digit on each side
    for row, col in layout.digit_positions.tolist():
        left, top = col * scale - 3, header + row * scale - 3
        draw.rectangle([left, top, left + boxed, top + boxed], outline="red")
    digits = zip(layout.classes.tolist(), layout.digit_positions, strict=True)
    crops = [(f"digit {c}", p, dataset.digit_size) for c, p in digits]
    crops += [("noise", p, dataset.noise_size) for p in layout.noise_positions[:DIGITS_PER_CANVAS]]
    for number, (name, (row, col), size) in enumerate(crops):
        x = (number % DIGITS_PER_CANVAS) * (tile + gap)
        y = header + shrunk.height + gap + (number // DIGITS_PER_CANVAS) * (caption + tile + gap)
        draw.text((x, y), f"{name} at ({row}, {col})", fill="white")
        sheet.paste(_crop(canvas, int(row), int(col), size, tile).convert("RGB"), (x, y + caption))
    sheet.save(path)


def stats(dataset: MegapixelMNIST, index: int, patch_size: int) -> str:
    """Labels, object-to-image and -patch ratios, inked fraction and all-zero patches of one canvas."""
    layout = dataset.layout(index)
    canvas = dataset.render(layout)
    rows, cols = patch_grid_shape(dataset.canvas_height, dataset.canvas_width, patch_size, patch_size)
    padded = np.zeros((rows * patch_size, cols * patch_size), dtype=np.float32)  # zero padding, as patches.py
    padded[: canvas.shape[0], : canvas.shape[1]] = canvas
    empty = ~padded.reshape(rows, patch_size, cols, patch_size).any(axis=(1, 3))  # [rows, cols]
    digits = zip(layout.classes.tolist(), layout.digit_positions.tolist(), strict=True)
    return "\n".join(
        [
            describe(dataset, index),
            f"labels: {describe_labels(canvas_labels(layout.classes, layout.digit_positions))}",
            "digits (class at top-left row, column): " + ", ".join(f"{c} at {tuple(p)}" for c, p in digits),
            f"object-to-image ratio: {100 * dataset.object_to_image_ratio:.4f}%",
            f"object-to-patch ratio: {100 * dataset.object_to_patch_ratio(patch_size):.2f}% "
            f"(patch {patch_size} px)",
            f"inked fraction: {100 * np.count_nonzero(canvas) / canvas.size:.3f}% of pixels are not 0",
            f"all-zero patches: {int(empty.sum())} of {empty.size} ({100 * empty.mean():.1f}%) in the "
            f"{rows}x{cols} grid of {patch_size}-pixel patches",
        ]
    )


def benchmark(dataset: MegapixelMNIST, repeats: int) -> dict[str, float]:
    """Seconds to render the noise bank once, then the median seconds per canvas (``dataset[i]``).

    ``touched`` adds one pass over every pixel, as a DataLoader's collation makes: ``np.zeros`` only
    reserves memory that its first reader then maps.
    """
    torch.set_num_threads(1)
    start = time.perf_counter()
    if dataset.has_noise:
        dataset.noise_bank()
    bank_seconds = time.perf_counter() - start
    generate, touched = [], []
    for index in range(repeats):
        start = time.perf_counter()
        image, _ = dataset[index % len(dataset)]
        generate.append(time.perf_counter() - start)
        image.sum()
        touched.append(time.perf_counter() - start)
    return {"bank": bank_seconds, "median": float(np.median(generate)), "touched": float(np.median(touched))}


def count(least: int):
    """An argparse type: an integer of at least ``least`` (for the command's own numbers)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"got {value}; give an integer >= {least}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its message
    return parse


FLAGS = {  # a dataset parameter -> the flag that sets it, for the dataset's own messages
    "canvas_height": "--height (or --canvas)",
    "canvas_width": "--width (or --canvas)",
    "digit_size": "--digit-size",
    "noise": "--noise",
    "noise_count": "--noise-count",
    "noise_size": "--noise-size",
    "noise_thickness": "--thickness",
    "seed": "--seed",
    "renderer": "--renderer",
    "patches.size": "--patch-size",
}


def build_parser() -> argparse.ArgumentParser:
    description = __doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m ips.data.megapixel_mnist", description=description)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--preview", metavar="OUT.png", help="write a picture of one canvas")
    action.add_argument("--stats", action="store_true", help="print the numbers of one canvas")
    action.add_argument("--bench", action="store_true", help="time the generation of canvases")
    parser.add_argument("--canvas", type=int, default=3000, help="canvas side in pixels (square canvas)")
    parser.add_argument("--height", type=int, help="canvas height (overrides --canvas)")
    parser.add_argument("--width", type=int, help="canvas width (overrides --canvas)")
    parser.add_argument("--digit-size", type=int, default=28)
    parser.add_argument("--noise", default="bezier", help=f"one of {list(NOISE_KINDS)}")
    parser.add_argument("--noise-count", type=int, help="default: round(1000 - 7.14 x digit size)")
    parser.add_argument("--noise-size", type=int, help="default: the digit size")
    parser.add_argument("--thickness", type=float, default=1.925, help="stroke width at the 28-pixel scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--renderer", default="real_valued", help=f"one of {list(RENDERERS)}")
    parser.add_argument("--split", default="train", choices=sorted(SPLITS))
    parser.add_argument("--index", type=count(0), default=0, help="which canvas")
    parser.add_argument("--mnist-path", help="a folder of MNIST IDX files (default: the shipped digits)")
    parser.add_argument("--patch-size", type=int, default=50, help="for --stats")
    parser.add_argument("--repeats", type=count(1), default=30, help="canvases to time with --bench")
    return parser


def build_dataset(args: argparse.Namespace) -> MegapixelMNIST:
    """The dataset of the flags; raises ``ValueError`` (the dataset's own checks) or ``OSError``."""
    PatchConfig(size=args.patch_size)  # the config's check of a patch size
    if args.preview:
        folder = Path(args.preview).expanduser().resolve().parent
        if Path(args.preview).suffix.lower() != ".png" or not folder.is_dir():
            raise ValueError(f"--preview {args.preview}: give a .png file in an existing folder")
    return MegapixelMNIST(
        canvas_height=args.canvas if args.height is None else args.height,
        canvas_width=args.canvas if args.width is None else args.width,
        digit_size=args.digit_size,
        canvases=max(args.index + 1, args.repeats),
        split=args.split,
        noise=args.noise,
        noise_count=followup_noise_count(args.digit_size) if args.noise_count is None else args.noise_count,
        noise_size=args.noise_size,
        noise_thickness=args.thickness,
        seed=args.seed,
        mnist_path=args.mnist_path,
        renderer=args.renderer,
    )


def main(argv: list[str] | None = None) -> None:
    """The command line; bad flags end with a message naming the flag and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        dataset = build_dataset(args)
    except (ValueError, OSError) as error:
        name, separator, rest = str(error).partition(": ")
        parser.error(f"{FLAGS[name]}: {rest}" if separator and name in FLAGS else str(error))
    if args.preview:
        preview(dataset, args.index, args.preview)
        print(f"wrote {args.preview}")
    elif args.stats:
        print(stats(dataset, args.index, args.patch_size))
    else:
        result = benchmark(dataset, args.repeats)
        print(describe(dataset, 0))
        print(f"noise bank of {dataset.noise_bank_size} patterns rendered once in {result['bank']:.2f} s")
        print(
            f"one canvas: median {1000 * result['median']:.1f} ms over {args.repeats} canvases "
            f"({1000 * result['touched']:.1f} ms with one pass over every pixel)"
        )


if __name__ == "__main__":
    main()
