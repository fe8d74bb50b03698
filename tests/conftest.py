"""Fixtures shared by the packages' tests: one real smoke study per test session.

``smoke_study`` runs ``python -m study.run patch_size_low_data --profile smoke`` once (real Ray, real
training, a real MLflow SQLite store in a temporary folder, defaults for the store and the Ray storage)
and both the study runner's end-to-end test and the analysis tests read what it logged.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ray_processes import ray_environment


@dataclass(frozen=True)
class SmokeStudy:
    folder: Path  # the working directory it ran in: mlflow.db, mlartifacts/, runs/ray/
    result: subprocess.CompletedProcess

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.folder / 'mlflow.db'}"


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory: pytest.TempPathFactory) -> SmokeStudy:
    folder = tmp_path_factory.mktemp("smoke_study")
    command = [sys.executable, "-m", "study.run", "patch_size_low_data", "--profile", "smoke"]
    with ray_environment() as env:
        result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return SmokeStudy(folder, result)
