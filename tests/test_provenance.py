"""Provenance: the machine record and data fingerprint that say whether two runs can agree bit for bit."""

from __future__ import annotations

import torch

from ips.config import IPSConfig, override
from ips.data import build_datasets
from ips.provenance import cpu_model, data_fingerprint, machine

TINY = {
    "data.canvas_height": 150,
    "data.canvas_width": 150,
    "data.noise_count": 4,
    "data.train_canvases": 6,
    "data.validation_canvases": 4,
}


def config(**changes) -> IPSConfig:
    return override(IPSConfig(), {**TINY, **changes})


def test_the_machine_record_names_the_cpu_threads_and_library_versions():
    record = machine()
    assert record["cpu_model"] == cpu_model() and record["cpu_model"]
    assert record["torch_threads"] == str(torch.get_num_threads())
    assert record["torch"] == torch.__version__
    assert {"numpy", "pillow", "python", "cpu_capability"} <= set(record)


def test_the_fingerprint_tells_data_seeds_apart_and_repeats_for_the_same_data():
    first = data_fingerprint(build_datasets(config(**{"data.data_seed": 0}))[0])
    again = data_fingerprint(build_datasets(config(**{"data.data_seed": 0}))[0])
    other = data_fingerprint(build_datasets(config(**{"data.data_seed": 1}))[0])
    assert first == again and first != other and len(first) == 16


def test_a_data_seed_of_none_draws_each_seeds_own_canvases_under_one_configuration():
    seeds = [config(**{"data.data_seed": None, "seed": seed}) for seed in (0, 1)]
    assert [c.resolved_data.data_seed for c in seeds] == [0, 1]
    flat = [c.flatten() for c in seeds]
    assert {k: v for k, v in flat[0].items() if k != "seed"} == {
        k: v for k, v in flat[1].items() if k != "seed"
    }
    images = [build_datasets(c)[1][0][0] for c in seeds]  # validation canvas 0 of each seed
    assert not torch.equal(images[0], images[1])
    fixed = config(**{"data.data_seed": 0, "seed": 1})  # a fixed data seed: every seed sees the same data
    assert torch.equal(
        build_datasets(fixed)[1][0][0], build_datasets(config(**{"data.data_seed": 0}))[1][0][0]
    )
