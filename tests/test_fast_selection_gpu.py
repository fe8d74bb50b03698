"""On CUDA: the fast selection path against the plain one (fp32 and bf16), and the bench's --baseline.

Run with ``pytest -m gpu`` on a machine with a CUDA device. cuDNN may pick a convolution algorithm per
batch size, so the fp32 test asks for deterministic algorithms and compares selections where the kept
patches are not tied (more ink patches than the memory holds); bf16 is compared by its overlap.
"""

from __future__ import annotations

import json

import pytest
import torch

from bench.throughput import main as bench_main
from ips.config import override
from ips.data.patches import ImagePatches
from ips.device import bf16_autocast
from ips.model import IPSModel, evaluating
from ips.optimisation import build_optimizer
from ips.train import train_step

try:  # `python -m pytest` puts the repository on sys.path
    from tests.test_fast_selection import PLAIN, canvases, mnist_config
except ModuleNotFoundError:
    from test_fast_selection import PLAIN, canvases, mnist_config

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture
def deterministic_cudnn():
    previous = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous


def cuda_twins(config, **fast_changes):
    torch.manual_seed(0)
    fast = IPSModel(override(config, fast_changes)).cuda()
    plain = IPSModel(override(config, PLAIN)).cuda()
    plain.load_state_dict(fast.state_dict())
    return fast, plain


def select(model, images, bf16: bool = False):
    source = ImagePatches(images, model.config.patches.size)
    with evaluating(model), bf16_autocast(images.device, bf16):
        return model.select(source, return_all_scores=True)


@pytest.mark.parametrize("source_device", ["cuda", "cpu"])
def test_fast_path_selects_the_plain_paths_patches_in_fp32_on_cuda(deterministic_cudnn, source_device):
    config = mnist_config(noise_count=60, memory=16)
    images, _ = canvases(config)
    images = images.to(source_device)
    fast, plain = cuda_twins(config)
    chosen, reference = select(fast, images), select(plain, images)
    assert torch.equal(chosen.indices.cpu(), reference.indices.cpu())
    assert torch.equal(chosen.patches.cpu(), reference.patches.cpu())
    torch.testing.assert_close(chosen.all_scores, reference.all_scores, rtol=1e-4, atol=1e-6)


def test_bf16_scan_keeps_most_of_the_plain_selection_on_cuda():
    config = mnist_config(noise_count=60, memory=16)
    images, _ = canvases(config)
    fast, plain = cuda_twins(config, **{"encoder.channels_last": True})
    chosen, reference = select(fast, images.cuda(), bf16=True), select(plain, images.cuda())
    for kept, wanted in zip(chosen.indices.tolist(), reference.indices.tolist(), strict=True):
        assert len(set(kept) & set(wanted)) >= 0.75 * len(wanted)
    torch.testing.assert_close(chosen.all_scores.float(), reference.all_scores, rtol=0.1, atol=5e-3)


def test_training_steps_of_both_paths_agree_in_fp32_on_cuda(deterministic_cudnn):
    config = mnist_config(noise_count=60, memory=16)
    images, labels = canvases(config)
    images, labels = images.cuda(), {name: value.cuda() for name, value in labels.items()}
    losses = []
    for model in cuda_twins(config):
        optimizer = build_optimizer(model, model.config)
        torch.manual_seed(3)
        losses.append(
            [train_step(model.train(), optimizer, images, labels, model.config)[0] for _ in range(2)]
        )
    assert losses[0] == pytest.approx(losses[1], rel=1e-4)


def test_bench_baseline_on_cuda_records_both_paths(tmp_path):
    path = tmp_path / "bench.json"
    argv = ["--baseline", "--device", "cuda", "--canvases", "600", "--batch-size", "2", "--json", str(path)]
    assert bench_main(argv) == 0
    result = json.loads(path.read_text())["results"][0]
    assert result["baseline"]["selection_seconds_per_batch"] > 0
    assert result["speedup"]["train_step"] > 0
    assert result["selection_peak_above_start_mb"] > 0 and result["train_step_peak_mb"] > 0
