"""Verdicts: holds / does not hold / inconclusive / not tested, with the evidence and interval behind them.

The decision rules, used by every check in ``analysis.findings``; the interval is the
Welch-Satterthwaite t interval of ``analysis.intervals`` (calibrated for few seeds):

- **effect rule** (a claimed effect ``E`` measured in accuracy, oriented so that the claim says
  ``E > 0``, with a smallest effect that matters ``delta``): *holds* when the interval lies above 0
  **and** the estimate is at least ``delta``; *does not hold* when the interval's upper end is below
  ``delta`` (any effect is too small to matter, or goes the other way); otherwise inconclusive.
- **negligible rule** (a claim of *no* effect, ``|E| < delta``): *holds* when the whole interval lies
  inside (-delta, delta), *does not hold* when it lies wholly outside, otherwise inconclusive.

Every check is decided on its headline task (``analysis.headline``), is inconclusive on a smoke
profile or where the headline task never learned, and is inconclusive, whatever the numbers, when a
cell it needs has fewer than ``MIN_SEEDS`` (3) seeds. A claim whose setting the study's axis does not
hold (its baseline patch, say) is *not tested*, and the reason says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.intervals import FEW_SEEDS, MIN_SEEDS, Estimate

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"
NOT_TESTED = "not tested"
VERDICTS = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_TESTED)


@dataclass
class Finding:
    """One checked finding: the claim, the verdict, why, and the numbers behind it."""

    name: str
    claim: str
    verdict: str
    reason: str
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    uncertainty: str = ""
    parameters: dict[str, object] = field(default_factory=dict)

    def to_markdown(self) -> str:
        from analysis.formatting import markdown

        lines = [
            f"### {self.name}: **{self.verdict}**",
            "",
            f"Claim: {self.claim}",
            "",
            f"Why: {self.reason}",
            "",
            f"Uncertainty: {self.uncertainty}",
            "",
            f"Parameters: {', '.join(f'{k}={v}' for k, v in self.parameters.items())}",
        ]
        if not self.evidence.empty:
            lines += ["", markdown(self.evidence.round(4))]
        return "\n".join(lines)


def effect_verdict(estimate: Estimate, delta: float) -> str:
    if not estimate.known:
        return INCONCLUSIVE
    if estimate.low > 0 and estimate.value >= delta:
        return HOLDS
    if estimate.high < delta:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def negligible_verdict(estimate: Estimate, delta: float) -> str:
    """For a claim of *no* effect (``|E| < delta``): holds when the interval lies inside (-delta,
    delta), does not hold when it lies wholly outside it, otherwise inconclusive."""
    if not estimate.known:
        return INCONCLUSIVE
    if -delta < estimate.low and estimate.high < delta:
        return HOLDS
    if estimate.low >= delta or estimate.high <= -delta:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def unless_few_seeds(verdict: str, note: str, seeds: int) -> tuple[str, str]:
    """``verdict`` and ``note`` as they are, or, when some cell has fewer than ``MIN_SEEDS`` seeds
    (``seeds``: the fewest), inconclusive with the note saying why: the rule of every check."""
    if seeds >= MIN_SEEDS or verdict == NOT_TESTED:
        return verdict, note
    return INCONCLUSIVE, f"{note}; {FEW_SEEDS}"


def plain(values) -> list:
    """Numpy scalars as Python numbers, for messages (``[8, 17]``, not ``[np.int64(8), ...]``)."""
    return [value.item() if hasattr(value, "item") else value for value in values]


def points(value: float) -> str:
    """A fraction of accuracy in signed points: 0.053 -> "+5.3"."""
    return "nan" if value is None or math.isnan(value) else f"{100 * value:+.1f}"
