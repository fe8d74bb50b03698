"""Each finding check gives the right verdict, both ways, on run sets built so the answer is known."""

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
from analysis.verdicts import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE


def study_from(new_store, name, build, **kwargs):
    builder = new_store(f"{name}_{'_'.join(f'{k}{v}' for k, v in kwargs.items())}")
    build(builder, **kwargs)
    return load_study(name, builder.uri)


@pytest.mark.parametrize(("falls", "expected"), [(True, HOLDS), (False, DOES_NOT_HOLD)])
def test_object_to_patch(new_store, patch_store, falls, expected):
    if falls:  # the shared store: accuracy falls with the patch (plus trials of other outcomes)
        study = load_study("patch_size_low_data", patch_store[0].uri)
    else:
        study = study_from(new_store, "patch_size_low_data", patch_study, falls=False, losses=False)
    finding = object_to_patch(study)
    assert finding.verdict == expected, finding.reason
    assert set(finding.evidence["verdict"]) == {expected}
    assert set(finding.evidence["patch_sizes"]) == {"100, 150"}  # the patches past the 84-pixel digit
    assert (finding.evidence["ci_low"] <= finding.evidence["fall_per_doubling"]).all()


def test_object_to_patch_with_one_seed_is_inconclusive(new_store):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=True, seeds=(0,), losses=False)
    finding = object_to_patch(study)
    assert finding.verdict == INCONCLUSIVE and "fewer than 2 seeds" in finding.reason


@pytest.mark.parametrize(("rise", "expected"), [(0.05, HOLDS), (0.0, DOES_NOT_HOLD), (-0.05, DOES_NOT_HOLD)])
def test_memory_size(new_store, rise, expected):
    study = study_from(new_store, "memory_size", memory_study, rise=rise)
    finding = memory_size(study)
    assert finding.verdict == expected, finding.reason
    assert set(finding.evidence["memory_sizes"]) == {"10, 25, 50, 100"}
    assert finding.evidence["rise_per_doubling"].to_numpy() == pytest.approx(rise, abs=0.01)


def test_memory_size_with_one_seed_is_inconclusive(new_store):
    study = study_from(new_store, "memory_size", memory_study, rise=0.05, seeds=(0,))
    finding = memory_size(study)
    assert finding.verdict == INCONCLUSIVE and "fewer than 2 seeds" in finding.reason


@pytest.mark.parametrize(("falls_from", "expected"), [(2.2, HOLDS), (None, DOES_NOT_HOLD)])
def test_convergence(new_store, falls_from, expected):
    study = study_from(new_store, "noise_thickness", thickness_study, falls_from=falls_from)
    finding = convergence(study)
    assert finding.verdict == expected, finding.reason
    if falls_from is not None:
        assert "at chance from 2.2 on" in finding.reason
        at_chance = finding.evidence.set_index("data.noise_thickness")["val_at_chance"]
        assert not at_chance[2.0] and at_chance[2.2] and at_chance[2.6]
    assert finding.parameters["tasks"] == "majority, max, top"  # multi's exact-match chance is unknown


@pytest.mark.parametrize(("slope", "expected"), [(0.0, HOLDS), (1e-4, DOES_NOT_HOLD)])
def test_noise_amount(new_store, slope, expected):
    study = study_from(new_store, "noise_amount", noise_amount_study, slope=slope)
    finding = noise_amount(study)
    assert finding.verdict == expected, finding.reason
    assert finding.parameters["train_canvases"] == "5000"


@pytest.mark.parametrize(("interaction", "expected"), [(True, HOLDS), (False, DOES_NOT_HOLD)])
def test_o2i_data_interaction(new_store, interaction, expected):
    study = study_from(new_store, "o2i_data_size", o2i_study, interaction=interaction)
    finding = o2i_data_interaction(study)
    assert finding.verdict == expected, finding.reason
    rows = finding.evidence.set_index("task")
    assert set(rows.loc[["majority", "max", "top"], "verdict"]) == {expected}
    assert rows.loc["multi", "verdict"] == INCONCLUSIVE and not rows.loc["multi", "judged"]
    if interaction:
        assert list(rows.loc["majority", ["threshold_small_data", "threshold_large_data"]]) == [2, 1]


@pytest.mark.parametrize(("falls", "expected"), [(True, HOLDS), (False, DOES_NOT_HOLD)])
def test_patch_size_claim_is_a_difference_against_patch_150(new_store, falls, expected):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=falls, losses=False)
    finding = patch_size_claim(study)
    assert finding.verdict == expected, finding.reason
    cells = build_table(study).cells
    means = cells[cells["split"] == "val"].groupby("patches.size")["mean"].mean()  # mean over tasks
    tuned = 25 if falls else 100  # the best patch other than the baseline
    overall = finding.evidence.set_index("task").loc["mean over tasks"]
    assert overall["baseline"] == 150 and overall["tuned"] == tuned
    assert overall["improvement"] == pytest.approx(means[tuned] - means[150])
    assert overall["ci_low"] <= overall["improvement"] <= overall["ci_high"]
    assert overall["claimed"] == 0.15
    assert f"baseline patch 150: {100 * (means[tuned] - means[150]):+.1f} points" in finding.reason
    assert "the paper's table: +23.7 (patch 25 vs 150)" in finding.reason


def test_patch_size_claim_with_one_seed_is_inconclusive(new_store):
    study = study_from(new_store, "patch_size_low_data", patch_study, falls=True, seeds=(0,), losses=False)
    assert patch_size_claim(study).verdict == INCONCLUSIVE
