"""One driver per study folder: an OS lock on ``<study folder>/driver.lock``, released by the kernel when
the driver ends in any way (kill -9 included), so a stale lock never blocks ``--resume``.

The file holds who holds it (pid, host, start time, command) for the message that refuses a second
invocation, and the processes of the local Ray instance it started: a driver killed with -9 leaves
them running, and the next driver of the study ends them when it takes the lock.

The file is data, never an instruction (anyone who can write the study folder can plant one): it is
opened without following a symbolic link (``O_NOFOLLOW``) and only as a plain file with one name, so
it never writes elsewhere; and a process it lists is ended only if it is verifiably a process of this
study's own Ray instance: the same start time, this user's, a Ray command line, and the study's mark in
its environment (``STUDY_ENV``, set by the driver before Ray starts and inherited by all its processes).

``sqlite_store_lock`` serialises the first use of a SQLite MLflow store, whose schema migrations
collide when two new studies create the same database at once.
"""

from __future__ import annotations

import errno
import fcntl
import importlib.util
import json
import os
import signal
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from study.plan import StudyError

LOCK_FILE = "driver.lock"
READ_ATTEMPTS = 20  # the holder writes its details right after taking the lock: wait for them
MAX_RECORD_BYTES = 2**20  # a lock record is a few hundred bytes: read no more
LOCK_ATTEMPTS = 20  # a check by another invocation holds the lock for an instant: try for a second
STUDY_ENV = "IPS_STUDY_FOLDER"  # the study folder, in the environment of its driver's Ray processes
RAY_COMMAND_PREFIX = "ray::"  # the title of Ray's worker processes
_held: dict[Path, tuple[int, dict]] = {}  # study folder -> (descriptor, holder record) of this process


def open_lock(path: Path, flags: int) -> int:
    """A descriptor of the lock file, which must be a plain file with one name (never a symbolic or
    hard link, a folder or a pipe): ``StudyError`` otherwise."""
    try:
        descriptor = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise StudyError(
            f"{path} is a symbolic link, not this study's lock; remove it (it is never followed) and run "
            "the command again"
        ) from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(descriptor)
        raise StudyError(
            f"{path} is not a plain file of its own (a hard link, folder or pipe), not this study's lock; "
            "remove it and run the command again"
        )
    return descriptor


def read_holder(descriptor: int) -> dict:
    """The lock file's record (``ValueError`` if it is not one)."""
    data = os.pread(descriptor, MAX_RECORD_BYTES, 0)
    holder = json.loads(data.decode())
    if not isinstance(holder, dict):
        raise ValueError("not a record")
    return holder


def holder_text(descriptor: int) -> str:
    """``pid 123 on host h since 2026-01-01 10:00:00 UTC: python -m study.run ...`` from the lock file."""
    for _ in range(READ_ATTEMPTS):
        try:
            holder = read_holder(descriptor)
            return (
                f"pid {holder['pid']} on host {holder['host']} since {holder['started']}: {holder['command']}"
            )
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.05)
    return "a process that did not say who it is"


def busy(study_folder: Path, descriptor: int) -> StudyError:
    return StudyError(
        f"{study_folder} is in use by a running study ({holder_text(descriptor)}); wait for it to end, or "
        "stop it and continue with --resume, or choose another --storage"
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


def refuse_if_locked(study_folder: Path) -> None:
    """Raise if a live driver holds the study folder (creates nothing)."""
    path = study_folder / LOCK_FILE
    try:
        descriptor = open_lock(path, os.O_RDONLY)
    except FileNotFoundError:
        return  # no lock file: no driver ever ran here, or an old folder
    try:
        if not try_lock(descriptor):
            raise busy(study_folder, descriptor)
    finally:
        os.close(descriptor)  # closing releases the lock if it was taken


def acquire(study_folder: Path, command: str) -> int:
    """Lock the study folder (created if needed) for this process's lifetime; returns the descriptor,
    which must stay open. Raises ``StudyError`` naming the holder if another driver has it."""
    study_folder.mkdir(parents=True, exist_ok=True)
    path = study_folder / LOCK_FILE
    descriptor = open_lock(path, os.O_RDWR | os.O_CREAT)
    if not try_lock(descriptor):
        error = busy(study_folder, descriptor)
        os.close(descriptor)
        raise error
    end_processes_of_dead_holder(descriptor, study_folder)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": command,
        "processes": [],
    }
    _held[study_folder] = (descriptor, holder)
    write_holder(descriptor, holder)
    return descriptor


def write_holder(descriptor: int, holder: dict) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, (json.dumps(holder) + "\n").encode(), 0)


def record_processes(study_folder: Path, processes: list[tuple[int, float]]) -> None:
    """Note the (pid, start time) of the processes this driver started (its local Ray instance)."""
    if study_folder in _held:
        descriptor, holder = _held[study_folder]
        holder["processes"] = [list(process) for process in processes]
        write_holder(descriptor, holder)


def mark_environment(study_folder: Path) -> None:
    """Mark the processes this driver starts from now on (its Ray instance) as the study's own."""
    os.environ[STUDY_ENV] = str(study_folder)


def listed_processes(holder: dict) -> list[tuple[int, float]]:
    """The (pid, start time) pairs of a lock record of this host; malformed entries left out."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("processes"), list):
        return []
    listed = []
    for entry in holder["processes"]:
        if isinstance(entry, list) and len(entry) == 2:
            pid, started = entry
            if type(pid) is int and pid > 1 and pid != os.getpid() and type(started) in (int, float):
                listed.append((pid, float(started)))
    return listed


def is_study_ray_process(process, started: float, study_folder: Path) -> bool:
    """Whether ``process`` (a ``psutil.Process``) is one that a driver of this study started as its Ray
    instance: the recorded start time, this user's, a Ray command line, and the study's environment mark
    (or, for Ray's agents, which hide their environment behind their title, a parent that has it)."""
    import psutil  # a dependency of Ray

    try:
        if abs(process.create_time() - started) >= 0.01 or process.uids().real != os.getuid():
            return False
        command = process.cmdline()
        title = bool(command) and command[0].startswith(RAY_COMMAND_PREFIX)
        if not (title or any(ray_package() in word for word in command[:3])):
            return False
        if process.environ().get(STUDY_ENV) == str(study_folder):
            return True
        parent = process.parent()
        return title and parent is not None and parent.environ().get(STUDY_ENV) == str(study_folder)
    except (psutil.Error, OSError):
        return False


def ray_package() -> str:
    """The folder of the installed ``ray`` package (``.../site-packages/ray/``), without importing it."""
    spec = importlib.util.find_spec("ray")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return os.path.join(locations[0], "") if locations else "/ray/"


def end_processes_of_dead_holder(descriptor: int, study_folder: Path) -> None:
    """SIGKILL the recorded processes of the last holder (dead: we hold its lock) that still run and
    are verifiably its Ray instance's; anything else the file lists is left alone."""
    import psutil  # a dependency of Ray

    try:
        listed = listed_processes(read_holder(descriptor))
    except (OSError, ValueError):
        return
    verified = []  # all checked before any is ended (an agent is checked through its parent)
    for pid, started in listed:
        try:
            process = psutil.Process(pid)
            if is_study_ray_process(process, started, study_folder):
                verified.append(process)
        except (psutil.Error, OSError):
            continue
    for process in verified:
        try:
            process.send_signal(signal.SIGKILL)  # psutil refuses a pid reused meanwhile
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
