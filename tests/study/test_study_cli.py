"""``python -m study.run``: bad input is refused before Ray starts; --list and --dry-run start nothing."""

from __future__ import annotations

import json
import re

import pytest
import ray

from search_spaces import STUDIES
from study.plan import StudyError
from study.run import main, parse_sets


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not ray.is_initialized(), "Ray was started"
    assert not (tmp_path / "mlflow.db").exists(), "MLflow was written"


def test_unknown_study_lists_the_valid_ones(capsys, in_tmp):
    assert main(["patch_size"]) == 2
    error = capsys.readouterr().err
    assert (
        "unknown study 'patch_size'" in error and "patch_size_low_data" in error and "o2i_data_size" in error
    )
    assert not (in_tmp / "runs").exists()


def test_an_invalid_value_names_the_field_and_nothing_starts(capsys, in_tmp):
    assert main(["patch_size_low_data", "--profile", "smoke", "--set", "patches.size=900"]) == 2
    error = capsys.readouterr().err
    assert "patches.size" in error and "900" in error
    assert not (in_tmp / "runs").exists()


def test_an_unknown_profile_is_refused(capsys):
    assert main(["noise_amount", "--profile", "laptop"]) == 2
    assert "paper, cpu, smoke" in capsys.readouterr().err


def test_bad_resources_are_refused(capsys):
    assert main(["noise_amount", "--cpus-per-trial", "0"]) == 2
    assert "--cpus-per-trial" in capsys.readouterr().err
    assert main(["noise_amount", "--max-concurrent", "0"]) == 2
    assert main(["noise_amount", "--cpus-per-trial", "4096"]) == 2
    assert "this machine has" in capsys.readouterr().err


def test_an_existing_study_folder_is_never_overwritten(capsys, in_tmp):
    folder = in_tmp / "runs" / "ray" / "noise_amount-smoke"
    folder.mkdir(parents=True)
    (folder / "keep.txt").write_text("logged")
    assert main(["noise_amount", "--profile", "smoke"]) == 2
    error = capsys.readouterr().err
    assert "--resume" in error and "--storage" in error
    assert (folder / "keep.txt").read_text() == "logged"


def test_resume_needs_something_to_resume(capsys):
    assert main(["noise_amount", "--profile", "smoke", "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_resume_with_other_settings_is_refused(capsys, in_tmp):
    folder = in_tmp / "runs" / "ray" / "noise_amount-smoke"
    folder.mkdir(parents=True)
    record = {
        "fingerprint": "0",
        "tracking_uri": "sqlite:////x/mlflow.db",
        "command": "python -m study.run x",
    }
    (folder / "study.json").write_text(json.dumps(record))
    assert main(["noise_amount", "--profile", "smoke", "--resume"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_dry_run_prints_the_trial_table_and_a_cost(capsys, in_tmp):
    assert main(["o2i_data_size", "--profile", "cpu", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "data.digit_size" in out and "data.train_canvases" in out
    rows = re.findall(r"^\s*\d+\s\s", out, flags=re.MULTILINE)
    assert len(rows) == 24  # one row per trial: 2 digits x 2 data sizes x 6 seeds
    assert "multiply-accumulates" in out and "nothing was started" in out
    assert not (in_tmp / "runs").exists()


def test_dry_run_of_a_search(capsys):
    assert main(["low_data_search", "--profile", "smoke", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 suggestions x 2 seeds" in out and "patches.size" in out


def test_list_names_every_study_and_profile(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "patch_size_low_data",
        "noise_thickness",
        "noise_amount",
        "o2i_data_size",
        "digit_resolution",
        "memory_size",
        "low_data_search",
    ):
        assert name in out
    assert out.count("--profile smoke") == len(STUDIES)


def test_data_root_is_made_absolute_for_every_trial(capsys, in_tmp):
    assert main(["noise_amount", "--profile", "smoke", "--data-root", "sets", "--dry-run"]) == 2
    assert "data.root" in capsys.readouterr().err  # Megapixel MNIST has no root: the field is named


def test_parse_sets_reads_json_values_else_strings():
    assert parse_sets(["a.b=5", "c=lines", "d=1e-3", "e=null"]) == {
        "a.b": 5,
        "c": "lines",
        "d": 1e-3,
        "e": None,
    }
    with pytest.raises(StudyError, match="KEY=VALUE"):
        parse_sets(["epochs"])
