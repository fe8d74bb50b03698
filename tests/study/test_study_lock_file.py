"""The lock file is data, never an instruction: a planted ``driver.lock`` (anyone who can write the
study folder can plant one) makes the next driver kill nothing that is not its study's own Ray process,
and a lock that is a symbolic or hard link is refused, its target never written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import ray

from study.guard import lock
from study.run import main

STUDY = ["noise_amount", "--profile", "smoke"]
PRECIOUS = "a file of the user's that the lock points at\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "runs" / "ray" / "noise_amount-smoke"
    assert not ray.is_initialized(), "Ray was started"


@pytest.fixture
def spawn():
    """Start real processes (``sleep``, maybe titled and marked like a Ray process); killed at the end."""
    started: list[subprocess.Popen] = []

    def start(title: str = "sleep", env: dict | None = None) -> psutil.Process:
        process = subprocess.Popen(["bash", "-c", f'exec -a "{title}" sleep 300'], env=env)
        started.append(process)
        deadline = time.monotonic() + 10
        while psutil.Process(process.pid).cmdline()[:1] != [title] and time.monotonic() < deadline:
            time.sleep(0.01)  # until bash has exec'd sleep
        return psutil.Process(process.pid)

    yield start
    for process in started:
        process.kill()
        process.wait()


def plant(folder: Path, processes: list) -> None:
    """A lock record as a dead driver of this host would leave it, listing ``processes``."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": 999999, "host": socket.gethostname(), "started": "then", "command": "x"}
    (folder / lock.LOCK_FILE).write_text(json.dumps({**record, "processes": processes}))


def take(folder: Path) -> None:
    descriptor = lock.acquire(folder, "python -m study.run noise_amount --profile smoke")
    os.close(descriptor)
    lock._held.pop(folder, None)


def test_a_planted_lock_kills_no_process_that_is_not_the_studys_own_ray(folder, spawn):
    marked = {**os.environ, lock.STUDY_ENV: str(folder)}
    victims = [
        spawn(),  # an unrelated process of this user, listed with its exact start time
        spawn("ray::IDLE"),  # titled like a Ray worker, but not started by this study's driver
        spawn(env={**os.environ, lock.STUDY_ENV: str(folder)}),  # marked, but not a Ray command
        spawn("ray::IDLE", {**os.environ, lock.STUDY_ENV: str(folder.parent / "other-smoke")}),
    ]
    own = spawn("ray::IDLE", marked)  # what the study's own Ray worker looks like
    listed = [[process.pid, process.create_time()] for process in [*victims, own]]
    shifted = spawn("ray::IDLE", marked)  # the right process but another start time: a reused pid
    plant(folder, [*listed, [shifted.pid, shifted.create_time() + 5], [-1, 0], [0, 0], [True, 1], "x"])
    take(folder)
    time.sleep(0.2)
    assert all(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in victims)
    assert shifted.is_running() and shifted.status() != psutil.STATUS_ZOMBIE
    own.wait(timeout=10)  # ended: it was the study's own Ray process


def test_a_planted_lock_listing_the_driver_itself_or_garbage_is_ignored(folder):
    me = psutil.Process()
    plant(folder, [[me.pid, me.create_time()], [me.ppid(), psutil.Process(me.ppid()).create_time()]])
    take(folder)  # still alive to tell
    for content in ("[]", '{"host": 1}', "\x00" * 10, '{"processes": "all"}'):
        (folder / lock.LOCK_FILE).write_text(content)
        take(folder)


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "hard link"])
def test_a_lock_file_that_is_a_link_is_refused_and_its_target_never_written(folder, capsys, kind):
    folder.mkdir(parents=True)
    target = folder.parent.parent.parent / "precious.txt"
    if kind != "dangling symlink":
        target.write_text(PRECIOUS)
    if kind == "hard link":
        os.link(target, folder / lock.LOCK_FILE)
    else:
        (folder / lock.LOCK_FILE).symlink_to(target)
    for argv in (STUDY, [*STUDY, "--resume"]):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert "driver.lock" in error and "remove it" in error and "Traceback" not in error, error
    if kind == "dangling symlink":
        assert not target.exists(), "the lock's target was created"
    else:
        assert target.read_text() == PRECIOUS, "the lock's target was written"
    with pytest.raises(lock.StudyError, match="driver.lock"):
        lock.acquire(folder, "python -m study.run noise_amount --profile smoke")
