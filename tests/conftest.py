"""Fixtures shared by the packages' tests: one real smoke study per test session.

``smoke_study`` runs ``python -m study.run patch_size_low_data --profile smoke`` once (real Ray, real
training, a real MLflow SQLite store in a temporary folder, defaults for the store and the Ray storage)
and both the study runner's end-to-end test and the analysis tests read what it logged.

Where ray, mlflow or optuna are not installed (a GPU machine's image with torch only), the tests that
need them are not collected (``collect_ignore``, named in the run's header) and ``pytest -m gpu``
runs the gpu tests that need torch alone; ``tests/study/test_study_gpu.py`` skips its Ray test itself.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ray_processes import ray_environment


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # a blocked or broken package
        return False


MISSING = [name for name in ("ray", "mlflow", "optuna") if not installed(name)]
# Every test module of analysis/ and study/ but the gpu one imports them (or ips.study code that does).
collect_ignore = ["analysis"] if MISSING else []
collect_ignore_glob = ["study/test_study_[!g]*.py", "study/test_study_gpu_*.py"] if MISSING else []


def pytest_report_header(config: pytest.Config) -> str | None:
    if MISSING:
        left_out = ", ".join(collect_ignore + collect_ignore_glob)
        return f"not installed: {', '.join(MISSING)}; not collected: {left_out}"
    return None


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
