"""``python -m bench.gpu_memory --json estimate/gpu_memory.json`` merges its figures into the file, per
device and precision, so that the documented recalibration (fp32, then ``--bf16``) keeps both, and a
CUDA run records the context size that the packing then uses with headroom.

The measuring itself is faked (``measure`` returns a figure of the setting without training): what is
tested is what the bench writes and what ``estimate.gpu_memory`` reads back from it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from bench import gpu_memory as memory_bench
from estimate import gpu_memory as packing
from ips.config import IPSConfig, override

SHIPPED = Path(packing.__file__).with_name("gpu_memory.json")


@pytest.fixture
def fake_bench(monkeypatch):
    """The bench with its measurement faked: every figure of a run gets ``activation_mb`` = ``scale``
    x its patch pixels, so that each run's figures can be told apart in the file."""
    run = {"scale": 1e-4}

    def fake_measure(config: IPSConfig, device: torch.device) -> dict:
        figure = {
            "architecture": config.encoder.architecture,
            "stages": config.encoder.stages,
            "input_channels": config.encoder.input_channels,
            "image_height": packing.image_size(config)[0],
            "image_width": packing.image_size(config)[1],
            "patch_size": config.patches.size,
            "memory_size": config.selection.memory_size,
            "iteration_size": config.selection.iteration_size,
            "batch_size": config.optimisation.batch_size,
            "number_of_patches": config.number_of_patches,
            "bf16": config.optimisation.bf16_on(device.type)[1],
            "parameters": 1000,
        }
        pixels = packing.patch_pixels_in_flight(figure)
        return {**figure, "peak_mb": 1.0, "activation_mb": run["scale"] * pixels * figure["batch_size"]}

    monkeypatch.setattr(memory_bench, "measure", fake_measure)
    monkeypatch.setattr(memory_bench, "machine", lambda device: {"device": device.type})
    return run


def simulate_cuda(monkeypatch, context_mb: float) -> None:
    """What a GPU machine shows the bench: CUDA present, the card's used memory beyond PyTorch's."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *args: None)
    card = 80 * 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *args: (card - int(context_mb * 2**20), card))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda *args: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda *a: SimpleNamespace(total_memory=card))


def mnist_config(bf16: str) -> IPSConfig:
    return override(IPSConfig(), {"optimisation.bf16": bf16})


def test_fp32_then_bf16_keeps_both_and_the_other_devices_figures(tmp_path, fake_bench):
    figures_file = tmp_path / "gpu_memory.json"
    shutil.copy(SHIPPED, figures_file)
    shipped_cpu = packing.calibrate(json.loads(SHIPPED.read_text())["reports"][0])
    assert memory_bench.main(["--json", str(figures_file), "--device", "cpu"]) == 0
    assert memory_bench.main(["--json", str(figures_file), "--device", "cpu", "--bf16"]) == 0
    calibrations = packing.shipped_calibrations(figures_file)
    encoders = {(encoder.stages, encoder.bf16) for encoder in calibrations}
    assert {(2, False), (2, True), (4, False), (4, True)} <= encoders  # both encoders in both precisions
    # a fp32 trial still finds its figures after the bf16 run (it used to fail: "no measured memory figures")
    fp32 = packing.calibration_for(mnist_config("off"), calibrations)
    assert fp32.mib_per_patch_pixel == pytest.approx(1e-4)
    assert set(shipped_cpu) <= set(calibrations)


def test_a_rerun_replaces_only_the_figures_of_its_own_device_and_precision(tmp_path, fake_bench):
    figures_file = tmp_path / "gpu_memory.json"
    assert memory_bench.main(["--json", str(figures_file), "--device", "cpu"]) == 0
    assert memory_bench.main(["--json", str(figures_file), "--device", "cpu", "--bf16"]) == 0
    fake_bench["scale"] = 3e-4
    assert memory_bench.main(["--json", str(figures_file), "--device", "cpu"]) == 0
    data = json.loads(figures_file.read_text())
    assert len(data["reports"]) == 2  # cpu fp32 and cpu bf16, one report each
    calibrations = packing.calibrate_all(data)
    fp32 = packing.calibration_for(mnist_config("off"), calibrations)
    bf16 = packing.calibration_for(mnist_config("scan_and_step"), calibrations)
    assert fp32.mib_per_patch_pixel == pytest.approx(3e-4) and bf16.mib_per_patch_pixel == pytest.approx(1e-4)


def test_a_cuda_run_records_its_context_used_with_headroom(tmp_path, fake_bench, monkeypatch):
    before, figures_file = tmp_path / "before.json", tmp_path / "gpu_memory.json"
    shutil.copy(SHIPPED, before)
    shutil.copy(SHIPPED, figures_file)
    assert packing.cuda_context_mb(before) == packing.ASSUMED_CUDA_CONTEXT_MB  # none measured on a GPU yet
    simulate_cuda(monkeypatch, context_mb=700.0)
    assert memory_bench.main(["--json", str(figures_file), "--device", "cuda"]) == 0
    data = json.loads(figures_file.read_text())
    cuda = [report for report in data["reports"] if report["device"] == "cuda"]
    assert len(cuda) == 1 and cuda[0]["cuda_context_mb"] == pytest.approx(700.0)
    assert any(report["device"] == "cpu" for report in data["reports"])  # the CPU figures stay
    assert packing.cuda_context_mb(figures_file) == pytest.approx(700.0 * packing.CONTEXT_HEADROOM)
    calibrations = packing.shipped_calibrations(figures_file)
    assert packing.calibration_for(mnist_config("off"), calibrations).device == "cuda"


def test_the_shipped_files_note_names_the_bench_that_writes_it():
    note = json.loads(SHIPPED.read_text())["note"]
    assert "study.memory_bench" not in note
    assert "python -m bench.gpu_memory" in note and "merge" in note
