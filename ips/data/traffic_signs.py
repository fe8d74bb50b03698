"""The Swedish Traffic Signs summer set as the 4-class speed-limit task of both IPS papers.

The set (Larsson & Felsberg; the Computer Vision Laboratory of Linköping University publishes it as the
"Swedish Traffic Signs Dataset", https://www.cvl.isy.liu.se/research/datasets/traffic-signs-dataset/)
is read as distributed; nothing is downloaded. Expected layout::

    ROOT/Set1/annotations.txt   and the Set1 JPEGs beside it (Set1Part0.zip unpacked)
    ROOT/Set2/annotations.txt   and the Set2 JPEGs beside it (Set2Part0.zip unpacked)

Each line of ``annotations.txt`` describes one image::

    FILE:VISIBILITY, x1, y1, x2, y2, TYPE, NAME;VISIBILITY, x1, y1, x2, y2, TYPE, NAME;...
    FILE:MISC_SIGNS;VISIBLE, 616.96, 718.30, 580.96, 679.30, INFORMATION, PRIORITY_ROAD;
    FILE:                                    (an image without signs)

with VISIBILITY one of VISIBLE, BLURRED, SIDE_ROAD, OCCLUDED and NAME e.g. 50_SIGN, 70_SIGN, 80_SIGN,
PRIORITY_ROAD, PASS_RIGHT_SIDE. ``MISC_SIGNS`` marks signs that were not annotated one by one.

Labels, as in the reference loaders (attention sampling's ``speed_limits.py``, the IPS code):

- 0 "no sign": no annotated sign. An image with only ``MISC_SIGNS`` counts as 0 too (the reference
  loaders skip ``MISC_SIGNS`` entries).
- 1, 2, 3: a VISIBLE 50, 70 or 80 km/h speed limit. With several visible speed limits (even of different
  values) the one with the largest box labels the image (the first listed wins a tie); speed limits that
  are BLURRED, SIDE_ROAD or OCCLUDED never label an image, and other signs never matter.
- dropped: images with signs but no VISIBLE 50/70/80 sign (other signs only, other speed limits such as
  100_SIGN only, or a 50/70/80 sign that is not VISIBLE).

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

The md5 sums of the two annotation files are checked against the published ones; a difference gives an
``AnnotationChecksumWarning`` (or an error with ``strict_checksums=True``).
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from ips.config import TrafficSignsConfig

PROJECT_PAGE = "https://www.cvl.isy.liu.se/research/datasets/traffic-signs-dataset/"
SETS: tuple[str, str] = ("Set1", "Set2")
ANNOTATIONS = "annotations.txt"
PUBLISHED_MD5: dict[str, str] = {
    "Set1": "9106a905a86209c95dc9b51d12f520d6",
    "Set2": "09debbc67f6cd89c1e2a2688ad1d03ca",
}
VISIBILITIES: tuple[str, ...] = ("VISIBLE", "BLURRED", "SIDE_ROAD", "OCCLUDED")
MISC_SIGNS = "MISC_SIGNS"
SPEED_LIMIT_CLASSES: dict[str, int] = {"50_SIGN": 1, "70_SIGN": 2, "80_SIGN": 3}
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
LINE_FORMAT = (
    "expected 'FILE:VISIBILITY, x1, y1, x2, y2, TYPE, NAME;...' (signs separated by ';', 'MISC_SIGNS' "
    f"entries allowed, VISIBILITY one of {', '.join(VISIBILITIES)}), or 'FILE:' for an image without signs"
)


class TrafficSignsNotFoundError(FileNotFoundError):
    """The data folder, a set, an annotation file or an image is missing."""


class AnnotationFormatError(ValueError):
    """A line of an annotation file does not follow the published format."""


class AnnotationChecksumError(ValueError):
    """An annotation file differs from the published one and checksums are strict."""


class AnnotationChecksumWarning(UserWarning):
    """An annotation file differs from the published one."""


# ------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class SignAnnotation:
    """One annotated sign. ``box`` holds the four coordinates as written (x1, y1, x2, y2)."""

    visibility: str
    box: tuple[float, float, float, float]
    kind: str  # TYPE, e.g. PROHIBITORY
    name: str  # e.g. 70_SIGN

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return abs((x1 - x2) * (y1 - y2))


@dataclass(frozen=True)
class ImageAnnotation:
    """One line of an annotation file: an image, its signs and whether it also has MISC_SIGNS."""

    file: str
    line_number: int  # 1-based line in annotations.txt
    signs: tuple[SignAnnotation, ...]
    misc_signs: bool


_COORDINATE = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\D*")


def _format_error(path: Path, line_number: int, text: str, problem: str) -> AnnotationFormatError:
    shown = text if len(text) <= 200 else text[:200] + "..."
    return AnnotationFormatError(
        f"{path}, line {line_number}: {problem}; the line reads {shown!r}. {LINE_FORMAT}. "
        "Fix or remove that line (or restore the published annotation file)."
    )


def _parse_coordinate(field: str) -> float | None:
    """A coordinate; trailing non-digits are ignored as the reference loader does. None if not a number."""
    match = _COORDINATE.fullmatch(field)
    return float(match.group(1)) if match else None


def _parse_sign(entry: str, path: Path, line_number: int, text: str) -> SignAnnotation:
    fields = [part.strip() for part in entry.split(",")]
    if len(fields) != 7:
        raise _format_error(
            path, line_number, text, f"the sign {entry!r} has {len(fields)} comma-separated fields, not 7"
        )
    visibility, *coordinates, kind, name = fields
    if visibility not in VISIBILITIES:
        raise _format_error(path, line_number, text, f"unknown visibility {visibility!r} in {entry!r}")
    box = [_parse_coordinate(value) for value in coordinates]
    if any(value is None for value in box):
        raise _format_error(path, line_number, text, f"a coordinate of {entry!r} is not a number")
    if not kind or not name:
        raise _format_error(path, line_number, text, f"the sign {entry!r} has an empty TYPE or NAME")
    return SignAnnotation(visibility, tuple(box), kind, name)


def parse_annotation_line(text: str, path: Path, line_number: int) -> ImageAnnotation | None:
    """One line of ``path`` -> its image annotation; None for a blank line.

    Raises ``AnnotationFormatError`` naming ``path`` and ``line_number`` if the line is malformed.
    """
    stripped = text.strip()
    if not stripped:
        return None
    file, colon, rest = stripped.partition(":")
    if not colon or not file.strip():
        raise _format_error(path, line_number, text, "there is no 'FILE:' at the start")
    signs, misc_signs = [], False
    for entry in rest.split(";"):
        entry = entry.strip()
        if entry == MISC_SIGNS:
            misc_signs = True
        elif entry:
            signs.append(_parse_sign(entry, path, line_number, text))
    return ImageAnnotation(file.strip(), line_number, tuple(signs), misc_signs)


def parse_annotations(text: str, path: Path) -> list[ImageAnnotation]:
    """Every image annotated in the contents ``text`` of the annotation file ``path``, in file order."""
    parsed = (parse_annotation_line(line, path, number) for number, line in enumerate(text.splitlines(), 1))
    return [annotation for annotation in parsed if annotation is not None]


def image_label(annotation: ImageAnnotation) -> int | None:
    """The class of an annotated image (0 no sign, 1/2/3 = 50/70/80 km/h), None if it is dropped.

    See the module docstring for the rule; it is the reference loaders' rule.
    """
    if not annotation.signs:
        return 0  # no sign at all, or MISC_SIGNS only
    visible = [
        sign for sign in annotation.signs if sign.name in SPEED_LIMIT_CLASSES and sign.visibility == "VISIBLE"
    ]
    if not visible:
        return None
    largest = max(visible, key=lambda sign: sign.area)  # max keeps the first of equal areas
    return SPEED_LIMIT_CLASSES[largest.name]


# ------------------------------------------------------------------------------- layout and checksums


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


def check_annotation_checksum(
    contents: bytes, path: Path, expected_md5: str, *, strict: bool = False
) -> bool:
    """True if ``contents`` (the bytes of ``path``) has ``expected_md5``; else warn (raise if ``strict``)."""
    actual = hashlib.md5(contents).hexdigest()
    if actual == expected_md5:
        return True
    message = (
        f"{path.parent.name}/{path.name} ({path}) has md5 {actual}, not the published {expected_md5}. "
        "It is not the annotation file of the published Swedish Traffic Signs summer set (edited, saved "
        "again, e.g. with other line endings, or from another release), so the kept images, their labels "
        "and the class counts may differ from the papers'. "
    )
    if strict:
        raise AnnotationChecksumError(message + f"Restore the published file from {PROJECT_PAGE}")
    warnings.warn(
        message + "Training goes on; pass strict_checksums=True to make this an error.",
        AnnotationChecksumWarning,
        stacklevel=3,
    )
    return False


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


@dataclass(frozen=True)
class LabelledImage:
    """One kept image: file name, its line in annotations.txt and its class."""

    file: str
    line_number: int
    label: int


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
        self.checksum_matches, kept = self._read_annotations(strict_checksums)
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

    def _read_annotations(self, strict_checksums: bool) -> tuple[bool, list[LabelledImage]]:
        path = self.folder / ANNOTATIONS
        contents = path.read_bytes()
        matches = check_annotation_checksum(
            contents, path, PUBLISHED_MD5[self.set_name], strict=strict_checksums
        )
        kept = []
        for annotation in parse_annotations(contents.decode("utf-8", errors="replace"), path):
            label = image_label(annotation)
            if label is not None:
                kept.append(LabelledImage(annotation.file, annotation.line_number, label))
        return matches, kept

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
