"""What the Megapixel MNIST studies share: the follow-up's setting, and the paper profile of a table.

The follow-up's setting is ``ips.config.IPSConfig()`` as it stands: 3000x3000 canvases, 28-pixel
digits, 5,000 training and 1,000 validation canvases, 800 Bezier noise curves of thickness 1.925, a
2-stage ResNet-18 without pretrained weights, positional encoding (``use_pos`` in every published
run), patch 50, memory 100 and iteration 100 with the patches shuffled (as the published runs),
100 epochs at batch 16, lr 1e-3 with 10 of warm-up. So a study's ``BASE`` names only what its paper
table changes, and the defaults in ``ips.config`` are the one place these numbers are written.

``CPU_300`` is the cpu profiles' common scale: the one at which the pilots of
``docs/results/cpu-pilots.md`` learned within minutes (see its comment). Its seeds vary the canvases
too (``data.data_seed`` None); the paper profiles keep the published runs' one data draw.

``paper_profile`` is the ``paper`` profile of a study that rebuilds a published table: its canvases
are drawn by the follow-up's published renderer (``PUBLISHED_RENDERER``; see
``ips.data.followup_renderer``), the generator that produced the paper's numbers.
"""

from __future__ import annotations

from typing import Any

from search_spaces._spec import Profile

PUBLISHED_RENDERER: dict[str, Any] = {"data.renderer": "followup_published"}

# The learning scale of the pilots (docs/results/cpu-pilots.md), shared by the cpu profiles of
# every Megapixel MNIST study (each names what it changes), at which the pilots learned: 300-pixel canvases
# with 12 curves (a third of the paper's noise coverage; at its coverage no pilot learned within 15
# epochs), patch 8 (to a 28-pixel digit what 25 is to Table 4's 84-pixel one), memory 50, 1,000
# training and 100 validation canvases (the paper's low-data size), 20 epochs with 1 of warm-up.
CPU_300: dict[str, Any] = {
    "data.canvas_height": 300,
    "data.canvas_width": 300,
    "data.digit_size": 28,
    "data.noise_count": 12,
    "data.train_canvases": 1000,
    "data.validation_canvases": 100,
    "patches.size": 8,
    "selection.memory_size": 50,
    "optimisation.epochs": 20,
    "optimisation.warmup_epochs": 1,
    # Each seed draws its own canvases (data seed = the trial's seed): the seeds of a cell are then
    # independent draws of data and model, and no interval counts the same validation canvases twice.
    "data.data_seed": None,
}


def paper_profile(expected_time: str) -> Profile:
    """The paper's settings with the follow-up's published renderer, taking ``expected_time``."""
    return Profile(
        note="The paper's settings, canvases drawn by the follow-up's published renderer "
        "(integer stroke widths, area resizing, boxes assigned), so that our numbers and the paper's "
        "answer the same question.",
        overrides=PUBLISHED_RENDERER,
        expected_time=expected_time,
    )
