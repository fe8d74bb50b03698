"""The studies run the published experiments' model settings (shared/paper/README.md items 1-2).

Positional encoding and the selection shuffle are on in every Megapixel MNIST run of both published
codebases; the shuffle is on in the traffic-sign runs too. Every profile keeps them: a scaled profile
changes sizes, never the model.
"""

from __future__ import annotations

import sys

import pytest

from search_spaces import STUDIES
from study.plan import plan_study

CASES = [(name, profile) for name, study in STUDIES.items() for profile in study.profiles]


def trial_configs(name: str, profile: str):
    plan = plan_study(STUDIES[name], profile)
    return [trial.config for trial in plan.trials] or [plan.base]  # a searched study: its base


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_every_trial_has_the_published_positional_encoding_and_shuffle(name, profile):
    for config in trial_configs(name, profile):
        assert config.selection.shuffle, f"{name}/{profile}: selection.shuffle is off"
        if config.data.name == "megapixel_mnist":
            assert config.aggregator.positional_encoding, f"{name}/{profile}: no positional encoding"
        else:
            assert not config.aggregator.positional_encoding  # IPS's traffic config: use_pos False


def test_both_datasets_are_covered():
    datasets = {trial_configs(name, "smoke")[0].data.name for name in STUDIES}
    assert datasets == {"megapixel_mnist", "traffic_signs"}


PUBLISHED_TABLES = {  # the Megapixel MNIST studies that rebuild a table or figure of the paper
    "noise_thickness": "Table 2",
    "noise_amount": "Table 3",
    "patch_size_low_data": "Table 4",
    "digit_resolution": "Table 7",
    "o2i_data_size": "Figure 4",
}


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_paper_profiles_of_published_tables_draw_with_the_published_renderer(name, profile):
    # The paper profile of a published table draws as the paper's numbers were drawn; the continuous
    # study's point is the real-valued strokes; smoke keeps the default. A cpu or demo profile says in
    # its note which renderer it uses.
    if name in PUBLISHED_TABLES and profile == "paper":
        expected = "followup_published"
    elif name == "noise_thickness_continuous" or profile == "smoke":
        expected = "real_valued"
    else:
        expected = None
    for config in trial_configs(name, profile):
        if config.data.name != "megapixel_mnist" or expected is None:
            continue
        assert config.data.renderer == expected, f"{name}/{profile}"
    if name in PUBLISHED_TABLES:
        assert PUBLISHED_TABLES[name] in STUDIES[name].reproduces


def test_the_continuous_thickness_study_refines_table_2_with_real_valued_strokes():
    study = STUDIES["noise_thickness_continuous"]
    axis = plan_study(study, "paper").axes["data.noise_thickness"]
    assert axis[0] == 1.4 and axis[-1] == 2.6
    fine = [t for t in axis if 1.8 <= t <= 2.2]
    assert len(fine) == 9 and all(b - a == pytest.approx(0.05) for a, b in zip(fine, fine[1:], strict=False))
    table_2 = plan_study(STUDIES["noise_thickness"], "paper").base
    base = plan_study(study, "paper").base
    assert base.data.renderer == "real_valued" and table_2.data.renderer == "followup_published"
    assert base.data.canvas_height == table_2.data.canvas_height and base.data.noise_count == 800
    doc = sys.modules["search_spaces.noise_thickness_continuous"].__doc__
    assert "gradual" in doc and "step" in doc and "real-valued renderer" in doc


def test_table_4s_baseline_is_patch_150():
    doc = sys.modules["search_spaces.patch_size_low_data"].__doc__
    assert "The baseline is **patch 150**, not 50" in doc
    assert max(STUDIES["patch_size_low_data"].axes["patches.size"]) == 150


@pytest.mark.parametrize("name", ["patch_size_traffic", "dataset_fraction_traffic"])
def test_traffic_paper_profiles_validate_on_the_authors_subset(name):
    for profile in STUDIES[name].profiles:
        expected = "first_per_class" if profile == "paper" else "full"
        assert {c.data.validation_subset for c in trial_configs(name, profile)} == {expected}, profile
        assert {c.data.data_seed for c in trial_configs(name, profile)} == {0}  # seeds vary the model only
    assert "not the data split" in sys.modules[f"search_spaces.{name}"].__doc__
