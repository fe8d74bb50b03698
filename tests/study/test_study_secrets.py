"""No secret of a tracking URI on the terminal, on disk or in a pickle, whatever its form: a password in
the user part (``user:password@``), a secret query parameter (``?password=``, ``?token=``), or MLflow's
own credential variables in the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cluster_fixtures import mlflow_server
from mlflow import MlflowClient
from study_fixtures import run_cli

from search_spaces import STUDIES
from study import run
from study.guard import lock
from study.guard.invocation import resume_command, write_invocation
from study.guard.redact import SECRET_ENV, is_redacted, redact_uri, remember, unredact
from study.plan import plan_study

STUDY = ["noise_amount", "--profile", "smoke"]
SECRET = "s3cret-Pw"
URIS = [
    f"https://alice:{SECRET}@mlflow.example:5000",
    f"postgresql://alice@db.example/mlflow?sslmode=require&password={SECRET}",
    f"https://mlflow.example:5000/?token={SECRET}",
    f"https://mlflow.example/?Access_Token={SECRET}&x=1",
]


def files_holding(folder: Path, secret: str) -> list[str]:
    """Every file under ``folder`` (pickles included) whose bytes hold ``secret``."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    return [str(path) for path in files if secret.encode() in path.read_bytes()]


@pytest.fixture
def clean_env(monkeypatch):
    """The credential variables this process may set, restored after the test."""
    for name in (SECRET_ENV, "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.mark.parametrize("uri", URIS)
def test_every_form_of_secret_is_redacted_and_restored_where_a_client_opens(uri, clean_env):
    shown = redact_uri(uri)
    assert SECRET not in shown and "***" in shown and is_redacted(shown)
    assert redact_uri(shown) == shown and not is_redacted(uri)
    os.environ[SECRET_ENV] = uri  # what study.guard.redact.remember keeps
    assert unredact(shown) == uri


@pytest.mark.parametrize("uri", URIS)
def test_study_json_driver_lock_and_resume_command_hold_no_secret(uri, tmp_path, monkeypatch, clean_env):
    """Through ``study.run.main`` up to the launch (stubbed): what it writes and prints."""
    launched = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("study.guard.preflight.check_tracking_uri", lambda uri: None)  # no such hosts here
    monkeypatch.setattr(run, "launch", lambda plan, options: launched.append(options) or 130)
    for argv in ([*STUDY, "--tracking-uri", uri], [*STUDY, f"--tracking-uri={uri}"]):
        folder = tmp_path / "runs" / "ray" / "noise_amount-smoke"
        assert run.main(argv) == 130  # "interrupted": it prints the resume command
        assert launched.pop().tracking_uri == uri  # the launch still gets the real URI
        write_invocation(folder, plan_study(STUDIES["noise_amount"], "smoke"), uri, argv)
        assert (folder / "study.json").is_file() and (folder / lock.LOCK_FILE).is_file()
        assert files_holding(tmp_path, SECRET) == []
        assert SECRET not in resume_command(argv, tmp_path, uri)
        descriptor, _ = lock._held.pop(folder)
        os.close(descriptor)
        (folder / "study.json").unlink()


def test_an_mlflow_client_gets_a_servers_password_from_the_environment_not_the_uri(clean_env):
    from study.guard.redact import client_uri

    uri = f"https://alice:{SECRET}@mlflow.example:5000/prefix"
    remember(uri)
    given = client_uri(redact_uri(uri))  # as the logger holds it
    assert given == "https://mlflow.example:5000/prefix"
    creds = MlflowClient(given)._tracking_client.store.get_host_creds()
    assert (creds.host, creds.username, creds.password) == (given, "alice", SECRET)
    assert client_uri("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_real_study_against_a_real_server_prints_and_writes_no_secret(tmp_path, study_env):
    """A credential-bearing URI to a real ``mlflow server`` (it ignores the credentials: basic auth
    needs Flask-WTF, not installed), and MLflow's credential variables in the environment."""
    env = {**study_env, "MLFLOW_TRACKING_TOKEN": "tok-" + SECRET}
    with mlflow_server(tmp_path / "server") as server:
        uri = server.uri.replace("http://", f"http://alice:{SECRET}@")
        storage = tmp_path / "runs"
        args = ["tiny_one", "--profile", "smoke", "--tracking-uri", uri, "--storage", str(storage)]
        result = run_cli(args, tmp_path, env, tiny=True)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        assert SECRET not in output, [line for line in output.splitlines() if SECRET in line]
        assert files_holding(storage, SECRET) == []
        experiment = MlflowClient(server.uri).get_experiment_by_name("tiny_one")
        assert len(MlflowClient(server.uri).search_runs([experiment.experiment_id])) == 2  # parent, trial


def test_printed_commands_are_shell_quoted_for_a_storage_path_with_spaces(tmp_path):
    import shlex

    from study.mlflow_store import ui_command

    storage = tmp_path / "my runs" / "it's here"
    uri = f"sqlite:///{tmp_path / 'my store' / 'mlflow.db'}"
    argv = [*STUDY, "--set", "data.noise=lines", "--tracking-uri", f"https://alice:{SECRET}@host/x y"]
    command = resume_command(argv[:-2], storage, uri)
    words = shlex.split(command)
    assert words[:3] == [sys.executable, "-m", "study.run"] and words[3:] == [
        *STUDY, "--set", "data.noise=lines", "--storage", str(storage), "--tracking-uri", uri, "--resume",
    ]  # fmt: skip
    assert shlex.split(resume_command(argv, storage, argv[-1]))[-5:] == [
        "--tracking-uri", "https://alice:***@host/x y", "--storage", str(storage), "--resume",
    ]  # fmt: skip
    assert shlex.split(ui_command(uri))[:5] == [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri"]
    assert shlex.split(ui_command(uri))[5] == uri
