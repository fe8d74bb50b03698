"""Lazy patch sources: take() must agree with slicing the (zero-padded) image."""

import pytest
import torch

from ips.config import patch_grid_shape
from ips.data.patches import ImagePatches, TensorPatches


def sliced(images, size, stride, rows, cols):
    """Reference: every patch by plain slicing of the image zero-padded to the grid, [B, N, C, P, P]."""
    batch, channels, height, width = images.shape
    padded = torch.zeros(batch, channels, (rows - 1) * stride + size, (cols - 1) * stride + size)
    padded[:, :, :height, :width] = images
    patches = [
        padded[:, :, r * stride : r * stride + size, c * stride : c * stride + size]
        for r in range(rows)
        for c in range(cols)
    ]
    return torch.stack(patches, dim=1)


@pytest.mark.parametrize(
    ("height", "width", "size", "stride"),
    [(40, 60, 10, 10), (40, 60, 10, 5), (43, 61, 10, 10), (43, 61, 8, 6), (30, 20, 7, 9), (12, 15, 20, 20)],
)
def test_take_agrees_with_slicing(height, width, size, stride):
    images = torch.rand(2, 3, height, width)
    source = ImagePatches(images, size, stride)
    rows, cols = patch_grid_shape(height, width, size, stride)
    assert (source.rows, source.columns, source.num_patches) == (rows, cols, rows * cols)
    reference = sliced(images, size, stride, rows, cols)
    torch.testing.assert_close(source.all(), reference, rtol=0, atol=0)
    k = min(5, rows * cols)
    indices = torch.stack([torch.randperm(rows * cols)[:k], torch.randperm(rows * cols)[:k]])  # [B, k]
    taken = source.take(indices)
    assert taken.shape == (2, k, 3, size, size)
    for b in range(2):
        torch.testing.assert_close(taken[b], reference[b, indices[b]], rtol=0, atol=0)


def test_patch_75_on_1200x1600_gives_16x22_patches_padded_with_zeros():
    images = torch.rand(1, 1, 1200, 1600) + 0.5  # no pixel of the image is 0
    source = ImagePatches(images, 75)
    assert (source.rows, source.columns, source.num_patches) == (16, 22, 352)
    last_column = source.take(torch.tensor([21]))[0, 0, 0]  # row 0, columns 1575..1650
    torch.testing.assert_close(last_column[:, :25], images[0, 0, :75, 1575:1600], rtol=0, atol=0)
    assert (last_column[:, 25:] == 0).all()
    bottom_left = source.take(torch.tensor([15 * 22]))[0, 0, 0]  # rows 1125..1200 tile exactly
    torch.testing.assert_close(bottom_left, images[0, 0, 1125:1200, :75], rtol=0, atol=0)


def test_one_dimensional_indices_take_the_same_patches_from_every_image():
    images = torch.rand(3, 1, 30, 30)
    source = ImagePatches(images, 10)
    indices = torch.tensor([8, 0, 4])
    torch.testing.assert_close(source.take(indices), source.take(indices.expand(3, -1)), rtol=0, atol=0)


def test_tensor_patches_take_agrees_with_image_patches():
    source = ImagePatches(torch.rand(2, 3, 33, 41), 8, 8)
    tensor_source = TensorPatches(source.all())
    assert tensor_source.num_patches == source.num_patches and tensor_source.batch_size == 2
    indices = torch.tensor([[3, 1, 20], [0, 19, 7]])
    torch.testing.assert_close(tensor_source.take(indices), source.take(indices), rtol=0, atol=0)
    torch.testing.assert_close(tensor_source.take(indices[0]), source.take(indices[0]), rtol=0, atol=0)


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="batch, channels, height, width"):
        ImagePatches(torch.rand(3, 30, 30), 10)
    with pytest.raises(ValueError, match="batch, N, channels, P, P"):
        TensorPatches(torch.rand(2, 5, 10, 10))
