"""What a SQLite file is to MLflow, and a new SQLite store built whole.

MLflow changes whatever SQLite file it opens: it adds its tables to a database of something else, and
re-runs the migrations of a store whose first creation was interrupted (which then fails for good,
"table ... already exists"). So a file is read with ``sqlite3`` first, and

- ``store_problem(database)`` says why it must not be opened (the problem and the fix), or None: an
  absent or empty file (a new store) and a store at MLflow's current schema are fine; a database with
  no MLflow table is another program's; a store whose schema version is missing or not MLflow's
  latest is half-built (no runs: an interrupted first creation) or of an older MLflow (runs: upgrade it
  deliberately, after a backup);
- ``ensure_store(uri)`` builds a new store in a temporary file beside it and moves it into place at
  once (under ``study.guard.lock.sqlite_store_lock``), so that a kill during the creation leaves no store,
  never half of one (only a temporary file, which the next creation removes).

``study.guard.preflight`` refuses with the first, ``study.launch`` creates with the second, and
``analysis.store`` refuses with the first too (a report never changes a store).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from study import tracking

SQLITE_HEADER = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"  # MLflow's schema version (Alembic's bookkeeping)
BUILDING_SUFFIX = ".building-"  # .<name>.building-XXXX: a store being built


def read_schema(database: Path) -> tuple[set[str], str | None, int]:
    """(its tables, MLflow's schema version or None, its number of runs) read with ``sqlite3``; a file
    left with a hot journal by a killed writer is opened for writing, for SQLite to roll it back."""
    try:
        return read_schema_as(database, "ro")
    except sqlite3.OperationalError as error:
        if "readonly" not in str(error):
            raise
        return read_schema_as(database, "rw")


def read_schema_as(database: Path, mode: str) -> tuple[set[str], str | None, int]:
    connection = sqlite3.connect(f"{database.as_uri()}?mode={mode}", uri=True, timeout=30)
    try:
        rows = connection.execute("select name from sqlite_master where type = 'table'").fetchall()
        tables = {name for (name,) in rows if not name.startswith("sqlite_")}
        version = None
        if VERSION_TABLE in tables:
            found = connection.execute(f"select version_num from {VERSION_TABLE}").fetchall()
            version = found[0][0] if len(found) == 1 else None
        runs = connection.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0
        return tables, version, runs
    finally:
        connection.close()


def mlflow_schema() -> tuple[set[str], str]:
    """(the tables of MLflow's current schema, its schema version), from MLflow itself."""
    import mlflow.store.tracking.dbmodels.models  # noqa: F401 (registers the tables)
    from mlflow.store.db.base_sql_model import Base
    from mlflow.store.db.utils import _get_latest_schema_revision

    return set(Base.metadata.tables), _get_latest_schema_revision()


def store_problem(database: Path) -> str | None:
    """Why MLflow must not open the SQLite file ``database`` (None if it may; see the module)."""
    if not database.is_file() or database.stat().st_size == 0:
        return None
    with open(database, "rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            return f"{database} is not an SQLite database; give the MLflow store's file"
    try:
        tables, version, runs = read_schema(database)
    except sqlite3.Error as error:
        return f"{database} cannot be read as an SQLite database ({error}); restore it from a backup"
    if not tables:
        return None
    expected, latest = mlflow_schema()
    if not tables & (expected | {VERSION_TABLE}):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        return (
            f"{database} is an SQLite database but not an MLflow store (its tables: {shown}), and MLflow "
            "would add its tables to it; give the MLflow store's file, or a new file name for a new store"
        )
    if version == latest and expected <= tables:
        return None
    uri = f"{tracking.SQLITE_PREFIX}{database}"
    if runs:
        return (
            f"{database} is an MLflow store of another MLflow version (schema {version or 'unknown'}, "
            f"this MLflow's is {latest}); back it up, then upgrade it with `mlflow db upgrade {uri}`, or "
            "read it with the MLflow that wrote it"
        )
    missing = len(expected - tables)
    return (
        f"{database} is a half-built MLflow store (its first creation was interrupted: schema "
        f"{version or 'not recorded'}, {missing} of MLflow's tables missing) and holds no runs; remove "
        "it and run again (a new store is built whole)"
    )


def ensure_store(uri: str) -> None:
    """A SQLite store that does not exist yet (or is an empty file) built whole; others untouched."""
    from study.guard.lock import sqlite_store_lock  # the runner's side only (analysis reads)

    database = tracking.sqlite_path(uri)
    if database is None:
        return
    with sqlite_store_lock(database):
        if database.is_file() and database.stat().st_size > 0:
            return
        for stale in database.parent.glob(f".{database.name}{BUILDING_SUFFIX}*"):
            stale.unlink(missing_ok=True)  # left by a creation that was killed
        descriptor, name = tempfile.mkstemp(prefix=f".{database.name}{BUILDING_SUFFIX}", dir=database.parent)
        os.close(descriptor)
        temporary = Path(name)
        try:
            build(temporary)
            if database.exists():  # an empty file: replaced
                os.replace(temporary, database)
            else:  # never over a store that appeared meanwhile
                with contextlib.suppress(FileExistsError):
                    os.link(temporary, database)
        finally:
            temporary.unlink(missing_ok=True)


def build(database: Path) -> None:
    """MLflow's schema in the (empty) file ``database``, its connections closed."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"{tracking.SQLITE_PREFIX}{database}", str(database.parent / "mlartifacts"))
    store.engine.dispose()
