"""Training-set fraction on the Swedish traffic signs at patch 100.

    python -m study.run dataset_fraction_traffic --data-root DIR --profile smoke   # about 2 minutes
    python -m study.run dataset_fraction_traffic --data-root DIR                   # the paper (GPU)

Rebuilds Table 5 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": 25%, 50% and 100% of the training set, each a
seeded subset stratified by label, at patch 100 (the original IPS setting), memory 10, iteration 32,
ResNet-18 with 4 stages from ImageNet weights, lr 3e-4, 150 epochs, 5 seeds.

Seeds and validation as in ``patch_size_traffic`` (``search_spaces._traffic``): the seeds vary the
model, not the data split; the ``paper`` profile validates on the authors' subset of Set2, and
``--set data.validation_subset=full`` on the whole set.

Expected run time
-----------------
- ``paper``: 3 x 5 = 15 trials of 150 epochs; a few GPU hours (the 100% trials dominate).
- no ``cpu`` profile, for the reason given in ``patch_size_traffic``: 3 seeds of it on 2 cores would
  afford a few epochs, not a verdict.
- ``smoke``: 3 trials of 2 epochs on a small folder (the tests' fixture), about 2 minutes.
"""

from search_spaces._spec import Profile, StudySpec
from search_spaces._traffic import BASE, PAPER, SEEDS, SMOKE

STUDY = StudySpec(
    name="dataset_fraction_traffic",
    description="25%, 50% and 100% of the Swedish traffic-sign training set at patch 100.",
    reproduces="Riffi-Aslett & Fell, Table 5 (dataset fraction, Swedish traffic signs)",
    base=BASE,
    axes={"data.fraction": [0.25, 0.5, 1.0]},
    seeds=SEEDS,
    profiles={
        "paper": PAPER,
        "smoke": Profile(
            note="120x160 images, patch 20 (= 100 / 5), tiny aggregator, 2 epochs, one seed: code paths.",
            overrides={**SMOKE, "patches.size": 20},
            seeds=(0,),
            expected_time="about 2 minutes on 2 CPU cores",
        ),
    },
)
