"""The follow-up's published canvas renderer in numpy and Pillow (``data.renderer="followup_published"``).

Riffi-Aslett and Fell's numbers come from their generator (``data/megapixel_mnist/PineneedleMegaMNIST.py``
at commit cdbd1db of github.com/MRiffiAslett/ips_MaxRiffiAslett), which differs from the paper's text
and from our default renderer (``real_valued``, ``ips.data.noise``) in three ways, all rebuilt here:

1. **Integer strokes** (shared/paper/README.md item 6). Each noise pattern is a Bézier curve with
   integer control points on a 28-pixel square, evaluated at 100 values of t, its points truncated to
   pixels and joined by 99 straight segments drawn with OpenCV's ``cv2.line(..., thickness=int(t))``:
   every thickness in [1, 2) draws the same 1-pixel line and every thickness in [2, 3) the same
   3-pixel-wide band. So Table 2's collapse between 1.8 and 2.0 is a jump of the stroke, not a
   gradual change. Thickness below 1 is refused (OpenCV refuses thickness 0).
2. **Area resizing** (item 8). Patterns are drawn at 28 pixels and resized to the noise size with area
   interpolation; digits too. Pillow's box filter is that filter: exact area averaging when shrinking
   and pixel replication for integer enlargements (56, 84, 112 from 28); for other enlargements (46,
   64) it differs from OpenCV's INTER_AREA only in how the border pixels are blended.
3. **Compositing by assignment** (item 7). The canvas is uint8: noise boxes are written over it in
   order (later boxes overwrite earlier ones, black pixels included), then each digit's box, which
   erases the noise beneath it. Values are ``uint8(255 x value)`` (truncated), read back as /255.

The line drawing follows OpenCV's rules without OpenCV (not a dependency): a 1-pixel line is the
8-connected digital line between the two integer points; a line of width w >= 2 is the rectangle of
half-width w/2 (+1/2 for odd w) around the segment, filled row by row from the rounded left to the
rounded right edge (OpenCV's ``FillConvexPoly``), plus a filled disc of radius (w + 1) // 2 at each
end (OpenCV's round caps: all pixels within that distance). Measured on 1,000 patterns: ink per
pattern (sum of pixel values at 28 pixels) 31.4 for int(t) = 1 and 88.2 for int(t) = 2, against the
31.5 and 87.9 measured with the authors' code (shared/paper/README.md item 6).

The layout (digits, positions, noise placements) is the same as with the real-valued renderer: only
the pixels differ, so a study can compare the two renderers on identical canvases.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

from ips.data.noise import REFERENCE_SIZE, bezier_control_points, bezier_curve


def stroke_width(thickness: float) -> int:
    """The published generator's stroke: ``int(thickness)`` pixels on the 28-pixel pattern."""
    width = int(thickness)
    if width < 1:
        raise ValueError(
            f"noise_thickness: {thickness} draws no stroke with the followup_published renderer, which "
            "truncates it to an integer (OpenCV refuses thickness 0); use a thickness of at least 1, "
            "or the real_valued renderer"
        )
    return width


def area_resize(image: np.ndarray, size: int) -> np.ndarray:
    """A float32 [h, w] image resized to [size, size] by area (Pillow's box filter)."""
    if image.shape == (size, size):
        return image.astype(np.float32, copy=False)
    resized = Image.fromarray(image.astype(np.float32, copy=False), mode="F").resize(
        (size, size), Image.Resampling.BOX
    )
    return np.asarray(resized, dtype=np.float32)


# ------------------------------------------------------------------------------------ line drawing


def _digital_lines(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the pixels of the lines between (x, y) points ``starts``, ``ends`` [S, 2], as
    OpenCV steps them: one pixel per unit of the major axis from the rounded start, the minor
    coordinate rounded, and the rounded end point."""
    delta = ends - starts
    x_major = np.abs(delta[:, 0]) > np.abs(delta[:, 1])  # [S]; a 45-degree line steps along y
    flip = np.where(x_major, delta[:, 0] < 0, delta[:, 1] < 0)  # walk from the smaller major end
    first = np.where(flip[:, None], ends, starts).astype(float)  # [S, 2]
    last = np.where(flip[:, None], starts, ends).astype(float)
    major, minor = np.where(x_major, 0, 1), np.where(x_major, 1, 0)
    span = np.take_along_axis(last - first, major[:, None], 1)[:, 0]  # [S], >= 0
    rise = np.take_along_axis(last - first, minor[:, None], 1)[:, 0]
    slope = np.divide(rise, span, out=np.zeros_like(rise), where=span > 0)
    count = np.floor(span).astype(np.int64)  # steps before the end point
    k = np.arange(count.max(initial=0) + 1)[None, :]  # [1, K]
    along = np.floor(np.take_along_axis(first, major[:, None], 1) + 0.5 + k)  # [S, K]
    across = np.floor(np.take_along_axis(first, minor[:, None], 1) + 0.5 + k * slope[:, None])
    keep = k < count[:, None]
    xs = np.where(x_major[:, None], along, across)[keep]
    ys = np.where(x_major[:, None], across, along)[keep]
    end_x, end_y = np.floor(last[:, 0] + 0.5), np.floor(last[:, 1] + 0.5)
    return np.concatenate([xs, end_x]).astype(np.int64), np.concatenate([ys, end_y]).astype(np.int64)


def _put(canvas: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> None:
    inside = (xs >= 0) & (xs < canvas.shape[1]) & (ys >= 0) & (ys < canvas.shape[0])
    canvas[ys[inside], xs[inside]] = 1.0


def _interval(a: np.ndarray, b: np.ndarray, low: float | np.ndarray, high: float | np.ndarray):
    """The x with ``low <= a * x + b <= high`` as (left, right); empty where left > right."""
    with np.errstate(divide="ignore", invalid="ignore"):
        first, second = (low - b) / a, (high - b) / a
    left = np.where(a > 0, first, np.where(a < 0, second, -np.inf))
    right = np.where(a > 0, second, np.where(a < 0, first, np.inf))
    outside = (a == 0) & ((b < low) | (b > high))
    return np.where(outside, np.inf, left), np.where(outside, -np.inf, right)


def _thick_segments(canvas: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int) -> None:
    """Width-``width`` lines (``width >= 2``) between integer (x, y) points, drawn in place."""
    size = canvas.shape[0]
    half = width / 2 + 0.5 * (width % 2)
    x0, y0 = starts[:, 0, None].astype(float), starts[:, 1, None].astype(float)  # [S, 1]
    delta = (ends - starts).astype(float)
    length = np.hypot(delta[:, 0], delta[:, 1])[:, None]  # [S, 1]
    moving = length[:, 0] > 0
    ux, uy = (
        np.divide(delta[:, 0:1], length, where=length > 0, out=np.zeros_like(length)),
        np.divide(delta[:, 1:2], length, where=length > 0, out=np.zeros_like(length)),
    )
    rows = np.arange(size, dtype=float)[None, :]  # [1, Y]
    # Along the segment: 0 <= (x - x0) ux + (y - y0) uy <= L; across it: |-(x - x0) uy + (y - y0) ux| <= h.
    along = _interval(np.broadcast_to(ux, (len(ux), size)), -x0 * ux + (rows - y0) * uy, 0.0, length)
    across = _interval(np.broadcast_to(-uy, (len(uy), size)), x0 * uy + (rows - y0) * ux, -half, half)
    left, right = np.maximum(along[0], across[0]), np.minimum(along[1], across[1])  # [S, Y]
    filled = moving[:, None] & (left <= right)
    first, last = np.floor(left + 0.5), np.floor(right + 0.5)  # OpenCV rounds both ends, inclusive
    columns = np.arange(size, dtype=float)[None, None, :]  # [1, 1, X]
    inside = filled[:, :, None] & (columns >= first[:, :, None]) & (columns <= last[:, :, None])  # [S, Y, X]
    canvas[inside.any(axis=0)] = 1.0
    offset = half * np.concatenate([-uy, ux], axis=1)[moving]  # [S', 2]: the normal, h pixels long
    a, b = starts[moving] + offset, starts[moving] - offset  # the rectangle's corners, in order
    c, d = ends[moving] - offset, ends[moving] + offset
    for edge_start, edge_end in ((a, b), (b, c), (c, d), (d, a)):  # its outline, as OpenCV draws it
        _put(canvas, *_digital_lines(edge_start, edge_end))
    radius = (width + 1) // 2  # round caps: a filled disc at both ends of every segment
    centres = np.concatenate([starts, ends[-1:]])  # [P, 2] (x, y): every point of the polyline
    grid = np.arange(size)
    dx2 = (grid[None, :] - centres[:, 0:1]) ** 2  # [P, X]
    dy2 = (grid[None, :] - centres[:, 1:2]) ** 2  # [P, Y]
    canvas[(dy2[:, :, None] + dx2[:, None, :] <= radius * radius).any(axis=0)] = 1.0  # [P, Y, X] -> [Y, X]


def draw_polyline(points: np.ndarray, width: int, size: int = REFERENCE_SIZE) -> np.ndarray:
    """Integer (x, y) ``points`` [k, 2] joined by ``width``-pixel lines: [size, size] float32 of 0 / 1."""
    canvas = np.zeros((size, size), dtype=np.float32)
    starts, ends = points[:-1], points[1:]
    if width == 1:
        _put(canvas, *_digital_lines(starts, ends))
    else:
        _thick_segments(canvas, starts, ends, width)
    return canvas


# ---------------------------------------------------------------------------------------- patterns


def followup_bezier_patterns(rng: np.random.Generator, count: int, size: int, thickness: float) -> np.ndarray:
    """``count`` noise patterns [count, size, size] float32 as the published generator drew them.

    Control points are drawn as by the real-valued renderer at 28 pixels (the same curves for the same
    seed) and truncated to integers, as the authors' ``(rand * 28).astype(int32)``; the curve's points
    are truncated too. Every thickness with the same integer part gives byte-identical patterns.
    """
    width = stroke_width(thickness)
    patterns = np.empty((count, size, size), dtype=np.float32)
    for i, points in enumerate(bezier_control_points(rng, count, REFERENCE_SIZE)):
        control = np.floor(points).astype(np.int64).astype(float)
        curve = bezier_curve(control).astype(np.int64)  # [100, 2], truncated as the authors' astype(int)
        patterns[i] = area_resize(draw_polyline(curve, width), size)
    return patterns


@functools.lru_cache(maxsize=8)
def followup_noise_bank(count: int, size: int, thickness: float, entropy: tuple[int, ...]) -> np.ndarray:
    """A bank of ``count`` published-renderer patterns [count, size, size] float32, read-only, cached
    per process (``entropy`` seeds a ``numpy.random.SeedSequence``, as ``ips.data.noise.noise_bank``)."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    patterns = followup_bezier_patterns(rng, count, size, thickness)
    patterns.setflags(write=False)
    return patterns


def to_uint8(image: np.ndarray) -> np.ndarray:
    """``uint8(255 x value)``, truncated, as the published canvas stores a value."""
    return (np.asarray(image, dtype=np.float32) * np.float32(255)).astype(np.uint8)


def assign(canvas: np.ndarray, pattern: np.ndarray, row: int, col: int) -> None:
    """Write ``pattern`` over ``canvas`` (uint8) at top-left (row, col): the box replaces what was there."""
    canvas[row : row + pattern.shape[0], col : col + pattern.shape[1]] = pattern
