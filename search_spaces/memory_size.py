"""Memory size: accuracy against peak memory and time as IPS keeps more patches.

    python -m study.run memory_size --profile smoke    # a whole study in about 2 minutes
    python -m study.run memory_size --profile cpu      # about 50 minutes on 2 CPU cores
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
- ``cpu``: 4 memory sizes x 3 seeds at patch 8 on 300-pixel canvases, about 50 minutes on 2 CPU
  cores (see its note).
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
                "The pilots' learning scale (search_spaces._megapixel.CPU_300: 300-pixel canvases, "
                "28-pixel digits, 12 curves by the published renderer, 1,000 training and 100 "
                "validation canvases, 20 epochs with 1 of warm-up) with patch 8 (Table 4's 25 at a "
                "third of the digit, not the paper profile's 50: at patch 17 the hour affords about 8 "
                "epochs, and the pilots left chance only after 8). Memory 10, 25, 50 and 100 of the "
                "1,444 patches (50 is the pilots'; 10 holds less than one digit), 3 seeds."
            ),
            overrides={**PUBLISHED_RENDERER, **CPU_300},
            axes={"selection.memory_size": [100, 50, 25, 10]},  # the dearest first, to pack the hour
            seeds=(0, 1, 2),
            expected_time="about 50 minutes on 2 CPU cores",
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
