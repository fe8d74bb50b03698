"""The prepared GPU check (``scripts/device_check.sh`` with ``bench.device_check``) runs end to end on a
CPU in its quick mode: every step exits 0 and writes its figures as JSON (their values mean nothing
here), so that the one call on a GPU machine spends its minutes measuring, not debugging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_device_check_runs_end_to_end_in_its_quick_mode_on_a_cpu(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DC_QUICK": "1", "OUT": str(out), "PY": sys.executable}
    result = subprocess.run(
        ["bash", "scripts/device_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400
    )
    log = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, log
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    expected = ["facts", "tests-core", "bench", "table4", "memory", "tests-study", "packing"]
    if json.loads((out / "results.json").read_text())["facts"]["packages"].get("ray"):
        expected.append("study")
    assert [step["step"] for step in steps if step["step"] != "install"] == expected, log
    assert all(step["exit"] == 0 for step in steps if step["step"] != "install"), steps
    results = json.loads((out / "results.json").read_text())
    measurements = [*results["bench"].values(), *results["table4"].values(), *results["packing"].values()]
    assert all("error" not in measurement for measurement in measurements), measurements
    assert all(fit["result"]["finished"] == fit["result"]["trials"] for fit in results["packing"].values())
    figures = json.loads((out / "gpu_memory.json").read_text())
    assert {(report["device"], report.get("bf16", False)) for report in figures["reports"]} == {
        ("cpu", False),
        ("cpu", True),
    }
    if "study" in results:
        trials = results["study"]["trials"]
        assert results["study"]["exit_code"] == 0 and trials, results["study"]
        assert {trial["device"] for trial in trials} == {"cpu"}  # given no GPU here
    assert "one Table 4 trial" in result.stdout, log
