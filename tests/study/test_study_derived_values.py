"""Every derived value has one definition, ``IPSConfig.derived()``: what MLflow logs as ``derived.*``,
what the dry run's table and ``--json`` print, the cost and memory estimates all read it."""

from __future__ import annotations

import pytest

from estimate.cost import trial_cost
from estimate.gpu_memory import calibration_for, estimated_peak_mb, shipped_calibrations
from ips.config import IPSConfig
from search_spaces import STUDIES
from study import tracking
from study.dry_run import JSON_DERIVED, plan_as_json, trial_table
from study.mlflow_store import trial_params
from study.plan import plan_study


def test_the_logged_params_and_the_dry_run_show_the_configs_own_derived_values():
    plan = plan_study(STUDIES["patch_size_low_data"], "smoke")
    trials = plan_as_json(plan, cpus=1, gpus=0, concurrent=1)["trials"]
    for trial, shown in zip(plan.trials, trials, strict=True):
        values = trial.config.derived()
        logged = {
            k: v for k, v in trial_params(trial.config).items() if k.startswith(tracking.DERIVED_PREFIX)
        }
        assert logged == {tracking.DERIVED_PREFIX + key: str(value) for key, value in values.items()}
        assert shown["derived"] == {key: values[key] for key in JSON_DERIVED}
        assert values["kept_patches"] == min(trial.config.selection.memory_size, values["number_of_patches"])


@pytest.fixture
def planted(monkeypatch):
    """``IPSConfig.derived`` and ``kept_patches`` replaced by values no config has: whoever shows
    them read the one definition; whoever recomputes a ratio or ``min(memory, N)`` does not."""
    values = {
        "number_of_patches": 4321,
        "patch_grid_rows": 1,
        "patch_grid_columns": 4321,
        "patch_stride": 7,
        "kept_patches": 987,
        "object_to_image_ratio": 0.123456,
        "object_to_patch_ratio": 9.87,
        "final_lr": 0.5,
    }
    monkeypatch.setattr(IPSConfig, "derived", lambda self: dict(values))
    monkeypatch.setattr(IPSConfig, "kept_patches", property(lambda self: values["kept_patches"]))
    return values


def test_mlflow_and_the_dry_run_read_the_same_function(planted):
    plan = plan_study(STUDIES["patch_size_low_data"], "smoke")
    config = plan.trials[0].config
    params = trial_params(config)
    assert {k: params[tracking.DERIVED_PREFIX + k] for k in planted} == {
        k: str(v) for k, v in planted.items()
    }
    trial = plan_as_json(plan, cpus=1, gpus=0, concurrent=1)["trials"][0]
    assert trial["derived"] == {key: planted[key] for key in JSON_DERIVED}
    row = trial_table(plan).splitlines()[1].split()
    assert ["4321", "987", "12.3456", "987"] == row[-7:-3]  # patches, kept, O2I %, O2P %


def test_the_estimates_count_the_configs_kept_patches(monkeypatch):
    config = plan_study(STUDIES["patch_size_low_data"], "smoke").trials[0].config
    calibration = calibration_for(config, shipped_calibrations())
    macs, peak = trial_cost(config).macs, estimated_peak_mb(config, calibration)
    kept = config.kept_patches
    monkeypatch.setattr(IPSConfig, "kept_patches", property(lambda self: kept + 10))
    train, val = config.data.images_per_split
    per_patch = macs / (
        train * (config.number_of_patches + 3 * kept) + val * (config.number_of_patches + kept)
    )
    assert trial_cost(config).macs == pytest.approx(macs + (3 * train + val) * 10 * per_patch)
    assert estimated_peak_mb(config, calibration) > peak
