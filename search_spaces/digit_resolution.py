"""Digit resolution: how many pixels does a digit need?

    python -m study.run digit_resolution --profile smoke    # a whole study in about 2 minutes
    python -m study.run digit_resolution --profile cpu      # about an hour on 2 CPU cores
    python -m study.run digit_resolution                    # the paper's settings (GPU)

Rebuilds Table 7 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": digits of 14, 21, 28, 46 and 64 pixels on
1500x1500 canvases, 5,000 training canvases, 150 epochs; the rest as the IPS defaults (800 Bezier
curves of thickness 1.925 drawn at the digit's scale, patch 50, memory 100).

Expected run time
-----------------
- ``paper``: 5 digit sizes x 3 seeds = 15 trials of 150 epochs on 5,000 canvases; about a day
  on one GPU (--dry-run's estimate, not yet measured).
- ``cpu``: 5 digit sizes, one seed, about an hour on 2 CPU cores (see its note).
- ``smoke``: 2 digit sizes, about a minute on 2 CPU cores.
"""

from ips.config import (
    AggregatorConfig,
    IPSConfig,
    MegapixelMNISTConfig,
    OptimisationConfig,
    PatchConfig,
    SelectionConfig,
)
from search_spaces._scale import smoke
from search_spaces._study import PUBLISHED_RENDERER, Profile, Study

BASE = IPSConfig(
    data=MegapixelMNISTConfig(
        canvas_height=1500,
        canvas_width=1500,
        digit_size=28,
        train_canvases=5000,
        validation_canvases=1000,
        noise="bezier",
        noise_count=800,
        noise_thickness=1.925,
    ),
    aggregator=AggregatorConfig(positional_encoding=True),  # as in every published run (use_pos)
    selection=SelectionConfig(memory_size=100, iteration_size=100, shuffle=True),  # published: shuffle
    patches=PatchConfig(size=50),
    optimisation=OptimisationConfig(epochs=150, batch_size=16, lr=1e-3, warmup_epochs=10),
)

STUDY = Study(
    name="digit_resolution",
    description="Digits of 14, 21, 28, 46 and 64 pixels on 1500-pixel canvases, 5,000 canvases.",
    reproduces="Riffi-Aslett & Fell, Table 7 (digit resolution, Megapixel MNIST)",
    base=BASE,
    axes={"data.digit_size": [14, 21, 28, 46, 64]},
    seeds=(0, 1, 2),
    profiles={
        "paper": Profile(
            note="The paper's settings, canvases drawn by the follow-up's published renderer "
            "(integer stroke widths, area resizing, boxes assigned), so that our numbers and the paper's "
            "answer the same question.",
            overrides=PUBLISHED_RENDERER,
            expected_time="about a day on one GPU, four trials at a time (estimate)",
        ),
        "cpu": Profile(
            note=(
                "The digit sizes are the variable and keep their pixels; the canvas shrinks to 600 "
                "pixels (the cost grows with its area) with 128 curves, the paper's density, and "
                "memory 20 of the 144 patches. 150 training and 50 validation canvases, 10 epochs "
                "with 1 of warm-up, one seed."
            ),
            overrides={
                "data.canvas_height": 600,
                "data.canvas_width": 600,
                "data.noise_count": 128,
                "data.train_canvases": 150,
                "data.validation_canvases": 50,
                "optimisation.epochs": 10,
                "optimisation.warmup_epochs": 1,
                "selection.memory_size": 20,
            },
            seeds=(0,),
            expected_time="about an hour on 2 CPU cores",
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
