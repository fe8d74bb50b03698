"""The Swedish Traffic Signs summer set as the 4-class speed-limit task of both IPS papers.

The set (Larsson & Felsberg; the Computer Vision Laboratory of Linköping University publishes it as the
"Swedish Traffic Signs Dataset", https://www.cvl.isy.liu.se/research/datasets/traffic-signs-dataset/)
is read as distributed; nothing is downloaded. Expected layout::

    ROOT/Set1/annotations.txt   and the Set1 JPEGs beside it (Set1Part0.zip unpacked)
    ROOT/Set2/annotations.txt   and the Set2 JPEGs beside it (Set2Part0.zip unpacked)

Splits: one set trains and the other validates. An even ``data_seed`` trains on Set1 and validates on
Set2 (the reference code with seed 0), an odd one the other way round. ``fraction`` < 1 keeps a seeded
subset of the training set stratified by label (see ``stratified_subset``). Validation uses its whole
set, unless ``validation_subset="first_per_class"``: then it keeps ``int(count x fraction)`` images of
each class, the first in file order, as the follow-up's code did (``first_per_class``; it gives the
paper's 169 / 341 / 684 validation images of Table 5, shared/paper/README.md item 12).

Items are ``(image float32 [3, H, W], {"sign": int64 scalar})``: the JPEG resized (bilinear) to
``image_height`` x ``image_width`` (1200 x 1600 in the papers), ImageNet-normalised. With ``augment``
(training only) two augmentations as in the IPS code:

- colour jitter as torchvision's ``ColorJitter(0.1, 0.1, 0.1, 0.1)``: brightness, contrast, saturation
  x 0.9..1.1, hue -0.1..0.1, in a random order; applied to the source image before resizing, as it
  changes colours, not positions;
- a random translation of up to 100 pixels at 1200 x 1600 (1/12 of the height, 1/16 of the width);
  uncovered pixels are black before normalisation.

Each item's augmentation is drawn from its own ``torch.Generator``, seeded from torch's global RNG as
torchvision's random transforms do: new draws at every visit, reproducible under ``torch.manual_seed``
with the same number of DataLoader workers.

The annotation files (their format, the label rule above, their published md5 sums) are read by
``ips.data.traffic_sign_annotations``; a file that differs from the published one gives an
``AnnotationChecksumWarning`` (or an error with ``strict_checksums=True``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from ips.config import TrafficSignsConfig
from ips.data.traffic_sign_annotations import (
    PROJECT_PAGE,
    LabelledImage,
    read_labelled_images,
)

SETS: tuple[str, str] = ("Set1", "Set2")
ANNOTATIONS = "annotations.txt"
CLASS_NAMES: tuple[str, ...] = ("no sign", "50 km/h", "70 km/h", "80 km/h")
TASK = "sign"

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
COLOUR_JITTER = 0.1  # brightness, contrast, saturation factors in 1 +- 0.1; hue shift in +- 0.1
MAX_SHIFT_FRACTION = (100 / 1200, 100 / 1600)  # (rows, columns): 100 pixels at 1200 x 1600

EXPECTED_LAYOUT = (
    "Expected layout:\n"
    "  ROOT/Set1/annotations.txt  and the Set1 JPEGs beside it (Set1Part0.zip unpacked into Set1/)\n"
    "  ROOT/Set2/annotations.txt  and the Set2 JPEGs beside it (Set2Part0.zip unpacked into Set2/)\n"
    "The set is published by the Computer Vision Laboratory of Linköping University as the "
    f'"Swedish Traffic Signs Dataset" (summer set, Set1 and Set2): {PROJECT_PAGE}\n'
    "Download it there (this loader downloads nothing) and give its folder as data.root."
)


class TrafficSignsNotFoundError(FileNotFoundError):
    """The data folder, a set, an annotation file or an image is missing."""


# -------------------------------------------------------------------------------------------- layout


def check_layout(root: Path, sets: Sequence[str] = SETS) -> None:
    """Raise ``TrafficSignsNotFoundError`` naming everything missing under ``root`` for ``sets``."""
    if not root.is_dir():
        missing = [f"the folder {root} itself"]
    else:
        missing = [
            f"{name}/{ANNOTATIONS}" if (root / name).is_dir() else f"the folder {name}/"
            for name in sets
            if not (root / name / ANNOTATIONS).is_file()
        ]
    if missing:
        raise TrafficSignsNotFoundError(
            f"Swedish Traffic Signs data incomplete under {root.resolve()}: missing {', '.join(missing)}.\n"
            f"{EXPECTED_LAYOUT}"
        )


def check_images(folder: Path, files: Sequence[str]) -> None:
    """Raise ``TrafficSignsNotFoundError`` if any annotated image in ``files`` is missing from ``folder``."""
    missing = [file for file in files if not (folder / file).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise TrafficSignsNotFoundError(
            f"{len(missing)} of the {len(files)} images that {folder / ANNOTATIONS} keeps are missing "
            f"from {folder.resolve()}: {shown}. Unpack all of the set's images into that folder.\n"
            f"{EXPECTED_LAYOUT}"
        )


# --------------------------------------------------------------------------------- splits and subsets


def sets_for_seed(data_seed: int) -> dict[str, str]:
    """Which set trains and which validates: even ``data_seed`` trains on Set1, odd on Set2."""
    train, validation = SETS if data_seed % 2 == 0 else SETS[::-1]
    return {"train": train, "validation": validation}


def stratified_subset(labels: Sequence[int], fraction: float, seed: int) -> list[int]:
    """Indices (ascending) of a seeded subset of about ``fraction`` of ``labels``, stratified by label.

    Each class keeps ``round(count * fraction)`` of its images (halves round up, at least one), so the
    subset has the set's own class proportions to within half an image per class. Each class's images
    are taken in the order of a permutation seeded by (``seed``, class): the same seed gives the same
    subset, and a smaller fraction gives a subset of a larger one's.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    labels = list(labels)
    chosen: list[int] = []
    for label in sorted(set(labels)):
        members = [index for index, value in enumerate(labels) if value == label]
        quota = max(1, math.floor(len(members) * fraction + 0.5))
        order = np.random.default_rng([seed, label]).permutation(len(members))
        chosen.extend(members[position] for position in order[:quota])
    return sorted(chosen)


def first_per_class(labels: Sequence[int], fraction: float) -> list[int]:
    """Indices (ascending) of the first ``int(count * fraction)`` images of each class, in file order.

    The follow-up's ``_filter`` (data/traffic/traffic_dataset.py at cdbd1db), applied to its
    validation set too: truncated, not rounded, and not seeded.
    """
    labels = list(labels)
    quota = {label: int(labels.count(label) * fraction) for label in set(labels)}
    taken = dict.fromkeys(quota, 0)
    chosen = []
    for index, label in enumerate(labels):
        if taken[label] < quota[label]:
            chosen.append(index)
            taken[label] += 1
    return chosen


# --------------------------------------------------------------------------------- image pipeline


def read_rgb(path: Path) -> Image.Image:
    """The image at ``path`` as RGB, at its own size."""
    with Image.open(path) as image:
        return image.convert("RGB")


def resize(image: Image.Image, height: int, width: int) -> Image.Image:
    """``image`` resized (bilinear) to ``height`` x ``width``."""
    return image.resize((width, height), Image.Resampling.BILINEAR)


def augmentation_generator() -> torch.Generator:
    """A generator for one item's augmentation, seeded from torch's global RNG."""
    return torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))


def colour_jitter(image: Image.Image, generator: torch.Generator) -> Image.Image:
    """Brightness, contrast, saturation (x 1 +- 0.1) and hue (+- 0.1) adjustments in a random order."""
    factors = 1 + COLOUR_JITTER * (2 * torch.rand(3, generator=generator) - 1)
    hue = COLOUR_JITTER * (2 * torch.rand(1, generator=generator).item() - 1)
    adjustments = (
        lambda im: TF.adjust_brightness(im, factors[0].item()),
        lambda im: TF.adjust_contrast(im, factors[1].item()),
        lambda im: TF.adjust_saturation(im, factors[2].item()),
        lambda im: TF.adjust_hue(im, hue),
    )
    for step in torch.randperm(4, generator=generator).tolist():
        image = adjustments[step](image)
    return image


def random_shift(height: int, width: int, generator: torch.Generator) -> tuple[int, int]:
    """(rows, columns) to translate by, uniform integers up to 100 pixels at 1200 x 1600."""
    max_rows = round(MAX_SHIFT_FRACTION[0] * height)
    max_columns = round(MAX_SHIFT_FRACTION[1] * width)
    rows = int(torch.randint(-max_rows, max_rows + 1, (1,), generator=generator))
    columns = int(torch.randint(-max_columns, max_columns + 1, (1,), generator=generator))
    return rows, columns


def translate(image: Tensor, rows: int, columns: int) -> Tensor:
    """``image`` [C, H, W] moved down by ``rows`` and right by ``columns``; uncovered pixels are 0."""
    _, height, width = image.shape
    shifted = torch.zeros_like(image)
    if abs(rows) >= height or abs(columns) >= width:
        return shifted
    source_rows = slice(max(0, -rows), height - max(0, rows))
    target_rows = slice(max(0, rows), height - max(0, -rows))
    source_columns = slice(max(0, -columns), width - max(0, columns))
    target_columns = slice(max(0, columns), width - max(0, -columns))
    shifted[:, target_rows, target_columns] = image[:, source_rows, source_columns]
    return shifted


def to_tensor(image: Image.Image) -> Tensor:
    """An RGB image as a uint8 tensor [3, H, W]."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8))  # [H, W, 3]
    return pixels.permute(2, 0, 1).contiguous()  # [3, H, W]


def normalise(pixels: Tensor) -> Tensor:
    """uint8 [3, H, W] -> float32 [3, H, W]: (pixels / 255 - ImageNet mean) / ImageNet std."""
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1) * 255
    return pixels.float().sub_(mean).div_(std)


# ----------------------------------------------------------------------------------------- dataset


class TrafficSigns(Dataset):
    """The kept images of one set (``Set1`` or ``Set2``) under ``root``; see the module docstring."""

    def __init__(
        self,
        root: str | Path,
        set_name: str,
        *,
        image_height: int = 1200,
        image_width: int = 1600,
        augment: bool = False,
        fraction: float = 1.0,
        data_seed: int = 0,
        strict_checksums: bool = False,
        subset: Literal["stratified", "first_per_class"] = "stratified",
    ) -> None:
        if set_name not in SETS:
            raise ValueError(f"set_name must be one of {SETS}, got {set_name!r}")
        if data_seed < 0:
            raise ValueError(f"data_seed must be >= 0, got {data_seed}")
        self.root = Path(root)
        check_layout(self.root, (set_name,))
        self.set_name = set_name
        self.folder = self.root / set_name
        self.image_height = image_height
        self.image_width = image_width
        self.augment = augment
        self.data_seed = data_seed
        annotations = self.folder / ANNOTATIONS
        self.checksum_matches, kept = read_labelled_images(annotations, set_name, strict=strict_checksums)
        check_images(self.folder, [item.file for item in kept])
        self.fraction = fraction
        if subset not in ("stratified", "first_per_class"):
            raise ValueError(f"subset must be 'stratified' or 'first_per_class', got {subset!r}")
        labels = [item.label for item in kept]
        self.subset = subset
        if subset == "first_per_class":
            chosen = first_per_class(labels, fraction)
        else:
            chosen = stratified_subset(labels, fraction, data_seed)
        self.items: list[LabelledImage] = [kept[index] for index in chosen]

    @classmethod
    def from_config(
        cls,
        data: TrafficSignsConfig,
        split: Literal["train", "validation"],
        *,
        strict_checksums: bool = False,
    ) -> TrafficSigns:
        """The training or validation set of ``data``: the set chosen by ``data.data_seed``; the
        training set gets ``data.fraction`` (seeded, stratified) and (if ``data.augment``)
        augmentation; the validation set is whole, or with ``data.validation_subset =
        "first_per_class"`` the first ``int(count x data.fraction)`` images of each class."""
        if split not in ("train", "validation"):
            raise ValueError(f"split must be 'train' or 'validation', got {split!r}")
        check_layout(Path(data.root))
        training = split == "train"
        authors = not training and data.validation_subset == "first_per_class"
        return cls(
            data.root,
            sets_for_seed(data.data_seed)[split],
            image_height=data.image_height,
            image_width=data.image_width,
            augment=data.augment and training,
            fraction=data.fraction if training or authors else 1.0,
            data_seed=data.data_seed,
            strict_checksums=strict_checksums,
            subset="first_per_class" if authors else "stratified",
        )

    # the Dataset interface --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        item = self.items[index]
        image = read_rgb(self.folder / item.file)
        if not self.augment:
            pixels = to_tensor(resize(image, self.image_height, self.image_width))  # uint8 [3, H, W]
        else:
            generator = augmentation_generator()
            # Jitter changes colours, not positions: it runs before resizing, on the smaller source image.
            image = resize(colour_jitter(image, generator), self.image_height, self.image_width)
            shift = random_shift(self.image_height, self.image_width, generator)
            pixels = translate(to_tensor(image), *shift)  # uint8 [3, H, W], black where uncovered
        return normalise(pixels), {TASK: torch.tensor(item.label, dtype=torch.int64)}

    # extras ----------------------------------------------------------------------------------------

    @property
    def files(self) -> list[str]:
        return [item.file for item in self.items]

    @property
    def labels(self) -> list[int]:
        return [item.label for item in self.items]

    def label_counts(self) -> dict[str, dict[int, int]]:
        """{"sign": {class: count}} over the kept images (all four classes), from the annotations only."""
        counts = {label: 0 for label in range(len(CLASS_NAMES))}
        for item in self.items:
            counts[item.label] += 1
        return {TASK: counts}
