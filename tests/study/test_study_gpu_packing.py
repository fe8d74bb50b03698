"""``--gpus-per-trial auto``: the packing arithmetic, on CPU (no GPU is needed to estimate)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from estimate import gpu_memory as packing
from ips.config import IPSConfig, override
from search_spaces import STUDIES
from study import gpu_share as share
from study.plan import StudyError, plan_study
from study.run import main

CARD_MB = 80 * 1024
PAPER = STUDIES["patch_size_low_data"]


def test_the_flag_takes_a_share_auto_or_auto_with_the_cards_memory():
    assert share.parse_gpus_per_trial("0.25") == 0.25
    assert share.parse_gpus_per_trial("auto") == "auto" and share.is_auto("auto")
    assert share.card_gb(share.parse_gpus_per_trial("auto:24")) == 24
    assert share.card_gb("auto") == packing.DEFAULT_CARD_GB
    assert share.card_memory_mb("auto:40") == 40 * 1024
    assert not share.is_auto(0.5) and not share.is_auto(None)
    for bad in ("half", "auto:", "auto:-3", "auto:big"):
        with pytest.raises(StudyError, match="--gpus-per-trial"):
            share.parse_gpus_per_trial(bad)


def test_shares_are_powers_of_two_that_hold_the_peak_with_margin_and_context():
    def needed(share: float) -> float:  # the largest peak that a share holds
        return (share * CARD_MB - packing.cuda_context_mb()) / packing.MARGIN

    assert packing.share_for(10.0, CARD_MB) == 1 / 16
    assert packing.share_for(needed(1 / 16), CARD_MB) == 1 / 16
    assert packing.share_for(needed(1 / 16) + 1, CARD_MB) == 1 / 8
    assert packing.share_for(needed(1 / 4) + 1, CARD_MB) == 1 / 2
    assert packing.share_for(needed(1 / 2) + 1, CARD_MB) == 1.0  # more than half: a whole card
    with pytest.raises(packing.EstimateError, match="more than one 80 GB card"):
        packing.share_for(needed(1.0) + 1, CARD_MB)
    # Every share divides a card: any mix of them fills cards without gaps.
    assert all((1 / share).is_integer() for share in packing.SHARES)


def report(device: str, figures: list[dict]) -> dict:
    return {"device": device, "machine": {}, "figures": figures}


def figure(patch: int, memory: int, iteration: int, batch: int, activation_mb: float, bf16=False) -> dict:
    return {
        "architecture": "resnet18",
        "stages": 2,
        "input_channels": 1,
        "bf16": bf16,
        "patch_size": patch,
        "memory_size": memory,
        "iteration_size": iteration,
        "batch_size": batch,
        "number_of_patches": 400,
        "parameters": 1_000_000,
        "activation_mb": activation_mb,
    }


def test_calibration_is_a_line_through_the_figures_raised_to_bound_every_one(tmp_path):
    figures = [figure(50, 100, 100, 2, 400.0), figure(25, 50, 100, 2, 120.0), figure(100, 20, 20, 2, 330.0)]
    (calibration,) = packing.calibrate(report("cpu", figures)).values()
    points = [(packing.patch_pixels_in_flight(f), f["activation_mb"] / f["batch_size"]) for f in figures]
    slope = np.polyfit([x for x, _ in points], [y for _, y in points], 1)[0]
    assert calibration.mib_per_patch_pixel == pytest.approx(slope)
    assert calibration.mib_per_image > 0
    gaps = [calibration.mib_per_image + slope * x - y for x, y in points]
    assert min(gaps) == pytest.approx(0, abs=1e-9) and all(gap >= -1e-9 for gap in gaps)  # tight bound
    assert calibration.parameters == 1_000_000 and calibration.device == "cpu"
    (one,) = packing.calibrate(report("cpu", figures[:1])).values()
    assert one.mib_per_patch_pixel == pytest.approx(200.0 / (200 * 2500)) and one.mib_per_image == 0
    # CUDA figures win over CPU ones for the same encoder.
    cuda = report("cuda", [figure(50, 100, 100, 2, 200.0)])
    path = tmp_path / "figures.json"
    path.write_text(json.dumps({"reports": [cuda, report("cpu", figures)]}))
    (chosen,) = packing.shipped_calibrations(path).values()
    assert chosen.device == "cuda" and chosen.mib_per_patch_pixel == pytest.approx(100.0 / (200 * 2500))


def test_the_estimate_adds_state_images_and_activations():
    config = override(
        PAPER.base,  # 3000x3000 canvases, batch 16, memory 100, iteration 100
        {"patches.size": 50},
    )
    calibration = packing.Calibration(
        mib_per_patch_pixel=1e-4, mib_per_image=2.0, parameters=2**20, device="cpu"
    )
    state = 16.0  # 16 bytes per parameter: weights, gradients, two AdamW moments
    images = 4 * 16 * 1 * 3000 * 3000 / 2**20
    activations = 16 * (2.0 + 1e-4 * (100 + 100) * 50**2)
    assert packing.estimated_peak_mb(config, calibration) == pytest.approx(state + images + activations)
    # Memory and iteration sizes count only up to the patches there are: 4 patches of 1500 on 3000.
    big = override(config, {"patches.size": 1500, "data.digit_size": 28})
    assert packing.estimated_peak_mb(big, calibration) == pytest.approx(
        state + images + 16 * (2.0 + 1e-4 * (4 + 4) * 1500**2)
    )


def test_small_trials_pack_densely_and_large_ones_get_more_of_a_card():
    """With the shipped figures: the paper's patch sizes 25 .. 150 at batch 16 and memory 100."""

    def shares(card_gb: float) -> dict[int, float]:
        rows = share.plan_shares(plan_study(PAPER, "paper"), card_gb * 1024)
        return {config.patches.size: share.share for _, config, share in rows}

    on_80 = shares(80)
    assert on_80[25] <= 1 / 8 and on_80[150] >= 1 / 4, on_80
    assert on_80[25] <= on_80[50] <= on_80[100] <= on_80[150]
    on_40 = shares(40)
    assert on_40[150] == 1.0 and on_40[25] <= 1 / 4, on_40  # the largest takes a whole 40 GB card


def test_every_study_can_be_packed_with_the_shipped_figures():
    for study in STUDIES.values():
        for profile in study.profiles:
            rows = share.plan_shares(plan_study(study, profile), CARD_MB)
            assert rows and all(0 < share.share <= 1 for _, _, share in rows), (study.name, profile)


def test_ray_gets_each_trials_share_as_its_resources():
    from ips.config import to_dict
    from study.ray_config import grid_entry

    plan = plan_study(PAPER, "paper")
    resources = share.AutoResources(cpus=4, card_mb=CARD_MB)
    for trial in plan.trials[:4]:
        ray_config = {"base": to_dict(plan.base), "trial": grid_entry(trial.index, trial.overrides)}
        factory = resources(ray_config)
        expected = packing.trial_share(trial.config, CARD_MB).share
        assert factory.required_resources == {"CPU": 4, "GPU": expected}


def test_dry_run_shows_the_packing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["patch_size_low_data", "--dry-run", "--gpus-per-trial", "auto:80"]) == 0
    out = capsys.readouterr().out
    assert "GPU packing" in out and "est. peak MiB" in out and "trials per card" in out
    assert "nothing was started" in out and not (tmp_path / "runs").exists()
    assert main(["low_data_search", "--profile", "smoke", "--dry-run", "--gpus-per-trial", "auto"]) == 0
    assert "search corner" in capsys.readouterr().out


def test_an_encoder_without_figures_or_a_bad_flag_is_refused_before_anything_starts(capsys, tmp_path):
    args = ["patch_size_low_data", "--dry-run", "--gpus-per-trial", "auto", "--set"]
    assert main([*args, "encoder.architecture=resnet50"]) == 2
    assert "no measured memory figures" in capsys.readouterr().err
    assert main(["patch_size_low_data", "--gpus-per-trial", "half"]) == 2
    assert "auto" in capsys.readouterr().err
    assert main(["patch_size_low_data", "--dry-run", "--gpus-per-trial", "auto:8"]) == 2
    assert "more than one 8 GB card" in capsys.readouterr().err


def test_the_memory_bench_writes_what_the_packing_reads():
    """One small measured step on CPU (the same code measures on CUDA): its record calibrates."""
    import torch

    from bench import gpu_memory as memory_bench
    from ips.config import IPSConfig

    size = {"data.canvas_height": 200, "data.canvas_width": 200}
    config = memory_bench.setting_config(IPSConfig(), size, 25, 4, 8, 1, bf16=False)
    record = memory_bench.measure(config, torch.device("cpu"))
    assert record["number_of_patches"] == 64 and record["parameters"] > 0
    assert record["peak_mb"] > 0 and record["memory_method"]
    (calibration,) = packing.calibrate({"device": "cpu", "machine": {}, "figures": [record]}).values()
    assert calibration.mib_per_patch_pixel >= 0 and calibration.parameters == record["parameters"]


def test_a_trials_precision_is_its_training_step_on_a_gpu():
    def encoder(mode: str) -> packing.Encoder:
        return packing.Encoder.of(override(IPSConfig(), {"optimisation.bf16": mode}))

    assert not encoder("off").bf16 and not encoder("scan").bf16  # the step, whose activations are kept
    assert encoder("auto").bf16 and encoder("scan_and_step").bf16  # auto: bf16 on CUDA
    assert str(encoder("off")).endswith("fp32")


def test_the_dry_run_and_the_launch_count_trials_at_once_by_one_rule():
    # 16 cores and one card at a quarter each: 4 at once (the dry run used to say 16)
    assert share.concurrent_trials(None, 16, 1, {"cpu": 1, "gpu": 0.25}) == 4
    assert share.concurrent_trials(None, 16, 2, {"cpu": 1, "gpu": 0.25}) == 8
    assert share.concurrent_trials(None, 2, 0, {"cpu": 1, "gpu": 0.0}) == 2  # cores bind on a CPU
    assert share.concurrent_trials(None, 1, 0, {"cpu": 2, "gpu": 0.0}) == 1  # never none
    assert share.concurrent_trials(3, 16, 1, {"cpu": 1, "gpu": 0.25}) == 3  # --max-concurrent wins
    assert share.local_gpus(0.25) >= 1 and share.local_gpus(0.0) == torch.cuda.device_count()
