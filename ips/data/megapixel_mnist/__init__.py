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

The dataset takes its config as it is: ``MegapixelMNIST(config, split)`` with a ``MegapixelMNISTConfig``,
whose ``__post_init__`` has checked every parameter.

Command line (``python -m ips.data.megapixel_mnist --help``, in ``__main__.py`` beside this file):
``--preview OUT.png`` draws one canvas for a person to judge, ``--stats`` prints its numbers, ``--bench``
times canvas generation.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ips.data.followup_renderer import area_resize, assign, followup_noise_bank, to_uint8
from ips.data.mnist_digits import CLASSES, DigitPool, load_digit_pools, resize_square
from ips.data.noise import noise_bank as cached_noise_bank
from ips.dataset_config import DIGITS_PER_CANVAS, MegapixelMNISTConfig

SPLITS = {"train": 0, "validation": 1}
MAJORITY_COPIES = 3
NOISE_BANK_SIZE = 1000  # patterns per bank; a canvas draws its noise_count patterns from it
DIGIT_STREAM, NOISE_STREAM, NOISE_BANK_STREAM = 0, 1, 2
TASKS = ("majority", "max", "top", "multi")


def followup_noise_count(digit_size: int) -> int:
    """The follow-up's noise count for a digit size: round(1000 - 7.14 x size) (800, 600, 400, 200)."""
    return max(0, round(1000 - 7.14 * digit_size))


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
    skipped. ``MegapixelMNISTConfig`` checks that a free position always exists (``digits_fit``).
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
    """The canvases of one split (``train_canvases`` or ``validation_canvases`` of ``config``), generated
    on the fly.

    ``dataset[i] -> (image float32 [1, H, W] in [0, 1], {"majority", "max", "top": int64 scalars,
    "multi": float32 [10]})``, or uint8 images from ``byte_canvases()``. ``noise_bank_size``: patterns
    per noise bank (not a config field).
    """

    def __init__(
        self, config: MegapixelMNISTConfig, split: str = "train", *, noise_bank_size: int = NOISE_BANK_SIZE
    ) -> None:
        if split not in SPLITS:
            raise ValueError(f"split: unknown split {split!r}; use 'train' or 'validation'")
        if isinstance(noise_bank_size, bool) or not isinstance(noise_bank_size, int) or noise_bank_size < 1:
            raise ValueError(
                f"noise_bank_size: got {noise_bank_size!r}; use a positive number of patterns "
                f"(default {NOISE_BANK_SIZE})"
            )
        self.config = config
        self.split = split
        self.canvases = config.train_canvases if split == "train" else config.validation_canvases
        self.noise_size = config.digit_size if config.noise_size is None else config.noise_size
        self.noise_bank_size = noise_bank_size
        self.digits: DigitPool = load_digit_pools(config.mnist_path)[split]
        self.serves_bytes = False  # uint8 canvases instead of float32 (``byte_canvases``)

    def __len__(self) -> int:
        return self.canvases

    @property
    def has_noise(self) -> bool:
        return self.config.noise != "none" and self.config.noise_count > 0

    def noise_bank(self) -> np.ndarray:
        """This split's noise patterns [noise_bank_size, noise_size, noise_size], rendered once a process."""
        config = self.config
        entropy = (config.data_seed, SPLITS[self.split], 0, NOISE_BANK_STREAM)
        if self.published and config.noise == "bezier":
            return followup_noise_bank(self.noise_bank_size, self.noise_size, config.noise_thickness, entropy)
        return cached_noise_bank(
            config.noise, self.noise_bank_size, self.noise_size, config.noise_thickness, entropy
        )

    # layout (cheap: random numbers only) -------------------------------------------------------

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        entropy = (self.config.data_seed, SPLITS[self.split], index, stream)
        return np.random.default_rng(np.random.SeedSequence(entropy))

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
        config = self.config
        positions = place_without_overlap(
            rng, config.canvas_height, config.canvas_width, config.digit_size, DIGITS_PER_CANVAS
        )
        return classes, indices, positions

    def noise_layout(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(bank indices [noise_count], positions [noise_count, 2]) of canvas ``index`` (noise stream)."""
        count = self.config.noise_count if self.has_noise else 0
        rng = self._rng(self._check_index(index), NOISE_STREAM)
        patterns = rng.integers(self.noise_bank_size, size=count)
        limits = (
            self.config.canvas_height - self.noise_size + 1,
            self.config.canvas_width - self.noise_size + 1,
        )
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

        The exact-match chance level of the multilabel task (the share of the set a blind model
        answers) needs them: per-class counts cannot give it. From the digit layouts alone, like
        ``label_counts``.
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
        return self.config.renderer == "followup_published"

    def digit_image(self, pool_index: int) -> np.ndarray:
        """Digit ``pool_index`` of this split's pool scaled to [digit_size, digit_size] float32 in [0, 1]
        (bicubic; by area with the published renderer)."""
        digit = self.digits.images[pool_index].astype(np.float32) / np.float32(255)
        return (area_resize if self.published else resize_square)(digit, self.config.digit_size)

    def render(self, layout: CanvasLayout) -> np.ndarray:
        """The canvas [H, W] float32 of ``layout``: noise first, then the digits over it."""
        if self.published:
            return self.render_published(layout)
        canvas = np.zeros((self.config.canvas_height, self.config.canvas_width), dtype=np.float32)
        if len(layout.noise_patterns):
            bank = self.noise_bank()
            noise = zip(layout.noise_patterns.tolist(), layout.noise_positions.tolist(), strict=True)
            for pattern, (row, col) in noise:
                paste(canvas, bank[pattern], row, col)
        digits = zip(layout.digit_indices.tolist(), layout.digit_positions.tolist(), strict=True)
        for digit, (row, col) in digits:
            paste(canvas, self.digit_image(digit), row, col)
        return canvas

    def render_bytes(self, layout: CanvasLayout) -> np.ndarray:
        """As the follow-up's generator: a uint8 canvas, every box assigned in order (noise, then digits)."""
        canvas = np.zeros((self.config.canvas_height, self.config.canvas_width), dtype=np.uint8)
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
        return canvas

    def render_published(self, layout: CanvasLayout) -> np.ndarray:
        """The published canvas [H, W] float32, read back from its bytes as its generator does."""
        return self.render_bytes(layout).astype(np.float32) / np.float32(255)

    def byte_canvases(self) -> MegapixelMNIST:
        """This split serving its canvases as uint8 [1, H, W] (the published renderer's bytes, 4x less
        to collate, pin and copy; ``ips.device.to_device`` makes them the same floats on the device),
        or itself where the renderer's values are not bytes (``real_valued``)."""
        if not self.published:
            return self
        view = copy.copy(self)
        view.serves_bytes = True
        return view

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        layout = self.layout(index)
        pixels = self.render_bytes(layout) if self.serves_bytes else self.render(layout)
        image = torch.from_numpy(pixels).unsqueeze(0)  # [1, H, W]
        labels = canvas_labels(layout.classes, layout.digit_positions)
        return image, {
            "majority": torch.tensor(labels["majority"], dtype=torch.int64),
            "max": torch.tensor(labels["max"], dtype=torch.int64),
            "top": torch.tensor(labels["top"], dtype=torch.int64),
            "multi": torch.from_numpy(labels["multi"]),
        }
