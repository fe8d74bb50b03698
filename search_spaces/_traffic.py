"""The traffic-sign studies' shared base and smoke profile (Tables 5 and 6 of the follow-up).

Both studies train IPS on the Swedish Traffic Signs summer set (``ips.data.traffic_signs``): four
classes (no sign, 50, 70, 80 km/h), 1200x1600 images, a ResNet-18 with 4 stages from ImageNet weights,
memory 10, iteration 32, batch 16, lr 3e-4, 150 epochs, 5 seeds. ``data.root`` is set for every trial
by ``python -m study.run ... --data-root DIR`` (the folder holding ``Set1/`` and ``Set2/``).

Seeds do not vary the data split: ``seed`` varies the model's initialisation, the data order,
dropout and the selection shuffle; ``data.data_seed`` stays 0, so every seed trains on Set1 and
validates on Set2, on the same subsets, and the spread over seeds is the model's alone (the
follow-up's "5 model runs" logs all show seed 0 too). To vary the split, vary ``data.data_seed``.

The ``paper`` profiles validate as the follow-up's code did (``AUTHORS_VALIDATION``): the first
``int(count x fraction)`` images of each class of Set2, in file order, which gives the paper's 169 /
341 / 684 validation images (shared/paper/README.md item 12). The smoke profiles validate on
the whole set, as ``data.validation_subset = "full"`` (the default) does for any run.

Why the smoke profiles turn off ImageNet weights: they cannot be downloaded on an offline machine
(the encoder raises a clear error saying so), and the smoke profiles must run anywhere. The
``paper`` profile keeps them; fetch them once into the torch hub cache before running it offline.
"""

from __future__ import annotations

from typing import Any

from ips.config import (
    TRAFFIC_SIGNS_TASKS,
    AggregatorConfig,
    EncoderConfig,
    IPSConfig,
    OptimisationConfig,
    PatchConfig,
    SelectionConfig,
    TrafficSignsConfig,
)
from search_spaces._smoke import TINY_MODEL
from search_spaces._spec import Profile

BASE = IPSConfig(  # what the traffic signs change of IPSConfig's defaults (the rest: batch 16, ...)
    data=TrafficSignsConfig(fraction=0.25),  # 1200x1600 images, augmented: the defaults
    tasks=TRAFFIC_SIGNS_TASKS,
    encoder=EncoderConfig(pretrained=True, input_channels=3, stages=4),
    aggregator=AggregatorConfig(
        embedding_dim=512,
        key_dim_per_head=64,
        value_dim_per_head=64,
        mlp_dim=2048,
        positional_encoding=False,  # IPS's traffic config: use_pos False
    ),
    selection=SelectionConfig(memory_size=10, iteration_size=32),  # shuffled, as the published runs
    patches=PatchConfig(size=100),
    optimisation=OptimisationConfig(epochs=150, lr=3e-4),
)
SEEDS = (0, 1, 2, 3, 4)  # the model's seeds; the data split stays data.data_seed = 0
AUTHORS_VALIDATION: dict[str, Any] = {"data.validation_subset": "first_per_class"}
PAPER = Profile(
    note=(
        "The paper's settings, validated as the follow-up's code did: the first int(count x "
        "fraction) images of each class of the validation set (see search_spaces._traffic)."
    ),
    overrides=AUTHORS_VALIDATION,
    expected_time="a few GPU hours",
)

# smoke: images at a tenth of the side (120x160, the size of the tests' fixture JPEGs), patches divided
# by 5 (patch 15 still does not tile the width, as 75 does not tile 1600), a tiny aggregator, 2 epochs,
# one seed: every code path, no finding.
SMOKE: dict[str, Any] = {
    **TINY_MODEL,
    "data.image_height": 120,
    "data.image_width": 160,
    "encoder.pretrained": False,
    "optimisation.epochs": 2,
    "optimisation.warmup_epochs": 0,
    "optimisation.batch_size": 4,
}
SMOKE_PATCH_SIZES = [5, 10, 15, 20]  # 25, 50, 75, 100 divided by 5
