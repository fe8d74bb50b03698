"""PatchEncoder: stages, channels, output dims, and the ImageNet weights (cached by hand, or unavailable)."""

from __future__ import annotations

import os
import time
import urllib.request

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from ips.config import EncoderConfig
from ips.encoder import (
    ARCHITECTURES,
    DOWNLOAD_PROBE_TIMEOUT_SECONDS,
    PatchEncoder,
    PretrainedWeightsUnavailable,
    weights_cache_path,
)

torch.set_num_threads(1)

TRUNK_CHANNELS = {("resnet18", 2): 128, ("resnet18", 4): 512, ("resnet50", 2): 512, ("resnet50", 4): 2048}


@pytest.mark.parametrize("architecture", ["resnet18", "resnet50"])
@pytest.mark.parametrize("stages", [2, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_dims(architecture, stages, channels):
    encoder = PatchEncoder(EncoderConfig(architecture, False, channels, stages), embedding_dim=24).eval()
    assert encoder.trunk_channels == TRUNK_CHANNELS[architecture, stages]
    assert encoder.trunk[0].in_channels == channels
    residual_stages = [module for module in encoder.trunk if isinstance(module, nn.Sequential)]
    assert len(residual_stages) == stages
    with torch.no_grad():
        assert encoder(torch.rand(3, channels, 32, 32)).shape == (3, 24)


def test_projection_is_the_identity_when_widths_agree():
    assert isinstance(PatchEncoder(EncoderConfig(stages=2), 128).projection, nn.Identity)
    assert isinstance(PatchEncoder(EncoderConfig(stages=2), 64).projection, nn.Linear)


def test_wrong_input_channels_are_named():
    encoder = PatchEncoder(EncoderConfig(input_channels=1), 16)
    with pytest.raises(ValueError, match=r"expects patches \[n, 1, P, P\]"):
        encoder(torch.rand(2, 3, 16, 16))


def test_gradients_reach_the_stem():
    encoder = PatchEncoder(EncoderConfig(), 16).train()
    encoder(torch.rand(4, 1, 16, 16)).square().sum().backward()
    assert encoder.trunk[0].weight.grad.abs().sum() > 0


# -------------------------------------------------------------------------------- ImageNet weights


def place_weights_by_hand(torch_home) -> dict[str, torch.Tensor]:
    """Save a (random) resnet18 state dict where torchvision caches the ImageNet file, as a user would."""
    torch.manual_seed(7)
    state = resnet18(weights=None).state_dict()
    path = weights_cache_path(ARCHITECTURES["resnet18"][1].url)
    assert path.startswith(str(torch_home))
    torch.save(state, _make_parent(path))
    return state


def _make_parent(path: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def test_weights_placed_by_hand_are_loaded_and_the_grey_stem_sums_rgb(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    state = place_weights_by_hand(tmp_path)
    grey = PatchEncoder(EncoderConfig("resnet18", pretrained=True, input_channels=1, stages=4), 512)
    colour = PatchEncoder(EncoderConfig("resnet18", pretrained=True, input_channels=3, stages=2), 128)
    torch.testing.assert_close(grey.trunk[0].weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    torch.testing.assert_close(colour.trunk[0].weight, state["conv1.weight"])
    torch.testing.assert_close(grey.trunk[4][0].conv1.weight, state["layer1.0.conv1.weight"])
    torch.testing.assert_close(grey.trunk[7][1].bn2.running_var, state["layer4.1.bn2.running_var"])
    # A grey image through the summed stem equals the same image repeated in R, G and B.
    image = torch.rand(1, 1, 16, 16)
    torch.testing.assert_close(grey.trunk[0](image), colour.trunk[0](image.expand(-1, 3, -1, -1)))


def download_server_reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
        return True
    except OSError:
        return False


def test_unavailable_weights_fail_fast_with_the_cache_path_and_the_fix(tmp_path, monkeypatch):
    url = ARCHITECTURES["resnet18"][1].url
    if download_server_reachable(url):
        pytest.skip("download.pytorch.org is reachable here: the weights would really be downloaded")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    started = time.monotonic()
    with pytest.raises(PretrainedWeightsUnavailable) as raised:
        PatchEncoder(EncoderConfig("resnet18", pretrained=True), 128)
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert "could not be fetched" in message
    assert url in message
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in message  # where to put it
    assert "TORCH_HOME" in message and "encoder.pretrained=False" in message
    assert elapsed < DOWNLOAD_PROBE_TIMEOUT_SECONDS + 5, f"took {elapsed:.1f} s to fail"
    assert not (tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth").exists()


def test_unreadable_cached_weights_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = _make_parent(weights_cache_path(ARCHITECTURES["resnet18"][1].url))
    with open(path, "w") as broken:
        broken.write("not a checkpoint")
    with pytest.raises(PretrainedWeightsUnavailable, match="(?s)could not be read.*delete the file"):
        PatchEncoder(EncoderConfig("resnet18", pretrained=True), 128)
