"""Noise thickness: how close may the noise strokes come to the digits' strokes?

    python -m study.run noise_thickness --profile smoke    # a whole study in about 2 minutes
    python -m study.run noise_thickness --profile cpu      # about an hour on 2 CPU cores
    python -m study.run noise_thickness                    # the paper's settings (GPU)

Rebuilds Table 2 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification": the thickness of the 800 Bezier noise curves
from 1.4 to 2.6 pixels (at the 28-pixel digit scale) in steps of 0.2, on 1500x1500 canvases with
28-pixel digits, 2,000 training canvases, 50 epochs, patch 50. The paper finds that the closer the
noise strokes get to the thickness of the digits' strokes, the worse IPS generalises.

Expected run time
-----------------
- ``paper``: 7 thicknesses x 3 seeds = 21 trials of 50 epochs; about 6 hours on one GPU (--dry-run's
  estimate, not yet measured).
- ``cpu``: 4 thicknesses, one seed, about an hour on 2 CPU cores (see its note).
- ``smoke``: 2 thicknesses, about a minute on 2 CPU cores.
"""

from ips.config import IPSConfig, MegapixelMNISTConfig, OptimisationConfig
from search_spaces._megapixel import CPU_600, paper_profile
from search_spaces._smoke import smoke
from search_spaces._spec import Profile, StudySpec

BASE = IPSConfig(  # what Table 2 changes of the follow-up's setting (search_spaces._megapixel)
    data=MegapixelMNISTConfig(canvas_height=1500, canvas_width=1500, train_canvases=2000),
    optimisation=OptimisationConfig(epochs=50),
)

STUDY = StudySpec(
    name="noise_thickness",
    description="Bezier noise thickness 1.4..2.6 (step 0.2) on 1500-pixel canvases, 28-pixel digits.",
    reproduces="Riffi-Aslett & Fell, Table 2 (noise thickness, Megapixel MNIST)",
    base=BASE,
    axes={"data.noise_thickness": [1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6]},
    seeds=(0, 1, 2),
    profiles={
        "paper": paper_profile("about 6 hours on one GPU, four trials at a time (estimate)"),
        "cpu": Profile(
            note=(
                "The digits and the strokes keep their paper size in pixels (the thickness is the "
                "variable, so nothing that changes stroke widths is scaled). The canvas shrinks to 600 "
                "pixels (the cost grows with its area) with 128 curves, the paper's noise density; "
                "memory 20 of the 144 patches (near the paper's 100 of 900). 200 training and 50 "
                "validation canvases, 10 epochs with 1 of warm-up, the thinnest, two middle and the "
                "thickest noise, one seed."
            ),
            overrides={**CPU_600, "data.noise_count": 128, "data.train_canvases": 200},
            axes={"data.noise_thickness": [1.4, 1.8, 2.2, 2.6]},
            seeds=(0,),
            expected_time="about an hour on 2 CPU cores",
        ),
        "smoke": Profile(
            note=(
                "A real but tiny run: 300-pixel canvases (32 curves keep the density), the thinnest "
                "and the thickest noise, 12 canvases, 2 epochs, a tiny model, one seed."
            ),
            overrides=smoke({"data.canvas_height": 300, "data.canvas_width": 300, "data.noise_count": 32}),
            axes={"data.noise_thickness": [1.4, 2.6]},
            seeds=(0,),
            expected_time="about a minute on 2 CPU cores",
        ),
    },
)
