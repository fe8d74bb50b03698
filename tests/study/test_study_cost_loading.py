"""The dry run's GPU estimate counts the canvases' rendering and loading on the trial's cores.

At paper scale (Table 4: 3000x3000 canvases) rendering, not the GPU, bounds a trial: a trial given one
core renders each batch between its steps, one given more renders on its spare cores while it trains.
"""

from __future__ import annotations

import pytest

from estimate import cost
from search_spaces import STUDIES
from study.dry_run import plan_seconds
from study.plan import plan_study


@pytest.fixture(scope="module")
def table4():
    return plan_study(STUDIES["patch_size_low_data"], "paper", seeds=1)


def test_a_trial_costs_the_rendering_of_every_image_of_every_epoch(table4):
    config = table4.trials[0].config
    data = config.data
    images = (data.train_canvases + data.validation_canvases) * config.optimisation.epochs
    megapixels = data.canvas_height * data.canvas_width / 1e6
    expected = images * megapixels * cost.LOADING_SECONDS_PER_MEGAPIXEL
    assert cost.trial_cost(config).loading_seconds == pytest.approx(expected)


def test_spare_cores_render_while_the_gpu_trains(table4):
    one_core = plan_seconds(table4, cpus=1, gpus=0.25, concurrent=4)
    four_cores = plan_seconds(table4, cpus=4, gpus=0.25, concurrent=4)
    costs = [cost.trial_cost(trial.config) for trial in table4.trials]
    loading = sum(c.loading_seconds for c in costs)
    compute = sum(c.macs for c in costs) / cost.GPU_MACS_PER_SECOND
    assert one_core >= compute + loading / 4  # each trial renders between its steps on its one core
    assert four_cores < one_core  # three loader workers per trial overlap rendering with the steps
    assert four_cores >= max(compute, loading / 12)
