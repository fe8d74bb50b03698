"""``--gpus-per-trial``: the flag, and under ``auto`` each trial's share of a GPU from its estimated peak
memory (``estimate.gpu_memory``): Ray's per-trial resources, the dry run's table of shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from estimate.gpu_memory import (
    DEFAULT_CARD_GB,
    FIGURES_FILE,
    MARGIN,
    EstimateError,
    TrialShare,
    calibration_for,
    cuda_context_mb,
    local_card_mb,
    shipped_calibrations,
    trial_share,
)
from ips.config import IPSConfig, override
from study.plan import Plan, StudyError, point_label

AUTO = "auto"

# ---------------------------------------------------------------------------------------- the flag


def parse_gpus_per_trial(text: str) -> float | str:
    """``--gpus-per-trial``: a share (``0.25``), ``auto`` or ``auto:GB`` (the card's memory)."""
    if text == AUTO or text.startswith(AUTO + ":"):
        card_gb(text)  # validates
        return text
    try:
        return float(text)
    except ValueError:
        raise StudyError(
            f"--gpus-per-trial {text!r}: give a share of a GPU (e.g. 0.25), 'auto' (a share per trial "
            "from its estimated memory), or 'auto:GB' with the memory of one card (e.g. auto:24)"
        ) from None


def is_auto(value: float | str | None) -> bool:
    return isinstance(value, str)


def card_memory_mb(value: str) -> float:
    """The card's memory in MiB: named (``auto:GB``), else this machine's first CUDA device, else
    ``DEFAULT_CARD_GB``."""
    return local_card_mb() if ":" not in value else card_gb(value) * 1024


def card_gb(value: str) -> float:
    """The card's memory in GB of ``auto`` (the default card) or ``auto:GB``."""
    _, colon, text = value.partition(":")
    if not colon:
        return DEFAULT_CARD_GB
    try:
        gb = float(text)
    except ValueError:
        gb = -1.0
    if gb <= 0:
        raise StudyError(f"--gpus-per-trial {value!r}: write auto:GB with a card's memory, e.g. auto:80")
    return gb


# ---------------------------------------------------------------------------------- trials at once


def local_gpus(share: float) -> int:
    """This machine's GPUs, or one card to plan for where it has none and a ``share`` is given."""
    import torch

    return torch.cuda.device_count() or (1 if share > 0 else 0)


def concurrent_trials(
    max_concurrent: int | None, cpus: float, gpus: float, per_trial: dict[str, float]
) -> int:
    """How many trials run at once on ``cpus`` cores and ``gpus`` GPUs when each takes ``per_trial``
    (``{"cpu", "gpu"}``): ``--max-concurrent``, else as many as the cores and the GPUs allow. The launch
    counts Ray's cluster; the dry run this machine (one card where it has none and a share is given)."""
    if max_concurrent:
        return max_concurrent
    count = int(cpus // per_trial["cpu"])
    if per_trial["gpu"] > 0:
        count = min(count, int(gpus / per_trial["gpu"] + 1e-9))
    return max(1, count)


# ---------------------------------------------------------------------------------------- shares


@dataclass(frozen=True)
class AutoResources:
    """Ray's per-trial resources under ``auto``: called with each trial's config dict (picklable)."""

    cpus: float
    card_mb: float

    def __call__(self, ray_config: dict[str, Any]):
        from ray.tune import PlacementGroupFactory

        from study.ray_config import trial_config

        share = trial_share(trial_config(ray_config), self.card_mb).share
        return PlacementGroupFactory([{"CPU": self.cpus, "GPU": share}])

    def typical(self, plan: Plan) -> dict[str, float]:
        """``{"cpu", "gpu"}`` of a typical trial (the mean share): for the time and concurrency estimates."""
        rows = plan_shares(plan, self.card_mb)
        return {"cpu": self.cpus, "gpu": sum(share.share for _, _, share in rows) / len(rows)}


def plan_shares(plan: Plan, card_mb: float) -> list[tuple[str, IPSConfig, TrialShare]]:
    """(label, config, share) of every trial of a grid plan, or of the corners of a searched one."""
    if plan.search is None:
        labelled = [(f"{trial.index} {point_label(trial.overrides)}", trial.config) for trial in plan.trials]
    else:
        labelled = [
            (" ".join(f"{f}={v}" for f, v in corner.items()), override(plan.base, corner))
            for corner in plan.search.corners()
        ]
    try:
        return [(label, config, trial_share(config, card_mb)) for label, config in labelled]
    except EstimateError as error:
        raise StudyError(str(error)) from None


def mean_share(plan: Plan, card_value: str) -> float:
    """The mean share of the plan's trials (for the dry run's time estimate)."""
    return AutoResources(1.0, card_memory_mb(card_value)).typical(plan)["gpu"]


def packing_description(plan: Plan, card_value: str) -> str:
    """``--dry-run`` with ``auto``: each trial's estimated peak and share, and how they fill cards."""
    card_mb = card_memory_mb(card_value)
    rows = plan_shares(plan, card_mb)
    first = calibration_for(rows[0][1], shipped_calibrations())  # plan_shares found it
    lines = [
        f"GPU packing (--gpus-per-trial {card_value}: {card_mb / 1024:g} GB cards; peak estimated from "
        f"{first.device.upper()} figures in {FIGURES_FILE.name}, x{MARGIN:g} + {cuda_context_mb():.0f} MiB "
        "CUDA context):",
    ]
    header = "search corner" if plan.search is not None else "trial"
    width = max(len(header), *(len(label) for label, _, _ in rows))
    lines.append(f"  {header:<{width}}  est. peak MiB  GPU share  trials per card")
    for label, _, share in rows:
        lines.append(
            f"  {label:<{width}}  {share.peak_mb:13.0f}  {share.share:9.4g}  {round(1 / share.share):15d}"
        )
    if plan.search is None:
        total = sum(share.share for _, _, share in rows)
        lines.append(
            f"  all {len(rows)} trials at once need {total:g} GPU(s); Ray runs them as cards free up"
        )
    return "\n".join(lines)
