"""Verdicts: holds / does not hold / inconclusive, with the evidence and the uncertainty behind them.

Two decision rules, used by every check in ``analysis.findings``:

- **effect rule** (a claimed effect ``E`` measured in accuracy, oriented so that the claim says
  ``E > 0``, with a smallest effect that matters ``delta``): *holds* when the bootstrap interval lies
  above 0 **and** the estimate is at least ``delta``; *does not hold* when the interval's upper end is
  below ``delta`` (any effect is too small to matter, or goes the other way); otherwise inconclusive.
- **probability rule** (a discrete outcome, e.g. "a threshold exists"): *holds* when at least
  ``LEVEL`` of the bootstrap draws show it, *does not hold* when at least ``LEVEL`` show its
  opposite, otherwise inconclusive.
- **negligible rule** (a claim of *no* effect, ``E < delta``): *holds* when the whole interval lies
  below ``delta``, *does not hold* when it lies at or above ``delta``, otherwise inconclusive.

Every check is inconclusive, whatever the numbers, when a configuration it needs has fewer than two
seeds (no spread to resample), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.bootstrap import FEW_SEEDS, LEVEL, MIN_SEEDS

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"
VERDICTS = (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)


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


def effect_verdict(estimate: float, low: float, high: float, delta: float) -> str:
    if pd.isna(estimate) or pd.isna(low) or pd.isna(high):
        return INCONCLUSIVE
    if low > 0 and estimate >= delta:
        return HOLDS
    if high < delta:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def negligible_verdict(estimate: float, low: float, high: float, delta: float) -> str:
    """For a claim of *no* effect (``E < delta``): holds when the interval lies below ``delta``,
    does not hold when it lies at or above it, otherwise inconclusive."""
    if pd.isna(estimate) or pd.isna(low) or pd.isna(high):
        return INCONCLUSIVE
    if high < delta:
        return HOLDS
    if low >= delta:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def probability_verdict(p_claim: float, p_opposite: float, level: float = LEVEL) -> str:
    if p_claim >= level:
        return HOLDS
    if p_opposite >= level:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def unless_few_seeds(verdict: str, note: str, seeds: int) -> tuple[str, str]:
    """``verdict`` and ``note`` as they are, or, when some configuration has fewer than ``MIN_SEEDS``
    seeds (``seeds``: the fewest), inconclusive with the note saying why: the rule of every check."""
    if seeds >= MIN_SEEDS:
        return verdict, note
    return INCONCLUSIVE, f"{note}; {FEW_SEEDS}"


def all_of(verdicts: list[str]) -> str:
    """Holds if every part holds; does not hold if any part does not; else inconclusive."""
    if verdicts and all(v == HOLDS for v in verdicts):
        return HOLDS
    if any(v == DOES_NOT_HOLD for v in verdicts):
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def any_of(verdicts: list[str]) -> str:
    """Holds if some part holds; does not hold if every part does not; else inconclusive."""
    if any(v == HOLDS for v in verdicts):
        return HOLDS
    if verdicts and all(v == DOES_NOT_HOLD for v in verdicts):
        return DOES_NOT_HOLD
    return INCONCLUSIVE
