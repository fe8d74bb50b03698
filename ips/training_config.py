"""The configs of a training run's parts: the encoder, the aggregator, the selection, the patches and the
optimisation (``ips.config`` puts them together into ``IPSConfig`` and re-exports them).

Full-word names (``memory_size``, not ``M``); every invalid value raises ``ConfigError`` naming the field
and the fix when the config is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ips.config_coercion import require


def patch_grid_shape(height: int, width: int, size: int, stride: int) -> tuple[int, int]:
    """Rows and columns of the patch grid over a ``height`` x ``width`` image.

    Patches start at 0, stride, 2*stride, ... and the grid covers the whole image: where the last
    patch would run past the border, the image is zero-padded at the bottom and right (never
    cropped, so an object at the border is never lost). For patch 75 on 1200x1600 this gives
    16 x 22 patches, the last column covering 1575..1650, of which 50 pixels are padding.
    """
    rows = max(1, math.ceil((height - size) / stride) + 1) if height > size else 1
    cols = max(1, math.ceil((width - size) / stride) + 1) if width > size else 1
    return rows, cols


# --------------------------------------------------------------------------------------------- parts


@dataclass(frozen=True)
class EncoderConfig:
    """ResNet trunk that turns one patch into one embedding."""

    architecture: Literal["resnet18", "resnet50"] = "resnet18"
    pretrained: bool = False  # ImageNet weights (torchvision); needs them cached or downloadable
    input_channels: int = 1  # 1 (Megapixel MNIST) or 3 (traffic signs)
    stages: int = 2  # residual stages kept: 2 (Megapixel MNIST) or 4 (traffic signs)
    # The trunk in channels-last memory format: 1.1-1.3x faster, the same results to float rounding but not
    # to the last bit, so selections can differ where scores tie to the last bit (among blank patches).
    channels_last: bool = False

    def __post_init__(self) -> None:
        require(
            self.architecture in ("resnet18", "resnet50"),
            "encoder.architecture",
            f"unknown architecture {self.architecture!r}; use 'resnet18' or 'resnet50'",
        )
        require(
            self.input_channels in (1, 3),
            "encoder.input_channels",
            f"got {self.input_channels}; use 1 (grey images) or 3 (colour images)",
        )
        require(self.stages in (2, 4), "encoder.stages", f"got {self.stages}; use 2 or 4 residual stages")


@dataclass(frozen=True)
class AggregatorConfig:
    """Cross-attention pooling from one learnable query token per task to the patch embeddings."""

    embedding_dim: int = 128
    heads: int = 8
    key_dim_per_head: int = 16
    value_dim_per_head: int = 16
    mlp_dim: int = 512
    dropout: float = 0.1
    attention_dropout: float = 0.1
    # 1-D sinusoidal encoding of each patch's index in the grid. On by default, as in both published
    # codebases' Megapixel MNIST configs and every run of the follow-up (use_pos: True): without it the
    # pooling cannot tell where a patch is, and the 'top' task can only be guessed from content. IPS's
    # traffic-sign config turns it off (our traffic studies do too).
    positional_encoding: bool = True

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "heads", "key_dim_per_head", "value_dim_per_head", "mlp_dim"):
            value = getattr(self, name)
            require(value >= 1, f"aggregator.{name}", f"got {value}; must be a positive integer")
        require(
            self.embedding_dim % self.heads == 0,
            "aggregator.embedding_dim",
            f"{self.embedding_dim} is not divisible by aggregator.heads={self.heads}; "
            f"choose an embedding_dim that is a multiple of heads (e.g. {self.heads * 16})",
        )
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            require(0.0 <= value < 1.0, f"aggregator.{name}", f"got {value}; must be in [0, 1)")


@dataclass(frozen=True)
class SelectionConfig:
    """The IPS loop: keep ``memory_size`` patches, scan ``iteration_size`` new ones at a time."""

    memory_size: int = 100
    iteration_size: int = 100
    # Visit patches in a random order (breaks ties among equal scores, e.g. blank patches, at random).
    # On by default, as in every IPS config and every published run; off, ties go to the top-left.
    shuffle: bool = True
    reuse_blank_patches: bool = True  # embed each constant patch once per pass: exact, same selections

    def __post_init__(self) -> None:
        require(
            self.memory_size >= 1,
            "selection.memory_size",
            f"got {self.memory_size}; memory_size must be at least 1 (the paper uses 100 on Megapixel MNIST)",
        )
        require(
            self.iteration_size >= 1,
            "selection.iteration_size",
            f"got {self.iteration_size}; iteration_size must be at least 1",
        )


@dataclass(frozen=True)
class PatchConfig:
    """Square patches of ``size`` pixels every ``stride`` pixels (``stride=None``: ``stride = size``)."""

    size: int = 50
    stride: int | None = None

    def __post_init__(self) -> None:
        require(self.size >= 1, "patches.size", f"got {self.size}; patch size must be a positive integer")
        require(
            self.stride is None or self.stride >= 1,
            "patches.stride",
            f"got {self.stride}; use a positive stride, or leave it unset for stride = size",
        )

    @property
    def effective_stride(self) -> int:
        """The stride actually used: ``stride``, or ``size`` where it is unset."""
        return self.stride if self.stride is not None else self.size


BF16_MODES = ("auto", "off", "scan", "scan_and_step")


@dataclass(frozen=True)
class OptimisationConfig:
    """AdamW with linear warm-up, then cosine decay to ``final_lr`` (= lr x 1e-3), stepped per batch."""

    epochs: int = 100
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_epochs: int = 10
    final_lr_ratio: float = 1e-3
    # bf16 autocast: "auto" (scan and step on CUDA, off on CPU), "off", "scan" (the selection pass only) or
    # "scan_and_step", on any device; True and False (older configs) mean "scan_and_step" and "off".
    bf16: bool | Literal["auto", "off", "scan", "scan_and_step"] = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.bf16, bool):
            object.__setattr__(self, "bf16", "scan_and_step" if self.bf16 else "off")
        require(
            self.bf16 in BF16_MODES,
            "optimisation.bf16",
            f"got {self.bf16!r}; use one of {list(BF16_MODES)}",
        )
        require(self.epochs >= 1, "optimisation.epochs", f"got {self.epochs}; train for at least 1 epoch")
        require(self.batch_size >= 1, "optimisation.batch_size", f"got {self.batch_size}; must be >= 1")
        require(self.lr > 0, "optimisation.lr", f"got {self.lr}; the learning rate must be positive")
        require(self.weight_decay >= 0, "optimisation.weight_decay", f"got {self.weight_decay}; must be >= 0")
        require(
            0 <= self.warmup_epochs <= self.epochs,
            "optimisation.warmup_epochs",
            f"got {self.warmup_epochs}; must be between 0 and epochs={self.epochs}",
        )
        require(
            0 < self.final_lr_ratio <= 1,
            "optimisation.final_lr_ratio",
            f"got {self.final_lr_ratio}; must be in (0, 1]",
        )

    @property
    def final_lr(self) -> float:
        return self.lr * self.final_lr_ratio

    def bf16_on(self, device_type: str) -> tuple[bool, bool]:
        """(bf16 for the selection pass, bf16 for the training step) on a ``device_type`` device."""
        mode = ("scan_and_step" if device_type == "cuda" else "off") if self.bf16 == "auto" else self.bf16
        return mode in ("scan", "scan_and_step"), mode == "scan_and_step"
