"""``python -m analysis.report`` on bad input prints one ``error:`` line and exits 2, never a traceback:
a trials.csv that is not text or empty, a store file that is not SQLite, an ``--out`` that is a file, a
server that is not MLflow (its credentials never shown), or one that does not answer (within seconds,
not MLflow's minutes of retries)."""

from __future__ import annotations

import http.server
import os
import threading

import pytest

from analysis.report import main

SECRET = "s3cret-Pw"


def error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b""])
def test_a_trials_csv_that_is_not_text_or_is_empty_gives_an_error_line(content, tmp_path, capsys):
    path = tmp_path / "trials.csv"
    path.write_bytes(content)
    error = error_line(capsys, ["--from-csv", str(path), "--out", str(tmp_path / "out")])
    assert "not a trials.csv" in error and "trials.csv" in error


def test_a_store_file_that_is_not_sqlite_gives_an_error_line(tmp_path, capsys):
    store = tmp_path / "mlflow.db"
    store.write_bytes(os.urandom(3000))
    for argv in (["patch_size_low_data"], ["--compare", "a", "b"]):
        error = error_line(capsys, [*argv, "--tracking-uri", str(store), "--out", str(tmp_path)])
        assert "is not an SQLite database" in error


def test_an_out_that_is_a_file_gives_an_error_line(patch_store, tmp_path, capsys):
    builder, _ = patch_store
    (tmp_path / "out").write_text("a file")
    error = error_line(
        capsys, ["patch_size_low_data", "--tracking-uri", builder.uri, "--out", str(tmp_path / "out")]
    )
    assert "out" in error


class NotMLflow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the handler's API)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_mlflow_gives_an_error_line_without_its_password(tmp_path, capsys, monkeypatch):
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMLflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://alice:{SECRET}@127.0.0.1:{server.server_address[1]}"
        error = error_line(capsys, ["patch_size_low_data", "--tracking-uri", uri, "--out", str(tmp_path)])
    finally:
        server.shutdown()
        server.server_close()
    assert "not an MLflow tracking server" in error and SECRET not in error and "alice:***@" in error


def test_an_unreachable_server_gives_an_error_line_within_seconds(tmp_path, capsys):
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    started = time.monotonic()
    error = error_line(capsys, ["patch_size_low_data", "--tracking-uri", f"http://127.0.0.1:{port}"])
    assert time.monotonic() - started < 30, "it waited for MLflow's retries"
    assert "no MLflow server answered" in error and "mlflow server" in error
