"""Every trial trains on the device Ray gave it, says so in its run, and fails loudly when it cannot.

These run on a CPU machine by simulating what Ray hands a trial (its assigned resources) and what a GPU
machine shows it (``torch.cuda.is_available`` and the card's properties monkeypatched): Ray 2.60 no
longer hides the GPUs from a worker given none of them, so a CPU trial on a GPU machine sees CUDA.
"""

from __future__ import annotations

import json
import os
import signal
from types import SimpleNamespace

import pytest
import torch

from ips.config import IPSConfig
from ips.device import default_device
from study import trainable
from study.ray_config import PROVENANCE_KEY

CARD_BYTES = 80 * 2**30


class FitCalled(Exception):
    """Raised by the fake ``fit`` once it has recorded how the trial called it."""


class FakeDataset:
    def label_counts(self) -> dict:
        return {"majority": {"0": 1}}


def fake_tune(reports: list[dict], resources: dict[str, float]) -> SimpleNamespace:
    context = SimpleNamespace(
        get_trial_resources=lambda: SimpleNamespace(required_resources=resources),
        get_trial_id=lambda: "trial0",
    )
    return SimpleNamespace(
        get_context=lambda: context,
        get_checkpoint=lambda: None,
        report=lambda metrics, checkpoint=None: reports.append(metrics),
        Checkpoint=SimpleNamespace(from_directory=lambda path: path),
    )


@pytest.fixture
def run_trial(monkeypatch):
    """Run ``train_trial`` up to ``fit`` with Ray's context faked; returns (fit's kwargs, the reports)."""

    def run(resources: dict[str, float], *, gpu_machine: bool) -> tuple[dict, list[dict]]:
        calls: dict = {}
        reports: list[dict] = []
        monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu_machine)
        monkeypatch.setattr(
            torch.cuda, "get_device_properties", lambda index: SimpleNamespace(total_memory=CARD_BYTES)
        )
        cap = lambda *args, **kwargs: calls.update(cap=args)  # noqa: E731
        monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", cap)
        monkeypatch.setattr(trainable, "tune", fake_tune(reports, resources))
        node = SimpleNamespace(get_node_id=lambda: "node0")
        monkeypatch.setattr(trainable, "ray", SimpleNamespace(get_runtime_context=lambda: node))
        monkeypatch.setattr(trainable, "build_datasets", lambda config: (FakeDataset(), FakeDataset()))
        monkeypatch.setattr(trainable, "data_fingerprint", lambda data: "0" * 16)
        threads = torch.get_num_threads()

        def fake_fit(config, train_data, val_data, *, on_epoch_end, **kwargs):
            calls.update(kwargs)
            on_epoch_end(SimpleNamespace(epoch=1, metrics={"epoch": 1}, save_checkpoint=os.makedirs))
            raise FitCalled

        monkeypatch.setattr(trainable, "fit", fake_fit)
        try:
            with pytest.raises(FitCalled):
                trainable.train_trial({"base": IPSConfig().to_dict(), "trial": {"overrides": {}}})
        finally:
            torch.set_num_threads(threads)
        return calls, reports

    return run


def trained_on(calls: dict) -> torch.device:
    """The device ``fit`` trains on when called with ``calls`` (its default when none is given)."""
    device = calls.get("device")
    return torch.device(device) if device is not None else default_device()


def test_a_trial_given_no_gpu_trains_on_the_cpu_of_a_gpu_machine_uncapped(run_trial):
    calls, reports = run_trial({"CPU": 2.0, "GPU": 0.0}, gpu_machine=True)
    assert trained_on(calls).type == "cpu"
    assert "cap" not in calls
    assert json.loads(reports[0][PROVENANCE_KEY])["device"] == "cpu"  # the run's ips.machine.device tag


def test_a_gpu_trial_trains_on_its_card_under_its_cap_and_says_so(run_trial):
    calls, reports = run_trial({"CPU": 4.0, "GPU": 0.25}, gpu_machine=True)
    assert trained_on(calls).type == "cuda"
    assert calls["num_workers"] == 3  # one core trains, the others render canvases
    (fraction,) = calls["cap"][:1]
    assert 0.125 <= fraction < 0.25
    assert json.loads(reports[0][PROVENANCE_KEY])["device"] == "cuda:0"


def test_a_gpu_trial_that_cannot_see_cuda_fails_with_a_message(run_trial):
    with pytest.raises(RuntimeError, match="CUDA_VISIBLE_DEVICES"):
        run_trial({"CPU": 1.0, "GPU": 0.25}, gpu_machine=False)


def test_ray_hides_the_gpus_from_a_trial_given_none(monkeypatch):
    """The launch asks Ray (2.60) to set CUDA_VISIBLE_DEVICES="" for workers with no GPU, locally (the
    raylet inherits the driver's environment) and on a cluster (the job's runtime environment)."""
    import ray

    from study import launch

    seen: list[tuple[dict, str | None]] = []

    def fake_init(**kwargs):
        seen.append((kwargs, os.environ.get("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO")))

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.delenv("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", raising=False)
    launch.start_ray(None)
    launch.start_ray("ray://head:10001")
    assert [variable for _, variable in seen] == ["1", "1"]
    cluster = seen[1][0]
    assert cluster["runtime_env"]["env_vars"]["RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"] == "1"
