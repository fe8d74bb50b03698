"""``--dry-run``: the expanded trial table and a rough estimate of its cost; nothing is started.

``describe(plan, cpus=..., gpus=..., concurrent=...)`` is the text ``--dry-run`` prints.
``plan_as_json(plan, cpus=..., gpus=..., concurrent=...)`` is what ``--dry-run --json`` prints, so that
a plan can be checked or exported without running it: a plain dict of the study, profile and seeds;
every trial with its index, grid point, seed, full flattened config (the params MLflow would log),
derived values and cost estimate (encoder multiply-accumulates and seconds on the given resources);
the total cost estimate; and notes (e.g. digits reused). A searched study has no trials before it
runs: its base config and search space are given instead, costed at the space's corners. The cost
model itself is ``estimate.cost``; ``plan_seconds`` is also the runner's ETA before a trial finishes.
"""

from __future__ import annotations

import statistics
from typing import Any

from estimate.cost import TrialCost, human_count, human_seconds, trial_cost, wall_seconds
from ips.config import IPSConfig, flatten, override
from ips.data import digits_reused
from study.plan import Plan


def trial_table(plan: Plan) -> str:
    fields = plan.varied_fields
    header = ["#", *fields, "seed", "patches", "kept", "O2I %", "O2P %", "epochs", "encoder MACs"]
    rows = []
    for trial in plan.trials:
        config = trial.config
        flat = {**trial.overrides}
        derived = config.derived()
        o2i, o2p = derived["object_to_image_ratio"], derived["object_to_patch_ratio"]
        rows.append(
            [
                str(trial.index),
                *(str(flat.get(field, "")) for field in fields),
                str(trial.seed),
                str(derived["number_of_patches"]),
                str(derived["kept_patches"]),
                "-" if o2i is None else f"{100 * o2i:.4f}",
                "-" if o2p is None else f"{100 * o2p:,.0f}",  # percent, as in the report
                str(config.optimisation.epochs),
                human_count(trial_cost(config).macs),
            ]
        )
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *rows]
    ]
    return "\n".join(lines)


def search_description(plan: Plan) -> str:
    assert plan.search is not None
    lines = [
        f"Optuna (TPE, sampler seed {plan.search.sampler_seed}): {plan.search.suggestions} suggestions x "
        f"{len(plan.seeds)} seeds {list(plan.seeds)} = {plan.number_of_trials} trials, scored by the mean "
        "over seeds",
    ]
    lines += [f"  {field}: {distribution}" for field, distribution in plan.search.space.items()]
    return "\n".join(lines)


COST_FIELDS = ("macs", "cpu_seconds", "loading_seconds")  # summed over a plan


def mean_search_cost(plan: Plan) -> tuple[float, float, float]:
    """The mean cost (MACs, CPU seconds, loading seconds) over the corners of the search space (a
    stand-in for the draws)."""
    assert plan.search is not None
    costs = [trial_cost(override(plan.base, corner)) for corner in plan.search.corners()]
    return tuple(statistics.fmean(getattr(c, name) for c in costs) for name in COST_FIELDS)


def plan_seconds(plan: Plan, *, cpus: float, gpus: float, concurrent: int) -> float:
    """The plan's estimated wall time with these resources (what --dry-run prints; the runner's ETA)."""
    return plan_cost(plan, cpus=cpus, gpus=gpus, concurrent=concurrent)[1]


def plan_cost(plan: Plan, *, cpus: float, gpus: float, concurrent: int) -> tuple[float, float]:
    """(encoder multiply-accumulates, estimated seconds) of the whole plan."""
    if plan.searched:
        total, cpu_seconds, loading = (value * plan.number_of_trials for value in mean_search_cost(plan))
    else:
        costs = [trial_cost(trial.config) for trial in plan.trials]
        total, cpu_seconds, loading = (sum(getattr(c, name) for c in costs) for name in COST_FIELDS)
    summed = TrialCost(total, 0, cpu_seconds, loading)
    seconds = cost_seconds(summed, plan.number_of_trials, cpus, gpus, concurrent)
    return total, seconds


def cost_seconds(cost: TrialCost, trials: int, cpus: float, gpus: float, concurrent: int) -> float:
    """Wall seconds of ``trials`` trials costing ``cost`` in all, ``concurrent`` at once."""
    return wall_seconds(
        cost.macs,
        trials,
        cpus=int(cpus * concurrent),
        gpus=gpus,
        concurrent=concurrent,
        cpu_seconds=cost.cpu_seconds,
        loading_seconds=cost.loading_seconds,
    )


def plan_notes(plan: Plan) -> list[str]:
    """What a reader of the plan should know before running it: digits reused (the worst trial)."""
    configs = [trial.config for trial in plan.trials] or [plan.base]
    reused = digits_reused(max((c.data for c in configs), key=lambda data: data.images_per_split))
    return [reused] if reused else []


def describe(plan: Plan, *, cpus: float, gpus: float, concurrent: int) -> str:
    """The whole dry-run text: what runs, and about how long it takes with these resources."""
    study = plan.study
    head = [
        f"study {study.name} (profile {plan.profile_name}): {study.description}",
        f"reproduces: {study.reproduces}",
        f"profile note: {study.profiles[plan.profile_name].note}",
        f"metric: {study.metric} ({study.mode})",
        "",
    ]
    body = search_description(plan) if plan.searched else trial_table(plan)
    total, seconds = plan_cost(plan, cpus=cpus, gpus=gpus, concurrent=concurrent)
    where = f"{concurrent} trial(s) at once on {'a GPU' if gpus else f'{cpus:g} CPU core(s) each'}"
    cost = [
        "",
        f"{plan.number_of_trials} trials; encoder work about {human_count(total)} multiply-accumulates; "
        f"with {where}: roughly {human_seconds(seconds)} (from per-patch costs measured by "
        "bench.costs; rendering and loading from the pilots)",
        *[f"note: {note}" for note in plan_notes(plan)],
        "dry run: nothing was started",
    ]
    return "\n".join(head + [body] + cost)


# ---------------------------------------------------------------------------------------- --json


# The derived values each trial of ``--json`` carries: a part of ``IPSConfig.derived()``, the list that
# MLflow logs in full as ``derived.*``.
JSON_DERIVED = ("number_of_patches", "object_to_image_ratio", "object_to_patch_ratio")


def derived(config: IPSConfig) -> dict[str, Any]:
    values = config.derived()
    return {key: values[key] for key in JSON_DERIVED}


def trial_cost_json(cost: TrialCost, cpus: float, gpus: float) -> dict[str, float]:
    """One trial's cost alone on the given resources."""
    return {"encoder_macs": cost.macs, "seconds": cost_seconds(cost, 1, cpus, gpus, concurrent=1)}


def plan_as_json(
    plan: Plan, *, cpus: float, gpus: float, concurrent: int, notes: list[str] | None = None
) -> dict[str, Any]:
    """The whole plan as JSON-ready values (see the module docstring)."""
    study = plan.study
    trials = [
        {
            "index": trial.index,
            "point": trial.label,
            "seed": trial.seed,
            "config_id": trial.config_id,
            "config": flatten(trial.config),
            "derived": derived(trial.config),
            "cost": trial_cost_json(trial_cost(trial.config), cpus, gpus),
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
            "note": "order of magnitude; the work outside the encoder from the cpu pilots",
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
