"""Expanding a study into its trial table, and refusing bad input with a message that names it."""

from __future__ import annotations

import pytest
from study_fixtures import study_spec

from ips.config import IPSConfig, override
from search_spaces import Choice, IntUniform, LogUniform, Profile, Search, SpecError, StudySpec, Uniform
from study.plan import StudyError, get_study, plan_study

BASE = override(
    IPSConfig(),
    {
        "data.canvas_height": 500,
        "data.canvas_width": 500,
        "optimisation.epochs": 2,
        "optimisation.warmup_epochs": 0,
    },
)


def make_study(axes, profiles=None, search=None, seeds=(0, 1)):
    profiles = profiles or {"paper": Profile(note="as is")}
    return study_spec("test", BASE, axes, seeds=seeds, profiles=profiles, search=search)


def test_the_grid_is_the_product_of_the_axes_times_the_seeds():
    study = make_study({"patches.size": [25, 50], "selection.memory_size": [10, 20, 30]})
    plan = plan_study(study)
    assert plan.number_of_trials == 2 * 3 * 2
    assert [trial.index for trial in plan.trials] == list(range(12))
    first = plan.trials[0]
    assert first.overrides == {"patches.size": 25, "selection.memory_size": 10, "seed": 0}
    assert (first.config.patches.size, first.config.selection.memory_size, first.config.seed) == (25, 10, 0)
    # seeds of one configuration share its config id; configurations differ
    assert plan.trials[0].config_id == plan.trials[1].config_id
    assert len({trial.config_id for trial in plan.trials}) == 6


def test_linked_axis_sets_its_fields_together():
    digit = [
        {"data.digit_size": 28, "data.noise_count": 800},
        {"data.digit_size": 56, "data.noise_count": 600},
    ]
    plan = plan_study(make_study({"digit": digit}, seeds=(0,)))
    assert [(t.config.data.digit_size, t.config.data.noise_count) for t in plan.trials] == [
        (28, 800),
        (56, 600),
    ]
    assert plan.varied_fields == ["data.digit_size", "data.noise_count"]
    assert plan.trials[0].label == "data.digit_size=28 data.noise_count=800"


def test_profile_overrides_axes_and_seeds():
    profiles = {
        "paper": Profile(note="as is"),
        "smoke": Profile(
            note="small", overrides={"optimisation.epochs": 1}, axes={"patches.size": [10]}, seeds=(7,)
        ),
    }
    plan = plan_study(make_study({"patches.size": [25, 50]}, profiles), "smoke")
    assert [(t.config.patches.size, t.seed, t.config.optimisation.epochs) for t in plan.trials] == [
        (10, 7, 1)
    ]
    assert plan_study(make_study({"patches.size": [25, 50]}, profiles), "smoke", seeds=3).seeds == (0, 1, 2)


def test_extra_overrides_apply_to_every_trial():
    plan = plan_study(make_study({"patches.size": [25, 50]}), overrides={"optimisation.lr": 0.01})
    assert {t.config.optimisation.lr for t in plan.trials} == {0.01}


def test_an_invalid_grid_value_names_the_trial_and_the_field():
    study = make_study({"patches.size": [25, 600]})
    with pytest.raises(StudyError, match=r"trial 2 \(patches.size=600, seed 0\): patches.size"):
        plan_study(study)


def test_an_unknown_field_is_named():
    with pytest.raises(StudyError, match="patches.sise"):
        plan_study(make_study({"patches.sise": [25]}))


def test_unknown_study_lists_the_valid_names():
    with pytest.raises(StudyError) as error:
        get_study("patch_size")
    assert "patch_size_low_data" in str(error.value) and "noise_amount" in str(error.value)


def test_unknown_profile_and_unknown_profile_axis_are_refused():
    with pytest.raises(StudyError, match="no profile 'fast'"):
        plan_study(make_study({"patches.size": [25]}), "fast")
    profiles = {"paper": Profile(note="x", axes={"selection.memory_size": [5]})}
    with pytest.raises(SpecError, match="replaces no axis"):  # the spec checks itself when built
        make_study({"patches.size": [25]}, profiles)


def test_invalid_profile_override_names_the_profile_and_the_field():
    profiles = {"paper": Profile(note="x", overrides={"optimisation.warmup_epochs": 5})}
    with pytest.raises(StudyError, match=r"profile 'paper': optimisation.warmup_epochs"):
        plan_study(make_study({"patches.size": [25]}, profiles))


def test_search_is_checked_on_every_choice_and_both_ends_of_a_range():
    good = Search(
        space={"patches.size": Choice((25, 50)), "optimisation.lr": LogUniform(1e-4, 1e-2)}, suggestions=3
    )
    plan = plan_study(make_study({}, search=good))
    assert plan.searched and plan.number_of_trials == 3 * 2
    bad = Search(space={"patches.size": Choice((25, 800))}, suggestions=3)
    with pytest.raises(StudyError, match=r"search value \(patches.size=800\)"):
        plan_study(make_study({}, search=bad))
    with pytest.raises(SpecError, match="log-uniform range must be positive"):
        LogUniform(0, 1)


def test_a_spec_refuses_a_malformed_shape_when_it_is_built():
    with pytest.raises(SpecError, match="low must be below high"):
        Uniform(0.5, 0.5)
    with pytest.raises(SpecError, match="low must be below high"):
        IntUniform(3, 2)
    with pytest.raises(SpecError, match="at least one value"):
        Choice(())
    with pytest.raises(SpecError, match="suggestions is 0"):
        Search(space={"patches.size": Choice((25,))}, suggestions=0)
    with pytest.raises(SpecError, match="not a search distribution"):
        Search(space={"patches.size": [25, 50]}, suggestions=1)
    with pytest.raises(SpecError, match="has no values"):
        make_study({"patches.size": []})
    with pytest.raises(SpecError, match="both axes and a search"):
        make_study(
            {"patches.size": [25]},
            search=Search(space={"optimisation.lr": LogUniform(1e-4, 1e-2)}, suggestions=1),
        )
    with pytest.raises(SpecError, match="mode 'best'"):
        StudySpec(
            "x",
            "d",
            "r",
            IPSConfig(),
            {"patches.size": [25]},
            (0,),
            {"paper": Profile(note="x")},
            mode="best",
        )


def test_corners_are_every_choice_and_both_ends():
    assert Choice((25, 50, 75)).corners() == [25, 50, 75]
    assert LogUniform(1e-4, 1e-2).corners() == [1e-4, 1e-2]
    assert IntUniform(1, 9).corners() == [1, 9] and Uniform(0.1, 0.2).corners() == [0.1, 0.2]


def test_seeds_must_be_positive():
    with pytest.raises(StudyError, match="--seeds 0"):
        plan_study(make_study({"patches.size": [25]}), seeds=0)
