"""Reading a store: trials and history frames, last value wins, invocations, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mlflow_store_builder import flat_config, mnist_history

from analysis.runs import load_study
from analysis.store import StoreError, resolve_tracking_uri
from analysis.tables import build_table
from study import tracking

FINAL = {"majority": 0.5, "max": 0.6, "top": 0.7, "multi": 0.4}


@pytest.fixture(scope="module")
def store(new_store):
    """Two invocations of memory_size: the first with one trial, the second with two."""
    builder = new_store("runs")
    first = builder.invocation("memory_size", ["selection.memory_size"])
    builder.trial(first, flat_config({"selection.memory_size": 10}, 0), mnist_history(FINAL, 3))
    second = builder.invocation("memory_size", ["selection.memory_size"])
    runs = [
        builder.trial(second, flat_config({"selection.memory_size": m}, 0), mnist_history(FINAL, 3))
        for m in (10, 25)
    ]
    return builder, first, second, runs


def test_trials_frame_has_one_row_per_trial_with_parsed_params(store):
    builder, _, second, runs = store
    study = load_study("memory_size", builder.uri)
    assert study.invocation.run_id == second and study.invocation.index == 2
    assert sorted(study.trials["run_id"]) == sorted(runs)
    assert sorted(study.trials["selection.memory_size"]) == [10, 25]
    assert study.trials["optimisation.lr"].iloc[0] == pytest.approx(1e-3)
    assert study.trials["aggregator.positional_encoding"].dtype == bool
    assert set(study.trials["epochs"]) == {3}
    assert [t.name for t in study.tasks] == ["majority", "max", "top", "multi"]
    assert study.axes == ["selection.memory_size"]
    assert study.labels == {}  # these trials logged no label_distribution.json


def test_history_is_long_with_step_equal_epoch(store):
    builder, *_ = store
    study = load_study("memory_size", builder.uri)
    metric = study.history[study.history["metric"] == "val/top/accuracy"]
    assert len(metric) == 2 * 3 and sorted(metric["step"].unique()) == [1, 2, 3]
    assert metric.loc[metric["step"] == 3, "value"].tolist() == pytest.approx([0.7, 0.7])


def test_invocations_by_index_and_by_run_id_prefix(store):
    builder, first, second, _ = store
    assert load_study("memory_size", builder.uri, 1).invocation.run_id == first
    assert load_study("memory_size", builder.uri, -1).invocation.run_id == second
    assert load_study("memory_size", builder.uri, first[:8]).invocation.run_id == first
    assert load_study("memory_size", builder.uri, "-2").invocation.run_id == first
    with pytest.raises(StoreError, match="invocation 3 does not exist"):
        load_study("memory_size", builder.uri, 3)


def test_last_value_wins_on_duplicate_steps(new_store):
    builder = new_store("duplicates")
    parent = builder.invocation("memory_size", ["selection.memory_size"])
    run = builder.trial(parent, flat_config({"selection.memory_size": 10}, 0), mnist_history(FINAL, 3))
    metric = tracking.accuracy_metric("val", "majority")
    builder.log_value(run, metric, 0.123, step=3)  # epoch 3 re-run after a resume, logged later
    builder.log_value(run, metric, 0.999, step=2, timestamp=builder.clock - 10**7)  # older: loses
    study = load_study("memory_size", builder.uri)
    values = study.history[study.history["metric"] == metric].set_index("step")["value"]
    assert values[3] == pytest.approx(0.123)
    assert values[2] == pytest.approx(0.5 / 2 + 0.1 / 2)  # the ramp's own epoch-2 value
    assert len(values) == 3
    cell = build_table(study).cells
    assert cell.loc[(cell["task"] == "majority") & (cell["split"] == "val"), "mean"].item() == pytest.approx(
        0.123
    )


def test_axes_fall_back_to_varying_params_when_the_tag_names_a_label(new_store):
    builder = new_store("label_axis")
    parent = builder.invocation("o2i_data_size", ["digit", "data.train_canvases"])
    for digit in (28, 56):
        changes = {
            "data.digit_size": digit,
            "data.noise_count": round(1000 - 7.14 * digit),
            "data.train_canvases": 800,
        }
        builder.trial(parent, flat_config(changes, 0), mnist_history(FINAL, 2))
    study = load_study("o2i_data_size", builder.uri)
    assert study.axes == ["data.train_canvases", "data.digit_size", "data.noise_count"]


def test_missing_store_and_unknown_study_say_what_to_do(store, tmp_path):
    with pytest.raises(StoreError, match="no MLflow store"):
        resolve_tracking_uri(tmp_path / "nothing.db")
    with pytest.raises(StoreError, match="does not exist"):
        resolve_tracking_uri(f"sqlite:///{tmp_path / 'nothing.db'}")
    builder, *_ = store
    with pytest.raises(StoreError, match=r"no study 'nope'.*memory_size"):
        load_study("nope", builder.uri)
    assert resolve_tracking_uri(builder.folder / "mlflow.db") == builder.uri


def test_analysis_imports_neither_ips_nor_ray():
    code = (
        "import sys, analysis.report, analysis.findings, analysis.plots\n"
        "print(sorted(m for m in ('ips', 'ray', 'torch', 'search_spaces') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
