"""The dry run's cost model: measured per-patch costs, interpolated in the patch size; MACs counted."""

from __future__ import annotations

import pytest

from estimate.cost import blank_fraction, calibration, encoder_macs, seconds_per_patch, trial_cost
from ips.config import IPSConfig, override


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
    plain = {"optimisation.warmup_epochs": 0, "selection.reuse_blank_patches": False}
    one = trial_cost(config(**plain, **{"optimisation.epochs": 1}))
    two = trial_cost(config(**plain, **{"optimisation.epochs": 2}))
    assert two.cpu_seconds == pytest.approx(2 * one.cpu_seconds)
    assert one.patches_per_image == 3600 and one.cpu_seconds > 6000 * 3600 * seconds_per_patch(
        IPSConfig(), "scan"
    )


def test_blank_patch_reuse_saves_the_scans_of_the_blank_share():
    small = {"data.canvas_height": 600, "data.canvas_width": 600, "data.noise_count": 20, "patches.size": 25}
    reuse = config(**small)
    plain = override(reuse, {"selection.reuse_blank_patches": False})
    share = blank_fraction(reuse)
    assert 0.5 < share < 1.0 and blank_fraction(plain) == 0.0
    scans = 6000 * 576 * share * seconds_per_patch(reuse, "scan") * reuse.optimisation.epochs
    assert trial_cost(plain).cpu_seconds - trial_cost(reuse).cpu_seconds == pytest.approx(scans, rel=1e-3)
