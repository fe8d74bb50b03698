"""The two canvas renderers: the published one draws integer strokes, the real-valued one does not.

shared/paper/README.md item 6: the authors' generator draws ``cv2.line(..., thickness=int(t))`` on a
28-pixel pattern; measured with their code, the ink per pattern is 31.5 for any t < 2 and 87.9 for any
t in [2, 3). Items 7-8: boxes composited by assignment, digits and patterns resized by area.
"""

import numpy as np
import pytest

from ips.config import ConfigError, MegapixelMNISTConfig
from ips.data.followup_renderer import draw_polyline, followup_bezier_patterns
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.data.noise import noise_bank

SMALL = dict(canvas_height=300, canvas_width=300, train_canvases=4, noise_count=80, data_seed=2)


def small(**changes) -> MegapixelMNIST:
    return MegapixelMNIST(MegapixelMNISTConfig(**{**SMALL, **changes}), "train", noise_bank_size=60)


def canvas(renderer: str, thickness: float, **changes) -> np.ndarray:
    dataset = small(**changes, renderer=renderer, noise_thickness=thickness)
    return dataset.render(dataset.layout(0))


def ink_per_pattern(patterns: np.ndarray) -> float:
    return float(patterns.sum(axis=(1, 2)).mean())


def published_ink(thickness: float, count: int = 400) -> float:
    return ink_per_pattern(followup_bezier_patterns(np.random.default_rng(0), count, 28, thickness))


def test_published_renderer_truncates_the_thickness_to_an_integer():
    thin, thinner = canvas("followup_published", 1.8), canvas("followup_published", 1.4)
    assert thin.tobytes() == thinner.tobytes()  # both draw 1-pixel strokes
    assert canvas("followup_published", 2.0).tobytes() != thin.tobytes()


def test_published_ink_jumps_as_the_authors_measured():
    one, two = published_ink(1.8), published_ink(2.0)
    assert 2.5 <= two / one <= 3.1
    assert one == pytest.approx(31.5, abs=2.0) and two == pytest.approx(87.9, abs=4.0)
    assert published_ink(2.99) == two and published_ink(1.0) == one


def test_real_valued_ink_rises_with_every_step_of_thickness():
    thicknesses = [1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6]
    inks = [ink_per_pattern(noise_bank("bezier", 100, 28, t, (0,))) for t in thicknesses]
    assert all(a < b for a, b in zip(inks, inks[1:], strict=False)), inks


def test_strokes_follow_opencvs_rules():
    one = draw_polyline(np.array([[0, 0], [5, 2]]), width=1)  # (x, y) points
    assert one.sum() == 6 and one[0, 0] == one[2, 5] == 1  # one pixel per column: 8-connected
    two = draw_polyline(np.array([[5, 5], [6, 5]]), width=2)
    rows, cols = np.nonzero(two)
    assert two.sum() == 8  # 3 rows x 2 columns around the segment and a round cap at each end
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) >= {(4, 5), (6, 6), (5, 4), (5, 7)}


def test_published_canvases_assign_boxes_and_resize_digits_by_area():
    dataset = small(digit_size=56, noise_count=400, renderer="followup_published")
    layout = dataset.layout(0)
    image = dataset.render(layout)
    for digit, (row, col) in zip(layout.digit_indices.tolist(), layout.digit_positions.tolist(), strict=True):
        box = image[row : row + 56, col : col + 56]
        expected = np.floor(dataset.digit_image(digit) * 255) / 255
        np.testing.assert_allclose(box, expected, atol=1e-6)  # noise beneath is erased
        assert np.array_equal(box[0::2, 0::2], box[1::2, 1::2])  # 28 -> 56 by area: 2x2 blocks
    assert np.array_equal(image, np.round(image * 255) / 255)  # an 8-bit canvas
    real = small(digit_size=56, noise_count=400)
    assert real.render(real.layout(0)).tobytes() != image.tobytes()  # the same layout, other pixels


def test_a_thickness_below_one_is_refused_by_the_published_renderer():
    with pytest.raises(ConfigError, match="data.noise_thickness: 0.5 draws no stroke"):
        MegapixelMNISTConfig(renderer="followup_published", noise_thickness=0.5)
    with pytest.raises(ValueError, match="noise_thickness: 0.5 draws no stroke"):
        canvas("followup_published", 0.5)
    with pytest.raises(ConfigError, match="data.renderer: unknown renderer 'cv2'"):
        MegapixelMNISTConfig(renderer="cv2")
    assert MegapixelMNISTConfig(noise_thickness=0.5).renderer == "real_valued"
