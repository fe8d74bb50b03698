"""A real MLflow tracking server and a real two-node Ray cluster on this machine, started the way a user
starts them (``mlflow server``, ``ray start``), for the tests of a study past one process.

Every process they start carries an environment marker of its own (``IPS_TEST_MARKER``, and for Ray
``RAY_TMPDIR``, a private temp folder); at the end exactly those processes are ended, by their ids.
Never ``ray stop``: that would end every Ray node of this user, other people's test clusters included.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from ray_processes import kill_processes, processes_with_env

from study import tracking

MARKER = "IPS_TEST_MARKER"


def executable(name: str) -> str:
    """A console script of this interpreter's environment (``mlflow``, ``ray``)."""
    return str(Path(sys.executable).parent / name)


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def marked_environment(**extra: str) -> dict[str, str]:
    return {**os.environ, MARKER: uuid.uuid4().hex, "PYTHONUNBUFFERED": "1", **extra}


def end_marked(env: dict[str, str]) -> None:
    """End every process started with this environment (and their children, which inherit it)."""
    kill_processes(processes_with_env(MARKER, env[MARKER]))


# --------------------------------------------------------------------------------------- MLflow


@dataclass(frozen=True)
class MLflowServer:
    uri: str  # http://127.0.0.1:PORT
    database: Path
    artifacts: Path
    process: subprocess.Popen
    env: dict[str, str]  # its environment (with its own MARKER)


def wait_until_healthy(uri: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("mlflow server exited:\n" + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("mlflow server did not answer in time:\n" + log.read_text()[-3000:])


@contextmanager
def mlflow_server(folder: Path) -> Iterator[MLflowServer]:
    """``mlflow server`` on 127.0.0.1 and a free port, with its own SQLite backend and artifact folder
    (served by the server: clients never touch the folder); stopped, with its workers, at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    database, artifacts, log = folder / "server.db", folder / "artifacts", folder / "server.log"
    (port,) = free_ports(1)
    command = [
        executable("mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{database}",
        "--artifacts-destination",
        artifacts.as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = marked_environment()
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        uri = f"http://127.0.0.1:{port}"
        wait_until_healthy(uri, process, log)
        yield MLflowServer(uri, database, artifacts, process, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        end_marked(env)
        process.wait()


# ------------------------------------------------------------------------------------------ Ray


@dataclass(frozen=True)
class RayCluster:
    address: str  # 127.0.0.1:PORT of the head's GCS
    env: dict[str, str]  # the environment every process of this cluster (and its drivers) runs with


def ray_start(arguments: list[str], env: dict[str, str], log: Path) -> None:
    """``ray start ...``: it starts the node's daemons in the background and returns."""
    command = [executable("ray"), "start", "--disable-usage-stats", *arguments]
    with open(log, "a") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        result = subprocess.run(command, env=env, stdout=out, stderr=out, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"ray start failed ({result.returncode}):\n" + log.read_text()[-4000:])


def node_ports() -> list[str]:
    """Free ports for one node's own servers (the defaults are fixed numbers that other people's
    clusters on this machine may hold)."""
    names = (
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    )
    return [
        word for name, port in zip(names, free_ports(len(names)), strict=True) for word in (name, str(port))
    ]


@contextmanager
def two_node_cluster(log: Path) -> Iterator[RayCluster]:
    """A head and a worker node on 127.0.0.1, one CPU each, in a private Ray temp folder; every process
    of the cluster (and of drivers started with ``cluster.env``) ended by its id at the end."""
    temp = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))  # Ray's socket paths must stay short
    env = marked_environment(RAY_TMPDIR=str(temp), RAY_AUTH_MODE="disabled")
    (port,) = free_ports(1)
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--num-gpus", "0", "--temp-dir", str(temp)]
    try:
        ray_start(
            ["--head", "--port", str(port)] + ["--include-dashboard", "false", *common, *node_ports()],
            env,
            log,
        )
        ray_start(["--address", f"127.0.0.1:{port}", *common, *node_ports()], env, log)
        yield RayCluster(f"127.0.0.1:{port}", env)
    finally:
        end_marked(env)
        kill_processes(processes_with_env("RAY_TMPDIR", str(temp)))
        shutil.rmtree(temp, ignore_errors=True)


# --------------------------------------------------------------------------------------- studies


def wait_for_an_epoch(tracking_uri: str, study: str, process, log: Path, timeout: float = 300) -> None:
    """Until some trial of ``study`` has logged an epoch while the driver still runs (the store is read
    only once the driver has said it opened it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the study ended before it was killed:\n" + log.read_text()[-3000:]
        if "parent run" in log.read_text():
            client = MlflowClient(tracking_uri)
            experiment = client.get_experiment_by_name(study)
            if experiment is not None:
                runs = client.search_runs([experiment.experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'trial'")
                if any(run.data.metrics.get("epoch", 0) >= 1 for run in runs):
                    return
        time.sleep(0.5)
    raise AssertionError("no epoch was logged in time:\n" + log.read_text()[-3000:])
