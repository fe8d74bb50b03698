"""The shipped studies: every profile expands to valid trials, and the paper profiles hold the paper's
settings (Riffi-Aslett & Fell, Tables 2, 3, 4, 7 and Figure 4)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from estimate.cost import trial_cost
from ips.data.megapixel_mnist import followup_noise_count
from search_spaces import PROFILE_NAMES, STUDIES
from study.plan import plan_study

CASES = [(name, profile) for name, study in STUDIES.items() for profile in study.profiles]


@pytest.mark.parametrize("name", list(STUDIES))
def test_every_study_has_paper_and_smoke_and_says_why_it_has_no_cpu_profile(name):
    study = STUDIES[name]
    assert {"paper", "smoke"} <= set(study.profiles) <= set(PROFILE_NAMES)
    if "cpu" not in study.profiles:  # the traffic studies: 3 seeds on 2 cores afford no verdict
        assert "no ``cpu`` profile" in sys.modules[f"search_spaces.{name}"].__doc__


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_every_profile_of_every_study_expands_to_valid_trials(name, profile):
    study = STUDIES[name]
    plan = plan_study(study, profile)
    assert plan.number_of_trials >= 1
    assert plan.varied_fields, "a study varies something"
    for trial in plan.trials:
        for field in plan.varied_fields:
            assert field in trial.overrides
    assert study.profiles[profile].note, "every profile says what it scaled and why"
    assert study.profiles[profile].expected_time


@pytest.mark.parametrize("name", list(STUDIES))
def test_study_module_docstring_gives_the_command_the_paper_and_the_run_time(name):
    module = sys.modules[f"search_spaces.{name}"]
    doc = module.__doc__
    assert f"python -m study.run {name}" in doc
    assert "Riffi-Aslett and Fell" in doc
    assert "Expected run time" in doc


@pytest.mark.parametrize("name", list(STUDIES))
def test_smoke_profiles_are_tiny(name):
    plan = plan_study(STUDIES[name], "smoke")
    assert plan.number_of_trials <= 4
    configs = [trial.config for trial in plan.trials] or [plan.base]
    for config in configs:
        assert config.optimisation.epochs <= 2
        assert max(config.data.image_height, config.data.image_width) <= 500
        assert getattr(config.data, "train_canvases", 0) <= 12
        assert config.aggregator.embedding_dim <= 32
        # about a minute of encoder work per trial on one core at most (a traffic-sign study's cost
        # depends on the folder it is given: its smoke profile is sized for the tests' fixture)
        if config.data.name == "megapixel_mnist":
            assert trial_cost(config).macs < 5e11


def values(plan, field):
    return sorted({trial.overrides[field] for trial in plan.trials})


def test_patch_size_low_data_paper_settings():
    plan = plan_study(STUDIES["patch_size_low_data"], "paper")
    assert values(plan, "patches.size") == [25, 50, 100, 150]
    assert plan.seeds == (0, 1, 2) and plan.number_of_trials == 12
    config = plan.trials[0].config
    data = config.data
    assert (data.canvas_height, data.canvas_width, data.digit_size) == (3000, 3000, 84)
    assert (data.noise, data.noise_count, data.noise_thickness, data.train_canvases) == (
        "bezier",
        400,
        1.925,
        1000,
    )
    assert (config.selection.memory_size, config.selection.iteration_size) == (100, 100)
    opt = config.optimisation
    assert (opt.epochs, opt.batch_size, opt.lr, opt.warmup_epochs) == (100, 16, 1e-3, 10)
    assert (config.encoder.architecture, config.encoder.stages, config.encoder.pretrained) == (
        "resnet18",
        2,
        False,
    )
    assert all(trial.config.patches.stride is None for trial in plan.trials)  # stride = patch


def test_smoke_and_cpu_patch_sizes_still_bracket_the_digit():
    for profile in ("cpu", "smoke"):
        plan = plan_study(STUDIES["patch_size_low_data"], profile)
        ratios = [trial.config.object_to_patch_ratio for trial in plan.trials]
        assert min(ratios) < 1 < max(ratios)


def test_noise_thickness_paper_settings():
    plan = plan_study(STUDIES["noise_thickness"], "paper")
    assert values(plan, "data.noise_thickness") == pytest.approx([1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6])
    config = plan.trials[0].config
    assert (config.data.canvas_height, config.data.digit_size, config.data.noise_count) == (1500, 28, 800)
    assert (config.data.train_canvases, config.optimisation.epochs, config.patches.size) == (2000, 50, 50)


def test_noise_amount_paper_settings():
    plan = plan_study(STUDIES["noise_amount"], "paper")
    assert values(plan, "data.noise_count") == [100, 200, 300, 400, 600, 800]
    data = plan.trials[0].config.data
    assert (data.canvas_height, data.digit_size, data.noise_thickness, data.train_canvases) == (
        3000,
        28,
        1.925,
        5000,
    )


def test_o2i_data_size_links_noise_to_the_digit():
    plan = plan_study(STUDIES["o2i_data_size"], "paper")
    assert plan.number_of_trials == 4 * 4 * 3
    pairs = {(t.config.data.digit_size, t.config.data.noise_count) for t in plan.trials}
    assert pairs == {(28, 800), (56, 600), (84, 400), (112, 200)}  # noise = 1000 - 7.14 x digit
    assert values(plan, "data.train_canvases") == [800, 1000, 2000, 4000]
    assert plan.varied_fields == ["data.digit_size", "data.noise_count", "data.train_canvases"]
    assert {t.config.data.canvas_height for t in plan.trials} == {3000}
    assert {t.config.patches.size for t in plan.trials} == {50}


def test_o2i_data_size_noise_counts_follow_the_one_rule_in_ips():
    plan = plan_study(STUDIES["o2i_data_size"], "paper")
    for trial in plan.trials:
        assert trial.config.data.noise_count == followup_noise_count(trial.config.data.digit_size)


def test_digit_resolution_and_memory_size_paper_settings():
    plan = plan_study(STUDIES["digit_resolution"], "paper")
    assert values(plan, "data.digit_size") == [14, 21, 28, 46, 64]
    config = plan.trials[0].config
    assert (config.data.canvas_height, config.data.train_canvases, config.optimisation.epochs) == (
        1500,
        5000,
        150,
    )
    memory = plan_study(STUDIES["memory_size"], "paper")
    assert values(memory, "selection.memory_size") == [10, 25, 50, 100, 200]
    assert memory.trials[0].config.data.digit_size == 84


def test_low_data_search_is_a_seeded_search_over_three_fields():
    plan = plan_study(STUDIES["low_data_search"], "paper")
    assert plan.searched and not plan.trials
    assert plan.varied_fields == ["patches.size", "selection.memory_size", "optimisation.lr"]
    assert plan.number_of_trials == plan.search.suggestions * len(plan.seeds)
    assert plan.search.sampler_seed == 0


def test_search_spaces_import_only_ips_config():
    code = (
        "import sys, search_spaces; "
        "heavy = [m for m in ('torch', 'ray', 'mlflow', 'optuna', 'study') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
