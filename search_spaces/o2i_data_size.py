"""Object-to-image ratio x training-set size: where does IPS stop generalising?

    python -m study.run o2i_data_size --profile smoke    # a whole study in about 2 minutes
    python -m study.run o2i_data_size --profile cpu      # about an hour on 2 CPU cores
    python -m study.run o2i_data_size                    # the paper's settings (GPU)

Rebuilds Figure 4 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": digits of 28, 56, 84 and 112 pixels on
3000x3000 canvases (object-to-image ratios 0.009% to 0.14%) crossed with 800, 1,000, 2,000 and 4,000
training canvases, patch 50. The number of Bezier curves (drawn at the digit's size) falls as the
digits grow: noise = 1000 - 7.14 x digit (800, 600, 400, 200). The paper finds that the ratio below
which IPS fails to generalise depends on the amount of training data.

The digit size and its noise count move together: they are one axis, ``digit``.

Expected run time
-----------------
- ``paper``: 16 configurations x 3 seeds = 48 trials of 100 epochs; about 4 days on one GPU
  (--dry-run's estimate, not yet measured).
- ``cpu``: 4 digit sizes x 2 data sizes on smaller canvases, one seed, about an hour on 2 CPU cores.
- ``smoke``: 2 x 2 configurations, about 2 minutes on 2 CPU cores.
"""

from ips.config import IPSConfig, MegapixelMNISTConfig
from search_spaces._megapixel import paper_profile
from search_spaces._smoke import smoke
from search_spaces._spec import Profile, StudySpec

BASE = IPSConfig(  # what Figure 4 changes of the follow-up's setting (search_spaces._megapixel)
    data=MegapixelMNISTConfig(train_canvases=1000),
)

STUDY = StudySpec(
    name="o2i_data_size",
    description="Digit 28..112 (noise 1000 - 7.14 x digit) x 800..4,000 training canvases, canvas 3000.",
    reproduces="Riffi-Aslett & Fell, Figure 4 (object-to-image ratio x training-set size)",
    base=BASE,
    axes={
        "digit": [  # noise = 1000 - 7.14 x digit, ips.data.megapixel_mnist.followup_noise_count
            {"data.digit_size": 28, "data.noise_count": 800},
            {"data.digit_size": 56, "data.noise_count": 600},
            {"data.digit_size": 84, "data.noise_count": 400},
            {"data.digit_size": 112, "data.noise_count": 200},
        ],
        "data.train_canvases": [800, 1000, 2000, 4000],
    },
    seeds=(0, 1, 2),
    profiles={
        "paper": paper_profile("about 4 days on one GPU, four trials at a time (estimate)"),
        "cpu": Profile(
            note=(
                "A 600-pixel canvas (the cost grows with its area) with digits of 14, 21, 28 and 37 "
                "pixels: object-to-image ratios of 0.05% to 0.38%, the paper's range shifted up about "
                "fivefold, as small as digits can get and stay legible. The curve counts keep the "
                "noise coverage of the paper digit each stands for (7% to 31% of the canvas). Patch "
                "25 is to the smallest digit what 50 is to the paper's smallest. Training sets of 50 "
                "and 200 canvases stand for the low and the high end of the paper's range; 50 "
                "validation canvases, 7 epochs with 1 of warm-up, memory 20, one seed."
            ),
            overrides={
                "data.canvas_height": 600,
                "data.canvas_width": 600,
                "data.validation_canvases": 50,
                "patches.size": 25,
                "optimisation.epochs": 7,
                "optimisation.warmup_epochs": 1,
                "selection.memory_size": 20,
            },
            axes={
                "digit": [
                    {"data.digit_size": 14, "data.noise_count": 128},
                    {"data.digit_size": 21, "data.noise_count": 171},
                    {"data.digit_size": 28, "data.noise_count": 144},
                    {"data.digit_size": 37, "data.noise_count": 74},
                ],
                "data.train_canvases": [50, 200],
            },
            seeds=(0,),
            expected_time="about an hour on 2 CPU cores",
        ),
        "smoke": Profile(
            note=(
                "A real but tiny run: 300-pixel canvases, a small and a large digit (14 and 56, with "
                "the paper's noise coverage of its smallest and largest digit), 8 and 12 training "
                "canvases, 2 epochs, a tiny model, one seed."
            ),
            overrides=smoke({"data.canvas_height": 300, "data.canvas_width": 300, "patches.size": 25}),
            axes={
                "digit": [
                    {"data.digit_size": 14, "data.noise_count": 32},
                    {"data.digit_size": 56, "data.noise_count": 8},
                ],
                "data.train_canvases": [8, 12],
            },
            seeds=(0,),
            expected_time="about 2 minutes on 2 CPU cores",
        ),
    },
)
