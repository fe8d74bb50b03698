"""Attention maps: which patches the selection pass kept, and how much attention each patch got.

``attention_map(model, image, config)`` runs the selection pass (eval mode, no grad) on one image and
returns every patch's score as a [rows, cols] grid together with the selected indices.
``save_attention_png(image, attention_map, config, path)`` draws the image (downscaled for large
canvases, enlarged to ``min_side`` pixels for small ones) with the selected patches outlined and tinted
by their normalised attention, from blue (the least attended of the selected) to red (the most), as in
the IPS follow-up paper's Figures 6 to 9, and a colour bar on the right that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor, nn

from ips.config import IPSConfig
from ips.data.patches import ImagePatches
from ips.model import evaluating

# Anchors of a blue -> cyan -> green -> yellow -> red ramp (low -> high attention).
# The low end is a light blue, so that weakly attended patches stay visible on a black canvas.
COLOUR_RAMP = np.array(
    [[70, 130, 255], [30, 200, 230], [60, 220, 90], [250, 210, 40], [235, 30, 20]], dtype=np.float64
)
FILL_ALPHA = (60, 160)  # tint opacity of the least and the most attended selected patch
MIN_SIDE = 768  # small canvases are enlarged (nearest neighbour) to this longer side
LEGEND_WIDTH = 170  # the colour bar and its labels, right of the image
LEGEND_MIN_HEIGHT = 320


@dataclass(frozen=True)
class AttentionMap:
    scores: Tensor  # [rows, cols] float32: each patch's score in the iteration it was scanned
    indices: Tensor  # [M] int64: the selected patches (flat index = row * cols + col)

    @property
    def selected_scores(self) -> Tensor:
        """Scores of the selected patches, [M]."""
        return self.scores.flatten()[self.indices]


def attention_map(model: nn.Module, image: Tensor, config: IPSConfig) -> AttentionMap:
    """Selection pass on one ``image`` [C, H, W] on the model's device; scores as the patch grid."""
    device = next(model.parameters()).device
    source = ImagePatches(image.unsqueeze(0).to(device), config.patches.size, config.patches.effective_stride)
    generator = torch.Generator().manual_seed(config.seed)  # the visiting order, used with shuffle only
    with evaluating(model):
        selection = model.select(source, generator=generator, return_all_scores=True)
    scores = selection.all_scores[0].float().cpu()  # [N]
    return AttentionMap(
        scores=scores.view(source.rows, source.columns),  # [N] -> [rows, cols]
        indices=selection.indices[0].cpu(),
    )


def colour(value: float) -> tuple[int, int, int]:
    """The ramp's colour at ``value`` in [0, 1]."""
    position = float(np.clip(value, 0.0, 1.0)) * (len(COLOUR_RAMP) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(COLOUR_RAMP) - 1)
    mixed = COLOUR_RAMP[low] + (COLOUR_RAMP[high] - COLOUR_RAMP[low]) * (position - low)
    return tuple(int(round(channel)) for channel in mixed)


def normalised(values: Tensor) -> Tensor:
    """Min-max scaled to [0, 1]; all ones where every value is the same."""
    low, high = values.min(), values.max()
    if high - low <= 0:
        return torch.ones_like(values)
    return (values - low) / (high - low)


def image_to_pil(image: Tensor, max_side: int, min_side: int = 0) -> tuple[Image.Image, float]:
    """[C, H, W] -> an RGB picture (contrast stretched to its own min and max) no larger than
    ``max_side`` on its longer side, and enlarged to ``min_side`` if smaller; returns the picture and
    the scale applied."""
    pixels = image.detach().float().cpu()
    pixels = normalised(pixels) if pixels.numel() else pixels
    array = (pixels.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)  # [C,H,W] -> [H,W,C]
    picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).convert("RGB")
    height, width = array.shape[:2]
    longest = max(height, width)
    scale = min(1.0, max_side / longest)
    if longest < min_side:
        scale = min(min_side, max_side) / longest
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resample = Image.Resampling.BOX if scale < 1.0 else Image.Resampling.NEAREST
        picture = picture.resize(size, resample)
    return picture, scale


def font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: one small bitmap font
        return ImageFont.load_default()


def with_colour_bar(picture: Image.Image, selected: int) -> Image.Image:
    """``picture`` with a white panel on its right: the colour ramp from the most attended selected
    patch (top, red) to the least (bottom, blue), labelled."""
    height = max(picture.height, LEGEND_MIN_HEIGHT)
    canvas = Image.new("RGB", (picture.width + LEGEND_WIDTH, height), (255, 255, 255))
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    left, top, bottom = picture.width + 20, 60, height - 60
    for y in range(top, bottom + 1):
        draw.line([(left, y), (left + 28, y)], fill=colour(1.0 - (y - top) / max(1, bottom - top)))
    draw.rectangle([left, top, left + 28, bottom], outline=(0, 0, 0), width=1)
    text = font(16)
    draw.text((left - 8, 12), "attention", fill=(0, 0, 0), font=text)
    draw.text((left - 8, 32), f"({selected} kept patches)", fill=(0, 0, 0), font=font(12))
    draw.text((left + 36, top - 2), "highest", fill=(0, 0, 0), font=text)
    draw.text((left + 36, bottom - 16), "lowest", fill=(0, 0, 0), font=text)
    return canvas


def save_attention_png(
    image: Tensor,
    attention_map: AttentionMap,
    config: IPSConfig,
    path: str | Path,
    max_side: int = 1024,
    min_side: int = MIN_SIDE,
    colour_bar: bool = True,
) -> Path:
    """Write ``image`` [C, H, W] with the selected patches outlined and tinted by normalised attention
    (the image at the top left, scaled to between ``min_side`` and ``max_side`` on its longer side),
    and a colour bar on its right unless ``colour_bar`` is False."""
    picture, scale = image_to_pil(image, max_side, min_side)
    columns = attention_map.scores.shape[1]
    weights = normalised(attention_map.selected_scores)  # [M] in [0, 1]
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    line = max(1, round(2 * max(scale, 0.5)))
    size, step = config.patches.size, config.patches.effective_stride
    pairs = sorted(zip(weights.tolist(), attention_map.indices.tolist(), strict=True))  # most attended last
    for weight, index in pairs:
        row, column = divmod(index, columns)
        box = [
            column * step * scale,
            row * step * scale,
            (column * step + size) * scale - 1,
            (row * step + size) * scale - 1,
        ]
        red, green, blue = colour(weight)
        alpha = round(FILL_ALPHA[0] + (FILL_ALPHA[1] - FILL_ALPHA[0]) * weight)
        draw.rectangle(box, fill=(red, green, blue, alpha), outline=(red, green, blue, 255), width=line)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    drawn = Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")
    if colour_bar:
        drawn = with_colour_bar(drawn, len(pairs))
    drawn.save(path, format="PNG")
    return path
