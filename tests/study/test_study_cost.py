"""The dry run's cost model: measured per-patch costs, interpolated in the patch size; MACs counted."""

from __future__ import annotations

import pytest

from ips.config import IPSConfig, override
from study.cost import calibration, encoder_macs, seconds_per_patch, trial_cost


def config(**changes) -> IPSConfig:
    return override(IPSConfig(), changes)


def test_measured_patch_sizes_give_the_measured_costs():
    table = calibration()["seconds_per_patch"]["resnet18-2"]
    for size, costs in table.items():
        for kind in ("scan", "train"):
            assert seconds_per_patch(config(**{"patches.size": int(size)}), kind) == pytest.approx(
                costs[kind]
            )


def test_costs_between_measured_sizes_lie_between_them():
    small, middle, large = (seconds_per_patch(config(**{"patches.size": s}), "scan") for s in (50, 75, 100))
    assert small < middle < large


def test_resnet50_is_scaled_by_its_counted_macs():
    resnet18 = config(**{"encoder.stages": 4, "data.name": "traffic_signs", "patches.size": 100})
    resnet50 = override(resnet18, {"encoder.architecture": "resnet50"})
    ratio = encoder_macs(resnet50) / encoder_macs(resnet18)
    assert 2.0 < ratio < 3.0
    assert seconds_per_patch(resnet50, "scan") == pytest.approx(ratio * seconds_per_patch(resnet18, "scan"))


def test_a_trial_costs_its_epochs_of_scans_and_steps():
    one = trial_cost(config(**{"optimisation.epochs": 1, "optimisation.warmup_epochs": 0}))
    two = trial_cost(config(**{"optimisation.epochs": 2, "optimisation.warmup_epochs": 0}))
    assert two.cpu_seconds == pytest.approx(2 * one.cpu_seconds)
    assert one.patches_per_image == 3600 and one.cpu_seconds > 5000 * 3600 * seconds_per_patch(
        IPSConfig(), "scan"
    )
