"""Table cells against means and stds computed independently from the raw logged metrics."""

from __future__ import annotations

import statistics

import pytest
from synthetic_studies import PATCH_SIZES, raw_final_values

from analysis.runs import load_study
from analysis.status import OUTCOMES, outcomes
from analysis.tables import build_table
from study import tracking


@pytest.fixture(scope="module")
def table(patch_store):
    builder, _ = patch_store
    return build_table(load_study("patch_size_low_data", builder.uri))


def independent_cells(builder, parent, task):
    """patch size -> (mean, stdev, n) over completed trials, from MlflowClient alone."""
    client = builder.client
    finals = raw_final_values(client, parent, tracking.accuracy_metric("val", task))
    groups: dict[int, list[float]] = {}
    for run_id, value in finals.items():
        run = client.get_run(run_id)
        if run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED:
            groups.setdefault(int(run.data.params["patches.size"]), []).append(value)
    return {size: (statistics.mean(v), statistics.stdev(v), len(v)) for size, v in groups.items()}


@pytest.mark.parametrize("task", ["majority", "max", "top", "multi"])
def test_cells_equal_independent_mean_and_std(patch_store, table, task):
    builder, parent = patch_store
    expected = independent_cells(builder, parent, task)
    cells = table.cells[(table.cells["task"] == task) & (table.cells["split"] == "val")]
    assert sorted(cells["patches.size"]) == list(PATCH_SIZES)
    for cell in cells.to_dict("records"):
        mean, std, n = expected[cell["patches.size"]]
        assert cell["mean"] == pytest.approx(mean, abs=1e-12)
        assert cell["std"] == pytest.approx(std, abs=1e-12)
        assert cell["n"] == n


def test_every_trial_counted_once(patch_store, table):
    builder, parent = patch_store
    experiment = builder.client.get_run(parent).info.experiment_id
    children = builder.client.search_runs(
        [experiment], filter_string=f"tags.`{tracking.TAG_PARENT}` = '{parent}'"
    )
    assert int(table.counts["total"].sum()) == len(children) == 16
    assert (table.counts[list(OUTCOMES)].sum(axis=1) == table.counts["total"]).all()
    totals = table.counts.sum()
    assert (totals["completed"], totals["not_converged"]) == (12, 1)
    assert (totals["failed"], totals["early_stopped"], totals["running"]) == (1, 1, 1)


def test_not_converged_is_the_trial_at_chance(patch_store):
    builder, _ = patch_store
    study = load_study("patch_size_low_data", builder.uri)
    stuck = outcomes(study)[lambda s: s == "not_converged"].index
    assert list(study.trials.set_index("run_id").loc[stuck, "seed"]) == [6]


def test_not_converged_trials_are_averaged_failed_ones_are_not(table):
    cells = table.cells[(table.cells["task"] == "majority") & (table.cells["split"] == "val")]
    n = dict(zip(cells["patches.size"], cells["n"], strict=True))
    assert n == {25: 3, 50: 3, 100: 3, 150: 4}  # 150 holds the completed trial at chance


def test_cells_carry_the_paper_value_the_difference_and_how_many_of_our_stds_apart(table):
    cells = table.cells[(table.cells["task"] == "majority") & (table.cells["split"] == "val")]
    cell = cells[cells["patches.size"] == 25].iloc[0]
    assert (cell["published_mean"], cell["published_std"], cell["published_n"]) == (0.76, 0.097, 3)
    assert cell["difference"] == pytest.approx(cell["mean"] - 0.76)
    assert cell["stds_apart"] == pytest.approx((cell["mean"] - 0.76) / cell["std"])
    wide = table.wide()
    assert wide.loc[wide["patch"] == 25, "Maj Δ/σ"].item() == f"{cell['stds_apart']:+.1f}"


def test_derived_columns_come_from_logged_params(table):
    o2p = dict(zip(table.cells["patches.size"], table.cells["config_id"], strict=True))
    assert table.derived.loc[o2p[25], "o2p_percent"] == pytest.approx(100 * 84**2 / 25**2)
    assert table.derived.loc[o2p[150], "peak_memory_mb"] == pytest.approx(100.0 + 3)  # max over 4 epochs


def test_best_summary_reads_every_task_at_one_epoch(new_store):
    builder = new_store("best")
    parent = builder.invocation("memory_size", ["selection.memory_size"])
    history = {
        "val/accuracy": [0.2, 0.9, 0.5],
        "val/majority/accuracy": [0.1, 0.8, 0.95],
        "train/majority/accuracy": [0.3, 0.6, 0.9],
    }
    builder.trial(parent, _config(), history)
    study = load_study("memory_size", builder.uri)
    best = build_table(study, summary="best").cells
    final = build_table(study, summary="final").cells
    assert best.loc[best["task"] == "majority", "mean"].item() == pytest.approx(0.8)
    assert final.loc[final["task"] == "majority", "mean"].item() == pytest.approx(0.95)
    trial = study.summarised_trials("best").iloc[0]
    assert trial["summary_epoch"] == 2 and trial["train/majority/accuracy"] == pytest.approx(0.6)


def _config():
    from mlflow_store_builder import flat_config

    return flat_config({"selection.memory_size": 10}, seed=0)
