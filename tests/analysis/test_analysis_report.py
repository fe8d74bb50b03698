"""``python -m analysis.report``: writes report.md, cells.csv and plots; --summary; --compare; errors."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from synthetic_studies import noise_amount_study

from analysis.report import main


def test_report_writes_tables_plots_and_verdicts(patch_store, tmp_path, capsys):
    builder, _ = patch_store
    assert main(["patch_size_low_data", "--tracking-uri", builder.uri, "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Table 4" in report and "value at the final epoch" in report
    assert "### object-to-patch: **holds**" in report
    assert "| patch | O2P % |" in report and "not_converged" in report
    for image in ("learning_curves.png", "accuracy_vs_factor.png"):
        assert (tmp_path / image).stat().st_size > 1000 and f"]({image})" in report
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert len(cells) == 4 * 4  # patch sizes x tasks
    printed = capsys.readouterr().out
    assert "Maj paper" in printed and "object-to-patch: holds" in printed


def test_report_best_epoch_is_explicit(patch_store, tmp_path):
    builder, _ = patch_store
    assert (
        main(
            [
                "patch_size_low_data",
                "--tracking-uri",
                builder.uri,
                "--out",
                str(tmp_path),
                "--summary",
                "best",
            ]
        )
        == 0
    )
    assert (
        "value at the epoch with the best val/accuracy (max) of each trial"
        in (tmp_path / "report.md").read_text()
    )


def test_compare_two_invocations_side_by_side(new_store, tmp_path, capsys):
    builder = new_store("compare")
    noise_amount_study(builder, slope=0.0)
    noise_amount_study(builder, slope=1e-4)
    assert (
        main(["noise_amount", "--tracking-uri", builder.uri, "--out", str(tmp_path), "--compare", "@1", "@2"])
        == 0
    )
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert len(cells) == 4 * 4 and (cells["n_A"] == 3).all() and (cells["n_B"] == 3).all()
    assert cells["difference"].to_numpy() == pytest.approx((cells["mean_B"] - cells["mean_A"]).to_numpy())
    at_800 = cells[(cells["data.noise_count"] == 800) & (cells["task"] == "majority")]
    assert at_800["difference"].item() == pytest.approx(-0.08, abs=0.01)  # slope 1e-4 x 800 noise curves
    report = (tmp_path / "report.md").read_text()
    assert "noise_amount@1 vs noise_amount@2" in report and "B − A" in report
    assert "Maj B−A" in capsys.readouterr().out


def test_bad_input_names_the_problem(patch_store, tmp_path, capsys):
    builder, _ = patch_store
    assert main(["no_such_study", "--tracking-uri", builder.uri, "--out", str(tmp_path)]) == 2
    assert "no study 'no_such_study'" in capsys.readouterr().err
    assert main(["patch_size_low_data", "--tracking-uri", str(tmp_path / "missing.db")]) == 2
    assert "no MLflow store" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])


@pytest.mark.slow
def test_report_command_line(patch_store, tmp_path):
    builder, _ = patch_store
    command = [sys.executable, "-m", "analysis.report", "patch_size_low_data", "--tracking-uri", builder.uri]
    result = subprocess.run([*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report.md").exists() and "Maj" in result.stdout
