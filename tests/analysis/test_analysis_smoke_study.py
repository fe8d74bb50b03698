"""The analysis on a store made by a REAL smoke study.

The session's one ``python -m study.run patch_size_low_data --profile smoke`` (``smoke_study`` in
tests/conftest.py: real Ray, real training, real MLflow on a temporary SQLite file) made the store that
every test here reads; the study runner's own end-to-end test reads the same one.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from notebook_runner import EXPECTED_FILES, outputs_text, run_notebook
from synthetic_studies import raw_final_values

from analysis.chance import study_chance
from analysis.report import main as report_main
from analysis.runs import load_study
from analysis.tables import build_table
from study import tracking

STUDY = "patch_size_low_data"


@pytest.fixture(scope="module")
def smoke_store(smoke_study) -> tuple[str, Path]:
    """(tracking URI, folder) of the session's one real smoke study (tests/conftest.py)."""
    return smoke_study.tracking_uri, smoke_study.folder


def test_table_cells_equal_the_raw_logged_metrics(smoke_store):
    uri, _ = smoke_store
    client = MlflowClient(uri)
    study = load_study(STUDY, uri)
    table = build_table(study)
    assert len(study.trials) == 4 and int(table.counts["total"].sum()) == 4  # every trial counted once
    for task in ("majority", "max", "top", "multi"):
        finals = raw_final_values(client, study.invocation.run_id, tracking.accuracy_metric("val", task))
        groups: dict[int, list[float]] = {}
        for run_id, value in finals.items():
            groups.setdefault(int(client.get_run(run_id).data.params["patches.size"]), []).append(value)
        cells = table.cells[(table.cells["task"] == task) & (table.cells["split"] == "val")]
        for cell in cells.to_dict("records"):
            values = groups[cell["patches.size"]]
            assert cell["mean"] == pytest.approx(statistics.mean(values), abs=1e-12)
            assert cell["n"] == len(values) == 1 and math.isnan(cell["std"])  # the smoke profile: one seed


def test_metric_steps_are_epochs_without_gaps(smoke_store):
    study = load_study(STUDY, smoke_store[0])
    epochs = study.trials.set_index("run_id")["epochs"]
    for (run_id, _), steps in study.history.groupby(["run_id", "metric"])["step"]:
        assert sorted(steps) == list(range(1, epochs[run_id] + 1))


def test_chance_levels_match_the_generated_canvases(smoke_store):
    from ips.config import from_dict
    from ips.data.megapixel_mnist import MegapixelMNIST

    uri, folder = smoke_store
    study = load_study(STUDY, uri)
    run_id = study.trials["run_id"].iloc[0]
    path = MlflowClient(uri).download_artifacts(run_id, tracking.ARTIFACT_CONFIG, str(folder))
    data = from_dict(json.loads(Path(path).read_text())).data
    chance = study_chance(study).set_index(["run_id", "split", "task"])["chance"]
    labels = {}
    for split, name in (("train", "train"), ("val", "validation")):
        dataset = MegapixelMNIST(data, name)
        labels[split] = [dataset[i][1] for i in range(len(dataset))]  # renders every canvas
    for task in ("majority", "max", "top"):
        train = Counter(int(item[task]) for item in labels["train"])
        answer = min(c for c, n in train.items() if n == max(train.values()))  # the blind model's answer
        for split in ("train", "val"):
            share = sum(int(item[task]) == answer for item in labels[split]) / len(labels[split])
            assert chance[(run_id, split, task)] == pytest.approx(share)


@pytest.mark.parametrize("name", ["explore_study", "rebuild_table4"])
def test_notebooks_run_against_the_smoke_store(smoke_store, tmp_path, name):
    notebook = run_notebook(name, smoke_store[0], tmp_path / "out", tmp_path)
    for file in EXPECTED_FILES[name]:
        assert (tmp_path / "out" / name / file).stat().st_size > 0, file
    text = outputs_text(notebook)
    if name == "rebuild_table4":  # the paper's own table beside a smoke run, marked as reference
        assert "76.0 ± 9.7" in text and "for reference only" in text
    else:  # the epoch table is keyed by configuration and seed, not by Ray's trial ids
        assert "patch=" in text and "configuration" in text


def test_report_runs_against_the_smoke_store(smoke_store, tmp_path):
    assert report_main([STUDY, "--tracking-uri", smoke_store[0], "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "profile smoke" in report and "### object-to-patch" in report
