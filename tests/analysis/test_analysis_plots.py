"""The report's plots: accuracy in percent as in the tables, integer ticks on integer axes, and a
search's configurations never joined by a line (nor pooled into a heatmap)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure
from mlflow_store_builder import MNIST_TASKS, flat_config, mnist_history
from synthetic_studies import EPOCHS, PATCH_SIZES, labels

from analysis import plots
from analysis.chance import study_chance
from analysis.report import write_plots
from analysis.runs import load_study
from analysis.tables import build_table
from study import tracking


@pytest.fixture(scope="module")
def patch_table(patch_store):
    builder, _ = patch_store
    study = load_study("patch_size_low_data", builder.uri)
    return study, build_table(study)


def test_factor_plot_is_in_percent_with_the_patch_sizes_as_ticks(patch_table):
    _, table = patch_table
    ax = Figure().subplots()
    plots._factor_panel(ax, table, "patches.size", "majority")
    cells = table.cells[(table.cells["split"] == "val") & (table.cells["task"] == "majority")]
    ours = ax.lines[0]
    assert ours.get_linestyle() == "-"  # a grid: one factor, joined
    assert list(ours.get_xdata()) == list(PATCH_SIZES)
    expected = 100 * cells.sort_values("patches.size")["mean"].to_numpy()
    np.testing.assert_allclose(np.asarray(ours.get_ydata(), dtype=float), expected.astype(float))
    assert ax.get_ylabel() == "accuracy (%)"
    assert list(ax.get_xticks()) == list(PATCH_SIZES)  # no patch 17.5


def test_learning_curves_are_in_percent(patch_table):
    study, _ = patch_table
    ax = Figure().subplots()
    labels_ = plots.config_labels(study, study.axes)
    metric = tracking.accuracy_metric("val", "majority")
    plots._curves(ax, study.history, metric, labels_, plots._colours(len(labels_)))
    history = study.history[(study.history["metric"] == metric)]
    first = labels_.index[0]
    final = history[(history["config_id"] == first) & (history["step"] == EPOCHS)]["value"].mean()
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(100 * final)
    assert list(ax.lines[0].get_xdata()) == list(range(1, EPOCHS + 1))


def test_a_search_is_not_joined_nor_pooled_into_a_heatmap(new_store, tmp_path):
    builder = new_store("search")
    parent = builder.invocation("low_data_search", ["patches.size", "selection.memory_size"])
    builder.client.set_tag(parent, tracking.TAG_SEARCH, tracking.SEARCHER_OPTUNA_TPE)  # as study.run does
    for patch, memory, level in ((25, 50, 0.9), (50, 10, 0.5)):  # a patch size determines the memory
        for seed in (0, 1):
            config = flat_config({"patches.size": patch, "selection.memory_size": memory}, seed)
            final = {task: level + 0.01 * seed for task in MNIST_TASKS}
            builder.trial(parent, config, mnist_history(final, EPOCHS), labels=labels())
    builder.finish(parent)
    study = load_study("low_data_search", builder.uri)
    table = build_table(study)
    assert table.searched
    ax = Figure().subplots()
    plots._factor_panel(ax, table, "patches.size", "majority")
    assert ax.lines[0].get_linestyle() == "None"  # points, no line between unlike configurations
    assert [path.name for path in write_plots(study, table, tmp_path)] == [
        "learning_curves.png",
        "accuracy_vs_factor.png",
    ]


def test_learning_curves_draw_the_blind_chance_and_share_one_y_range_per_task(patch_table):
    study, _ = patch_table
    figure = plots.learning_curves_figure(study)
    axes = np.array(figure.axes[: 2 * len(study.tasks)]).reshape(len(study.tasks), 2)
    chance = study_chance(study).dropna(subset=["chance"]).groupby(["split", "task"])["chance"].mean()
    assert len(chance) >= 6  # Maj, Max and Top on both splits (Multi's needs the label vectors)
    for row, task in enumerate(t.name for t in study.tasks):
        for col, split in enumerate(("train", "val")):
            dashed = [line for line in axes[row, col].lines if line.get_linestyle() == "--"]
            assert len(dashed) == int((split, task) in chance), f"{task} {split}: the chance line"
            if dashed:
                assert dashed[0].get_ydata()[0] == pytest.approx(100 * chance[(split, task)])
        assert axes[row, 0].get_ylim() == axes[row, 1].get_ylim()  # train and val on one scale
    assert "chance" in figure.get_suptitle()


def test_factor_plot_shares_its_y_range_and_names_the_unit(patch_table):
    _, table = patch_table
    figure = plots.accuracy_vs_factor_figure(table)
    limits = {ax.get_ylim() for ax in figure.axes}
    assert len(limits) == 1  # every task on one scale
    assert figure.axes[0].get_xlabel() == "patch size (px)"
