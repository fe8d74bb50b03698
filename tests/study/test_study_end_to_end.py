"""End to end: real Ray Tune trials, real training, a real MLflow SQLite store in a temporary folder."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import cluster_fixtures
import pytest
from mlflow import MlflowClient
from study_fixtures import run_cli, start_cli

from study import tracking
from study.mlflow_store import FAILED, FINISHED, RUNNING, child_runs

SMOKE_PATCH_SIZES = ["8", "17", "33", "50"]
EPOCH_METRICS = [
    "epoch",
    "lr",
    "train/loss",
    "val/loss",
    "train/accuracy",
    "val/accuracy",
    "val/majority/accuracy",
    "train/multi/loss",
    "time/seconds_per_batch",
    "time/images_per_second",
    "time/epoch_seconds",
    "memory/peak_mb",
]


def open_study(folder: Path, name: str):
    """(client, experiment id, the one parent run, its child runs)."""
    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None, f"no experiment {name}"
    parents = client.search_runs([experiment.experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'parent'")
    assert len(parents) == 1, f"expected one parent run, got {len(parents)}"
    children = child_runs(client, experiment.experiment_id, parents[0].info.run_id)
    return client, experiment, parents[0], children


def steps(client: MlflowClient, run_id: str, metric: str) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run_id, metric))


def test_smoke_profile_of_patch_size_low_data_end_to_end(smoke_study, study_env):
    tmp_path, result = smoke_study.folder, smoke_study.result  # the session's one smoke study

    client, experiment, parent, children = open_study(tmp_path, "patch_size_low_data")
    assert parent.info.status == FINISHED
    assert parent.data.tags[tracking.TAG_PROFILE] == "smoke"
    assert json.loads(parent.data.tags[tracking.TAG_AXES]) == ["patches.size"]
    assert parent.data.tags[tracking.TAG_STORAGE] == str(
        tmp_path / "runs" / "ray" / "patch_size_low_data-smoke"
    )
    assert sorted((run.data.params["patches.size"] for run in children), key=int) == SMOKE_PATCH_SIZES
    assert len({run.data.tags[tracking.TAG_TRIAL_ID] for run in children}) == 4
    for run in children:
        assert run.info.status == FINISHED
        assert run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
        assert run.data.tags[tracking.TAG_PARENT] == parent.info.run_id
        for metric in EPOCH_METRICS:
            assert steps(client, run.info.run_id, metric) == [1, 2], metric
        assert float(run.data.params["derived.number_of_patches"]) > 0
        artifacts = {item.path for item in client.list_artifacts(run.info.run_id)}
        assert {"attention_map.png", "config.json", "label_distribution.json"} <= artifacts
        labels = json.loads(
            Path(
                client.download_artifacts(run.info.run_id, "label_distribution.json", str(tmp_path))
            ).read_text()
        )
        assert (
            sum(labels["train"]["majority"].values()) == 12 and sum(labels["val"]["majority"].values()) == 8
        )
    # Artifacts beside the database, whatever the working directory of the trials was.
    assert experiment.artifact_location == (tmp_path / "mlartifacts" / "patch_size_low_data").as_uri()
    assert (tmp_path / "mlartifacts" / "patch_size_low_data").is_dir()
    # The summary table, the UI command and the address of the study's saved view of its trials.
    assert "seeds completed" in result.stdout and "1/1" in result.stdout
    # What is starting, from the first second: the study, then Ray (before any of Ray's lines).
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("study patch_size_low_data (profile smoke): 4 trials; checking")
    assert second == "starting Ray (a local instance)"
    assert "--host 127.0.0.1" in result.stdout
    url = (
        f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs"
        f"?workflowType=machine_learning&viewStateShareKey=ips-{parent.info.run_id}"
    )
    assert result.stdout.count(url) == 2  # at the start and at the end
    # The experiment's description, kind and saved view, as the MLflow UI reads them.
    tags = experiment.tags
    assert tags["mlflow.note.content"].startswith("**patch_size_low_data**: ")
    assert "Table 4" in tags["mlflow.note.content"]
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    envelope = json.loads(tags[f"mlflow.sharedViewState.ips-{parent.info.run_id}"])
    assert envelope["name"].startswith("patch_size_low_data smoke, started ")
    view = json.loads(envelope["state"])
    assert (
        view["searchFilter"]
        == f"tags.`ips.role` = 'trial' and tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    assert view["selectedColumns"][:2] == ["metrics.`val/accuracy`", "params.`patches.size`"]
    assert view["groupBy"]["groupByKeys"] == [
        {"mode": "param", "groupByData": "patches.size"},
        {"mode": "tag", "groupByData": "ips.status"},
    ]
    # Run names say the configuration and the seed.
    assert sorted(run.info.run_name for run in children) == sorted(
        f"patches.size={size} seed=0" for size in SMOKE_PATCH_SIZES
    )
    # One progress line per finished trial; none of Ray's banners.
    assert "-- 4/4 trials done, elapsed " in result.stdout and "ETA about" in result.stdout
    noise = result.stdout + result.stderr
    assert "TensorBoard" not in noise and "Configuration for experiment" not in noise
    assert "authentication" not in noise

    # Running it again without --resume refuses, before Ray starts, and keeps what was logged.
    again = run_cli(["patch_size_low_data", "--profile", "smoke"], tmp_path, study_env)
    assert again.returncode == 2
    assert "--resume" in again.stderr and "--storage" in again.stderr
    assert len(open_study(tmp_path, "patch_size_low_data")[3]) == 4


def test_a_failing_trial_is_marked_failed_and_the_others_finish(tmp_path, study_env):
    result = run_cli(["tiny_failure", "--profile", "smoke"], tmp_path, study_env, tiny=True)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    client, _, parent, children = open_study(tmp_path, "tiny_failure")
    by_lr = {float(run.data.params["optimisation.lr"]): run for run in children}
    assert sorted(by_lr) == [1e-3, 1e30]
    good, bad = by_lr[1e-3], by_lr[1e30]
    assert good.info.status == FINISHED and good.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
    assert steps(client, good.info.run_id, "val/accuracy") == [1, 2]
    assert bad.info.status == FAILED and bad.data.tags[tracking.TAG_STATUS] == tracking.STATUS_FAILED
    assert "NonFiniteLossError" in bad.data.tags[tracking.TAG_ERROR]
    assert "error.txt" in {item.path for item in client.list_artifacts(bad.info.run_id)}
    assert parent.info.status == FINISHED
    assert "1 trial(s) failed" in result.stdout


def wait_for_an_epoch(
    folder: Path, process, log: Path, study: str = "tiny_resume", timeout: float = 300
) -> None:
    """Until some trial has logged an epoch while the study is still running (the cluster tests' wait,
    on the store in ``folder``)."""
    cluster_fixtures.wait_for_an_epoch(f"sqlite:///{folder / 'mlflow.db'}", study, process, log, timeout)


def check_resumed_to_the_end(tmp_path: Path, study_env: dict, before: list) -> None:
    result = run_cli(["tiny_resume", "--profile", "smoke", "--resume"], tmp_path, study_env, tiny=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    client, _, parent, children = open_study(tmp_path, "tiny_resume")
    assert parent.info.status == FINISHED
    trial_ids = [run.data.tags[tracking.TAG_TRIAL_ID] for run in children]
    assert len(trial_ids) == 2 and len(set(trial_ids)) == 2, "a trial has two runs"
    assert {run.info.run_id for run in before} <= {run.info.run_id for run in children}
    for run in children:
        assert run.info.status == FINISHED and run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
        for metric in ("epoch", "val/accuracy", "train/loss"):
            assert steps(client, run.info.run_id, metric) == [1, 2, 3, 4], (metric, run.data.tags)
        assert "attention_map.png" in {item.path for item in client.list_artifacts(run.info.run_id)}


@pytest.mark.slow
def test_sigterm_stops_the_study_honestly_and_resume_finishes_it(tmp_path, study_env):
    log = tmp_path / "first.log"
    process = start_cli(["tiny_resume", "--profile", "smoke"], tmp_path, study_env, log)
    try:
        wait_for_an_epoch(tmp_path, process, log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 130, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    _, _, parent, before = open_study(tmp_path, "tiny_resume")
    assert parent.data.tags[tracking.TAG_STATUS] == tracking.STATUS_INTERRUPTED
    assert not [run for run in before if run.info.status == RUNNING], "a run was left RUNNING"
    assert any(run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_INTERRUPTED for run in before)
    assert "--resume" in log.read_text()
    check_resumed_to_the_end(tmp_path, study_env, before)
