"""Checks of the command line that need the file system, the network or the hardware, run before Ray
starts and before anything is written: each raises ``StudyError`` naming the problem and the fix.

- ``check_storage_folder``: ``--storage`` is (or can become) a folder this user can write in;
- ``check_tracking_uri``: the MLflow store can be used: a SQLite file that is a sound database in a
  writable folder, a server that answers MLflow's API within a few seconds (MLflow itself would retry
  for minutes), or a database server whose Python driver is installed; a plain folder or an unknown
  scheme is refused;
- ``check_data_roots``: every dataset folder of the plan holds its data (the dataset's own check);
- ``check_trial_configs``: what a trial would find only once it runs: its tasks are its dataset's, its
  ``data.mnist_path`` holds MNIST;
- ``check_ray_temp_dir``: the socket paths of a local Ray instance fit the Unix limit;
- ``check_ray_address``: a ``--address`` answers;
- ``check_gpus``: a GPU share is asked for only where this machine has a GPU.

Nothing here creates a file that stays: a writability probe makes and removes an empty folder.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from study import tracking
from study.guard.redact import redact_uri
from study.plan import Plan, StudyError
from study.sqlite_store import store_problem

SQLITE_HEADER = b"SQLite format 3\x00"
FULL_CHECK_BYTES = 256 * 2**20  # a larger store gets only its schema read: a full check takes minutes
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
SERVER_SCHEMES = ("http", "https")
OTHER_SCHEMES = ("databricks",)  # MLflow's own URIs: checked by MLflow
# SQLAlchemy's driver of a database URI (scheme or scheme+driver) -> (module, the package to install).
DATABASE_DRIVERS = {
    "postgresql": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg2": ("psycopg2", "psycopg2-binary"),
    "postgresql+psycopg": ("psycopg", "psycopg[binary]"),
    "postgresql+pg8000": ("pg8000", "pg8000"),
    "mysql": ("MySQLdb", "mysqlclient"),
    "mysql+mysqldb": ("MySQLdb", "mysqlclient"),
    "mysql+pymysql": ("pymysql", "pymysql"),
    "mssql": ("pyodbc", "pyodbc"),
    "mssql+pyodbc": ("pyodbc", "pyodbc"),
    "mssql+pymssql": ("pymssql", "pymssql"),
}
# Ray's longest socket path: <temp>/ray/session_<date, 26>_<pid>/sockets/plasma_store[.N]; Linux's limit.
RAY_SOCKET_SUFFIX = len("/ray/session_") + 26 + len("_") + 7 + len("/sockets/plasma_store") + 2
UNIX_SOCKET_PATH_LIMIT = 107
RAY_TIMEOUT_S = 5.0  # a cluster address that does not answer by then is reported, not waited for


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable_folder_problem(folder: Path) -> str | None:
    """Why files cannot be made under ``folder`` (which may not exist yet), or None if they can."""
    existing = nearest_existing(folder)
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    try:  # os.access says yes to root even on a read-only file system: try it
        os.rmdir(tempfile.mkdtemp(prefix=".ips-write-check-", dir=existing))
    except OSError as error:
        return f"cannot write in {existing} ({error.strerror or error})"
    return None


def check_storage_folder(storage: Path, study_folder: Path) -> None:
    for path in (storage, study_folder):
        if path.exists() and not path.is_dir():
            raise StudyError(f"--storage {storage}: {path} is a file, not a folder; give a folder")
    problem = writable_folder_problem(storage)
    if problem:
        raise StudyError(f"--storage {storage}: {problem}; give a folder you can write to")


# ------------------------------------------------------------------------------------------ MLflow


def check_tracking_uri(uri: str) -> None:
    shown = redact_uri(uri)
    scheme = urlsplit(uri).scheme.split("+")[0].lower()
    if scheme == "sqlite":
        check_sqlite(uri, shown)
    elif scheme in SERVER_SCHEMES:
        check_server(uri, shown)
    elif scheme in DATABASE_SCHEMES:
        check_database_driver(uri, shown)  # MLflow connects to it (no quick probe without its driver)
    elif scheme in OTHER_SCHEMES:
        return
    else:
        known = ", ".join(f"{name}://" for name in ("sqlite", *SERVER_SCHEMES, *DATABASE_SCHEMES))
        raise StudyError(
            f"--tracking-uri {shown}: not an MLflow store URI (MLflow 3 refuses plain folders); give one of "
            f"{known}, e.g. sqlite:///mlflow.db or http://127.0.0.1:5000"
        )


def check_sqlite(uri: str, shown: str) -> None:
    path_text = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
    if not path_text or path_text.startswith(":memory:"):
        raise StudyError(f"--tracking-uri {shown}: give a database file, e.g. sqlite:///mlflow.db")
    database = Path(path_text.split("?")[0])
    if database.is_dir():
        raise StudyError(f"--tracking-uri {shown}: {database} is a folder; name a file in it, e.g. mlflow.db")
    problem = writable_folder_problem(database.parent)
    if problem:
        raise StudyError(
            f"--tracking-uri {shown}: the store is read-only here ({problem}); give a writable location"
        )
    if not database.exists():
        return
    if database.stat().st_size > 0:
        with open(database, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
        if header != SQLITE_HEADER:
            raise StudyError(
                f"--tracking-uri {shown}: {database} is not an SQLite database; give the right file, or "
                "move this one away to start a new store"
            )
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=rw", uri=True, timeout=30)
        try:
            verdict = "ok"
            connection.execute("select count(*) from sqlite_master").fetchone()
            if database.stat().st_size <= FULL_CHECK_BYTES:
                (verdict,) = connection.execute("PRAGMA quick_check").fetchone()
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock only: fails on a read-only file
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.Error as error:
        if "locked" in str(error):
            return  # another study has been writing to it for 30 s: a working store
        raise StudyError(
            f"--tracking-uri {shown}: {database} cannot be used ({error}); {sqlite_fix(error)}"
        ) from error
    if verdict != "ok":
        raise StudyError(
            f"--tracking-uri {shown}: {database} is corrupted ({verdict}); restore it from a backup, or "
            "move it away to start a new store"
        )
    problem = store_problem(database)  # another program's database, or a half-built store
    if problem:
        raise StudyError(f"--tracking-uri {shown}: {problem}")


def sqlite_fix(error: sqlite3.Error) -> str:
    if "readonly" in str(error) or "read-only" in str(error):
        return "give a writable file"
    return "restore it from a backup, or move it away to start a new store"


def check_database_driver(uri: str, shown: str) -> None:
    dialect = urlsplit(uri).scheme.lower()
    module, package = DATABASE_DRIVERS.get(dialect, (None, None))
    if module is not None and importlib.util.find_spec(module) is None:
        raise StudyError(
            f"--tracking-uri {shown}: its database driver {module} is not installed; install it "
            f"(pip install {package}) or give another store"
        )


def check_server(uri: str, shown: str) -> None:
    problem = tracking.server_problem(uri)  # the one probe, shared with analysis
    if problem:
        raise StudyError(f"--tracking-uri {shown}: {problem}")


# ------------------------------------------------------------------------------- data and hardware


def check_data_roots(plan: Plan) -> None:
    """Every dataset folder of the plan's trials holds its data (checked by the dataset's own code)."""
    configs = [plan.base, *(trial.config for trial in plan.trials)]
    roots = {getattr(config.data, "root", None) for config in configs} - {None}
    if not roots:
        return
    from ips.data.traffic_signs import check_layout

    for root in sorted(roots):
        try:
            check_layout(Path(root))
        except (OSError, ValueError) as error:
            raise StudyError(f"{error}\nGive the dataset's folder with --data-root DIR.") from error


def check_trial_configs(plan: Plan) -> None:
    """Every trial's tasks are its dataset's (a renamed task has no labels), and an ``mnist_path``
    holds the MNIST files (the dataset's own loader reads them)."""
    configs = [plan.base, *(trial.config for trial in plan.trials)]
    for config in {id(config.tasks): config for config in configs}.values():
        known = type(config.data).default_tasks
        for task in config.tasks:
            if task not in known:
                names = ", ".join(f"{t.name} ({t.kind}, {t.classes} classes)" for t in known)
                raise StudyError(
                    f"task {task.name!r} ({task.kind}, {task.classes} classes) is not a task of dataset "
                    f"{config.data.name}; give some of its tasks: {names}"
                )
    paths = {getattr(config.data, "mnist_path", None) for config in configs} - {None}
    if not paths:
        return
    from ips.data.mnist_digits import load_digit_pools

    for path in sorted(paths):
        try:
            load_digit_pools(path)
        except (OSError, ValueError) as error:
            raise StudyError(f"data.mnist_path: {error}") from error


def check_ray_temp_dir() -> None:
    """The local Ray instance's socket paths (under ``RAY_TMPDIR``, else ``TMPDIR``) fit the limit."""
    name = "RAY_TMPDIR" if "RAY_TMPDIR" in os.environ else "TMPDIR"
    temp = os.environ.get(name, "/tmp")
    if len(temp.encode()) + RAY_SOCKET_SUFFIX > UNIX_SOCKET_PATH_LIMIT:
        raise StudyError(
            f"{name} {temp} is too long for Ray: its socket paths under it would pass the "
            f"{UNIX_SOCKET_PATH_LIMIT}-byte limit of a Unix socket; set RAY_TMPDIR to a folder of at most "
            f"{UNIX_SOCKET_PATH_LIMIT - RAY_SOCKET_SUFFIX} characters (e.g. RAY_TMPDIR=/tmp)"
        )


def check_ray_address(address: str | None) -> None:
    """A cluster address (``HOST:PORT``, ``ray://HOST:PORT``) answers within ``RAY_TIMEOUT_S`` (Ray
    itself would wait for minutes without a word); ``auto`` is left to Ray, which finds it or says so."""
    if not address or address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise StudyError(f"--address {address}: write it as HOST:PORT (e.g. 127.0.0.1:6379), or auto")
    try:
        socket.create_connection((host, port), timeout=RAY_TIMEOUT_S).close()
    except OSError as error:
        raise StudyError(
            f"--address {address}: no Ray cluster answered within {RAY_TIMEOUT_S:g} s ({error}); start it "
            "(ray start --head) or give the head node's address (ray status shows it), or leave --address "
            "out to run on this machine"
        ) from error


def visible_gpus() -> int:
    import torch  # only where a GPU share was asked for

    return torch.cuda.device_count()


def check_gpus(gpus_per_trial: float | str | None, address: str | None) -> None:
    if not gpus_per_trial or address:
        return  # a default adapts to the machine; a cluster's GPUs are counted once Ray has joined it
    count = visible_gpus()
    if isinstance(gpus_per_trial, str):  # auto[:GB]: packs trials on GPUs, so it needs one
        if not count:
            raise StudyError(
                f"--gpus-per-trial {gpus_per_trial}: this machine has no GPU visible; leave it out to train "
                "on CPUs"
            )
        return
    if gpus_per_trial > count:
        raise StudyError(
            f"--gpus-per-trial {gpus_per_trial:g}: this machine has {count} GPU(s) visible"
            f"{' (CUDA_VISIBLE_DEVICES)' if 'CUDA_VISIBLE_DEVICES' in os.environ else ''}; "
            "leave it out (or give 0) to train on CPUs"
        )


def outermost_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet (None if ``folder`` exists)."""
    missing = None
    while not folder.exists():
        missing, folder = folder, folder.parent
    return missing
