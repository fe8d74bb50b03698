"""Every ``cpu`` profile is a study a laptop can finish and a verdict can come from: at least three seeds
(no verdict rests on fewer) and a dry-run estimate of at most 150 minutes on 2 CPU cores (one trial per
core, as ``python -m study.run`` runs them there); and its note says what its trials run."""

from __future__ import annotations

import pytest

from search_spaces import STUDIES
from study.dry_run import plan_seconds
from study.plan import plan_study

CPU_STUDIES = sorted(name for name, study in STUDIES.items() if "cpu" in study.profiles)


@pytest.mark.parametrize("name", CPU_STUDIES)
def test_cpu_profile_runs_three_seeds_within_150_minutes_on_two_cores(name):
    plan = plan_study(STUDIES[name], "cpu")
    seeds = set(plan.seeds)
    assert len(seeds) >= 3, f"{name} cpu runs seeds {sorted(seeds)}: a verdict needs at least 3"
    minutes = plan_seconds(plan, cpus=1, gpus=0, concurrent=2) / 60
    assert minutes <= 150, f"{name} cpu: the dry run estimates {minutes:.0f} minutes on 2 cores"
