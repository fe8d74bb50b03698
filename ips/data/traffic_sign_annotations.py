"""The annotation files of the Swedish Traffic Signs summer set: their format, their label rule, their
published checksums (``ips.data.traffic_signs`` reads the images).

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

The md5 sums of the two annotation files are checked against the published ones; a difference gives an
``AnnotationChecksumWarning`` (or an error with ``strict_checksums=True``).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

PROJECT_PAGE = "https://www.cvl.isy.liu.se/research/datasets/traffic-signs-dataset/"
PUBLISHED_MD5: dict[str, str] = {
    "Set1": "9106a905a86209c95dc9b51d12f520d6",
    "Set2": "09debbc67f6cd89c1e2a2688ad1d03ca",
}
VISIBILITIES: tuple[str, ...] = ("VISIBLE", "BLURRED", "SIDE_ROAD", "OCCLUDED")
MISC_SIGNS = "MISC_SIGNS"
SPEED_LIMIT_CLASSES: dict[str, int] = {"50_SIGN": 1, "70_SIGN": 2, "80_SIGN": 3}
LINE_FORMAT = (
    "expected 'FILE:VISIBILITY, x1, y1, x2, y2, TYPE, NAME;...' (signs separated by ';', 'MISC_SIGNS' "
    f"entries allowed, VISIBILITY one of {', '.join(VISIBILITIES)}), or 'FILE:' for an image without signs"
)


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


# ------------------------------------------------------------------------------------------ checksums


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


# ---------------------------------------------------------------------------------------- kept images


@dataclass(frozen=True)
class LabelledImage:
    """One kept image: file name, its line in annotations.txt and its class."""

    file: str
    line_number: int
    label: int


def read_labelled_images(
    path: Path, set_name: str, *, strict: bool = False
) -> tuple[bool, list[LabelledImage]]:
    """(whether the annotation file ``path`` of ``set_name`` is the published one, the images it keeps
    with their class, in file order); a changed file warns (raises if ``strict``)."""
    contents = path.read_bytes()
    matches = check_annotation_checksum(contents, path, PUBLISHED_MD5[set_name], strict=strict)
    kept = []
    for annotation in parse_annotations(contents.decode("utf-8", errors="replace"), path):
        label = image_label(annotation)
        if label is not None:
            kept.append(LabelledImage(annotation.file, annotation.line_number, label))
    return matches, kept
