"""Attention maps: which patches the selection pass kept, and how much attention each patch got.

``attention_map(model, image, config)`` runs the selection pass (eval mode, no grad) on one image and
returns every patch's score as a [rows, cols] grid together with the selected indices.
``save_attention_png(image, attention_map, config, path)`` draws the image (downscaled for large
canvases) with the selected patches outlined and tinted by their normalised attention, from blue (the
least attended of the selected) to red (the most), as in the IPS follow-up paper's Figures 6 to 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
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
    source = ImagePatches(image.unsqueeze(0).to(device), config.patches.size, config.patches.step)
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


def image_to_pil(image: Tensor, max_side: int) -> tuple[Image.Image, float]:
    """[C, H, W] -> an RGB picture (contrast stretched to its own min and max) no larger than
    ``max_side`` on its longer side; returns the picture and the scale applied."""
    pixels = image.detach().float().cpu()
    pixels = normalised(pixels) if pixels.numel() else pixels
    array = (pixels.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)  # [C,H,W] -> [H,W,C]
    picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).convert("RGB")
    height, width = array.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = picture.resize(size, Image.Resampling.BOX)
    return picture, scale


def save_attention_png(
    image: Tensor, attention_map: AttentionMap, config: IPSConfig, path: str | Path, max_side: int = 1024
) -> Path:
    """Write ``image`` [C, H, W] with the selected patches outlined and tinted by normalised attention."""
    picture, scale = image_to_pil(image, max_side)
    columns = attention_map.scores.shape[1]
    weights = normalised(attention_map.selected_scores)  # [M] in [0, 1]
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    line = max(1, round(2 * max(scale, 0.5)))
    size, step = config.patches.size, config.patches.step
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
    Image.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB").save(path, format="PNG")
    return path
