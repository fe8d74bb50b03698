"""The analysis on a store made by a REAL smoke study.

One module-scoped fixture runs ``python -m study.run patch_size_low_data --profile smoke`` (real Ray,
real training, real MLflow on a temporary SQLite file; about 1 to 2 minutes on 2 CPU cores) and every
test here reads that one store.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from notebook_runner import EXPECTED_FILES, run_notebook
from synthetic_studies import raw_final_values

from analysis.chance import study_chance
from analysis.report import main as report_main
from analysis.runs import load_study
from analysis.tables import build_table
from study import tracking

STUDY = "patch_size_low_data"


def runner_available() -> bool:
    try:
        return importlib.util.find_spec("study.run") is not None
    except ImportError:
        return False


def processes_with_env(name: str, value: str) -> list[int]:
    """Ids of processes whose environment holds ``name=value``: the ones this test started."""
    wanted, pids = f"{name}={value}".encode(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def end_processes(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory) -> tuple[str, Path]:
    if not runner_available():
        pytest.skip("study runner not available")
    folder = tmp_path_factory.mktemp("smoke_study")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # Ray's socket paths must stay short
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp), "RAY_AUTH_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "study.run", STUDY, "--profile", "smoke", "--tracking-uri", uri]
    try:
        result = subprocess.run(
            [*command, "--storage", str(folder / "ray")],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        end_processes(processes_with_env("RAY_TMPDIR", str(ray_tmp)))
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return uri, folder


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
    for split, name in (("train", "train"), ("val", "validation")):
        dataset = MegapixelMNIST.from_config(data, name)
        labels = [dataset[i][1] for i in range(len(dataset))]  # renders every canvas
        for task in ("majority", "max", "top"):
            counts = Counter(int(item[task]) for item in labels)
            assert chance[(run_id, split, task)] == pytest.approx(max(counts.values()) / len(labels))


@pytest.mark.parametrize("name", ["explore_study", "rebuild_table4"])
def test_notebooks_run_against_the_smoke_store(smoke_store, tmp_path, name):
    run_notebook(name, smoke_store[0], tmp_path / "out", tmp_path)
    for file in EXPECTED_FILES[name]:
        assert (tmp_path / "out" / name / file).stat().st_size > 0, file


def test_report_runs_against_the_smoke_store(smoke_store, tmp_path):
    assert report_main([STUDY, "--tracking-uri", smoke_store[0], "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "profile smoke" in report and "### object-to-patch" in report
