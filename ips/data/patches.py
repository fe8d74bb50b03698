"""A batch of images seen as a lazy source of patches for the selection loop.

``ImagePatches(images, size, stride)`` copies nothing up front: ``take(indices)`` cuts out just the
patches asked for, so the selection loop's memory depends on ``memory_size + iteration_size`` and not
on the number of patches N.

Patch ``n`` sits at grid row ``n // columns`` and column ``n % columns``, its top-left pixel at
``(row * stride, column * stride)``. Where the grid does not tile the image (patch 75 on 1200x1600),
it still covers the whole image: the last row and column run past the border and the missing pixels
read as zero (zero padding at the bottom and right, never cropping). See ``ips.config.patch_grid_shape``.
"""

from __future__ import annotations

from collections.abc import Iterator

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
        self.offsets = torch.arange(self.size, device=images.device)  # [P]

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
        rows, cols = self.positions(indices)  # [B, k] each
        ys = (rows * self.stride).unsqueeze(-1) + self.offsets  # [B, k, P]
        xs = (cols * self.stride).unsqueeze(-1) + self.offsets  # [B, k, P]
        batch = torch.arange(self.batch_size, device=self.images.device).view(-1, 1, 1, 1)  # [B, 1, 1, 1]
        # Advanced indexing with the channel slice in the middle puts the broadcast index dims first:
        # images[b, :, y, x] with index shapes [B,1,1,1], [B,k,P,1], [B,k,1,P] -> [B, k, P, P, C].
        patches = self.images.permute(0, 2, 3, 1)[batch, ys.unsqueeze(-1), xs.unsqueeze(-2)]
        return patches.permute(0, 1, 4, 2, 3)  # [B, k, C, P, P]

    def chunks(self, chunk_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """Patches in index order, ``chunk_size`` at a time: yields (indices [k], patches [B, k, C, P, P])."""
        for start in range(0, self.num_patches, chunk_size):
            indices = torch.arange(
                start, min(start + chunk_size, self.num_patches), device=self.images.device
            )
            yield indices, self.take(indices)

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
