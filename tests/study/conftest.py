"""Fixtures of the study tests: a private Ray temp folder per test, cleaned up with its processes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from study_fixtures import kill_processes, processes_with_env


@pytest.fixture
def study_env():
    """Environment for a study subprocess: Ray's sessions in a short private temp folder (Ray's socket
    paths must stay short), no token authentication; afterwards every process that inherited it is
    ended by its id (Ray's processes outlive a driver killed with SIGKILL) and the folder removed."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmp), "RAY_AUTH_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    yield env
    kill_processes(processes_with_env("RAY_TMPDIR", str(ray_tmp)))
    shutil.rmtree(ray_tmp, ignore_errors=True)
