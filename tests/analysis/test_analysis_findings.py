"""Each finding check gives the right verdict, both ways, on studies built in a real MLflow store so that
the answer is known; and the rules a referee would ask for: decided on the headline task, judged only
where something learned, no verdict from fewer than 3 seeds, no interaction where there is none."""

from __future__ import annotations

import pytest
from synthetic_studies import memory_study, noise_amount_study, o2i_study, patch_study, thickness_study

from analysis.findings import (
    convergence,
    memory_size,
    noise_amount,
    o2i_data_interaction,
    object_to_patch,
    patch_size_claim,
)
from analysis.runs import load_study
from analysis.tables import build_table
from analysis.verdicts import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_TESTED


def study_from(new_store, name, build, **kwargs):
    builder = new_store(f"{name}_{'_'.join(f'{k}{v}' for k, v in kwargs.items())}")
    build(builder, **kwargs)
    return load_study(name, builder.uri)


@pytest.mark.parametrize(("falls", "expected"), [(True, HOLDS), (False, DOES_NOT_HOLD)])
def test_object_to_patch(new_store, falls, expected):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=falls, losses=False)
    finding = object_to_patch(study)
    assert finding.verdict == expected, finding.reason
    rows = finding.evidence.set_index("task")
    assert list(rows.index[rows["decides"]]) == ["majority"]  # the headline task decides
    assert set(rows["levels"]) == {"100, 150"}  # the patches past the 84-pixel digit
    assert (rows["ci_low"] <= rows["fall_per_doubling"]).all()
    assert (rows["fall_per_doubling"] <= rows["ci_high"]).all()


def test_a_check_with_fewer_than_3_seeds_per_cell_is_inconclusive(new_store):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=True, seeds=(0, 1), losses=False)
    for check in (object_to_patch, patch_size_claim):
        finding = check(study)
        assert finding.verdict == INCONCLUSIVE and "fewer than 3 seeds" in finding.reason, finding.reason


@pytest.mark.parametrize(("rise", "expected"), [(0.05, HOLDS), (0.0, DOES_NOT_HOLD), (-0.05, DOES_NOT_HOLD)])
def test_memory_size(new_store, rise, expected):
    study = study_from(new_store, "memory_size", memory_study, rise=rise)
    finding = memory_size(study)
    assert finding.verdict == expected, finding.reason
    assert set(finding.evidence["memory_sizes"]) == {"10, 25, 50, 100"}
    assert finding.evidence["rise_per_doubling"].to_numpy() == pytest.approx(rise, abs=0.01)


def test_memory_holds_when_it_rises_on_the_headline_task_and_multi_never_learns(new_store):
    """The old every-task rule said "does not hold" here: a task at chance everywhere decided it."""
    study = study_from(new_store, "memory_size", memory_study, rise=0.06, multi_at_chance=True)
    finding = memory_size(study)
    assert finding.verdict == HOLDS, finding.reason
    rows = finding.evidence.set_index("task")
    assert rows.loc["multi", "verdict"] != HOLDS and not rows.loc["multi", "decides"]
    assert "other tasks, not deciding" in finding.reason


@pytest.mark.parametrize(("falls_from", "expected"), [(2.2, HOLDS), (None, DOES_NOT_HOLD)])
def test_convergence(new_store, falls_from, expected):
    study = study_from(new_store, "noise_thickness", thickness_study, falls_from=falls_from)
    finding = convergence(study)
    assert finding.verdict == expected, finding.reason
    if falls_from is not None:
        assert "at chance from 2.2 on" in finding.reason
        levels = finding.evidence[finding.evidence["task"] == "majority"].set_index("data.noise_thickness")
        assert not levels.at[2.0, "at_chance"] and levels.at[2.2, "at_chance"] and levels.at[2.6, "at_chance"]


@pytest.mark.parametrize(("slope", "expected"), [(0.0, HOLDS), (1e-4, DOES_NOT_HOLD)])
def test_noise_amount(new_store, slope, expected):
    study = study_from(new_store, "noise_amount", noise_amount_study, slope=slope)
    finding = noise_amount(study)
    assert finding.verdict == expected, finding.reason
    assert finding.parameters["train_canvases"] == "5000"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("paper", HOLDS),  # Figure 4: the gain from data is larger at the small O2I
        ("data only", DOES_NOT_HOLD),  # the same gain at both ratios: no interaction
        ("learns only with data", DOES_NOT_HOLD),  # the old threshold rule said "holds"
        ("reversed", DOES_NOT_HOLD),  # the cpu run's pattern: larger gain at the large O2I
    ],
)
def test_o2i_data_interaction_is_a_contrast_in_the_papers_direction(new_store, kind, expected):
    study = study_from(new_store, "o2i_data_size", o2i_study, kind=kind)
    finding = o2i_data_interaction(study)
    assert finding.verdict == expected, finding.reason
    rows = finding.evidence.set_index("task")
    majority = rows.loc["majority"]
    assert majority["contrast"] == pytest.approx(
        majority["gain_at_smallest_o2i"] - majority["gain_at_largest_o2i"]
    )
    assert majority["paper_contrast"] == pytest.approx((0.983 - 0.43) - (0.987 - 0.842))


@pytest.mark.parametrize(("falls", "expected"), [(True, HOLDS), (False, DOES_NOT_HOLD)])
def test_patch_size_claim_compares_the_papers_best_ratio_with_ipss(new_store, falls, expected):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=falls, losses=False)
    finding = patch_size_claim(study)
    assert finding.verdict == expected, finding.reason
    cells = build_table(study).cells
    means = cells[(cells["split"] == "val") & (cells["task"] == "majority")].set_index("patches.size")["mean"]
    majority = finding.evidence.set_index("task").loc["majority"]
    assert (majority["tuned"], majority["baseline"]) == (25, 150)  # declared, not picked: Table 4's
    assert majority["improvement"] == pytest.approx(means[25] - means[150])
    assert majority["ci_low"] <= majority["improvement"] <= majority["ci_high"]
    assert majority["paper_table"] == pytest.approx(0.76 - 0.43)
    assert "the paper's own table for this comparison (patch 25 vs 150): +33.0" in finding.reason


def test_the_claim_is_not_tested_where_the_axis_lacks_ipss_ratio(new_store):
    builder = new_store("no_baseline")
    patch_study(builder, falls=True, losses=False)
    study = load_study("patch_size_low_data", builder.uri)
    study.trials = study.trials[study.trials["patches.size"] != 150]  # the baseline patch is not run
    finding = patch_size_claim(study)
    assert finding.verdict == NOT_TESTED and "baseline patch 150" in finding.reason


def test_no_verdict_on_a_smoke_profile_or_where_the_headline_task_never_learned(new_store, patch_store):
    smoke = load_study("patch_size_low_data", patch_store[0].uri)
    smoke.invocation = smoke.invocation.__class__(**{**smoke.invocation.__dict__, "profile": "smoke"})
    assert "smoke profile" in object_to_patch(smoke).reason
    assert object_to_patch(smoke).verdict == INCONCLUSIVE
    study = study_from(new_store, "noise_thickness", thickness_study, falls_from=1.4)  # at chance everywhere
    finding = convergence(study)
    assert finding.verdict == INCONCLUSIVE and "never learned" in finding.reason
