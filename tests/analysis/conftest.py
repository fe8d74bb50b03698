"""Shared fixtures: an initialised empty MLflow SQLite store copied for each synthetic study.

Creating a SQLite store runs MLflow's schema migrations (seconds on our machines); copying an
initialised file is instant, so every store after the first is a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from mlflow_store_builder import StoreBuilder
from synthetic_studies import patch_study


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("empty_store")
    MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}").search_experiments()
    return folder / "mlflow.db"


@pytest.fixture(scope="session")
def new_store(tmp_path_factory: pytest.TempPathFactory, empty_store: Path) -> Callable[[str], StoreBuilder]:
    def make(name: str) -> StoreBuilder:
        folder = tmp_path_factory.mktemp(name)
        shutil.copy(empty_store, folder / "mlflow.db")
        return StoreBuilder(folder)

    return make


@pytest.fixture(scope="session")
def patch_store(new_store) -> tuple[StoreBuilder, str]:
    """patch_size_low_data whose accuracy falls with the patch, 3 seeds, plus one failed, one
    early-stopped, one running and one not-converged trial: (builder, parent run id)."""
    builder = new_store("patch_store")
    return builder, patch_study(builder, falls=True, extras=True)
