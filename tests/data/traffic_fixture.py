"""A small Swedish Traffic Signs folder in the exact published file format, for tests.

``make_traffic_signs_fixture(root)`` writes ``root/Set1`` and ``root/Set2``, each with small JPEGs
(160 x 120, like the real 1280 x 960 frames scaled down by 8) showing drawn signs, and an
``annotations.txt`` whose lines follow the published format::

    Image000003.jpg:MISC_SIGNS;VISIBLE, 80.000000, 50.000000, 60.000000, 30.000000, PROHIBITORY, 50_SIGN;

(coordinates written right, bottom, left, top, as in the real file). The lines cover empty images,
MISC_SIGNS-only images, several signs per image, BLURRED, SIDE_ROAD and OCCLUDED signs, other speed
limits and two different visible speed limits in one image. Every line carries a hand-written expected
label (``FixtureImage.label``; None: the loader must drop the image).

Kept images: Set1 24 (12 no sign, 4 each of 50, 70, 80: exactly 50% / 16.7% each, so 25% and 50%
subsets split into whole images) and 6 dropped; Set2 12 (6 / 2 / 2 / 2) and 4 dropped.
With ``malformed_line=True`` Set1 gets one extra line with a missing coordinate (its path and line
number are returned). The annotation files do not have the published md5 sums, so loading the fixture
gives an ``AnnotationChecksumWarning``.

Used by tests/data/test_traffic_signs.py and by the traffic-sign study smoke tests::

    fixture = make_traffic_signs_fixture(tmp_path / "traffic_signs")
    config = TrafficSignsConfig(root=str(fixture.root), image_height=120, image_width=160)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

DESIGN_SIZE = (120, 160)  # (height, width) in which the boxes below are given
MISC = "MISC_SIGNS"
SIGN_TYPES = {
    "50_SIGN": "PROHIBITORY",
    "70_SIGN": "PROHIBITORY",
    "80_SIGN": "PROHIBITORY",
    "100_SIGN": "PROHIBITORY",
    "PRIORITY_ROAD": "INFORMATION",
    "PEDESTRIAN_CROSSING": "INFORMATION",
    "PASS_RIGHT_SIDE": "MANDATORY",
    "GIVE_WAY": "WARNING",
    "URDBL": "UNREADABLE",
}


@dataclass(frozen=True)
class FixtureSign:
    """A drawn and annotated sign; ``box`` is (left, top, right, bottom) in the 160 x 120 design."""

    name: str
    box: tuple[int, int, int, int]
    visibility: str = "VISIBLE"


@dataclass(frozen=True)
class FixtureImage:
    """One image: its annotation entries (signs or ``MISC``) and the label the loader must give."""

    file: str
    entries: tuple[FixtureSign | str, ...]
    label: int | None  # 0 no sign, 1/2/3 = 50/70/80 km/h; None: dropped


def _sign(name: str, left: int, top: int, size: int = 16, visibility: str = "VISIBLE") -> FixtureSign:
    return FixtureSign(name, (left, top, left + size, top + size), visibility)


def _set1() -> tuple[FixtureImage, ...]:
    """Set1: 24 kept (12 / 4 / 4 / 4) and 6 dropped images."""
    s = _sign
    specs: list[tuple[tuple[FixtureSign | str, ...], int | None]] = [
        ((), 0),
        ((s("50_SIGN", 120, 30),), 1),
        ((MISC,), 0),  # MISC_SIGNS only: no sign, as the reference loaders
        ((s("PRIORITY_ROAD", 20, 35),), None),  # other sign only
        ((s("70_SIGN", 100, 25),), 2),
        ((), 0),
        ((s("80_SIGN", 130, 20),), 3),
        ((s("50_SIGN", 110, 30), s("PRIORITY_ROAD", 20, 30)), 1),  # several signs
        ((s("50_SIGN", 120, 28, visibility="OCCLUDED"),), None),  # occluded speed limit only
        ((), 0),
        ((s("70_SIGN", 90, 30), s("PASS_RIGHT_SIDE", 40, 60), s("GIVE_WAY", 10, 20)), 2),
        ((s("80_SIGN", 100, 25), s("80_SIGN", 20, 30, size=12)), 3),  # the same limit twice
        ((MISC,), 0),
        ((MISC, s("50_SIGN", 60, 30), s("70_SIGN", 110, 20, size=30, visibility="OCCLUDED")), 1),
        ((s("70_SIGN", 125, 30, visibility="SIDE_ROAD"), s("PEDESTRIAN_CROSSING", 30, 30)), None),
        ((), 0),
        ((s("50_SIGN", 20, 30, visibility="SIDE_ROAD"), s("70_SIGN", 100, 30)), 2),
        ((s("80_SIGN", 120, 20), s("100_SIGN", 30, 25)), 3),  # another speed limit does not count
        ((), 0),
        ((s("50_SIGN", 100, 20, size=28), s("80_SIGN", 30, 30, size=12)), 1),  # two limits: largest
        ((s("80_SIGN", 110, 25, visibility="BLURRED"), MISC), None),
        ((), 0),
        ((s("70_SIGN", 120, 30), s("80_SIGN", 20, 20, size=24, visibility="BLURRED")), 2),
        ((s("70_SIGN", 30, 30, size=12), s("80_SIGN", 110, 20, size=26)), 3),  # two limits: largest
        ((s("100_SIGN", 120, 25),), None),  # other speed limit only
        ((), 0),
        ((s("URDBL", 100, 30),), None),
        ((), 0),
        ((MISC,), 0),
        ((), 0),
    ]
    return tuple(
        FixtureImage(f"Image{n:06d}.jpg", entries, label) for n, (entries, label) in enumerate(specs, 1)
    )


def _set2() -> tuple[FixtureImage, ...]:
    """Set2: 12 kept (6 / 2 / 2 / 2) and 4 dropped images."""
    s = _sign
    specs: list[tuple[tuple[FixtureSign | str, ...], int | None]] = [
        ((s("80_SIGN", 120, 30),), 3),
        ((), 0),
        ((s("GIVE_WAY", 30, 30), s("PASS_RIGHT_SIDE", 110, 40)), None),
        ((s("50_SIGN", 100, 25), s("PRIORITY_ROAD", 30, 30)), 1),
        ((MISC,), 0),
        ((s("70_SIGN", 120, 30, visibility="OCCLUDED"), s("80_SIGN", 40, 30, visibility="SIDE_ROAD")), None),
        ((), 0),
        ((s("70_SIGN", 110, 20),), 2),
        ((s("50_SIGN", 40, 30, visibility="BLURRED"), s("70_SIGN", 110, 30)), 2),
        ((), 0),
        ((s("PEDESTRIAN_CROSSING", 60, 30), MISC), None),
        ((s("50_SIGN", 125, 25),), 1),
        ((), 0),
        ((s("80_SIGN", 100, 30), s("50_SIGN", 30, 30, size=10, visibility="OCCLUDED")), 3),
        ((s("50_SIGN", 120, 20, visibility="SIDE_ROAD"),), None),
        ((), 0),
    ]
    return tuple(
        FixtureImage(f"Image{n:06d}.jpg", entries, label) for n, (entries, label) in enumerate(specs, 1001)
    )


SETS: dict[str, tuple[FixtureImage, ...]] = {"Set1": _set1(), "Set2": _set2()}
MALFORMED_LINE_NUMBER = 4  # where the malformed line goes in Set1/annotations.txt
MALFORMED_LINE = "Image000900.jpg:VISIBLE, 80.000000, 50.000000, 60.000000, PROHIBITORY, 50_SIGN;"


@dataclass(frozen=True)
class TrafficSignsFixture:
    """What ``make_traffic_signs_fixture`` wrote."""

    root: Path
    malformed: tuple[Path, int] | None  # (annotation file, 1-based line number) of the malformed line

    def expected_labels(self, set_name: str) -> dict[str, int]:
        """File -> label of every image the loader must keep, in annotation order."""
        return {image.file: image.label for image in SETS[set_name] if image.label is not None}

    def dropped(self, set_name: str) -> list[str]:
        return [image.file for image in SETS[set_name] if image.label is None]


# ---------------------------------------------------------------------------------------- writing


def _scaled(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[float, ...]:
    sy, sx = size[0] / DESIGN_SIZE[0], size[1] / DESIGN_SIZE[1]
    left, top, right, bottom = box
    return (left * sx, top * sy, right * sx, bottom * sy)


def annotation_line(image: FixtureImage, size: tuple[int, int] = DESIGN_SIZE) -> str:
    """The line of ``annotations.txt`` for ``image`` in the published format."""
    entries = []
    for entry in image.entries:
        if entry == MISC:
            entries.append(MISC)
            continue
        left, top, right, bottom = _scaled(entry.box, size)
        entries.append(
            f"{entry.visibility}, {right:.6f}, {bottom:.6f}, {left:.6f}, {top:.6f}, "
            f"{SIGN_TYPES[entry.name]}, {entry.name}"
        )
    return f"{image.file}:" + "".join(f"{entry};" for entry in entries)


def _draw_sign(draw: ImageDraw.ImageDraw, sign: FixtureSign, box: tuple[float, ...]) -> None:
    left, top, right, bottom = box
    if sign.name.endswith("_SIGN"):  # a speed limit: red ring, white disc, the number
        draw.ellipse(box, fill=(250, 250, 250), outline=(210, 20, 30), width=max(2, int((right - left) / 6)))
        text = sign.name.split("_")[0]
        font = ImageFont.load_default(size=max(6, int((bottom - top) / 2.4)))
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        draw.text(
            ((left + right - x1 - x0) / 2, (top + bottom - y1 - y0) / 2), text, fill=(0, 0, 0), font=font
        )
    elif sign.name == "PRIORITY_ROAD":
        cx, cy = (left + right) / 2, (top + bottom) / 2
        draw.polygon([(cx, top), (right, cy), (cx, bottom), (left, cy)], fill=(250, 210, 0), outline="white")
    elif sign.name == "GIVE_WAY":
        draw.polygon([(left, top), (right, top), ((left + right) / 2, bottom)], fill="white", outline="red")
    elif sign.name == "PASS_RIGHT_SIDE":
        draw.ellipse(box, fill=(20, 70, 200))
        draw.line([(left + 3, top + 3), (right - 3, bottom - 3)], fill="white", width=2)
    else:  # PEDESTRIAN_CROSSING, URDBL: a plain blue or grey plate
        draw.rectangle(box, fill=(30, 90, 210) if sign.name == "PEDESTRIAN_CROSSING" else (140, 140, 140))
    if sign.visibility == "OCCLUDED":  # a pole or branch across the lower half
        draw.rectangle((left - 2, (top + bottom) / 2, right + 2, bottom + 2), fill=(60, 45, 30))


def draw_image(image: FixtureImage, size: tuple[int, int] = DESIGN_SIZE) -> Image.Image:
    """A road scene with ``image``'s signs drawn in their boxes (blurred where annotated BLURRED)."""
    height, width = size
    index = int("".join(ch for ch in image.file if ch.isdigit()))
    canvas = Image.new("RGB", (width, height), (150 + index % 40, 190, 230))  # sky, tinted per image
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, int(0.6 * height), width, height), fill=(90, 90, 95))  # road
    draw.rectangle((0, int(0.45 * height), width, int(0.6 * height)), fill=(60, 120 + index % 50, 60))
    for entry in image.entries:
        if entry == MISC:  # an unannotated sign at the far left
            draw.rectangle(_scaled((2, 40, 10, 52), size), fill=(230, 230, 230), outline=(0, 0, 0))
            continue
        box = _scaled(entry.box, size)
        _draw_sign(draw, entry, box)
        if entry.visibility == "BLURRED":
            region = tuple(int(v) for v in box)
            canvas.paste(canvas.crop(region).filter(ImageFilter.GaussianBlur(2)), region[:2])
    return canvas


def make_traffic_signs_fixture(
    root: str | Path, *, malformed_line: bool = False, image_size: tuple[int, int] = DESIGN_SIZE
) -> TrafficSignsFixture:
    """Write ``root/Set1`` and ``root/Set2`` (JPEGs and annotations.txt); see the module docstring.

    ``image_size`` is (height, width) of the JPEGs; boxes scale with it. ``malformed_line`` inserts a
    line with a missing coordinate into Set1/annotations.txt at line ``MALFORMED_LINE_NUMBER``.
    """
    root = Path(root)
    malformed = None
    for set_name, images in SETS.items():
        folder = root / set_name
        folder.mkdir(parents=True, exist_ok=True)
        for image in images:
            draw_image(image, image_size).save(folder / image.file, quality=90)
        lines = [annotation_line(image, image_size) for image in images]
        if malformed_line and set_name == "Set1":
            lines.insert(MALFORMED_LINE_NUMBER - 1, MALFORMED_LINE)
            malformed = (folder / "annotations.txt", MALFORMED_LINE_NUMBER)
        (folder / "annotations.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TrafficSignsFixture(root, malformed)
