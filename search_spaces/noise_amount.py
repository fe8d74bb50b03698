"""Noise amount: how many Bezier curves can IPS ignore?

    python -m study.run noise_amount --profile smoke    # a whole study in about 2 minutes
    python -m study.run noise_amount --profile cpu      # about 50 minutes on 2 CPU cores
    python -m study.run noise_amount                    # the paper's settings (GPU)

Rebuilds Table 3 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": 100, 200, 300, 400, 600 and 800 Bezier noise
curves of thickness 1.925 on 3000x3000 canvases with 28-pixel digits and 5,000 training canvases,
patch 50, 100 epochs (the IPS defaults otherwise). Accuracy falls as the noise grows.

Expected run time
-----------------
- ``paper``: 6 amounts x 3 seeds = 18 trials of 100 epochs on 5,000 canvases; about 3 days on
  one GPU (--dry-run's estimate, not yet measured).
- ``cpu``: 4 amounts x 3 seeds on 300-pixel canvases, about 50 minutes on 2 CPU cores (see its
  note).
- ``smoke``: 2 amounts, about a minute on 2 CPU cores.
"""

from ips.config import IPSConfig
from search_spaces._megapixel import CPU_300, PUBLISHED_RENDERER, paper_profile
from search_spaces._smoke import smoke
from search_spaces._spec import Profile, StudySpec

BASE = IPSConfig()  # Table 3's fixed setting is the follow-up's, all defaults (see search_spaces._megapixel)

STUDY = StudySpec(
    name="noise_amount",
    description="100..800 Bezier noise curves on 3000-pixel canvases, 28-pixel digits, 5,000 canvases.",
    reproduces="Riffi-Aslett & Fell, Table 3 (amount of noise, Megapixel MNIST)",
    base=BASE,
    axes={"data.noise_count": [100, 200, 300, 400, 600, 800]},
    seeds=(0, 1, 2),
    profiles={
        "paper": paper_profile("about 3 days on one GPU, four trials at a time (estimate)"),
        "cpu": Profile(
            note=(
                "The pilots' scale (search_spaces._megapixel.CPU_300: 300-pixel canvases, 28-pixel "
                "digits, patch 8, memory 50, 100 validation canvases, published renderer) with 1,500 "
                "training canvases (more than the low-data 1,000; the paper's 5,000 do not fit) and 15 "
                "epochs. The curve counts keep the paper's coverage of the canvas (divided by 100 with "
                "its area): 1, 3, 6 and 8 for 100, 300, 600 and 800. 3 seeds. Not run yet: its time is "
                "the dry run's estimate."
            ),
            overrides={
                **PUBLISHED_RENDERER,
                **CPU_300,
                "data.train_canvases": 1500,
                "optimisation.epochs": 15,
            },
            axes={"data.noise_count": [8, 6, 3, 1]},
            seeds=(0, 1, 2),
            expected_time="about 50 minutes on 2 CPU cores (estimate)",
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
