"""One driver per study folder: an OS lock on ``<study folder>/driver.lock``, released by the kernel when
the driver ends in any way (kill -9 included), so a stale lock never blocks ``--resume``.

The file holds who holds it (pid, host, start time, command) for the message that refuses a second
invocation, and the processes of the local Ray instance it started: a driver killed with -9 leaves
them running, and the next driver of the study ends them (by pid and start time) when it takes the
lock. ``sqlite_store_lock`` serialises the first use of a SQLite MLflow store, whose schema migrations
collide when two new studies create the same database at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from study.plan import StudyError

LOCK_FILE = "driver.lock"
READ_ATTEMPTS = 20  # the holder writes its details right after taking the lock: wait for them
LOCK_ATTEMPTS = 20  # a check by another invocation holds the lock for an instant: try for a second
_held: dict[Path, tuple[int, dict]] = {}  # study folder -> (descriptor, holder record) of this process


def holder_text(path: Path) -> str:
    """``pid 123 on host h since 2026-01-01 10:00:00 UTC: python -m study.run ...`` from the lock file."""
    for _ in range(READ_ATTEMPTS):
        try:
            holder = json.loads(path.read_text())
            return (
                f"pid {holder['pid']} on host {holder['host']} since {holder['started']}: {holder['command']}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "a process that did not say who it is"


def busy(experiment_dir: Path, path: Path) -> StudyError:
    return StudyError(
        f"{experiment_dir} is in use by a running study ({holder_text(path)}); wait for it to end, or stop "
        "it and continue with --resume, or choose another --storage"
    )


def try_lock(descriptor: int) -> bool:
    for attempt in range(LOCK_ATTEMPTS):
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < LOCK_ATTEMPTS:
                time.sleep(0.05)
    return False


def refuse_if_locked(experiment_dir: Path) -> None:
    """Raise if a live driver holds the study folder (creates nothing)."""
    path = experiment_dir / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return  # no lock file: no driver ever ran here, or an old folder
    try:
        if not try_lock(descriptor):
            raise busy(experiment_dir, path)
    finally:
        os.close(descriptor)  # closing releases the lock if it was taken


def acquire(experiment_dir: Path, command: str) -> int:
    """Lock the study folder (created if needed) for this process's lifetime; returns the descriptor,
    which must stay open. Raises ``StudyError`` naming the holder if another driver has it."""
    experiment_dir.mkdir(parents=True, exist_ok=True)
    path = experiment_dir / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    if not try_lock(descriptor):
        os.close(descriptor)
        raise busy(experiment_dir, path)
    end_processes_of_dead_holder(path)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": command,
        "processes": [],
    }
    _held[experiment_dir] = (descriptor, holder)
    write_holder(descriptor, holder)
    return descriptor


def write_holder(descriptor: int, holder: dict) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, (json.dumps(holder) + "\n").encode(), 0)


def record_processes(experiment_dir: Path, processes: list[tuple[int, float]]) -> None:
    """Note the (pid, start time) of the processes this driver started (its local Ray instance)."""
    if experiment_dir in _held:
        descriptor, holder = _held[experiment_dir]
        holder["processes"] = [list(process) for process in processes]
        write_holder(descriptor, holder)


def end_processes_of_dead_holder(path: Path) -> None:
    """SIGKILL the recorded processes of the last holder (dead: we hold its lock) that still run."""
    import psutil  # a dependency of Ray

    try:
        holder = json.loads(path.read_text())
        processes = holder["processes"] if holder["host"] == socket.gethostname() else []
    except (OSError, ValueError, KeyError, TypeError):
        return
    for pid, started in processes:
        try:
            if abs(psutil.Process(pid).create_time() - started) < 0.01:  # not a reused pid
                os.kill(pid, signal.SIGKILL)
        except (psutil.Error, OSError):
            continue


@contextmanager
def sqlite_store_lock(database: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on the folder of a SQLite MLflow store (nothing for other stores)."""
    if database is None:
        yield
        return
    descriptor = os.open(database.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
