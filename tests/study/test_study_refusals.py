"""Input that a trial would trip over only once Ray runs (and the study folder would then need
``--resume`` or another ``--storage``), and flags that would be accepted and ignored: all refused before
Ray starts, exit 2, the fix named, nothing written."""

from __future__ import annotations

import http.server
import importlib.util
import json
import threading
from pathlib import Path

import pytest
import ray

from study import run

STUDY = ["noise_amount", "--profile", "smoke"]


def tree(folder: Path) -> dict[str, int]:
    return {str(path.relative_to(folder)): path.stat().st_size for path in folder.rglob("*")}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """An empty folder to run in; the launch (Ray) must never be reached."""
    monkeypatch.chdir(tmp_path)

    def launch(plan, options):
        raise AssertionError("the launch was reached: Ray would start")

    monkeypatch.setattr(run, "launch", launch)
    yield tmp_path
    assert not ray.is_initialized(), "Ray was started"


def refused(capsys, argv: list[str], folder: Path) -> str:
    before = tree(folder)
    assert run.main(argv) == 2
    assert tree(folder) == before, "a file was written"
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error, error
    return error


def test_a_missing_or_empty_mnist_path_is_refused(capsys, in_tmp):
    error = refused(capsys, [*STUDY, "--set", "data.mnist_path=nowhere"], in_tmp)
    assert "data.mnist_path" in error and "nowhere" in error and "None" in error
    (in_tmp / "mnist").mkdir()
    error = refused(capsys, [*STUDY, "--set", f"data.mnist_path={in_tmp / 'mnist'}"], in_tmp)
    assert "train-images-idx3-ubyte" in error and "IDX" in error


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_a_number_that_is_not_finite_is_refused(capsys, in_tmp, value):
    error = refused(capsys, [*STUDY, "--set", f"optimisation.lr={value}"], in_tmp)
    assert "optimisation.lr" in error and "finite number" in error


def test_a_renamed_task_is_refused_naming_the_datasets_tasks(capsys, in_tmp):
    tasks = json.dumps([{"name": "majorty", "kind": "multiclass", "classes": 10}])
    error = refused(capsys, [*STUDY, "--set", f"tasks={tasks}"], in_tmp)
    assert "'majorty'" in error and "megapixel_mnist" in error and "majority (multiclass" in error
    tasks = json.dumps([{"name": "majority", "kind": "multiclass", "classes": 4}])  # the wrong head
    assert "4 classes" in refused(capsys, [*STUDY, "--set", f"tasks={tasks}"], in_tmp)


def test_a_tiny_cpu_share_is_refused(capsys, in_tmp):
    error = refused(capsys, [*STUDY, "--cpus-per-trial", "0.00001"], in_tmp)
    assert "--cpus-per-trial" in error and "at least 0.01" in error


@pytest.mark.parametrize(
    ("uri", "module"),
    [
        ("postgresql://alice@127.0.0.1/mlflow", "psycopg2"),
        ("postgresql+psycopg://alice@127.0.0.1/mlflow", "psycopg"),
        ("mysql+pymysql://alice@127.0.0.1/mlflow", "pymysql"),
    ],
)
def test_a_database_uri_without_its_driver_is_refused(capsys, in_tmp, uri, module):
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    error = refused(capsys, [*STUDY, "--tracking-uri", uri], in_tmp)
    assert module in error and "pip install" in error


class NotMLflow(http.server.BaseHTTPRequestHandler):
    """A web server that is not MLflow: a page for ``/``, ``/health`` answered, 404 elsewhere."""

    def do_GET(self):  # noqa: N802 (the handler's API)
        known = self.path in ("/", "/health")
        self.send_response(200 if known else 404)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>OK</html>")

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMLflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_server_that_is_not_mlflow_is_refused(capsys, in_tmp, web_server):
    error = refused(capsys, [*STUDY, "--tracking-uri", web_server], in_tmp)
    assert "not an MLflow tracking server" in error and "mlflow server" in error


@pytest.mark.parametrize("name", ["TMPDIR", "RAY_TMPDIR"])
def test_a_temp_folder_too_long_for_rays_sockets_is_refused(capsys, in_tmp, monkeypatch, name):
    long = in_tmp / ("t" * 60)
    long.mkdir()
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.setenv(name, str(long))
    error = refused(capsys, STUDY, in_tmp)
    assert f"{name} {long}" in error and "too long for Ray" in error and "RAY_TMPDIR=/tmp" in error


def test_a_seed_set_by_hand_is_refused_pointing_at_seeds(capsys, in_tmp):
    error = refused(capsys, [*STUDY, "--set", "seed=5"], in_tmp)
    assert "--seeds" in error


@pytest.mark.parametrize(
    ("study", "field"),
    [("patch_size_low_data", "patches.size=25"), ("low_data_search", "optimisation.lr=0.001")],
)
def test_a_set_of_a_field_the_study_varies_is_refused(capsys, in_tmp, study, field):
    error = refused(capsys, [study, "--profile", "smoke", "--set", field], in_tmp)
    assert f"varies {field.split('=')[0]}" in error and "leave it out" in error


def test_retries_with_resume_are_refused(capsys, in_tmp):
    error = refused(capsys, [*STUDY, "--resume", "--retries", "2"], in_tmp)
    assert "--retries 2 with --resume" in error and "leave --retries out" in error


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # free once closed: nothing listens there


def test_a_ray_address_where_no_cluster_answers_is_refused_at_once(capsys, in_tmp):
    import time

    started = time.monotonic()
    for address in (f"127.0.0.1:{closed_port()}", f"ray://127.0.0.1:{closed_port()}"):
        error = refused(capsys, [*STUDY, "--address", address], in_tmp)
        assert "no Ray cluster answered" in error and "ray start --head" in error
    assert time.monotonic() - started < 30, "the refusal waited"
    error = refused(capsys, [*STUDY, "--address", "head-node"], in_tmp)
    assert "HOST:PORT" in error


def test_a_dry_run_with_a_huge_seed_or_noise_count_answers_within_seconds(capsys, in_tmp):
    import time

    error = refused(capsys, [*STUDY, "--dry-run", "--seeds", "100000"], in_tmp)
    assert "--seeds 100000" in error and "at most" in error
    started = time.monotonic()
    argv = ["patch_size_low_data", "--profile", "smoke", "--dry-run", "--set", "data.noise_count=100000000"]
    assert run.main(argv) == 0
    assert "nothing was started" in capsys.readouterr().out
    assert time.monotonic() - started < 20, "the dry run rendered the canvas"
