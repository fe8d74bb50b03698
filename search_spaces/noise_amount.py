"""Noise amount: how many Bezier curves can IPS ignore?

    python -m study.run noise_amount --profile smoke    # a whole study in about 2 minutes
    python -m study.run noise_amount --profile cpu      # about an hour on 2 CPU cores
    python -m study.run noise_amount                    # the paper's settings (GPU)

Rebuilds Table 3 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": 100, 200, 300, 400, 600 and 800 Bezier noise
curves of thickness 1.925 on 3000x3000 canvases with 28-pixel digits and 5,000 training canvases,
patch 50, 100 epochs (the IPS defaults otherwise). Accuracy falls as the noise grows.

Expected run time
-----------------
- ``paper``: 6 amounts x 3 seeds = 18 trials of 100 epochs on 5,000 canvases; about 3 days on
  one GPU (--dry-run's estimate, not yet measured).
- ``cpu``: 4 amounts, one seed, about an hour on 2 CPU cores (see its note).
- ``smoke``: 2 amounts, about a minute on 2 CPU cores.
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
        canvas_height=3000,
        canvas_width=3000,
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
    optimisation=OptimisationConfig(epochs=100, batch_size=16, lr=1e-3, warmup_epochs=10),
)

STUDY = Study(
    name="noise_amount",
    description="100..800 Bezier noise curves on 3000-pixel canvases, 28-pixel digits, 5,000 canvases.",
    reproduces="Riffi-Aslett & Fell, Table 3 (amount of noise, Megapixel MNIST)",
    base=BASE,
    axes={"data.noise_count": [100, 200, 300, 400, 600, 800]},
    seeds=(0, 1, 2),
    profiles={
        "paper": Profile(
            note="The paper's settings, canvases drawn by the follow-up's published renderer "
            "(integer stroke widths, area resizing, boxes assigned), so that our numbers and the paper's "
            "answer the same question.",
            overrides=PUBLISHED_RENDERER,
            expected_time="about 3 days on one GPU, four trials at a time (estimate)",
        ),
        "cpu": Profile(
            note=(
                "Digits keep their 28 pixels; the canvas shrinks to 600 pixels (the cost grows with "
                "its area) and the curve counts with the canvas area (divided by 25: 4, 12, 24, 32 "
                "stand for 100, 300, 600, 800), so each amount keeps the paper's noise density. "
                "Memory 20 of the 144 patches; 200 training and 50 validation canvases, 10 epochs "
                "with 1 of warm-up, one seed."
            ),
            overrides={
                "data.canvas_height": 600,
                "data.canvas_width": 600,
                "data.train_canvases": 200,
                "data.validation_canvases": 50,
                "optimisation.epochs": 10,
                "optimisation.warmup_epochs": 1,
                "selection.memory_size": 20,
            },
            axes={"data.noise_count": [4, 12, 24, 32]},
            seeds=(0,),
            expected_time="about an hour on 2 CPU cores",
        ),
        "smoke": Profile(
            note=(
                "A real but tiny run: 300-pixel canvases with the counts scaled by area (1 and 8 "
                "stand for 100 and 800), 12 canvases, 2 epochs, a tiny model, one seed."
            ),
            overrides=smoke({"data.canvas_height": 300, "data.canvas_width": 300}),
            axes={"data.noise_count": [1, 8]},
            seeds=(0,),
            expected_time="about a minute on 2 CPU cores",
        ),
    },
)
