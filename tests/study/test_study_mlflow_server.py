"""A study tracked in a real ``mlflow server`` (HTTP, its own SQLite backend, artifacts served by the
server), its driver killed with ``kill -9`` and resumed; everything checked through the server's API."""

from __future__ import annotations

import json
import signal

import pytest
from cluster_fixtures import MARKER, mlflow_server, wait_for_an_epoch
from mlflow import MlflowClient
from ray_processes import kill_processes, processes_with_env
from study_fixtures import run_cli, start_cli

from study import tracking
from study.mlflow_store import FINISHED, RUNNING

STUDY = "tiny_resume"  # two trials of four epochs (tests/study/study_fixtures.py)
ARTIFACTS = {"config.json", "label_distribution.json", "attention_map.png"}


def check_artifacts(client: MlflowClient, run_id: str, folder) -> None:
    """Every artifact of the run listed and downloaded through the server, and what it holds readable."""
    listed = {item.path for item in client.list_artifacts(run_id)}
    assert ARTIFACTS <= listed, listed
    target = folder / run_id
    target.mkdir()
    for name in listed:
        local = client.download_artifacts(run_id, name, str(target))
        data = open(local, "rb").read()
        assert data, name
        if name.endswith(".json"):
            json.loads(data)
        if name.endswith(".png"):
            assert data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_study_against_an_mlflow_server_survives_kill_9_and_resume(tmp_path, study_env):
    with mlflow_server(tmp_path / "server") as server:
        args = [STUDY, "--profile", "smoke", "--tracking-uri", server.uri]
        log = tmp_path / "first.log"
        process = start_cli(args, tmp_path, study_env, log)
        try:
            wait_for_an_epoch(server.uri, STUDY, process, log)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        kill_processes(processes_with_env("RAY_TMPDIR", study_env["RAY_TMPDIR"]))

        result = run_cli([*args, "--resume"], tmp_path, study_env, tiny=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

        client = MlflowClient(server.uri)
        experiment = client.get_experiment_by_name(STUDY)
        # The server chose where artifacts go (its proxy), not a folder of the client's.
        assert experiment.artifact_location.startswith("mlflow-artifacts:"), experiment.artifact_location
        runs = client.search_runs([experiment.experiment_id])
        parents = [run for run in runs if run.data.tags.get(tracking.TAG_ROLE) == tracking.ROLE_PARENT]
        children = [run for run in runs if run.data.tags.get(tracking.TAG_ROLE) == tracking.ROLE_TRIAL]
        assert len(parents) == 1 and len(runs) == 3, [run.data.tags for run in runs]
        assert parents[0].data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
        trial_ids = [run.data.tags[tracking.TAG_TRIAL_ID] for run in children]
        assert len(set(trial_ids)) == len(trial_ids) == 2, "one child run per trial"
        assert not [run for run in runs if run.info.status == RUNNING], "a run was left RUNNING"
        for run in children:
            assert run.info.status == FINISHED
            assert run.data.tags[tracking.TAG_PARENT] == parents[0].info.run_id
            history = client.get_metric_history(run.info.run_id, "val/accuracy")
            assert sorted(metric.step for metric in history) == [1, 2, 3, 4]
            check_artifacts(client, run.info.run_id, tmp_path)
        # ... and they live in the server's own artifact folder.
        assert {path.name for path in server.artifacts.rglob("*.png")} == {"attention_map.png"}
        assert len(list(server.artifacts.rglob("attention_map.png"))) == 2
        assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlartifacts").exists()
    assert server.process.poll() is not None, "the server was not stopped"
    assert not processes_with_env(MARKER, server.env[MARKER]), "a server worker is left"
