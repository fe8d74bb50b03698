"""Patch size on the Swedish traffic signs with a quarter of the training set.

    python -m study.run patch_size_traffic --data-root DIR --profile smoke   # about 2 minutes
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
- no ``cpu`` profile: a study on 2 cores must run 3 seeds within the hour, and this one cannot. At a
  quarter of the resolution (300x400, patches 6/12/19/25, no ImageNet weights) one epoch of the four
  patch sizes costs 8 to 21 minutes of one core (the dry run's estimate, validating on the authors'
  subset or the whole set), so three seeds would afford 2 to 5 epochs of a ResNet trained from
  scratch: no honest verdict. Scale it yourself (``--profile smoke --set ...``) or run ``paper`` on a
  GPU.
- ``smoke``: 4 trials of 2 epochs on a small folder (the tests' fixture), about 2 minutes.
"""

from search_spaces._spec import Profile, StudySpec
from search_spaces._traffic import (
    BASE,
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
        "smoke": Profile(
            note="120x160 images, patches 5/10/15/20, tiny aggregator, 2 epochs, one seed: code paths only.",
            overrides=SMOKE,
            axes={"patches.size": SMOKE_PATCH_SIZES},
            seeds=(0,),
            expected_time="about 2 minutes on 2 CPU cores",
        ),
    },
)
