"""Ray hygiene for tests that start ``python -m study.run``: a private Ray temp folder per use, and the
processes that inherited it ended by their ids afterwards (Ray's processes outlive a killed driver)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def processes_with_env(name: str, value: str) -> list[int]:
    """Ids of this user's processes whose environment has ``name=value`` (the ones a test started)."""
    wanted = f"{name}={value}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def kill_processes(pids: list[int], wait: float = 10.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)


@contextmanager
def ray_environment() -> Iterator[dict[str, str]]:
    """Environment for a study subprocess: Ray's sessions in a short private temp folder (Ray's socket
    paths must stay short), no token authentication; afterwards every process that inherited it is
    ended and the folder removed."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp), "RAY_AUTH_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    try:
        yield env
    finally:
        kill_processes(processes_with_env("RAY_TMPDIR", str(ray_tmp)))
        shutil.rmtree(ray_tmp, ignore_errors=True)
