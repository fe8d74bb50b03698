"""A batch of images seen as a lazy source of patches for the selection loop.

``ImagePatches(images, size, stride)`` copies nothing up front: ``take(indices)`` cuts out just the
patches asked for, so the selection loop's memory depends on ``memory_size + iteration_size`` and not
on the number of patches N.

Patch ``n`` sits at grid row ``n // columns`` and column ``n % columns``, its top-left pixel at
``(row * stride, column * stride)``. Where the grid does not tile the image (patch 75 on 1200x1600),
it still covers the whole image: the last row and column run past the border and the missing pixels
read as zero (zero padding at the bottom and right, never cropping). See ``ips.config.patch_grid_shape``.

Both sources also answer, for the selection pass's blank-patch reuse (``ips.blank_patches``):
``take_pairs(batch_index, patch_index)``, patches of several images as one flat batch [n, C, P, P]; and
``constant_fills()``, which patches hold one value per channel and that value ([B, N] and [B, N, C]),
computed in one pass over the image without cutting a patch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ips.config import patch_grid_shape


class ImagePatches:
    """Patches of ``images`` [B, C, H, W] of ``size`` pixels every ``stride`` pixels, cut on demand."""

    def __init__(self, images: Tensor, size: int, stride: int | None = None) -> None:
        if images.dim() != 4:
            raise ValueError(
                f"images must be [batch, channels, height, width], got shape {tuple(images.shape)}"
            )
        self.size = size
        self.stride = stride or size
        batch, channels, height, width = images.shape
        self.rows, self.columns = patch_grid_shape(height, width, self.size, self.stride)
        padded_height = (self.rows - 1) * self.stride + self.size
        padded_width = (self.columns - 1) * self.stride + self.size
        if padded_height > height or padded_width > width:
            # Only the border needs zeros; padding once costs one copy of the image, not of N patches.
            images = torch.nn.functional.pad(images, (0, padded_width - width, 0, padded_height - height))
        self.images = images
        self.batch_size = batch
        self.channels = channels
        # Every patch as a strided view of the image, nothing copied: [B, rows, cols, C, P, P].
        sb, sc, sh, sw = images.stride()
        self.grid = images.as_strided(
            (batch, self.rows, self.columns, channels, self.size, self.size),
            (sb, self.stride * sh, self.stride * sw, sc, sh, sw),
        )

    @property
    def num_patches(self) -> int:
        return self.rows * self.columns

    @property
    def device(self) -> torch.device:
        return self.images.device

    def positions(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """Grid (row, column) of each flat patch index."""
        return indices // self.columns, indices % self.columns

    def take(self, indices: Tensor) -> Tensor:
        """Patches at flat ``indices`` [B, k] (or [k], the same for every image) -> [B, k, C, P, P]."""
        if indices.dim() == 1:
            indices = indices.unsqueeze(0).expand(self.batch_size, -1)
        indices = indices.to(self.images.device)
        batch = torch.arange(self.batch_size, device=self.images.device).unsqueeze(1)  # [B, 1]
        rows, cols = self.positions(indices)  # [B, k] each
        return self.grid[batch, rows, cols]  # [B, k, C, P, P]: whole rows of P pixels copied at once

    def take_pairs(self, batch_index: Tensor, patch_index: Tensor) -> Tensor:
        """Patch ``patch_index[i]`` of image ``batch_index[i]`` for each i: [n], [n] -> [n, C, P, P]."""
        rows, cols = self.positions(patch_index.to(self.images.device))  # [n] each
        return self.grid[batch_index.to(self.images.device), rows, cols]  # [n, C, P, P]

    def constant_fills(self) -> tuple[Tensor, Tensor]:
        """(constant [B, N] bool: the patch holds one value per channel, fills [B, N, C]: that value)."""
        low = self.grid.amin(dim=-1).amin(dim=-1)  # [B, rows, cols, C] (row by row: faster on a view)
        high = self.grid.amax(dim=-1).amax(dim=-1)  # [B, rows, cols, C]
        constant = (low == high).all(dim=-1)  # [B, rows, cols]; a NaN anywhere makes a patch non-constant
        return constant.flatten(1), low.flatten(1, 2)  # [B, N], [B, N, C]

    def all(self) -> Tensor:
        """Every patch at once, [B, N, C, P, P]: for tests and small images only."""
        return self.take(torch.arange(self.num_patches, device=self.images.device))


class TensorPatches:
    """Patches already cut, [B, N, C, P, P], with the same ``take`` interface as ``ImagePatches``."""

    def __init__(self, patches: Tensor) -> None:
        if patches.dim() != 5:
            raise ValueError(f"patches must be [batch, N, channels, P, P], got shape {tuple(patches.shape)}")
        self.patches = patches
        self.batch_size = patches.shape[0]

    @property
    def num_patches(self) -> int:
        return self.patches.shape[1]

    @property
    def device(self) -> torch.device:
        return self.patches.device

    def take(self, indices: Tensor) -> Tensor:
        if indices.dim() == 1:
            indices = indices.unsqueeze(0).expand(self.batch_size, -1)
        indices = indices.to(self.patches.device)
        gather = indices.view(*indices.shape, 1, 1, 1).expand(-1, -1, *self.patches.shape[2:])
        return torch.gather(self.patches, 1, gather)  # [B, k, C, P, P]

    def take_pairs(self, batch_index: Tensor, patch_index: Tensor) -> Tensor:
        """Patch ``patch_index[i]`` of image ``batch_index[i]`` for each i: [n], [n] -> [n, C, P, P]."""
        device = self.patches.device
        return self.patches[batch_index.to(device), patch_index.to(device)]  # [n, C, P, P]

    def constant_fills(self) -> tuple[Tensor, Tensor]:
        """(constant [B, N] bool, fills [B, N, C]), as ``ImagePatches.constant_fills``."""
        return constant_fills(self.patches)


def constant_fills(patches: Tensor) -> tuple[Tensor, Tensor]:
    """Patches [B, k, C, P, P] -> (constant [B, k] bool: one value per channel, fills [B, k, C])."""
    low = patches.amin(dim=(-2, -1))  # [B, k, C]
    high = patches.amax(dim=(-2, -1))  # [B, k, C]
    return (low == high).all(dim=-1), low  # [B, k], [B, k, C]
