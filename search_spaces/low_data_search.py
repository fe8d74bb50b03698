"""A seeded Optuna search over patch size, memory size and learning rate in the low-data regime.

    python -m study.run low_data_search --profile smoke    # 2 suggestions x 2 seeds, about 2 minutes
    python -m study.run low_data_search --profile cpu      # about an hour on 2 CPU cores
    python -m study.run low_data_search                    # the paper's setting (GPU)

On the setting of Table 4 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch
Selection for Memory-Efficient High-Resolution Image Classification" (3000-pixel canvases, 84-pixel
digits, 1,000 training canvases), Ray Tune's OptunaSearch (TPE, a fixed sampler seed, its Optuna study
persisted beside the Ray results) suggests a patch size, a memory size and a learning rate; each
suggestion runs once per seed and is scored by the mean of its seeds' final ``val/accuracy``. Where
the grid of ``patch_size_low_data`` asks "which of four patch sizes", this asks what else moves with
the patch size.

Expected run time
-----------------
- ``paper``: 20 suggestions x 3 seeds = 60 trials of 100 epochs; about 4 days on one GPU
  (--dry-run's estimate, not yet measured).
- ``cpu``: 4 suggestions x 2 seeds on the clean setting of ``patch_size_low_data``'s demo, about an hour on 2
  CPU cores.
- ``smoke``: 2 suggestions x 2 seeds, about 2 minutes on 2 CPU cores.
"""

from search_spaces._smoke import smoke
from search_spaces._spec import Choice, LogUniform, Profile, Search, StudySpec
from search_spaces.patch_size_low_data import (
    BASE,
    CLEAN_PATCH_SIZES,
    CLEAN_TRAINING,
    SMOKE_GEOMETRY,
)

STUDY = StudySpec(
    name="low_data_search",
    description="Optuna (TPE) over patch size, memory size and lr; each suggestion scored over seeds.",
    reproduces="A search around Riffi-Aslett & Fell, Table 4 (low-data Megapixel MNIST)",
    base=BASE,
    axes={},
    seeds=(0, 1, 2),
    search=Search(
        space={
            "patches.size": Choice((25, 50, 100, 150)),
            "selection.memory_size": Choice((25, 50, 100, 200)),
            "optimisation.lr": LogUniform(1e-4, 3e-3),
        },
        suggestions=20,
        sampler_seed=0,
    ),
    profiles={
        "paper": Profile(
            note="The paper's low-data setting, searched.",
            expected_time="about 4 days on one GPU, four trials at a time (estimate)",
        ),
        "cpu": Profile(
            note=(
                "The patch_size_low_data demo setting (clean 300-pixel canvases, 28-pixel digits by the "
                "real-valued renderer, "
                "Table 4's patches divided by 3: 8, 17, 33), memory 10, 25 or 50, 1,000 training and "
                "100 validation canvases, 8 epochs with 1 of warm-up, 3 suggestions on 3 seeds: "
                "enough to see the search at work, not to finish it. Not run yet; the dry run puts "
                "it under the hour."
            ),
            overrides={**CLEAN_TRAINING, "optimisation.epochs": 8},
            seeds=(0, 1, 2),
            search=Search(
                space={
                    "patches.size": Choice(tuple(sorted(CLEAN_PATCH_SIZES))),
                    "selection.memory_size": Choice((10, 25, 50)),
                    "optimisation.lr": LogUniform(1e-4, 3e-3),
                },
                suggestions=3,
                sampler_seed=0,
            ),
            expected_time="under an hour on 2 CPU cores (estimate)",
        ),
        "smoke": Profile(
            note="A real but tiny search: 2 suggestions x 2 seeds on the smoke geometry, 2 epochs.",
            overrides=smoke(SMOKE_GEOMETRY),
            seeds=(0, 1),
            search=Search(
                space={
                    "patches.size": Choice((17, 33)),
                    "selection.memory_size": Choice((4, 8)),
                    "optimisation.lr": LogUniform(1e-4, 3e-3),
                },
                suggestions=2,
                sampler_seed=0,
            ),
            expected_time="about 2 minutes on 2 CPU cores",
        ),
    },
)
