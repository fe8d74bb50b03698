"""A SQLite file that is not an MLflow store, or one whose first creation was interrupted, is refused by
the runner and the report, never opened by MLflow (which would add its tables to it, or re-run its
migrations and fail for good); a new store is built whole, so a kill during its creation leaves none."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray

from analysis import report
from study import run

STUDY = ["noise_amount", "--profile", "smoke"]
REPOSITORY = Path(__file__).resolve().parents[2]
CREATE_MLFLOW = "import sys; from mlflow import MlflowClient; MlflowClient(f'sqlite:///{sys.argv[1]}')"
CREATE_OURS = (
    "import sys; from study.sqlite_store import ensure_store; ensure_store(f'sqlite:///{sys.argv[1]}')"
)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def launch(plan, options):
        raise AssertionError("the launch was reached: MLflow would open the store")

    monkeypatch.setattr(run, "launch", launch)
    yield tmp_path
    assert not ray.is_initialized(), "Ray was started"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused_by_both(capsys, database: Path) -> tuple[str, str]:
    """``study.run`` and ``analysis.report`` on ``database``: exit 2 each, the file unchanged."""
    before = digest(database)
    assert run.main([*STUDY, "--tracking-uri", f"sqlite:///{database}"]) == 2
    runner = capsys.readouterr().err
    assert report.main(["noise_amount", "--tracking-uri", str(database)]) == 2
    reader = capsys.readouterr().err
    assert digest(database) == before, "the file was changed"
    for error in (runner, reader):
        assert error.startswith("error: ") and "Traceback" not in error, error
    return runner, reader


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("select name from sqlite_master where type = 'table'").fetchall()
    connection.close()
    return {name for (name,) in rows}


def test_another_programs_database_is_refused_and_never_migrated(capsys, in_tmp):
    database = in_tmp / "inventory.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table items (id integer primary key, name text)")
        connection.execute("insert into items (name) values ('kept')")
    connection.close()
    for error in refused_by_both(capsys, database):
        assert "not an MLflow store" in error and "items" in error and "new file name" in error
    assert tables(database) == {"items"}


def start_and_kill_when(command: str, watched, database: Path) -> None:
    """Run ``command`` on ``database`` in a subprocess and SIGKILL it once ``watched()`` (a file it is
    building) holds 20 tables, i.e. in the middle of MLflow's migrations."""
    process = subprocess.Popen(
        [sys.executable, "-c", command, str(database)], cwd=REPOSITORY, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            path = watched()
            try:
                if path is not None and len(tables(path)) >= 20:
                    return
            except sqlite3.Error:
                pass  # mid-write: look again
            time.sleep(0.02)
        raise AssertionError(f"the creation ended, or took over 120 s, before its kill: {process.poll()}")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def test_a_store_whose_first_creation_was_killed_is_refused_with_the_fix(capsys, in_tmp):
    database = in_tmp / "mlflow.db"
    start_and_kill_when(CREATE_MLFLOW, lambda: database if database.exists() else None, database)
    for error in refused_by_both(capsys, database):
        assert "half-built MLflow store" in error and "remove it" in error and "holds no runs" in error


def test_a_new_store_is_built_whole_so_a_kill_during_its_creation_leaves_none(in_tmp):
    from study.sqlite_store import ensure_store, store_problem

    database = in_tmp / "mlflow.db"
    building = lambda: next(iter(in_tmp.glob(".mlflow.db.building-*")), None)  # noqa: E731
    start_and_kill_when(CREATE_OURS, building, database)
    assert not database.exists(), "a half-built store was left"
    ensure_store(f"sqlite:///{database}")  # the next creation: whole, its leftovers removed
    assert store_problem(database) is None and "experiments" in tables(database)
    assert sorted(path.name for path in in_tmp.iterdir()) == ["mlflow.db"]
