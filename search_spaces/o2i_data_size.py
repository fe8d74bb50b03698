"""Object-to-image ratio x training-set size: where does IPS stop generalising?

    python -m study.run o2i_data_size --profile smoke    # a whole study in about 2 minutes
    python -m study.run o2i_data_size --profile cpu      # about 105 minutes on 2 CPU cores
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
- ``cpu``: digits of 28 and 56 pixels x 500 and 1,500 training canvases x 6 seeds on 300-pixel
  canvases, about 105 minutes on 2 CPU cores (see its note).
- ``smoke``: 2 x 2 configurations, about 2 minutes on 2 CPU cores.
"""

from ips.config import IPSConfig, MegapixelMNISTConfig
from search_spaces._megapixel import CPU_300, PUBLISHED_RENDERER, paper_profile
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
                "Figure 4's design at a tenth of the canvas: the digit scaled up on a fixed canvas, as "
                "the paper does (shrinking it below 28 pixels would change its resolution too: Table "
                "7). The pilots' scale (search_spaces._megapixel.CPU_300: 300-pixel canvases, patch 8, "
                "memory 50, 100 validation canvases, 20 epochs with 1 of warm-up, published renderer) "
                "with digits of 28 and 56 pixels (object-to-image 0.87% and 3.5%, the paper's 28 and "
                "56 on a canvas a tenth as wide) and 500 and 1,500 training canvases (the low and the "
                "high end of the paper's 800 to 4,000). The curves follow the paper's rule, noise = "
                "1000 - 7.14 x digit, at CPU_300's third of its coverage: 12 curves at 28 pixels "
                "(800 x 12 / 800) and 9 at 56 (600 x 12 / 800), drawn at the digit's scale. 6 seeds, "
                "each drawing its own canvases: the interaction is a contrast of four cells, the "
                "widest interval of the findings (at 3 seeds the first run's spanned 95 points)."
            ),
            overrides={**PUBLISHED_RENDERER, **CPU_300},
            axes={
                "digit": [
                    {"data.digit_size": 28, "data.noise_count": 12},
                    {"data.digit_size": 56, "data.noise_count": 9},
                ],
                "data.train_canvases": [1500, 500],  # the dearest first, to pack the two cores
            },
            seeds=(0, 1, 2, 3, 4, 5),
            expected_time="about 105 minutes on 2 CPU cores",
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
