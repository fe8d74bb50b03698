"""On a CUDA device (``pytest -m gpu``): a training step and a short fit, bf16 autocast, the bench.

Skipped where there is no CUDA device. Sizes are small: each test takes seconds on a GPU.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from tiny_configs import tiny_config

from bench import throughput as bench
from ips.config import IPSConfig
from ips.data import build_datasets
from ips.model import IPSModel
from ips.optimisation import build_optimizer
from ips.train import fit, train_step

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def small_config(bf16: bool = False) -> IPSConfig:
    return tiny_config(
        {
            "data.canvas_height": 300,
            "data.canvas_width": 300,
            "data.noise_count": 20,
            "data.train_canvases": 8,
            "data.validation_canvases": 4,
            "aggregator.embedding_dim": IPSConfig().aggregator.embedding_dim,
            "patches.size": 50,
            "selection.memory_size": 8,
            "selection.iteration_size": 16,
            "optimisation.batch_size": 4,
            "optimisation.epochs": 2,
            "optimisation.warmup_epochs": 0,
            "optimisation.bf16": bf16,
        }
    )


def batch(config: IPSConfig):
    images, labels = bench.batch_of_canvases(config, torch.device("cuda"))
    return images, labels


def test_a_training_step_on_cuda_updates_the_model_on_the_device():
    config = small_config()
    torch.manual_seed(0)
    model = IPSModel(config).cuda()
    optimizer = build_optimizer(model, config)
    before = [p.detach().clone() for p in model.parameters()]
    loss, logits, _ = train_step(model, optimizer, *batch(config), config)
    assert math.isfinite(loss)
    assert all(value.device.type == "cuda" for value in logits.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_short_fit_on_cuda_reports_cuda_peak_memory():
    config = small_config()
    train, val = build_datasets(config)
    result = fit(config, train, val, device="cuda")
    assert [row["epoch"] for row in result.history] == [1, 2]
    last = result.history[-1]
    assert math.isfinite(last["train/loss"]) and 0 <= last["val/accuracy"] <= 1
    assert 0 < last["memory/peak_mb"] < torch.cuda.get_device_properties(0).total_memory / 2**20


def test_bf16_autocast_runs_the_encoders_convolutions_in_bf16_and_gives_a_close_loss():
    losses = {}
    for bf16 in (False, True):
        config = small_config(bf16)
        torch.manual_seed(0)
        model = IPSModel(config).cuda()
        dtypes: list[torch.dtype] = []
        first_conv = next(m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d))
        hook = first_conv.register_forward_hook(lambda module, args, out, seen=dtypes: seen.append(out.dtype))
        loss, logits, _ = train_step(model, build_optimizer(model, config), *batch(config), config)
        hook.remove()
        losses[bf16] = loss
        assert math.isfinite(loss)
        assert set(dtypes) == ({torch.bfloat16} if bf16 else {torch.float32})
    assert losses[True] == pytest.approx(losses[False], rel=0.1)


def test_the_bench_measures_cuda_throughput_and_memory(tmp_path):
    out = tmp_path / "bench.json"
    arguments = ["--json", str(out), "--device", "cuda", "--canvases", "500", "1000", "--batch-size", "2"]
    assert bench.main(arguments) == 0
    report = json.loads(out.read_text())
    assert report["machine"]["device"] == "cuda" and report["machine"]["gpu"]
    for row in report["results"]:
        assert row["memory_method"] == "torch.cuda.max_memory_allocated"
        assert row["selection_peak_mb"] > 0 and row["train_step_images_per_second"] > 0
    # Selection memory does not grow with the number of patches (IPS's point): 100 vs 400 patches.
    small, large = (row["selection_peak_above_start_mb"] for row in report["results"])
    assert large < 1.5 * small + 16
