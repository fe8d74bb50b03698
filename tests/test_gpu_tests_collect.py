"""``pytest -m gpu`` collects on a GPU machine whose image has torch but no ray, mlflow or optuna.

Simulated here by a pytest run in a subprocess in which importing those three packages fails as it
does where they are not installed (``ModuleNotFoundError``): the ray-free gpu tests must be collected,
the others skipped or left out, and no collection error may stop the run (it used to end with 14).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WITHOUT_RAY_MLFLOW_OPTUNA = """
import sys

class Absent:
    MISSING = {"ray", "mlflow", "optuna"}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_the_gpu_tests_collect_without_ray_mlflow_and_optuna():
    command = [sys.executable, "-c", WITHOUT_RAY_MLFLOW_OPTUNA, "--collect-only", "-q", "-m", "gpu"]
    command += ["-p", "no:cacheprovider", "tests"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "error" not in output.lower().replace("errors=0", ""), output[-4000:]
    collected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    for module in ("tests/test_gpu.py", "tests/test_fast_selection_gpu.py", "tests/study/test_study_gpu.py"):
        assert module in collected, output[-4000:]
