"""Noise thickness, continuous: is the failure to converge gradual, or a step? (ours, beyond the paper)

    python -m study.run noise_thickness_continuous --profile smoke    # about a minute
    python -m study.run noise_thickness_continuous --profile cpu      # about 100 minutes on 2 CPU cores
    python -m study.run noise_thickness_continuous                    # the full axis (GPU)

Table 2 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch Selection for
Memory-Efficient High-Resolution Image Classification", varies the thickness of the 800 Bezier noise
curves from 1.4 to 2.6 and reads a *gradual* failure to generalise as the noise strokes approach the
digits' thickness. But the generator that produced those numbers truncated the thickness to an integer
(``cv2.line(..., thickness=int(t))``, shared/paper/README.md item 6): 1.4, 1.6 and 1.8 drew the same
1-pixel strokes and 2.0 to 2.6 the same 3-pixel-wide bands, so the table can only show a *step*
between 1.8 and 2.0 (``noise_thickness`` in its ``paper`` profile rebuilds exactly that).

This study asks the paper's question with the **real-valued renderer** (``data.renderer =
"real_valued"``: anti-aliased strokes whose ink grows with every step of thickness) on Table 2's
setting: the thickness axis from 1.4 to 2.6 with finer steps (0.05) between 1.8 and 2.2, where the
published numbers collapse. If accuracy falls smoothly across 1.8-2.2, the paper's reading (gradual)
holds for strokes that really change; if it still falls at one point, the failure is a threshold of
stroke similarity. Compare its report with that of ``noise_thickness``: the finding ``convergence``
gives the thickness from which training and validation stay at chance in each.

Expected run time
-----------------
- ``paper``: 13 thicknesses x 3 seeds = 39 trials of 50 epochs; about 11 hours on one GPU, four trials
  at a time (scaled from ``noise_thickness``'s estimate, not yet measured).
- ``cpu``: 4 thicknesses x 3 seeds, 40 epochs, on the cpu scale of ``noise_thickness``, about 100
  minutes on 2 CPU cores: it tests convergence, not gradual against step (see its note).
- ``smoke``: 2 thicknesses, about a minute on 2 CPU cores.
"""

from search_spaces._megapixel import CPU_300
from search_spaces._spec import Profile, StudySpec
from search_spaces.noise_thickness import BASE
from search_spaces.noise_thickness import STUDY as TABLE_2

THICKNESSES = [1.4, 1.6, 1.8, 1.85, 1.9, 1.95, 2.0, 2.05, 2.1, 2.15, 2.2, 2.4, 2.6]
CPU_THICKNESSES = [1.4, 1.8, 2.2, 2.6]
REAL_VALUED = {"data.renderer": "real_valued"}  # explicit: this study is about the continuous strokes

STUDY = StudySpec(
    name="noise_thickness_continuous",
    description="Table 2's noise thickness 1.4..2.6 (steps of 0.05 in 1.8..2.2) with real-valued strokes.",
    reproduces="Ours, beyond Riffi-Aslett & Fell, Table 2: the thickness axis with continuous strokes",
    base=BASE,
    axes={"data.noise_thickness": THICKNESSES},
    seeds=(0, 1, 2),
    profiles={
        "paper": Profile(
            note=(
                "Table 2's settings (1500-pixel canvases, 28-pixel digits, 800 curves, 2,000 training "
                "canvases, 50 epochs) with the real-valued renderer and the finer thickness axis."
            ),
            overrides=REAL_VALUED,
            expected_time="about 11 hours on one GPU, four trials at a time (estimate)",
        ),
        "cpu": Profile(
            note=(
                "The convergence question with real strokes, at noise_thickness's cpu scale "
                "(search_spaces._megapixel.CPU_300: 300-pixel canvases, 28-pixel digits, 12 curves, "
                "patch 8, memory 50, 1,000 training and 100 validation canvases) with real-valued "
                "strokes at 1.4, 1.8, 2.2 and 2.6, 40 epochs with 1 of warm-up (as noise_thickness's, "
                "to tell a model that memorises from one that cannot fit), 3 seeds, each drawing its "
                "own canvases. It cannot tell a gradual failure from a step between 1.8 and 2.2: at "
                "the first run's seed spread (7 to 13 points) and fall (10 points), the deviation of "
                "five levels from a straight line needs 40 to 140 seeds per level for 80% power "
                "(docs/results/noise_thickness_continuous-cpu/power.py), 13 hours or more on 2 cores."
            ),
            overrides={**CPU_300, **REAL_VALUED, "optimisation.epochs": 40},
            axes={"data.noise_thickness": CPU_THICKNESSES},
            seeds=(0, 1, 2),
            expected_time="about 100 minutes on 2 CPU cores",
        ),
        "smoke": Profile(
            note="noise_thickness's smoke setting: the two ends of the fine range, 2 epochs, a tiny model.",
            overrides={**TABLE_2.profiles["smoke"].overrides, **REAL_VALUED},
            axes={"data.noise_thickness": [1.8, 2.2]},
            seeds=(0,),
            expected_time="about a minute on 2 CPU cores",
        ),
    },
)
