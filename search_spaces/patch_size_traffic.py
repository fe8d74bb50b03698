"""Patch size on the Swedish traffic signs with a quarter of the training set.

    python -m study.run patch_size_traffic --data-root DIR --profile smoke   # about 2 minutes
    python -m study.run patch_size_traffic --data-root DIR --profile cpu     # hours on 2 CPU cores
    python -m study.run patch_size_traffic --data-root DIR                   # the paper (GPU)

Rebuilds Table 6 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": patch 25, 50, 75 and 100 (stride = patch) on
the 25% stratified subset, memory 10, iteration 32, batch 16, ResNet-18 with 4 stages from ImageNet
weights, lr 3e-4, 150 epochs, 5 seeds; the table also reports peak memory and time per batch. Patch 75
does not tile 1200x1600: the grid is 16x22 and the last column is zero-padded (``ips.data.patches``).
``DIR`` holds ``Set1/`` and ``Set2/`` as distributed (see ``ips.data.traffic_signs``).

The seeds vary the model (initialisation, data order, dropout, selection shuffle), not the data split:
every seed trains on the same Set1 subset and validates on Set2 (``data.data_seed`` stays 0). The
``paper`` profile validates on the authors' subset of Set2 (the first ``int(count x fraction)`` images
of each class); ``--set data.validation_subset=full`` validates on the whole set.

Expected run time
-----------------
- ``paper``: 4 x 5 = 20 trials of 150 epochs on about 190 training images each; a few GPU hours.
- ``cpu``: 4 trials at a quarter of the resolution, 40 epochs: several hours on 2 CPU cores (the
  images are real photographs; there is no smaller honest version of this question).
- ``smoke``: 4 trials of 2 epochs on a small folder (the tests' fixture), about 2 minutes.
"""

from search_spaces._spec import Profile, StudySpec
from search_spaces._traffic import (
    BASE,
    CPU,
    CPU_PATCH_SIZES,
    PAPER,
    SEEDS,
    SMOKE,
    SMOKE_PATCH_SIZES,
)

STUDY = StudySpec(
    name="patch_size_traffic",
    description="Patch size 25..100 (stride = patch) on the 25% subset of the Swedish traffic signs.",
    reproduces="Riffi-Aslett & Fell, Table 6 (patch size, Swedish traffic signs, 25% of the data)",
    base=BASE,
    axes={"patches.size": [25, 50, 75, 100]},
    seeds=SEEDS,
    profiles={
        "paper": PAPER,
        "cpu": Profile(
            note=(
                "Images and patches at a quarter of the side (300x400; patches 6/12/19/25), so each patch "
                "covers the same part of the scene; no ImageNet weights (not downloadable offline); 40 "
                "epochs, one seed."
            ),
            overrides=CPU,
            axes={"patches.size": CPU_PATCH_SIZES},
            seeds=(0,),
            expected_time="several hours on 2 CPU cores",
        ),
        "smoke": Profile(
            note="120x160 images, patches 5/10/15/20, tiny aggregator, 2 epochs, one seed: code paths only.",
            overrides=SMOKE,
            axes={"patches.size": SMOKE_PATCH_SIZES},
            seeds=(0,),
            expected_time="about 2 minutes on 2 CPU cores",
        ),
    },
)
