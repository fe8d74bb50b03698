"""Noise thickness: how close may the noise strokes come to the digits' strokes?

    python -m study.run noise_thickness --profile smoke    # a whole study in about 2 minutes
    python -m study.run noise_thickness --profile cpu      # about 100 minutes on 2 CPU cores
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
- ``cpu``: 3 thicknesses (1-, 2- and 3-pixel strokes of the published renderer) x 4 seeds on
  300-pixel canvases, 40 epochs, about 100 minutes on 2 CPU cores (see its note).
- ``smoke``: 2 thicknesses, about a minute on 2 CPU cores.
"""

from ips.config import IPSConfig, MegapixelMNISTConfig, OptimisationConfig
from search_spaces._megapixel import CPU_300, PUBLISHED_RENDERER, paper_profile
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
                "Chosen by the pilots of docs/results/cpu-pilots.md: 300-pixel canvases with 28-pixel "
                "digits and 12 curves (a third of the paper's noise coverage; at its coverage no pilot "
                "learned in 15 epochs, even with thin strokes), drawn by the published renderer, whose "
                "integer strokes make 1.8 a 1-pixel stroke, 2.0 a 2-pixel one (the paper's collapse "
                "between them) and 3.0 a 3-pixel one, as thick as the digits' strokes (2.6 would repeat "
                "2.0 exactly). Patch 8, memory 50, 1,000 training and 100 validation canvases, 40 "
                "epochs with 1 of warm-up, 4 seeds, each drawing its own canvases. The 40 epochs are "
                "there to tell whether 2.0 memorises: in 20 epochs its training accuracy stayed a few "
                "points above chance (the pilot at 2.0 reached 0.22 training accuracy at epoch 20), "
                "and the convergence claim is about training too."
            ),
            overrides={**PUBLISHED_RENDERER, **CPU_300, "optimisation.epochs": 40},
            axes={"data.noise_thickness": [1.8, 2.0, 3.0]},
            seeds=(0, 1, 2, 3),
            expected_time="about 100 minutes on 2 CPU cores",
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
