"""Digit resolution: how many pixels does a digit need?

    python -m study.run digit_resolution --profile smoke    # a whole study in about 2 minutes
    python -m study.run digit_resolution --profile cpu      # about 45 minutes on 2 CPU cores
    python -m study.run digit_resolution                    # the paper's settings (GPU)

Rebuilds Table 7 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": digits of 14, 21, 28, 46 and 64 pixels on
1500x1500 canvases, 5,000 training canvases, 150 epochs; the rest as the IPS defaults (800 Bezier
curves of thickness 1.925 drawn at the digit's scale, patch 50, memory 100).

Expected run time
-----------------
- ``paper``: 5 digit sizes x 3 seeds = 15 trials of 150 epochs on 5,000 canvases; about a day
  on one GPU (--dry-run's estimate, not yet measured).
- ``cpu``: 4 digit sizes x 3 seeds on 300-pixel canvases, about 45 minutes on 2 CPU cores (see
  its note).
- ``smoke``: 2 digit sizes, about a minute on 2 CPU cores.
"""

from ips.config import IPSConfig, MegapixelMNISTConfig, OptimisationConfig
from search_spaces._megapixel import CPU_300, PUBLISHED_RENDERER, paper_profile
from search_spaces._smoke import smoke
from search_spaces._spec import Profile, StudySpec

BASE = IPSConfig(  # what Table 7 changes of the follow-up's setting (search_spaces._megapixel)
    data=MegapixelMNISTConfig(canvas_height=1500, canvas_width=1500),
    optimisation=OptimisationConfig(epochs=150),
)

STUDY = StudySpec(
    name="digit_resolution",
    description="Digits of 14, 21, 28, 46 and 64 pixels on 1500-pixel canvases, 5,000 canvases.",
    reproduces="Riffi-Aslett & Fell, Table 7 (digit resolution, Megapixel MNIST)",
    base=BASE,
    axes={"data.digit_size": [14, 21, 28, 46, 64]},
    seeds=(0, 1, 2),
    profiles={
        "paper": paper_profile("about a day on one GPU, four trials at a time (estimate)"),
        "cpu": Profile(
            note=(
                "The pilots' scale (search_spaces._megapixel.CPU_300: 300-pixel canvases, 12 curves "
                "drawn at the digit's scale, patch 8, memory 50, 1,000 training and 100 validation "
                "canvases, published renderer) with digits of 14, 21, 28 and 46 pixels (64 would "
                "fill a fifth of the canvas with its 5 digits), 15 epochs, 3 seeds. Not run yet: its "
                "time is the dry run's estimate."
            ),
            overrides={**PUBLISHED_RENDERER, **CPU_300, "optimisation.epochs": 15},
            axes={"data.digit_size": [46, 28, 21, 14]},
            seeds=(0, 1, 2),
            expected_time="about 45 minutes on 2 CPU cores (estimate)",
        ),
        "smoke": Profile(
            note=(
                "A real but tiny run: 340-pixel canvases (the smallest on which five 64-pixel digits "
                "always fit; 41 curves keep the density), the smallest and the largest digit, 12 "
                "canvases, 2 epochs, a tiny model, one seed."
            ),
            overrides=smoke({"data.canvas_height": 340, "data.canvas_width": 340, "data.noise_count": 41}),
            axes={"data.digit_size": [14, 64]},
            seeds=(0,),
            expected_time="about a minute on 2 CPU cores",
        ),
    },
)
