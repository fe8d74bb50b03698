"""Bad input of every kind is refused before Ray starts and before anything is written: exit 2 and a
message that names the problem and the fix (one test per kind of input)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import ray

from search_spaces import STUDIES
from study.guard.invocation import resume_command, write_invocation
from study.plan import plan_study
from study.run import main

STUDY = ["noise_amount", "--profile", "smoke"]


def tree(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*")}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Each test runs in an empty folder, and must leave it as it found it (plus what it put there)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not ray.is_initialized(), "Ray was started"


def refused(capsys, argv: list[str], folder: Path) -> str:
    """Run the CLI, expect exit 2 and no file written; returns its error message."""
    before = tree(folder)
    assert main(argv) == 2
    assert tree(folder) == before, "a file was written"
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error
    return error


def test_a_storage_that_is_a_file_or_under_one_is_refused(capsys, in_tmp):
    (in_tmp / "results").write_text("not a folder")
    error = refused(capsys, [*STUDY, "--storage", "results"], in_tmp)
    assert "is a file, not a folder" in error and "give a folder" in error
    error = refused(capsys, [*STUDY, "--storage", "results/ray"], in_tmp)
    assert "is a file, not a folder" in error


@contextmanager
def unwritable(folder: Path):
    """``folder`` made unwritable even for root (immutable), or by permissions for other users."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: nothing is unwritable")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_storage_is_refused(capsys, in_tmp):
    (in_tmp / "locked").mkdir()
    with unwritable(in_tmp / "locked"):
        error = refused(capsys, [*STUDY, "--storage", "locked/ray"], in_tmp)
    assert "cannot write in" in error and "locked" in error and "give a folder you can write to" in error


@pytest.mark.parametrize("uri", ["mlruns", "./results", "file:///tmp/mlruns", "foo://host/x", "sqlite://"])
def test_a_bogus_tracking_uri_is_refused(capsys, in_tmp, uri):
    error = refused(capsys, [*STUDY, "--tracking-uri", uri], in_tmp)
    assert "--tracking-uri" in error and ("sqlite:///mlflow.db" in error)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_an_unreachable_tracking_server_is_refused_without_minutes_of_retries(capsys, in_tmp):
    uri = f"http://alice:s3cret@127.0.0.1:{closed_port()}"
    error = refused(capsys, [*STUDY, "--tracking-uri", uri], in_tmp)
    assert "no MLflow server answered" in error and "mlflow server" in error
    assert "s3cret" not in error and "alice:***@" in error  # the password is never printed


def test_a_read_only_tracking_store_is_refused(capsys, in_tmp):
    store = in_tmp / "store"
    store.mkdir()
    sqlite3.connect(store / "mlflow.db").close()
    with unwritable(store):
        error = refused(capsys, [*STUDY, "--tracking-uri", f"sqlite:///{store / 'mlflow.db'}"], in_tmp)
    assert "read-only" in error and "give a writable location" in error


def test_a_corrupted_mlflow_database_is_refused(capsys, in_tmp):
    (in_tmp / "mlflow.db").write_bytes(os.urandom(3000))
    error = refused(capsys, STUDY, in_tmp)
    assert "is not an SQLite database" in error and "move this one away" in error
    # A real SQLite file whose pages were overwritten.
    database = in_tmp / "damaged.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table runs (id text, value text)")
        connection.executemany("insert into runs values (?, ?)", [(str(i), "x" * 500) for i in range(200)])
    connection.close()
    with open(database, "r+b") as file:
        file.seek(4096)
        file.write(os.urandom(16384))
    error = refused(capsys, [*STUDY, "--tracking-uri", f"sqlite:///{database}"], in_tmp)
    assert "damaged.db" in error and "backup" in error


def test_a_missing_dataset_folder_is_refused(capsys, in_tmp):
    error = refused(capsys, ["patch_size_traffic", "--profile", "smoke", "--data-root", "nowhere"], in_tmp)
    assert str(in_tmp / "nowhere") in error and "--data-root" in error
    error = refused(capsys, ["patch_size_traffic", "--profile", "smoke"], in_tmp)  # the default folder
    assert "data/traffic_signs" in error and "--data-root" in error


def test_a_gpu_share_without_a_gpu_is_refused(capsys, in_tmp):
    import torch

    asked = torch.cuda.device_count() + 1  # one more than this machine has: 1 on a CPU machine
    error = refused(capsys, [*STUDY, "--gpus-per-trial", str(asked)], in_tmp)
    assert "--gpus-per-trial" in error and "GPU(s) visible" in error and "leave it out" in error


def test_gpu_packing_on_a_machine_without_a_gpu_is_refused(capsys, in_tmp):
    import torch

    if torch.cuda.device_count():
        pytest.skip("this machine has a GPU")
    error = refused(capsys, [*STUDY, "--gpus-per-trial", "auto"], in_tmp)
    assert "--gpus-per-trial auto" in error and "no GPU visible" in error and "leave it out" in error


@pytest.mark.parametrize("cores", ["nan", "inf", "-inf", "0", "-1"])
def test_a_cpu_count_that_is_not_a_positive_number_is_refused(capsys, in_tmp, cores):
    error = refused(capsys, [*STUDY, f"--cpus-per-trial={cores}"], in_tmp)
    assert "--cpus-per-trial" in error and "positive number" in error


@pytest.mark.parametrize("content", ["", '{"fingerprint": "abc", "tracking', "[]", '{"study": "x"}'])
def test_resume_with_an_empty_or_torn_study_json_is_refused(capsys, in_tmp, content):
    folder = in_tmp / "runs" / "ray" / "noise_amount-smoke"
    folder.mkdir(parents=True)
    (folder / "study.json").write_text(content)
    error = refused(capsys, [*STUDY, "--resume"], in_tmp)
    assert "study.json is empty or damaged" in error and "--storage" in error


def test_credentials_of_a_tracking_uri_are_never_written_or_printed(in_tmp):

    uri = "https://alice:s3cret@mlflow.example:5000"
    argv = [*STUDY, "--tracking-uri", uri]
    plan = plan_study(STUDIES["noise_amount"], "smoke")
    write_invocation(in_tmp / "study", plan, uri, argv)
    record = (in_tmp / "study" / "study.json").read_text()
    assert "s3cret" not in record and "alice:***@mlflow.example:5000" in record
    assert json.loads(record)["tracking_uri"] == "https://alice:***@mlflow.example:5000"
    for words in (argv, STUDY, [*STUDY, f"--tracking-uri={uri}"]):
        command = resume_command(words, in_tmp / "runs", uri)
        assert "s3cret" not in command and "alice:***@" in command and "--resume" in command


def test_resume_of_a_study_tracked_with_a_password_asks_for_the_uri_again(capsys, in_tmp):

    uri = "https://alice:s3cret@mlflow.example:5000"
    folder = in_tmp / "runs" / "ray" / "noise_amount-smoke"
    write_invocation(folder, plan_study(STUDIES["noise_amount"], "smoke"), uri, STUDY)
    error = refused(capsys, [*STUDY, "--resume"], in_tmp)
    assert "password is not stored" in error and "--tracking-uri" in error and "s3cret" not in error


def test_what_ray_and_optuna_pickle_into_the_study_folder_holds_no_password(monkeypatch):
    import pickle

    from study.guard.redact import SECRET_ENV, remember, unredact
    from study.mlflow_logger import MLflowTrialLogger

    monkeypatch.setenv(SECRET_ENV, "")  # restored after the test
    uri = "https://alice:s3cret@mlflow.example:5000"
    remember(uri)
    logger = MLflowTrialLogger(tracking_uri=uri, experiment_id="1", parent_run_id="p")
    blob = pickle.dumps(logger)  # as Ray writes it into tuner.pkl
    assert b"s3cret" not in blob
    assert unredact(pickle.loads(blob).tracking_uri) == uri  # the client still gets the password
    assert unredact("https://bob:***@mlflow.example:5000") == "https://bob:***@mlflow.example:5000"
