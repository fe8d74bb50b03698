"""``python -m ips.data.megapixel_mnist``: look at Megapixel MNIST canvases from the command line.

    python -m ips.data.megapixel_mnist --preview canvas.png --digit-size 84 --noise-count 400
    python -m ips.data.megapixel_mnist --stats --canvas 1500 --patch-size 50
    python -m ips.data.megapixel_mnist --bench --repeats 30

``--preview OUT.png`` draws one canvas (shrunk, digits boxed) and crops around its digits and some noise,
for a person to judge; ``--stats`` prints its labels, ratios, inked fraction and all-zero patches;
``--bench`` times the noise bank and canvas generation. The flags build a ``MegapixelMNISTConfig``:
a bad value exits with status 2 and the config's message under the flag's name.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ips.config import IPSConfig, PatchConfig, patch_grid_shape
from ips.data.megapixel_mnist import SPLITS, MegapixelMNIST, canvas_labels, followup_noise_count
from ips.dataset_config import DIGITS_PER_CANVAS, NOISE_KINDS, RENDERERS, MegapixelMNISTConfig


def describe(dataset: MegapixelMNIST, index: int) -> str:
    """One line naming a canvas and its parameters."""
    config = dataset.config
    noise = f"noise {config.noise} x{config.noise_count if dataset.has_noise else 0}"
    if dataset.has_noise:
        noise += f" ({dataset.noise_size} px"
        noise += f", thickness {config.noise_thickness})" if config.noise == "bezier" else ")"
    return (
        f"{dataset.split} canvas {index} (seed {config.data_seed}): {config.canvas_height}x"
        f"{config.canvas_width}, digits {config.digit_size} px, {noise}, renderer {config.renderer}"
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
    boxed = dataset.config.digit_size * scale + 6  # 3 shrunk pixels wider than the digit on each side
    for row, col in layout.digit_positions.tolist():
        left, top = col * scale - 3, header + row * scale - 3
        draw.rectangle([left, top, left + boxed, top + boxed], outline="red")
    digits = zip(layout.classes.tolist(), layout.digit_positions, strict=True)
    crops = [(f"digit {c}", p, dataset.config.digit_size) for c, p in digits]
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
    rows, cols = patch_grid_shape(canvas.shape[0], canvas.shape[1], patch_size, patch_size)
    padded = np.zeros((rows * patch_size, cols * patch_size), dtype=np.float32)  # zero padding, as patches.py
    padded[: canvas.shape[0], : canvas.shape[1]] = canvas
    empty = ~padded.reshape(rows, patch_size, cols, patch_size).any(axis=(1, 3))  # [rows, cols]
    digits = zip(layout.classes.tolist(), layout.digit_positions.tolist(), strict=True)
    ratios = IPSConfig(data=dataset.config, patches=PatchConfig(size=patch_size))  # their one definition
    return "\n".join(
        [
            describe(dataset, index),
            f"labels: {describe_labels(canvas_labels(layout.classes, layout.digit_positions))}",
            "digits (class at top-left row, column): " + ", ".join(f"{c} at {tuple(p)}" for c, p in digits),
            f"object-to-image ratio: {100 * ratios.object_to_image_ratio:.4f}%",
            f"object-to-patch ratio: {100 * ratios.object_to_patch_ratio:.2f}% (patch {patch_size} px)",
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


FLAGS = {  # a config field -> the flag that sets it, for the config's own messages
    "data.canvas_height": "--height (or --canvas)",
    "data.canvas_width": "--width (or --canvas)",
    "data.digit_size": "--digit-size",
    "data.noise": "--noise",
    "data.noise_count": "--noise-count",
    "data.noise_size": "--noise-size",
    "data.noise_thickness": "--thickness",
    "data.data_seed": "--seed",
    "data.renderer": "--renderer",
    "patches.size": "--patch-size",
}


def build_parser() -> argparse.ArgumentParser:
    description = __doc__.split("\n")[0].split(": ", 1)[1]
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
    """The dataset of the flags; raises ``ValueError`` (the config's checks) or ``OSError``."""
    PatchConfig(size=args.patch_size)  # the config's check of a patch size
    if args.preview:
        folder = Path(args.preview).expanduser().resolve().parent
        if Path(args.preview).suffix.lower() != ".png" or not folder.is_dir():
            raise ValueError(f"--preview {args.preview}: give a .png file in an existing folder")
    canvases = max(args.index + 1, args.repeats)
    config = MegapixelMNISTConfig(
        canvas_height=args.canvas if args.height is None else args.height,
        canvas_width=args.canvas if args.width is None else args.width,
        digit_size=args.digit_size,
        train_canvases=canvases,
        validation_canvases=canvases,
        noise=args.noise,
        noise_count=followup_noise_count(args.digit_size) if args.noise_count is None else args.noise_count,
        noise_size=args.noise_size,
        noise_thickness=args.thickness,
        data_seed=args.seed,
        mnist_path=args.mnist_path,
        renderer=args.renderer,
    )
    return MegapixelMNIST(config, args.split)


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
