"""The datasets, chosen by ``config.data.name``: ``build_datasets(config) -> (train, validation)``, and
``digits_reused(config.data)``, the note on a Megapixel MNIST config that draws shipped digits again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import Dataset

from ips.data.mnist_digits import digit_reuse
from ips.dataset_config import MegapixelMNISTConfig


def _megapixel_mnist(data: Any, split: str) -> Dataset:
    from ips.data.megapixel_mnist import MegapixelMNIST

    return MegapixelMNIST(data, split)


def _traffic_signs(data: Any, split: str) -> Dataset:
    from ips.data.traffic_signs import TrafficSigns  # imported here: it needs its files only when used

    return TrafficSigns.from_config(data, split)


DATASETS: dict[str, Callable[[Any, str], Dataset]] = {
    "megapixel_mnist": _megapixel_mnist,
    "traffic_signs": _traffic_signs,
}


def build_datasets(config: Any) -> tuple[Dataset, Dataset]:
    """The training and validation sets that ``config.data`` describes (an ``ips.config.IPSConfig``)."""
    name = config.data.name
    if name not in DATASETS:
        raise ValueError(f"data.name: unknown dataset {name!r}; use one of {sorted(DATASETS)}")
    build, data = DATASETS[name], config.resolved_data  # data_seed None: the trial's seed
    return build(data, "train"), build(data, "validation")


def digits_reused(data: Any) -> str | None:
    """``ips.data.mnist_digits.digit_reuse`` of a data config: how often a Megapixel MNIST config draws
    each shipped digit (None where none is drawn twice, and for other datasets)."""
    if not isinstance(data, MegapixelMNISTConfig):
        return None
    return digit_reuse(data.train_canvases, data.validation_canvases, data.mnist_path)
