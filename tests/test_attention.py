"""Attention maps: every patch's score on the grid, the selected set, and the PNG."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from tiny_configs import tiny_config

from ips.attention import COLOUR_RAMP, LEGEND_WIDTH, MIN_SIDE, attention_map, save_attention_png
from ips.config import (
    TRAFFIC_SIGNS_TASKS,
    EncoderConfig,
    IPSConfig,
    TrafficSignsConfig,
    replace,
)
from ips.data.patches import ImagePatches
from ips.model import IPSModel, evaluating


def small_config(height: int = 200, width: int = 150, memory: int = 3, iteration: int = 100) -> IPSConfig:
    sizes = {"data.canvas_height": height, "data.canvas_width": width, "selection.memory_size": memory}
    return tiny_config(sizes, **{"selection.iteration_size": iteration})


def model_and_image(config: IPSConfig, seed: int = 0) -> tuple[IPSModel, torch.Tensor]:
    torch.manual_seed(seed)
    model = IPSModel(config)
    image = torch.rand(config.data.channels, config.data.image_height, config.data.image_width)
    return model, image


def test_scores_cover_the_patch_grid_row_by_row():
    config = small_config(height=200, width=150)  # 4 x 3 patches of 50; all 12 scored in one iteration
    model, image = model_and_image(config)
    result = attention_map(model, image, config)
    assert result.scores.shape == (4, 3) == config.patch_grid
    assert result.indices.shape == (3,) and result.indices.dtype == torch.int64

    # scores[r, c] is the score of patch r * columns + c, scored together with every other patch.
    with torch.no_grad(), evaluating(model):
        patches = ImagePatches(image.unsqueeze(0), 50).all()  # [1, 12, C, 50, 50]
        direct = model.score(model.embed(patches), torch.arange(12).unsqueeze(0))  # [1, 12]
    torch.testing.assert_close(result.scores.flatten(), direct[0])


def test_the_selected_set_is_the_top_of_the_selection_pass():
    config = small_config(memory=3, iteration=100)  # one iteration: every patch in one softmax
    model, image = model_and_image(config, seed=1)
    result = attention_map(model, image, config)
    top = result.scores.flatten().topk(3).indices
    assert set(result.indices.tolist()) == set(top.tolist())
    assert model.training  # the caller's mode is left alone


def test_the_selected_set_is_what_the_model_selects_over_several_iterations():
    config = small_config(height=300, width=250, memory=4, iteration=5)  # 6 x 5 = 30 patches, 6 iterations
    model, image = model_and_image(config, seed=2)
    result = attention_map(model, image, config)
    with evaluating(model):
        order = torch.Generator().manual_seed(config.seed)  # the visiting order of the shuffled pass
        selection = model.select(
            ImagePatches(image.unsqueeze(0), 50), generator=order, return_all_scores=True
        )
    assert config.selection.shuffle  # the default, as in the published runs
    assert result.indices.tolist() == selection.indices[0].tolist()
    torch.testing.assert_close(result.scores.flatten(), selection.all_scores[0])
    assert result.selected_scores.shape == (4,)


def test_png_has_the_image_size_and_the_most_attended_patch_outlined_in_the_top_colour(tmp_path):
    config = small_config(height=200, width=150)
    model, image = model_and_image(config)
    result = attention_map(model, image, config)
    path = save_attention_png(
        image, result, config, tmp_path / "maps" / "attention.png", min_side=0, colour_bar=False
    )
    picture = Image.open(path)
    assert picture.format == "PNG" and picture.size == (150, 200) and picture.mode == "RGB"
    best = int(result.indices[result.selected_scores.argmax()])
    row, column = divmod(best, 3)
    assert picture.getpixel((column * 50, row * 50)) == tuple(int(v) for v in COLOUR_RAMP[-1])
    least = int(result.indices[result.selected_scores.argmin()])
    row, column = divmod(least, 3)
    assert picture.getpixel((column * 50, row * 50)) == tuple(int(v) for v in COLOUR_RAMP[0])


@pytest.mark.parametrize("channels", [1, 3])
def test_large_images_are_downscaled_to_max_side(tmp_path, channels):
    config = small_config(height=600, width=400, memory=5)
    if channels == 3:
        signs = TrafficSignsConfig(image_height=600, image_width=400)
        config = replace(
            config, data=signs, tasks=TRAFFIC_SIGNS_TASKS, encoder=EncoderConfig(input_channels=3)
        )
    model, image = model_and_image(config)
    path = save_attention_png(
        image, attention_map(model, image, config), config, tmp_path / "a.png", max_side=100, colour_bar=False
    )
    assert Image.open(path).size == (67, 100)  # 400 x 600 scaled by 1/6


def test_small_images_are_enlarged_and_get_a_colour_bar_from_highest_to_lowest(tmp_path):
    config = small_config(height=200, width=150)
    model, image = model_and_image(config)
    result = attention_map(model, image, config)
    picture = Image.open(save_attention_png(image, result, config, tmp_path / "a.png"))
    scale = MIN_SIDE / 200  # the longer side enlarged to MIN_SIDE
    assert picture.size == (round(150 * scale) + LEGEND_WIDTH, MIN_SIDE)
    best = int(result.indices[result.selected_scores.argmax()])
    row, column = divmod(best, 3)  # the outline of the most attended patch, at the enlarged position
    assert picture.getpixel((round(column * 50 * scale), round(row * 50 * scale))) == tuple(
        int(v) for v in COLOUR_RAMP[-1]
    )
    bar = round(150 * scale) + 20 + 14  # the middle of the colour bar
    top, bottom = picture.getpixel((bar, 61)), picture.getpixel((bar, MIN_SIDE - 61))  # inside the frame
    assert max(abs(a - b) for a, b in zip(top, COLOUR_RAMP[-1], strict=True)) <= 2  # highest: red
    assert max(abs(a - b) for a, b in zip(bottom, COLOUR_RAMP[0], strict=True)) <= 2  # lowest: blue
