"""``--dry-run --json``: the plan as JSON, so that it can be checked or exported without running it.

``plan_as_json(plan, cpus=..., gpus=..., concurrent=...)`` is a plain dict: the study, profile and
seeds; every trial with its index, grid point, seed, full flattened config (the params MLflow would
log), derived values and cost estimate (encoder multiply-accumulates and seconds on the given
resources); the total cost estimate; and notes (e.g. digits reused). A searched study has no trials
before it runs: its base config and search space are given instead, costed at the space's corners.
"""

from __future__ import annotations

from typing import Any

from ips.config import IPSConfig, flatten
from study.cost import TrialCost, trial_cost, wall_seconds
from study.plan import Plan


def derived(config: IPSConfig) -> dict[str, Any]:
    return {
        "number_of_patches": config.number_of_patches,
        "object_to_image_ratio": config.object_to_image_ratio,
        "object_to_patch_ratio": config.object_to_patch_ratio,
    }


def cost(trial: TrialCost, trials: int, *, cpus: float, gpus: float, concurrent: int) -> dict[str, float]:
    seconds = wall_seconds(
        trial.macs,
        trials,
        cpus=int(cpus * concurrent),
        gpus=gpus,
        concurrent=concurrent,
        cpu_seconds=trial.cpu_seconds,
    )
    return {"encoder_macs": trial.macs, "seconds": seconds}


def plan_as_json(
    plan: Plan, *, cpus: float, gpus: float, concurrent: int, notes: list[str] | None = None
) -> dict[str, Any]:
    """The whole plan as JSON-ready values (see the module docstring)."""
    from study.dry_run import plan_cost  # the dry run's estimate, shared

    study = plan.study
    trials = [
        {
            "index": trial.index,
            "point": trial.label,
            "seed": trial.seed,
            "config_id": trial.config_id,
            "config": flatten(trial.config),
            "derived": derived(trial.config),
            "cost": cost(trial_cost(trial.config), 1, cpus=cpus, gpus=gpus, concurrent=1),
        }
        for trial in plan.trials
    ]
    total, seconds = plan_cost(plan, cpus=cpus, gpus=gpus, concurrent=concurrent)
    out: dict[str, Any] = {
        "study": study.name,
        "profile": plan.profile_name,
        "description": study.description,
        "reproduces": study.reproduces,
        "profile_note": study.profiles[plan.profile_name].note,
        "metric": study.metric,
        "mode": study.mode,
        "seeds": list(plan.seeds),
        "varied_fields": plan.varied_fields,
        "number_of_trials": plan.number_of_trials,
        "trials": trials,
        "cost": {
            "encoder_macs": total,
            "seconds": seconds,
            "resources": {"cpus_per_trial": cpus, "gpus_per_trial": gpus, "concurrent": concurrent},
            "note": "order of magnitude; canvas rendering not counted",
        },
        "notes": list(notes or []),
    }
    if plan.searched:
        assert plan.search is not None
        out["base_config"] = flatten(plan.base)
        out["search"] = {
            "suggestions": plan.search.suggestions,
            "sampler_seed": plan.search.sampler_seed,
            "space": {field: repr(distribution) for field, distribution in plan.search.space.items()},
        }
    return out
