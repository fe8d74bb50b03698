"""Noise patterns for Megapixel MNIST, rendered once into a bank that canvases paste from.

Two kinds, each a bank of ``count`` square patterns of ``size`` pixels, float32 in [0, 1]:

- ``lines``: the original benchmark's scribbles (Katharopoulos & Fleuret, 2019). Each pattern is a
  straight line from a corner of a 28-pixel square at a random slope, combined with another pattern's
  line, flipped up-down or left-right with probability 0.33 each (the original flipped the same axis
  twice), grey levels uniform in [0.8, 1.0] per pixel; 1 pixel wide at 28 pixels and then scaled to
  ``size`` like a digit. ``thickness`` does not apply to them.
- ``bezier``: the follow-up's curves. Each pattern is a Bézier curve of n control points, n in
  {4, 6, 8} with probabilities 3/9, 5/9, 1/9, placed uniformly on the pattern's square, evaluated at
  100 values of t and drawn as an anti-aliased stroke of ``thickness`` pixels at the 28-pixel scale,
  that is ``thickness * size / 28`` pixels on a ``size``-pixel pattern.

Thickness is real-valued: the stroke is drawn from a distance field. Each pixel's ink is the length of
overlap between the pixel (a unit interval centred on its distance to the curve) and the stroke's
cross-section ``[-width/2, width/2]``, so the ink summed across a straight stroke is exactly its width
and 1.4, 1.6 and 1.8 give three different strokes (the published generator rounded the width to an
integer). Caps are round.

A bank is a pure function of its parameters and seed, built from IEEE-exact arithmetic (no BLAS, no
transcendental functions for the curves), and cached per process: rendering 1,000 curves takes about
half a second at 28 pixels and about 1.5 seconds at 112 on one core, and every canvas afterwards is
only a composition.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ips.data.mnist_digits import resize_square

REFERENCE_SIZE = 28  # thickness is given at this pattern size (the MNIST digit size)
CONTROL_POINT_COUNTS = (4, 6, 8)
CONTROL_POINT_PROBABILITIES = (3 / 9, 5 / 9, 1 / 9)
CURVE_SAMPLES = 100  # values of t at which a curve is evaluated
LINE_POINTS = 56  # points rounded to pixels along one straight line (as in the original)


def stroke_width_pixels(thickness: float, size: int) -> float:
    """Stroke width in pixels on a ``size``-pixel pattern for a ``thickness`` given at 28 pixels."""
    return thickness * size / REFERENCE_SIZE


# -------------------------------------------------------------------------------------- Bézier


def bezier_control_points(rng: np.random.Generator, count: int, size: int) -> list[np.ndarray]:
    """``count`` curves' control points, each [n, 2] (row, column) uniform on [0, size]^2."""
    counts = rng.choice(CONTROL_POINT_COUNTS, size=count, p=CONTROL_POINT_PROBABILITIES)
    return [rng.uniform(0.0, size, size=(n, 2)) for n in counts]


def bezier_curve(control_points: np.ndarray, samples: int = CURVE_SAMPLES) -> np.ndarray:
    """Points [samples, 2] of B(t) = sum_i C(n-1, i) (1-t)^(n-1-i) t^i P_i at evenly spaced t in [0, 1]."""
    degree = len(control_points) - 1
    t = np.linspace(0.0, 1.0, samples)
    # Powers by repeated multiplication (exact IEEE rounding everywhere, unlike pow()): [degree+1, samples].
    t_powers = np.cumprod(np.vstack([np.ones(samples), np.tile(t, (degree, 1))]), axis=0)
    s_powers = np.cumprod(np.vstack([np.ones(samples), np.tile(1.0 - t, (degree, 1))]), axis=0)
    curve = np.zeros((samples, 2))
    for i, point in enumerate(control_points):
        weight = math.comb(degree, i) * s_powers[degree - i] * t_powers[i]  # [samples]
        curve += weight[:, None] * point
    return curve


def _distance_to_segments(rows: np.ndarray, cols: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Distance from pixel centres (rows [S,K,1], cols [S,1,K]) to segment s of starts/ends [S, 2]."""
    start_row, start_col = starts[:, 0, None, None], starts[:, 1, None, None]  # [S, 1, 1]
    step = ends - starts
    step_row, step_col = step[:, 0, None, None], step[:, 1, None, None]  # [S, 1, 1]
    length2 = np.maximum(step_row * step_row + step_col * step_col, 1e-12)
    along = np.clip(((rows - start_row) * step_row + (cols - start_col) * step_col) / length2, 0.0, 1.0)
    off_row = rows - start_row - along * step_row  # [S, K, K]
    off_col = cols - start_col - along * step_col  # [S, K, K]
    return np.sqrt(off_row * off_row + off_col * off_col)


def stroke_coverage(distance: np.ndarray, width: float) -> np.ndarray:
    """Ink of a pixel whose centre lies ``distance`` from the centre line of a ``width``-pixel stroke.

    The overlap of the pixel's unit interval [d - 1/2, d + 1/2] with the stroke [-w/2, w/2]: integrated
    across a straight stroke it gives exactly ``width``, for any real width.
    """
    return np.clip(np.minimum(distance + 0.5, width / 2) - np.maximum(distance - 0.5, -width / 2), 0.0, 1.0)


def render_stroke(points: np.ndarray, size: int, width: float) -> np.ndarray:
    """A polyline through ``points`` [k, 2] (row, column) drawn ``width`` pixels wide: [size, size] float32.

    Pixel (r, c) covers [r, r+1) x [c, c+1). Each segment is evaluated only on a small window around it,
    and a pixel keeps the ink of its nearest segment (the maximum, as ink falls with distance).
    """
    starts, ends = points[:-1], points[1:]  # [S, 2] each
    reach = width / 2 + 1.0  # a pixel centre further than this from the line gets no ink
    corner = np.floor(np.minimum(starts, ends) - reach).astype(np.int64)  # [S, 2]
    window = int(np.ceil(np.abs(ends - starts).max() + 2 * reach)) + 2
    offsets = np.arange(window)
    rows = corner[:, 0, None, None] + offsets[None, :, None]  # [S, K, 1]
    cols = corner[:, 1, None, None] + offsets[None, None, :]  # [S, 1, K]
    coverage = stroke_coverage(_distance_to_segments(rows + 0.5, cols + 0.5, starts, ends), width)  # [S,K,K]
    rows, cols = np.broadcast_to(rows, coverage.shape), np.broadcast_to(cols, coverage.shape)
    keep = (coverage > 0) & (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    pattern = np.zeros((size, size), dtype=np.float32)
    np.maximum.at(pattern, (rows[keep], cols[keep]), coverage[keep].astype(np.float32))
    return pattern


def bezier_patterns(rng: np.random.Generator, count: int, size: int, thickness: float) -> np.ndarray:
    """``count`` Bézier noise patterns [count, size, size] float32.

    All control points are drawn before any rendering, so the same seed gives the same curves at every
    thickness: a thickness study changes nothing but the stroke.
    """
    width = stroke_width_pixels(thickness, size)
    patterns = np.empty((count, size, size), dtype=np.float32)
    for i, points in enumerate(bezier_control_points(rng, count, size)):
        patterns[i] = render_stroke(bezier_curve(points), size, width)
    return patterns


# --------------------------------------------------------------------------------------- lines


def line_patterns(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """``count`` line-scribble patterns [count, size, size] float32, drawn at 28 pixels and scaled."""
    n = REFERENCE_SIZE
    slopes = np.tan(rng.random(count) * np.pi / 2.5)  # 0 to 72 degrees from the first axis
    first = np.zeros((count, n, n), dtype=np.float32)
    for i, slope in enumerate(slopes):
        run = min(n - 0.51, (n - 0.51) / slope)
        along = np.linspace(0.0, run, LINE_POINTS)
        first[i, np.round(along).astype(int), np.round(slope * along).astype(int)] = 1.0
    second = first[rng.permutation(count)]
    flip_rows, flip_cols = rng.random(count) < 0.33, rng.random(count) < 0.33
    second[flip_rows] = second[flip_rows, ::-1, :]
    second[flip_cols] = second[flip_cols, :, ::-1]
    grey = rng.random((count, n, n), dtype=np.float32) * np.float32(0.2) + np.float32(0.8)
    patterns = np.maximum(first, second) * grey
    return np.stack([resize_square(pattern, size) for pattern in patterns])


# ---------------------------------------------------------------------------------------- bank


@functools.lru_cache(maxsize=8)
def noise_bank(kind: str, count: int, size: int, thickness: float, entropy: tuple[int, ...]) -> np.ndarray:
    """The bank of ``count`` patterns of one kind, [count, size, size] float32 in [0, 1], read-only.

    Rendered once per process and parameters; ``entropy`` seeds a ``numpy.random.SeedSequence``.
    """
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    if kind == "bezier":
        patterns = bezier_patterns(rng, count, size, thickness)
    elif kind == "lines":
        patterns = line_patterns(rng, count, size)
    else:
        raise ValueError(f"noise: no bank for kind {kind!r}; use 'bezier' or 'lines'")
    patterns.setflags(write=False)
    return patterns
