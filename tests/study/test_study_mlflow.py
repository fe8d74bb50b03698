"""The MLflow side on a real temporary SQLite store: the store's layout, and the callback's continuity
across a driver restart (a pickled and restored callback, as ``Tuner.restore`` gives back)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient
from ray.tune.experiment import Trial
from study_fixtures import TINY_STUDIES

from ips.config import flatten, to_dict
from study import mlflow_store as store
from study import mlflow_ui, tracking
from study.mlflow_logger import MLflowTrialLogger, is_epoch_metric
from study.plan import plan_study
from study.ray_config import LABELS_KEY, NODE_ID_KEY, grid_entry
from study.summary import runner_table


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory):
    """An empty store, created once: MLflow's table creation takes seconds, a copy milliseconds."""
    folder = tmp_path_factory.mktemp("template")
    MlflowClient(tracking.resolve_tracking_uri(None, folder)).search_experiments()
    return folder / "mlflow.db"


@pytest.fixture
def mlflow_store(tmp_path, empty_database):
    shutil.copy(empty_database, tmp_path / "mlflow.db")
    uri = tracking.resolve_tracking_uri(None, tmp_path)
    client = MlflowClient(uri)
    experiment_id = store.ensure_experiment(client, "tiny_resume", uri)
    return uri, client, experiment_id


def test_tracking_uri_defaults_to_an_absolute_sqlite_file_with_artifacts_beside_it(tmp_path, mlflow_store):
    uri, client, experiment_id = mlflow_store
    assert uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (
        tracking.resolve_tracking_uri("sqlite:///sub/x.db", tmp_path)
        == f"sqlite:///{tmp_path / 'sub' / 'x.db'}"
    )
    assert tracking.resolve_tracking_uri("http://127.0.0.1:5000", tmp_path) == "http://127.0.0.1:5000"
    location = client.get_experiment(experiment_id).artifact_location
    assert location == (tmp_path / "mlartifacts" / "tiny_resume").as_uri()
    assert store.ensure_experiment(client, "tiny_resume", uri) == experiment_id
    assert "--host 127.0.0.1" in store.ui_command(uri)
    database = "postgresql://user:***@db/mlflow"  # a database, not a server: a local UI opens it
    # This interpreter's MLflow, the URI quoted for a shell (``*`` would glob).
    assert store.ui_command(database).endswith(
        f"-m mlflow ui --backend-store-uri '{database}' --host 127.0.0.1 --port 5000"
    )
    assert store.ui_command("http://127.0.0.1:5000").startswith("open http://127.0.0.1:5000")


def test_the_experiment_gets_its_description_and_kind_and_loses_the_shared_view(mlflow_store):
    uri, client, experiment_id = mlflow_store
    client.set_experiment_tag(experiment_id, "mlflow.sharedViewState.ipstrials", "{}")  # an older version's
    note = mlflow_ui.experiment_note("tiny", "a tiny study", "Table 0", ["patches.size"], "val/accuracy")
    mlflow_ui.describe_experiment(client, experiment_id, note)
    tags = client.get_experiment(experiment_id).tags
    assert tags["mlflow.note.content"] == note and note.startswith("**tiny**: a tiny study")
    assert "**Views**" in note and "**Model training**" in note  # how to reach a view without its address
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert "mlflow.sharedViewState.ipstrials" not in tags  # its groups mixed every invocation
    assert mlflow_ui.ui_url(uri, experiment_id, "abc") == (
        f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs"
        "?workflowType=machine_learning&viewStateShareKey=ips-abc"
    )
    # A server's own address, without the credentials a URI may carry.
    assert mlflow_ui.ui_url("https://me:secret@mlflow.lab:8443/", "7", "abc").startswith(
        "https://mlflow.lab:8443/#/experiments/7/runs?"
    )


def test_parent_is_found_again_by_its_storage_folder(mlflow_store):
    _, client, experiment_id = mlflow_store
    first = store.start_parent(client, experiment_id, "/runs/a", {tracking.TAG_STUDY: "x"}, "a")
    other = store.start_parent(client, experiment_id, "/runs/b", {tracking.TAG_STUDY: "x"}, "b")
    store.set_status(client, first, tracking.STATUS_INTERRUPTED)
    assert client.get_run(first).info.status == store.KILLED
    again = store.start_parent(client, experiment_id, "/runs/a", {tracking.TAG_STUDY: "x"}, "a")
    assert again == first != other
    assert client.get_run(first).info.status == store.RUNNING


def test_trial_params_hold_the_flat_config_and_derived_values():
    config = plan_study(TINY_STUDIES["tiny_resume"], "smoke").trials[0].config
    params = store.trial_params(config)
    assert set(flatten(config)) <= set(params)
    assert params["derived.number_of_patches"] == str(config.number_of_patches)
    assert params["derived.object_to_patch_ratio"] == str(config.object_to_patch_ratio)
    assert params["patches.size"] == "25"


def trial_for(plan, index: int) -> Trial:
    """A real (stub) Ray trial with the Ray config the driver would give it."""
    spec = plan.trials[index]
    config = {"base": to_dict(plan.base), "trial": grid_entry(spec.index, spec.overrides), "seeds": [0]}
    return Trial("train_trial", config=config, trial_id=f"t_{index:05d}", stub=True)


# What the trainable counts on its worker and sends with the first report of each attempt.
LABELS = {"train": {"majority": {"0": 7, "3": 5}}, "val": {"majority": {"0": 4, "3": 4}}}


def result(epoch: int) -> dict:
    return {
        LABELS_KEY: json.dumps(LABELS),
        "epoch": epoch,
        "val/accuracy": 0.1 * epoch,
        "train/loss": 2.0 / epoch,
        "time_total_s": 3.0,
        "pid": 1,
    }


def new_logger(mlflow_store, name: str):
    """The tiny_resume plan, a parent run (storage ``/runs/<name>``) and a new logger under it."""
    uri, client, experiment_id = mlflow_store
    plan = plan_study(TINY_STUDIES["tiny_resume"], "smoke")
    parent = store.start_parent(client, experiment_id, f"/runs/{name}", {}, name)
    logger = MLflowTrialLogger(tracking_uri=uri, experiment_id=experiment_id, parent_run_id=parent)
    return plan, parent, logger


def test_a_restored_callback_continues_each_trial_in_its_one_run(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan, parent, first = new_logger(mlflow_store, "tiny")  # 2 trials of 4 epochs
    trials = [trial_for(plan, 0), trial_for(plan, 1)]
    for trial in trials:
        first.on_trial_start(0, trials, trials[0] if trial is trials[0] else trial)
    for epoch in (1, 2):
        first.on_trial_result(0, trials, trials[0], result(epoch))
    first.on_trial_result(0, trials, trials[1], result(1))
    # ... the driver is killed here: both runs stay RUNNING. Ray restores the pickled callback:
    second = pickle.loads(pickle.dumps(first))
    for trial in trials:
        second.on_trial_start(0, trials, trial)
    for epoch in (2, 3, 4):  # trial 0 restarts from its epoch-1 checkpoint: epoch 2 again
        second.on_trial_result(0, trials, trials[0], result(epoch))
    second.on_trial_result(0, trials, trials[0], {**result(4), "ips/final": 1})
    trials[0].update_last_result({**result(4), "done": True})
    trials[0].set_status(Trial.TERMINATED)
    second.on_trial_complete(0, trials, trials[0])
    # ... and Ctrl-C stops trial 1 after its second epoch: Ray marks it TERMINATED, but not done.
    second.on_trial_result(0, trials, trials[1], result(2))
    trials[1].update_last_result(result(2))
    trials[1].set_status(Trial.TERMINATED)
    second.on_experiment_end(trials)

    runs = {
        run.data.tags[tracking.TAG_TRIAL_ID]: run for run in store.child_runs(client, experiment_id, parent)
    }
    assert sorted(runs) == ["t_00000", "t_00001"], "one run per trial"
    done, stopped = runs["t_00000"], runs["t_00001"]
    history = client.get_metric_history(done.info.run_id, "val/accuracy")
    assert sorted(m.step for m in history) == [1, 2, 3, 4], "one continuous history, no repeated epoch"
    assert (
        done.info.status == store.FINISHED
        and done.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
    )
    assert stopped.info.status == store.KILLED
    assert stopped.data.tags[tracking.TAG_STATUS] == tracking.STATUS_INTERRUPTED
    assert client.get_run(parent).data.tags[tracking.TAG_STATUS] == tracking.STATUS_INTERRUPTED
    assert "time_total_s" not in done.data.metrics and "pid" not in done.data.metrics
    assert done.data.params["patches.size"] == "25"
    assert {"config.json", "label_distribution.json"} <= {
        a.path for a in client.list_artifacts(done.info.run_id)
    }

    table = runner_table(client, experiment_id, parent, ["patches.size"], "val/accuracy")
    assert "0.4000" in table and "1/1" in table and "0/1" in table


def test_early_stopped_trials_are_told_apart_from_completed_ones(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan, parent, logger = new_logger(mlflow_store, "early")
    trial = trial_for(plan, 1)
    logger.on_trial_start(0, [trial], trial)
    logger.on_trial_result(0, [trial], trial, result(1))
    trial.update_last_result({**result(1), "done": True})  # a scheduler stopped it after epoch 1 of 4
    trial.set_status(Trial.TERMINATED)
    logger.on_trial_complete(0, [trial], trial)
    logger.on_experiment_end([trial])
    run = store.child_runs(client, experiment_id, parent)[0]
    assert run.info.status == store.FINISHED
    assert run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_EARLY_STOPPED
    assert client.get_run(parent).info.status == store.FINISHED
    # The end-of-study table counts it apart, never averages its shorter training in.
    table = runner_table(client, experiment_id, parent, ["patches.size"], "val/accuracy")
    assert table.splitlines()[2].split()[1:] == ["-", "-", "0/1", "(1", "stopped", "early)"]


def test_the_end_of_study_table_gives_the_headline_task_with_its_interval_and_chance(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan, parent, logger = new_logger(mlflow_store, "headline")
    trial = trial_for(plan, 0)
    logger.on_trial_start(0, [trial], trial)
    for epoch in (1, 2, 3, 4):  # the plan's 4 epochs, the last with the end-of-trial flag
        last = {
            **result(epoch),
            "val/majority/accuracy": 0.125 * epoch,
            **({"ips/final": 1} if epoch == 4 else {}),
        }
        logger.on_trial_result(0, [trial], trial, last)
    trial.update_last_result({**last, "done": True})
    trial.set_status(Trial.TERMINATED)
    logger.on_trial_complete(0, [trial], trial)
    logger.on_experiment_end([trial])
    table = runner_table(client, experiment_id, parent, ["patches.size"], "val/accuracy")
    # 4 of the 8 validation images right: Wilson's 95% interval [0.215, 0.785]; chance 4/8.
    assert "val majority (95% CI)" in table.splitlines()[0]
    assert "0.500 [0.215, 0.785] (chance 0.50)" in table
    assert "Wilson 95%" in table


def test_only_the_trainers_metrics_are_logged():
    assert is_epoch_metric("val/majority/accuracy", 0.5) and is_epoch_metric("lr", 1e-3)
    assert is_epoch_metric("epoch", 3) and is_epoch_metric("memory/peak_mb", 12.0)
    assert not is_epoch_metric("time_total_s", 1.0) and not is_epoch_metric("done", True)
    assert not is_epoch_metric("ips/final", 1) and not is_epoch_metric("val/accuracy", "x")


def test_artifacts_land_beside_the_database_whatever_the_working_directory(
    tmp_path, mlflow_store, monkeypatch
):
    uri, client, experiment_id = mlflow_store
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as inside a Ray trial
    run = client.create_run(experiment_id)
    client.log_dict(run.info.run_id, {"a": 1}, "config.json")
    assert list(Path(tmp_path / "mlartifacts").rglob("config.json"))
    assert not any(elsewhere.iterdir())


def test_a_run_created_just_before_a_kill_gets_its_params_when_continued(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan = plan_study(TINY_STUDIES["tiny_resume"], "smoke")
    parent = store.start_parent(client, experiment_id, "/runs/bare", {}, "bare")
    trial = trial_for(plan, 0)
    run_id = store.create_child(client, experiment_id, parent, trial.trial_id, plan.trials[0].config, "bare")
    logger = MLflowTrialLogger(tracking_uri=uri, experiment_id=experiment_id, parent_run_id=parent)
    logger.on_trial_start(0, [trial], trial)
    assert [run.info.run_id for run in store.child_runs(client, experiment_id, parent)] == [run_id]
    assert client.get_run(run_id).data.params["patches.size"] == "25"


def test_each_trial_run_is_tagged_with_the_node_of_its_latest_attempt(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan, parent, logger = new_logger(mlflow_store, "nodes")
    trial = trial_for(plan, 0)
    logger.on_trial_start(0, [trial], trial)
    logger.on_trial_result(0, [trial], trial, {**result(1), NODE_ID_KEY: "node-a", "hostname": "host-a"})
    run_id = store.child_runs(client, experiment_id, parent)[0].info.run_id
    tags = client.get_run(run_id).data.tags
    assert (tags[tracking.TAG_NODE_ID], tags[tracking.TAG_HOSTNAME]) == ("node-a", "host-a")
    restored = pickle.loads(pickle.dumps(logger))  # --resume: the trial continues on another node
    restored.on_trial_start(0, [trial], trial)
    restored.on_trial_result(0, [trial], trial, {**result(2), NODE_ID_KEY: "node-b", "hostname": "host-b"})
    assert client.get_run(run_id).data.tags[tracking.TAG_NODE_ID] == "node-b"


def test_a_run_killed_after_its_params_gets_its_artifacts_when_continued(mlflow_store):
    uri, client, experiment_id = mlflow_store
    plan = plan_study(TINY_STUDIES["tiny_resume"], "smoke")
    parent = store.start_parent(client, experiment_id, "/runs/no-artifacts", {}, "no-artifacts")
    trial = trial_for(plan, 0)
    config = plan.trials[0].config
    run_id = store.create_child(client, experiment_id, parent, trial.trial_id, config, "no-artifacts")
    store.log_params(client, run_id, store.trial_params(config))  # ... killed before config.json
    logger = MLflowTrialLogger(tracking_uri=uri, experiment_id=experiment_id, parent_run_id=parent)
    logger.on_trial_start(0, [trial], trial)
    logger.on_trial_result(0, [trial], trial, result(1))  # the first report of the resumed attempt
    assert {"config.json", "label_distribution.json"} <= {a.path for a in client.list_artifacts(run_id)}
    assert [run.info.run_id for run in store.child_runs(client, experiment_id, parent)] == [run_id]


def test_the_label_distribution_counted_on_the_worker_is_logged_as_counted(mlflow_store, tmp_path):
    from ips.data import build_datasets
    from study.trainable import label_distribution

    uri, client, experiment_id = mlflow_store
    plan, parent, logger = new_logger(mlflow_store, "labels")
    trial = trial_for(plan, 0)
    counted = label_distribution(*build_datasets(plan.trials[0].config))
    logger.on_trial_start(0, [trial], trial)
    logger.on_trial_result(0, [trial], trial, {**result(1), LABELS_KEY: json.dumps(counted)})
    logger.on_trial_result(0, [trial], trial, {**result(2), LABELS_KEY: json.dumps(LABELS)})  # not again
    run_id = store.child_runs(client, experiment_id, parent)[0].info.run_id
    logged = Path(client.download_artifacts(run_id, "label_distribution.json", str(tmp_path))).read_text()
    assert logged == json.dumps(counted, indent=2, default=str)  # what the driver wrote when it counted


def test_each_trial_run_is_tagged_with_the_machine_and_data_of_its_attempt(mlflow_store):
    from ips.data import build_datasets
    from ips.resources import TrialDevice
    from study.ray_config import PROVENANCE_KEY
    from study.trainable import provenance

    uri, client, experiment_id = mlflow_store
    plan, parent, logger = new_logger(mlflow_store, "provenance")
    trial = trial_for(plan, 0)
    record = provenance(build_datasets(plan.trials[0].config)[0], TrialDevice(torch.device("cpu"), 0))
    logger.on_trial_start(0, [trial], trial)
    logger.on_trial_result(0, [trial], trial, {**result(1), PROVENANCE_KEY: json.dumps(record)})
    run_id = store.child_runs(client, experiment_id, parent)[0].info.run_id
    tags = client.get_run(run_id).data.tags
    for key in ("cpu_model", "torch_threads", "cpu_capability", "torch", "numpy", "pillow"):
        assert tags[f"{tracking.TAG_MACHINE_PREFIX}{key}"] == record[key]
    assert tags[tracking.TAG_DATA_FINGERPRINT] == record["data_fingerprint"]
    moved = {**record, "cpu_model": "another CPU"}  # --resume on another machine: its own record
    logger.on_trial_result(0, [trial], trial, {**result(2), PROVENANCE_KEY: json.dumps(moved)})
    assert client.get_run(run_id).data.tags[f"{tracking.TAG_MACHINE_PREFIX}cpu_model"] == "another CPU"
