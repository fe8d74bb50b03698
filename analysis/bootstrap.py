"""Bootstrap over seeds, stratified by configuration.

Each configuration keeps its own seeds: a bootstrap draw resamples, with replacement, the seeds
(trials) of every configuration separately, and a statistic is then computed from the
per-configuration means of that draw. Several values of one trial (say its training and validation
accuracy) are resampled together by reusing the same ``picks``. With one seed a configuration has
no spread to resample, so callers treat fewer than ``MIN_SEEDS`` seeds as "inconclusive".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DRAWS = 2000
LEVEL = 0.95
MIN_SEEDS = 2
FEW_SEEDS = f"fewer than {MIN_SEEDS} seeds in some configuration: no spread to resample"
DESCRIPTION = (
    f"{LEVEL:.0%} percentile bootstrap over seeds ({DRAWS} draws, resampled within each configuration)"
)


def picks_by_group(groups: pd.Series, draws: int = DRAWS, seed: int = 0) -> dict[object, np.ndarray]:
    """For each group (sorted), positions into ``groups``: an int array [draws, seeds of the group]."""
    rng = np.random.default_rng(seed)
    positions = pd.Series(np.arange(len(groups)), index=pd.Index(groups.to_numpy()))
    picks = {}
    for key in sorted(positions.index.unique()):
        members = positions.loc[[key]].to_numpy()
        picks[key] = members[rng.integers(0, members.size, size=(draws, members.size))]
    return picks


def resampled_means(values: pd.Series | np.ndarray, picks: dict[object, np.ndarray]) -> pd.DataFrame:
    """Bootstrap means [draws, groups]: column g is the mean of g's resampled values in each draw."""
    data = np.asarray(values, dtype=float)
    return pd.DataFrame({key: data[positions].mean(axis=1) for key, positions in picks.items()})


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Central percentile interval of the finite ``samples`` (NaN, NaN if there are none)."""
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def fewest_seeds(groups: pd.Series) -> int:
    """The smallest number of trials in any group (0 when there are none)."""
    counts = pd.Series(groups.to_numpy()).value_counts()
    return int(counts.min()) if len(counts) else 0
