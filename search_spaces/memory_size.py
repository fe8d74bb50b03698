"""Memory size: accuracy against peak memory and time as IPS keeps more patches.

    python -m study.run memory_size --profile smoke    # a whole study in about 2 minutes
    python -m study.run memory_size --profile cpu      # about 2 hours on 2 CPU cores
    python -m study.run memory_size                    # the paper's settings (GPU)

IPS keeps ``memory_size`` patches per image: memory and time grow with it, and so, up to a point, does
accuracy. This study varies memory 10, 25, 50, 100 and 200 on the low-data setting of
``patch_size_low_data`` (Table 4 of Riffi-Aslett and Fell, "On the Generalizability of Iterative Patch
Selection for Memory-Efficient High-Resolution Image Classification"; the trade-off of Figure 5 of
the original IPS paper) with patch 50. Compare ``val/accuracy`` against ``memory/peak_mb`` and
``time/seconds_per_batch`` in the MLflow UI (peak memory is the CUDA peak on a GPU; on a CPU it is the
process's resident peak, which includes the data).

Expected run time
-----------------
- ``paper``: 5 memory sizes x 3 seeds = 15 trials of 100 epochs; about a day on one GPU (--dry-run's
  estimate, not yet measured).
- ``cpu``: memory 10 and 100 x 4 seeds at patch 8 on 300-pixel canvases, 75 epochs (to
  convergence), about 2 hours on 2 CPU cores (see its note).
- ``smoke``: 3 memory sizes, about a minute on 2 CPU cores.
"""

from search_spaces._megapixel import CPU_300, PUBLISHED_RENDERER
from search_spaces._smoke import smoke
from search_spaces._spec import Profile, StudySpec
from search_spaces.patch_size_low_data import BASE, SMOKE_GEOMETRY

STUDY = StudySpec(
    name="memory_size",
    description="Memory 10..200 patches on the patch_size_low_data setting with patch 50.",
    reproduces="Accuracy vs memory and time on the setting of Riffi-Aslett & Fell, Table 4",
    base=BASE,
    axes={"selection.memory_size": [10, 25, 50, 100, 200]},
    seeds=(0, 1, 2),
    profiles={
        "paper": Profile(
            note="The paper's low-data setting, patch 50.",
            expected_time="about a day on one GPU, four trials at a time (estimate)",
        ),
        "cpu": Profile(
            note=(
                "IPS's trade-off is about trained models, so this profile trains to convergence: the "
                "pilots' learning scale (search_spaces._megapixel.CPU_300: 300-pixel canvases, 28-pixel "
                "digits, 12 curves by the published renderer, 1,000 training and 100 validation "
                "canvases) with patch 8 (Table 4's 25 at a third of the digit), memory 10 and 100 of "
                "the 1,444 patches (the two ends of the first cpu run, whose 20 epochs left every "
                "training loss falling; memory 50 is left out, its trials would repeat "
                "noise_thickness's 1.8 cell), 75 epochs with 1 of warm-up, 4 seeds, each drawing its "
                "own canvases. The pilots at 60 epochs: memory 10's training loss flattened by epoch "
                "44 (0.09 at 50), memory 100's was still 1.18 at epoch 40 and its validation accuracy "
                "0.20; the run's learning curves say whether 75 epochs were enough."
            ),
            overrides={**PUBLISHED_RENDERER, **CPU_300, "optimisation.epochs": 75},
            axes={"selection.memory_size": [100, 10]},  # the dearest first, to pack the two cores
            seeds=(0, 1, 2, 3),
            expected_time="about 2 hours on 2 CPU cores",
        ),
        "smoke": Profile(
            note="A real but tiny run: 300-pixel canvases, patch 17, memory 4, 8 and 16, 2 epochs, one seed.",
            overrides=smoke({**SMOKE_GEOMETRY, "patches.size": 17}),
            axes={"selection.memory_size": [4, 8, 16]},
            seeds=(0,),
            expected_time="about a minute on 2 CPU cores",
        ),
    },
)
