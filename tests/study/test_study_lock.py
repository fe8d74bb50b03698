"""One driver per study folder (an OS lock that dies with its holder), and one first migration of a
new SQLite MLflow store at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
import ray

from study.guard import lock
from study.run import main

STUDY = ["noise_amount", "--profile", "smoke"]
HOLDER = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    import psutil
    from study.guard import lock
    folder = Path(sys.argv[1])
    lock.acquire(folder, "python -m study.run noise_amount --profile smoke")
    lock.mark_environment(folder)  # as the launch does before Ray starts
    # Stands for the local Ray instance it started: a process titled like a Ray worker.
    helper = subprocess.Popen(["bash", "-c", 'exec -a "ray::IDLE" sleep 300'])
    while psutil.Process(helper.pid).cmdline()[:1] != ["ray::IDLE"]:
        time.sleep(0.01)
    lock.record_processes(folder, [(helper.pid, psutil.Process(helper.pid).create_time())])
    print(helper.pid, flush=True)
    time.sleep(300)
    """
)


@pytest.fixture
def holder(tmp_path):
    """A process holding the lock of ``runs/ray/noise_amount-smoke`` and a helper it recorded."""
    folder = tmp_path / "runs" / "ray" / "noise_amount-smoke"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    helper = int(process.stdout.readline())
    yield folder, process, helper
    for pid in (process.pid, helper):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
    process.wait()


def test_a_second_invocation_on_a_live_study_is_refused_naming_it(holder, tmp_path, monkeypatch, capsys):
    folder, process, _ = holder
    monkeypatch.chdir(tmp_path)
    for argv in (STUDY, [*STUDY, "--resume"]):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert f"pid {process.pid} on host" in error and "noise_amount --profile smoke" in error
        assert "in use by a running study" in error and "--storage" in error
    assert not ray.is_initialized()


def test_the_lock_of_a_killed_driver_does_not_block_and_its_processes_are_ended(holder):
    folder, process, helper = holder
    process.kill()  # kill -9: no cleanup runs; the kernel drops the lock
    process.wait()
    assert psutil.Process(helper).is_running(), "the helper should outlive its killed parent"
    lock.refuse_if_locked(folder)  # no error
    descriptor = lock.acquire(folder, "python -m study.run noise_amount --profile smoke --resume")
    try:
        psutil.Process(helper).wait(timeout=10)  # ended by the new holder (we are its grandparent: reaped)
        assert not psutil.pid_exists(helper) or psutil.Process(helper).status() == psutil.STATUS_ZOMBIE
        assert f'"pid": {os.getpid()}' in (folder / lock.LOCK_FILE).read_text()
    finally:
        os.close(descriptor)
        lock._held.pop(folder, None)


MIGRATE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mlflow import MlflowClient
    from study.guard.lock import sqlite_store_lock
    database = Path(sys.argv[1])
    with sqlite_store_lock(database):
        MlflowClient(f"sqlite:///{database}").search_experiments()
    """
)


def test_two_first_uses_of_a_new_sqlite_store_at_once_both_succeed(tmp_path):
    database = tmp_path / "mlflow.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    command = [sys.executable, "-c", MIGRATE, str(database)]  # without the lock, one fails (checked)
    processes = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for process in processes:
        _, error = process.communicate(timeout=300)
        assert process.returncode == 0, error[-3000:]


def test_a_study_is_restorable_only_once_ray_saved_all_it_needs(tmp_path):
    from study.launch import restorable

    (tmp_path / "tuner.pkl").write_bytes(b"")
    assert not restorable(tmp_path)  # killed before Ray's first list of trials: start afresh
    (tmp_path / "experiment_state-2026-11-29_18-00-00.json").write_text("{}")
    assert restorable(tmp_path) and not restorable(tmp_path, searched=True)  # the searcher not yet saved
    (tmp_path / "searcher-state-2026-11-29_18-00-00.pkl").write_bytes(b"")
    assert restorable(tmp_path, searched=True)
