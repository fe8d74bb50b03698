"""The published canvases travel to the device as uint8 and become float32 there, bit for bit.

The published renderer stores every value as ``uint8(255 x value)`` and reads the canvas back as
``canvas.astype(float32) / 255``, so shipping the bytes (4x less to collate, pin and copy at paper scale)
and converting them on the device is exact. Here the "device" is the CPU: the conversion is a table
lookup whose result does not depend on where it runs.
"""

from __future__ import annotations

import numpy as np
import torch

from ips.config import IPSConfig, MegapixelMNISTConfig, override
from ips.data.megapixel_mnist import MegapixelMNIST
from ips.device import to_device
from ips.train import build_loaders

SMALL = dict(canvas_height=300, canvas_width=300, train_canvases=4, validation_canvases=4, data_seed=2)


def published(**changes) -> MegapixelMNIST:
    config = MegapixelMNISTConfig(**{**SMALL, "renderer": "followup_published", "noise_count": 80, **changes})
    return MegapixelMNIST(config, "train", noise_bank_size=60)


def test_every_byte_becomes_the_published_renderers_float():
    values = np.arange(256, dtype=np.uint8)
    expected = torch.from_numpy(values.astype(np.float32) / np.float32(255))
    images, _ = to_device(torch.from_numpy(values).view(1, 1, 16, 16), {}, torch.device("cpu"))
    assert images.dtype == torch.float32
    assert torch.equal(images.flatten(), expected)


def test_byte_canvases_are_the_float_canvases_exactly():
    floats = published()
    as_bytes = floats.byte_canvases()
    for index in range(len(floats)):
        image, labels = floats[index]
        raw, raw_labels = as_bytes[index]
        assert raw.dtype == torch.uint8 and raw.shape == image.shape
        converted, _ = to_device(raw.unsqueeze(0), {}, torch.device("cpu"))
        assert torch.equal(converted[0], image)
        assert all(torch.equal(raw_labels[name], value) for name, value in labels.items())
    assert floats[0][0].dtype == torch.float32  # the dataset itself still serves floats


def test_the_real_valued_renderer_keeps_float_canvases():
    dataset = published(renderer="real_valued")
    assert dataset.byte_canvases() is dataset  # its values are not multiples of 1/255


def test_a_cuda_loader_ships_bytes_and_a_cpu_loader_floats():
    config = override(IPSConfig(), {"data.renderer": "followup_published"})
    data = published()
    cuda_train, cuda_validation = build_loaders(config, data, data, torch.device("cuda"), 0)
    cpu_train, _ = build_loaders(config, data, data, torch.device("cpu"), 0)
    assert cuda_train.dataset[0][0].dtype == torch.uint8
    assert cuda_validation.dataset[0][0].dtype == torch.uint8
    assert cpu_train.dataset is data
