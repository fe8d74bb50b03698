"""Intervals for few seeds: Welch-Satterthwaite t intervals of linear contrasts of cell means.

A study's evidence is a few seeds per cell (a configuration, or a configuration and split): each seed
is one independent draw of the model (and, in the cpu and demo profiles, of the data). Every effect a
finding judges is a **linear contrast** of cell means, ``C = sum_i w_i mean_i``:

- a difference of two cells: weights (+1, -1);
- a slope of accuracy against ``x`` (log2 of the patch or memory size) over levels: the
  least-squares slope of the cell means, weights ``(x_i - mean x) / sum_j (x_j - mean x)^2``;
- an interaction (the data-size gain at one O2I minus the gain at another): (+1, -1, -1, +1).

Its standard error treats the cells as independent, each with its own variance (no pooled variance:
seeds at chance vary far less than seeds that learn), ``se^2 = sum_i w_i^2 s_i^2 / n_i``, and the
interval is ``C +/- t_{df, 0.975} se`` with the Welch-Satterthwaite degrees of freedom
``df = se^4 / sum_i (w_i^2 s_i^2 / n_i)^2 / (n_i - 1)``. With 3 seeds a cell's variance has 2 degrees
of freedom, so t quantiles are wide (4.3 at df 2): that is the price of 3 seeds, and it is what keeps
the interval's coverage near its nominal 95% (``tests/analysis/test_analysis_intervals.py`` simulates
it). A percentile bootstrap over 3 seeds covers about 80% (it never leaves the range of the seeds).

A cell whose seeds are all equal (every seed at one accuracy, as when all answer one class) has no
spread; a contrast of such cells only has a zero-width interval, which is what the data say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
MIN_SEEDS = 3  # fewer seeds in a cell a verdict needs: inconclusive, whatever the numbers
FEW_SEEDS = f"fewer than {MIN_SEEDS} seeds in a cell it needs: no verdict from so few draws"
DESCRIPTION = (
    f"{LEVEL:.0%} Welch-Satterthwaite t interval over seeds (cells independent, each with its own "
    "variance; at least 3 seeds per cell for a verdict)"
)


@dataclass(frozen=True)
class Estimate:
    """A contrast of cell means with its t interval (NaN where it cannot be formed)."""

    value: float
    low: float
    high: float
    se: float
    df: float

    @property
    def known(self) -> bool:
        return not (math.isnan(self.value) or math.isnan(self.low) or math.isnan(self.high))

    def scaled(self, factor: float) -> Estimate:
        """The same estimate times ``factor`` (a negative factor swaps the ends)."""
        ends = sorted((self.low * factor, self.high * factor))
        return Estimate(self.value * factor, ends[0], ends[1], self.se * abs(factor), self.df)

    def text(self, scale: float = 100.0, unit: str = " points") -> str:
        if not self.known:
            return "not estimable"
        return f"{scale * self.value:+.1f}{unit}, 95% CI [{scale * self.low:+.1f}, {scale * self.high:+.1f}]"


UNKNOWN = Estimate(math.nan, math.nan, math.nan, math.nan, math.nan)


def cell_stats(values: pd.Series, cells: pd.Series | Sequence) -> pd.DataFrame:
    """Per cell: ``mean``, ``sd`` (ddof 1; NaN for one seed) and ``n`` of the non-missing ``values``."""
    frame = pd.DataFrame({"value": np.asarray(values, dtype=float), "cell": list(cells)})
    frame = frame.dropna(subset=["value"])
    grouped = frame.groupby("cell", sort=True)["value"]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()})


def welch_interval(
    means: np.ndarray, sds: np.ndarray, ns: np.ndarray, weights: np.ndarray, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The contrast ``weights @ means`` and its Welch-Satterthwaite interval, for many data sets at once:
    ``means`` and ``sds`` [..., cells], ``ns`` and ``weights`` [cells]. Returns (value, low, high, se,
    df), each [...]. A zero variance gives a zero-width interval (df infinite)."""
    parts = weights**2 * sds**2 / ns  # [..., cells]: w_i^2 s_i^2 / n_i
    value = means @ weights
    variance = parts.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(variance > 0, variance**2 / (parts**2 / (ns - 1)).sum(axis=-1), np.inf)
        half = np.where(variance > 0, stats.t.ppf(0.5 + level / 2, df) * np.sqrt(variance), 0.0)
    return value, value - half, value + half, np.sqrt(variance), df


def contrast(table: pd.DataFrame, weights: Mapping[object, float], level: float = LEVEL) -> Estimate:
    """``sum_i w_i mean_i`` over the cells of ``table`` (columns mean, sd, n; index = cell) with its
    Welch-Satterthwaite t interval. Unknown (NaN) when a weighted cell is missing or has one seed."""
    cells = [cell for cell, weight in weights.items() if weight != 0]
    if not cells or any(cell not in table.index for cell in cells):
        return UNKNOWN
    rows = table.loc[cells]
    if (rows["n"] < 2).any() or rows["sd"].isna().any():
        return UNKNOWN
    found = welch_interval(
        rows["mean"].to_numpy(float),
        rows["sd"].to_numpy(float),
        rows["n"].to_numpy(float),
        np.array([weights[cell] for cell in cells], dtype=float),
        level,
    )
    return Estimate(*(float(part) for part in found))


def difference(table: pd.DataFrame, first: object, second: object, level: float = LEVEL) -> Estimate:
    """``mean(first) - mean(second)``: Welch's interval."""
    return contrast(table, {first: 1.0, second: -1.0}, level)


def slope_weights(levels: Sequence[object], x: Sequence[float]) -> dict[object, float]:
    """Weights of the least-squares slope of the cell means against ``x`` (one x per level)."""
    xs = np.asarray(x, dtype=float)
    centred = xs - xs.mean()
    return dict(zip(levels, centred / float(centred @ centred), strict=True))


def slope(
    table: pd.DataFrame, levels: Sequence[object], x: Sequence[float], level: float = LEVEL
) -> Estimate:
    """The least-squares slope of the cell means of ``levels`` against ``x``, with its t interval."""
    if len(levels) < 2:
        return UNKNOWN
    return contrast(table, slope_weights(levels, x), level)


def one_cell(table: pd.DataFrame, cell: object, offset: float = 0.0, level: float = LEVEL) -> Estimate:
    """One cell's mean minus ``offset`` (e.g. its chance level), with the one-sample t interval."""
    if cell not in table.index:
        return UNKNOWN
    estimate = contrast(table, {cell: 1.0}, level)
    if not estimate.known:
        return estimate
    return Estimate(
        estimate.value - offset, estimate.low - offset, estimate.high - offset, estimate.se, estimate.df
    )


def fewest_seeds(table: pd.DataFrame, cells: Sequence[object] | None = None) -> int:
    """The smallest ``n`` among ``cells`` (all cells by default); 0 where a cell is missing."""
    cells = list(table.index) if cells is None else list(cells)
    if not cells:
        return 0
    return int(min(int(table["n"].get(cell, 0)) for cell in cells))
