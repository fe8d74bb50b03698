"""On a CUDA device (``pytest -m gpu``): trials sharing one GPU under their memory caps, and the memory
figures that ``--gpus-per-trial auto`` packs by, measured on the GPU and held against the estimate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from study_fixtures import run_cli

from bench import gpu_memory as memory_bench
from estimate import gpu_memory as packing
from ips.config import from_dict
from study import tracking

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

CAP_PROBE = """
import torch
from ips.resources import limit_to_resources, memory_fraction
limit_to_resources(1, 0.25)
total = torch.cuda.get_device_properties(0).total_memory
small = torch.empty(int(0.1 * total), dtype=torch.uint8, device="cuda")
try:
    torch.empty(int(0.3 * total), dtype=torch.uint8, device="cuda")
except torch.OutOfMemoryError:
    print("capped at", memory_fraction(0.25))
"""


def test_a_trials_cuda_memory_is_capped_to_its_share():
    result = subprocess.run([sys.executable, "-c", CAP_PROBE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "capped at" in result.stdout, result.stdout + result.stderr[-2000:]
    fraction = float(result.stdout.split()[-1])
    assert 0.125 <= fraction < 0.25  # the share less a CUDA context


def test_two_trials_share_one_gpu_under_their_memory_caps(tmp_path, study_env):
    pytest.importorskip("ray")
    MlflowClient = pytest.importorskip("mlflow").MlflowClient  # noqa: N806 (the class)
    from study.mlflow_store import FINISHED

    args = ["tiny_resume", "--profile", "smoke", "--gpus-per-trial", "auto", "--cpus-per-trial", "1"]
    result = run_cli(args, tmp_path, study_env, tiny=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "GPU share by estimated memory" in result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny_resume")
    runs = client.search_runs([experiment.experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'trial'")
    assert len(runs) == 2 and all(run.info.status == FINISHED for run in runs)
    assert max(run.info.start_time for run in runs) < min(run.info.end_time for run in runs), "not at once"
    total_mb = torch.cuda.get_device_properties(0).total_memory / 2**20
    for run in runs:
        config = json.loads(
            open(client.download_artifacts(run.info.run_id, "config.json", str(tmp_path))).read()
        )
        assert run.data.tags[f"{tracking.TAG_MACHINE_PREFIX}device"] == "cuda:0"  # not the CPU: its RSS
        share = packing.trial_share(from_dict(config), total_mb).share
        assert share < 1
        peaks = [m.value for m in client.get_metric_history(run.info.run_id, "memory/peak_mb")]
        assert peaks and max(peaks) <= share * total_mb, (share, peaks)


def test_the_estimate_holds_the_peaks_measured_on_this_gpu(tmp_path):
    """The memory bench on CUDA writes the schema the packing reads, and the shipped estimate (with its
    margin) is at least each measured peak; if not, commit this GPU's figures (see estimate.gpu_memory)."""
    out = tmp_path / "gpu_memory.json"
    assert memory_bench.main(["--json", str(out), "--device", "cuda"]) == 0
    report = json.loads(out.read_text())
    assert report["device"] == "cuda" and len(packing.calibrate(report)) == 2
    shipped = packing.shipped_calibrations()
    settings = [(base, size, point) for base, size, points in memory_bench.SETTINGS for point in points]
    for figure, (base, size, point) in zip(report["figures"], settings, strict=True):
        config = memory_bench.setting_config(base, size, *point, bf16=False)
        estimate = packing.estimated_peak_mb(config, packing.calibration_for(config, shipped))
        assert figure["peak_mb"] <= estimate * packing.MARGIN, (point, figure["peak_mb"], estimate)
    print(json.dumps(report["figures"], indent=1))
