"""Patch encoder: a torchvision ResNet trunk that turns one patch into one embedding.

The trunk is the ResNet stem (conv, batch norm, ReLU, max pool) and the first ``stages`` residual
stages (2 for Megapixel MNIST, 4 for traffic signs, as in the paper), then a global average pool and a
linear projection to the aggregator's embedding dim (the identity where the widths already agree).

ImageNet weights (``pretrained=True``) come from torchvision's cache (``torch.hub.get_dir()``,
i.e. ``$TORCH_HOME/hub/checkpoints``); where they are not cached and cannot be downloaded,
``PretrainedWeightsUnavailable`` says where to put the file by hand. A 1-channel stem built from
pretrained weights sums the RGB filters, so a grey image gives the response of the same image in colour.

With ``encoder.channels_last`` the trunk's weights and its input are kept in channels-last memory format,
which oneDNN and cuDNN run faster; the results are the same to float rounding, not to the last bit.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import ResNet, ResNet18_Weights, ResNet50_Weights, resnet18, resnet50

from ips.config import EncoderConfig

# The classic ImageNet weights (what ``pretrained=True`` meant in torchvision before weight enums).
ARCHITECTURES = {
    "resnet18": (resnet18, ResNet18_Weights.IMAGENET1K_V1),
    "resnet50": (resnet50, ResNet50_Weights.IMAGENET1K_V1),
}
DOWNLOAD_PROBE_TIMEOUT_SECONDS = 10.0


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but are neither cached nor downloadable."""


# ------------------------------------------------------------------------------------ ImageNet weights


def weights_cache_path(url: str) -> str:
    """Where ``torch.hub`` caches (and first looks for) the file at ``url``."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))


def _check_downloadable(url: str, architecture: str) -> None:
    """Raise ``PretrainedWeightsUnavailable`` unless ``url`` answers within a few seconds.

    ``torch.hub`` downloads without a timeout, so without this probe a machine whose firewall drops
    packets would hang instead of failing.
    """
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=DOWNLOAD_PROBE_TIMEOUT_SECONDS):
            pass
    except (urllib.error.URLError, OSError) as error:
        raise PretrainedWeightsUnavailable(_unavailable_message(url, architecture, error)) from error


def _unavailable_message(url: str, architecture: str, reason: object) -> str:
    path = weights_cache_path(url)
    return (
        f"encoder.pretrained=True but the ImageNet weights of {architecture} could not be fetched from "
        f"{url} ({reason}). torchvision caches them at {path} (that is torch.hub.get_dir()/checkpoints; "
        "set TORCH_HOME to move it, default ~/.cache/torch). To place them by hand, download "
        f"{url} on a machine with internet access and copy the file, name unchanged, to {path}. "
        "Or set encoder.pretrained=False to train from scratch."
    )


def load_imagenet_weights(model: ResNet, architecture: str) -> None:
    """Load torchvision's ImageNet weights into ``model``, from the cache or else the internet."""
    url = ARCHITECTURES[architecture][1].url
    path = weights_cache_path(url)
    if os.path.exists(path):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            raise PretrainedWeightsUnavailable(
                f"the cached ImageNet weights of {architecture} at {path} could not be read "
                f"({type(error).__name__}: {str(error).splitlines()[0]}); "
                f"delete the file so that it is downloaded again, or replace it by hand with {url}"
            ) from error
    else:
        _check_downloadable(url, architecture)
        try:
            state = torch.hub.load_state_dict_from_url(
                url, progress=False, check_hash=True, map_location="cpu"
            )
        except (urllib.error.URLError, OSError, RuntimeError) as error:
            raise PretrainedWeightsUnavailable(_unavailable_message(url, architecture, error)) from error
    model.load_state_dict(state)


# ------------------------------------------------------------------------------------------- trunk


def _stem_for_channels(conv: nn.Conv2d, input_channels: int) -> nn.Conv2d:
    """The 3-channel ResNet stem conv adapted to ``input_channels`` (1 or 3).

    1 channel: the RGB filters summed, [64, 3, 7, 7] -> [64, 1, 7, 7], so pretrained features survive.
    """
    if input_channels == conv.in_channels:
        return conv
    stem = nn.Conv2d(
        input_channels,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        bias=False,
    )
    with torch.no_grad():
        stem.weight.copy_(conv.weight.sum(dim=1, keepdim=True))  # [64, 3, 7, 7] -> [64, 1, 7, 7]
    return stem


def _stage_width(stage: nn.Sequential) -> int:
    """Output channels of a residual stage (its last block's last batch norm)."""
    norms = [module for module in stage.modules() if isinstance(module, nn.BatchNorm2d)]
    return norms[-1].num_features


def resnet_trunk(encoder: EncoderConfig) -> tuple[nn.Sequential, int]:
    """The stem and the first ``encoder.stages`` residual stages; returns (trunk, output channels)."""
    build, _ = ARCHITECTURES[encoder.architecture]
    resnet = build(weights=None)
    if encoder.pretrained:
        load_imagenet_weights(resnet, encoder.architecture)
    stages = [resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4][: encoder.stages]
    stem = _stem_for_channels(resnet.conv1, encoder.input_channels)
    trunk = nn.Sequential(stem, resnet.bn1, resnet.relu, resnet.maxpool, *stages)
    return trunk, _stage_width(stages[-1])


# ----------------------------------------------------------------------------------------- encoder


class PatchEncoder(nn.Module):
    """ResNet trunk, global average pool, linear projection: patches [n, C, P, P] -> embeddings [n, D]."""

    def __init__(self, encoder: EncoderConfig, embedding_dim: int) -> None:
        super().__init__()
        self.input_channels = encoder.input_channels
        self.trunk, self.trunk_channels = resnet_trunk(encoder)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.projection = (
            nn.Identity()
            if self.trunk_channels == embedding_dim
            else nn.Linear(self.trunk_channels, embedding_dim)
        )
        self.embedding_dim = embedding_dim
        self.channels_last = encoder.channels_last
        if self.channels_last:
            self.trunk.to(memory_format=torch.channels_last)  # 4-D weights [out, in, k, k] only

    def features(self, x: Tensor) -> Tensor:
        """Patches [n, C, P, P] -> pooled trunk features [n, trunk_channels], before the projection.

        In eval mode each patch's features depend on that patch alone, to the last bit; the projection
        (a matrix product) may round a row differently with the number of rows, so the selection pass's
        blank-patch reuse applies it to whole chunks, as the plain pass does.
        """
        if x.dim() != 4 or x.shape[1] != self.input_channels:
            raise ValueError(
                f"PatchEncoder expects patches [n, {self.input_channels}, P, P], got shape {tuple(x.shape)}; "
                "flatten the batch and patch dims first (patches.flatten(0, 1))"
            )
        # One memory layout whatever the patches' source gave (oneDNN rounds differently per layout).
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        x = x.contiguous(memory_format=layout)  # same shape; a no-op where the layout is already right
        features = self.trunk(x)  # [n, trunk_channels, h, w]
        return self.pool(features).flatten(1)  # [n, trunk_channels, 1, 1] -> [n, trunk_channels]

    def forward(self, x: Tensor) -> Tensor:
        """Patches [n, C, P, P] -> embeddings [n, D]."""
        return self.projection(self.features(x))  # [n, D]
