"""Fixtures of the study tests: a private Ray temp folder per test, cleaned up with its processes."""

from __future__ import annotations

import pytest
from ray_processes import ray_environment


@pytest.fixture
def study_env():
    """Environment for a study subprocess (see ``ray_processes.ray_environment``)."""
    with ray_environment() as env:
        yield env


@pytest.fixture
def env(study_env, tmp_path):
    """The study's environment with a private temp folder, to see the trials' temp folders."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    return {**study_env, "TMPDIR": str(temp)}
