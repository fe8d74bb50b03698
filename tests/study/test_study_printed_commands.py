"""Every command the runner prints runs as printed, from a shell whose PATH has no venv in it: the
resume hint, the MLflow UI line and the optuna-dashboard commands start this interpreter (or the
script beside it), never a bare ``python`` / ``mlflow`` that may be another installation or none."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from study import mlflow_store as store
from study.guard.invocation import resume_command
from study.search import dashboard_commands

REPOSITORY = Path(__file__).resolve().parents[2]
BARE_PATH = {**os.environ, "PATH": "/usr/bin:/bin"}  # what a new terminal outside the venv has


def run_as_pasted(words: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(words, cwd=REPOSITORY, env=BARE_PATH, capture_output=True, text=True, timeout=300)


def test_the_resume_hint_runs_outside_the_venv(tmp_path):
    command = resume_command(["patch_size_low_data", "--profile", "smoke"], tmp_path, "sqlite:///x.db")
    words = shlex.split(command)
    assert words[0] == sys.executable and words[-1] == "--resume", command
    result = run_as_pasted([*words, "--dry-run"])  # the same command, asked only for its plan
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trials" in result.stdout


def test_the_mlflow_ui_line_runs_outside_the_venv(tmp_path):
    command = store.ui_command(f"sqlite:///{tmp_path / 'mlflow.db'}")
    words = shlex.split(command)
    assert words[:4] == [sys.executable, "-m", "mlflow", "ui"] and "127.0.0.1" in words, command
    result = run_as_pasted([*words[:4], "--help"])
    assert result.returncode == 0 and "--backend-store-uri" in result.stdout, result.stderr[-2000:]


def test_the_optuna_dashboard_commands_use_this_interpreters_pip_and_scripts(tmp_path):
    install, start = (shlex.split(command) for command in dashboard_commands(tmp_path / "s-smoke"))
    assert install == [sys.executable, "-m", "pip", "install", "optuna-dashboard"]
    assert Path(start[0]).parent == Path(sys.executable).parent and Path(start[0]).name == "optuna-dashboard"
    assert start[1] == f"sqlite:///{tmp_path / 's-smoke' / 'optuna.db'}" and "127.0.0.1" in start
    result = run_as_pasted([*install[:3], "--version"])  # this interpreter's pip answers
    assert result.returncode == 0, result.stderr[-2000:]
