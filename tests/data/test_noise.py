"""Noise banks: the Bézier control-point law, real-valued stroke widths, determinism and caching."""

import numpy as np
import pytest

from ips.data.noise import (
    CONTROL_POINT_COUNTS,
    CONTROL_POINT_PROBABILITIES,
    bezier_control_points,
    bezier_curve,
    line_patterns,
    noise_bank,
    render_stroke,
    stroke_coverage,
    stroke_width_pixels,
)

THICKNESSES = (1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6)
KNOWN_CURVE = np.array([[5.0, 4.0], [8.0, 26.0], [20.0, 2.0], [23.0, 24.0]])  # (row, column), 28-pixel scale


def curve_length(points):
    return float(np.sqrt((np.diff(points, axis=0) ** 2).sum(axis=1)).sum())


def measured_width(thickness, size):
    """Inked area over curve length of the known curve drawn at ``size`` pixels, in 28-pixel units."""
    curve = bezier_curve(KNOWN_CURVE * size / 28)
    ink = render_stroke(curve, size, stroke_width_pixels(thickness, size)).sum()
    return ink / curve_length(curve) * 28 / size


def test_control_point_counts_follow_3_5_1_ninths_over_9000_curves():
    curves = bezier_control_points(np.random.default_rng(0), 9000, 28)
    counts = np.array([len(points) for points in curves])
    assert set(counts.tolist()) == set(CONTROL_POINT_COUNTS)
    for n, probability in zip(CONTROL_POINT_COUNTS, CONTROL_POINT_PROBABILITIES, strict=True):
        assert abs((counts == n).mean() - probability) < 0.02, (n, (counts == n).mean())
    every_point = np.concatenate(curves)
    assert every_point.min() >= 0 and every_point.max() <= 28
    assert abs(every_point.mean() - 14) < 0.3  # uniform on the square


def test_bezier_curve_has_100_points_from_first_to_last_control_point():
    curve = bezier_curve(KNOWN_CURVE)
    assert curve.shape == (100, 2)
    np.testing.assert_allclose(curve[[0, -1]], KNOWN_CURVE[[0, -1]])
    # The cubic B(1/2) = (P0 + 3 P1 + 3 P2 + P3) / 8, a point the formula must hit.
    middle = bezier_curve(KNOWN_CURVE, samples=3)[1]
    np.testing.assert_allclose(middle, (KNOWN_CURVE * [[1], [3], [3], [1]]).sum(0) / 8)
    # Collinear, evenly spaced control points give the straight line between the ends.
    line = bezier_curve(np.linspace([2.0, 3.0], [20.0, 9.0], 6))
    np.testing.assert_allclose(line, np.linspace([2.0, 3.0], [20.0, 9.0], 100), atol=1e-12)


def test_stroke_coverage_integrates_to_the_width():
    distances = np.linspace(-10, 10, 200001)
    for width in (0.3, 1.0, 1.4, 1.925, 2.6, 7.7):
        area = stroke_coverage(np.abs(distances), width).sum() * (distances[1] - distances[0])
        assert area == pytest.approx(width, rel=1e-4)


def test_stroke_width_grows_strictly_with_thickness_and_is_within_15_percent():
    widths = [measured_width(thickness, 28) for thickness in THICKNESSES]
    assert all(a < b for a, b in zip(widths, widths[1:], strict=False)), widths
    for thickness, width in zip(THICKNESSES, widths, strict=True):
        assert abs(width - thickness) / thickness < 0.15, (thickness, width)


def test_a_straight_stroke_is_exactly_as_wide_as_asked():
    line = np.linspace([6.0, 5.0], [20.0, 23.0], 100)
    for width in THICKNESSES:
        ink = render_stroke(line, 28, width).sum()
        caps = np.pi * (width / 2) ** 2  # round caps at both ends
        assert (ink - caps) / curve_length(line) == pytest.approx(width, rel=0.03)


@pytest.mark.parametrize("size", [56, 112])
def test_thickness_is_scaled_with_the_pattern_size(size):
    assert stroke_width_pixels(1.925, size) == pytest.approx(1.925 * size / 28)
    assert measured_width(1.925, size) == pytest.approx(measured_width(1.925, 28), rel=0.05)


def test_fractional_thicknesses_give_different_patterns():
    banks = [noise_bank("bezier", 5, 28, thickness, (7,)) for thickness in (1.4, 1.6, 1.8)]
    assert not np.array_equal(banks[0], banks[1]) and not np.array_equal(banks[1], banks[2])
    assert banks[0].sum() < banks[1].sum() < banks[2].sum()


def test_bank_is_deterministic_cached_and_read_only():
    bank = noise_bank("bezier", 20, 28, 1.925, (0, 1))
    assert bank.shape == (20, 28, 28) and bank.dtype == np.float32
    assert 0.0 <= bank.min() and bank.max() <= 1.0 and (bank.reshape(20, -1).max(1) > 0.9).all()
    assert noise_bank("bezier", 20, 28, 1.925, (0, 1)) is bank  # rendered once
    noise_bank.cache_clear()
    np.testing.assert_array_equal(noise_bank("bezier", 20, 28, 1.925, (0, 1)), bank)  # same seed, same bytes
    assert not np.array_equal(noise_bank("bezier", 20, 28, 1.925, (0, 2)), bank)
    with pytest.raises(ValueError):
        bank[0, 0, 0] = 1.0


def test_line_patterns_are_the_original_scribbles():
    patterns = line_patterns(np.random.default_rng(0), 50, 28)
    assert patterns.shape == (50, 28, 28)
    inked = patterns[patterns > 0]
    assert inked.min() >= 0.8 - 1e-6 and inked.max() <= 1.0  # grey levels 0.8 to 1.0
    # Two 1-pixel lines (of 28 to 56 pixels each), the first from the corner: never a filled area.
    inked_pixels = (patterns > 0).sum(axis=(1, 2))
    assert (inked_pixels >= 28).all() and (inked_pixels <= 2 * 56).all()
    assert (patterns[:, 0, 0] > 0).all()
    scaled = line_patterns(np.random.default_rng(0), 50, 56)
    assert scaled.shape == (50, 56, 56) and 0.0 <= scaled.min() and scaled.max() <= 1.0


def test_unknown_kind_has_no_bank():
    with pytest.raises(ValueError, match="'dots'.*'bezier' or 'lines'"):
        noise_bank("dots", 5, 28, 1.925, (0,))
