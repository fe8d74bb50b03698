"""The searched studies' Optuna side on a real Optuna storage and a real MLflow store: clean param and
objective names, per-seed values and MLflow run ids as user attributes, early-stopped suggestions
told as PRUNED (never COMPLETE), and the refusal of ASHA for grid studies."""

from __future__ import annotations

import optuna
import pytest
from mlflow import MlflowClient

from search_spaces import STUDIES
from study import mlflow_store as store
from study import tracking
from study.plan import StudyError, check_scheduler, plan_study
from study.ray_config import trial_config, trial_overrides
from study.search import OPTUNA_FILE, search_setup


@pytest.fixture
def searched(tmp_path):
    """The low_data_search smoke plan, its searcher on a fresh Optuna file, and a real MLflow store."""
    plan = plan_study(STUDIES["low_data_search"], "smoke")  # 2 suggestions x seeds (0, 1), 2 epochs
    uri = tracking.resolve_tracking_uri(None, tmp_path)
    client = MlflowClient(uri)
    experiment_id = store.ensure_experiment(client, plan.study.name, uri)
    parent_id = store.start_parent(client, experiment_id, str(tmp_path), {}, "parent")
    where = tracking.InvocationRuns(uri, experiment_id, parent_id)
    study_folder = tmp_path / "low_data_search-smoke"
    study_folder.mkdir()
    space, repeater, samples = search_setup(plan, study_folder, where)
    repeater.set_search_properties(plan.study.metric, plan.study.mode, space)
    return plan, space, repeater, client, where, study_folder


def suggest(repeater, space, trial_id, client, where, plan):
    """What Tune does with a suggestion: the trial's full config; the driver logs its MLflow run."""
    config = {**space, **repeater.suggest(trial_id)}
    typed = trial_config(config)
    store.create_child(
        client,
        where.experiment_id,
        where.parent_run_id,
        trial_id,
        typed,
        " ".join(f"{k}={v}" for k, v in trial_overrides(config).items()),
    )
    return typed


def test_optuna_study_has_clean_names_per_seed_values_and_mlflow_runs(searched):
    plan, space, repeater, client, where, study_folder = searched
    first = [suggest(repeater, space, f"t{i}", client, where, plan) for i in (1, 2)]
    assert [config.seed for config in first] == [0, 1]  # one suggestion, once per seed
    repeater.on_trial_complete("t1", {"val/accuracy": 0.5, "epoch": 2})
    repeater.on_trial_complete("t2", {"val/accuracy": 0.7, "epoch": 2})
    second = [suggest(repeater, space, f"t{i}", client, where, plan) for i in (3, 4)]
    repeater.on_trial_complete("t3", {"val/accuracy": 0.4, "epoch": 2})
    repeater.on_trial_complete("t4", {"val/accuracy": 0.1, "epoch": 1})  # stopped by ASHA at epoch 1

    study = optuna.load_study(study_name=study_folder.name, storage=f"sqlite:///{study_folder / OPTUNA_FILE}")
    assert study.metric_names == ["val/accuracy"]
    assert study.user_attrs["mlflow_parent_run_id"] == where.parent_run_id
    assert study.user_attrs["seeds"] == [0, 1]
    complete, pruned = study.trials
    assert set(complete.params) == {"patches.size", "selection.memory_size", "optimisation.lr"}
    assert complete.params["patches.size"] == first[0].patches.size
    assert complete.state == optuna.trial.TrialState.COMPLETE
    assert complete.value == pytest.approx(0.6)  # the mean over the seeds
    assert complete.user_attrs["value_per_seed"] == {"0": 0.5, "1": 0.7}
    assert complete.user_attrs["status_per_seed"] == {"0": "completed", "1": "completed"}
    runs = {run.data.tags["ips.trial_id"]: run.info.run_id for run in store.child_runs(
        client, where.experiment_id, where.parent_run_id
    )}  # fmt: skip
    assert complete.user_attrs["mlflow_run_ids"] == {"0": runs["t1"], "1": runs["t2"]}
    assert complete.user_attrs["ray_trial_ids"] == {"0": "t1", "1": "t2"}
    # A suggestion with an early-stopped seed is pruned, not told as complete with a partial value.
    assert pruned.state == optuna.trial.TrialState.PRUNED and pruned.value is None
    assert pruned.params["patches.size"] == second[0].patches.size
    assert pruned.user_attrs["status_per_seed"] == {"0": "completed", "1": "early_stopped"}


def test_asha_is_refused_for_grid_studies_and_unknown_schedulers():
    grid = plan_study(STUDIES["patch_size_low_data"], "smoke")
    with pytest.raises(StudyError, match="searched studies"):
        check_scheduler("asha", grid)
    with pytest.raises(StudyError, match="fifo, asha"):
        check_scheduler("hyperband", grid)
    check_scheduler("asha", plan_study(STUDIES["low_data_search"], "smoke"))
    check_scheduler("fifo", grid)


@pytest.mark.slow
def test_asha_on_a_real_search_keeps_mlflow_and_optuna_honest(tmp_path, study_env):
    """Real Ray Tune with ASHA: every MLflow run's status matches its epochs, and every suggestion
    with an early-stopped seed is PRUNED in Optuna, every other one COMPLETE with its seeds' mean."""
    from study_fixtures import run_cli

    result = run_cli(
        ["tiny_search", "--profile", "smoke", "--scheduler", "asha"], tmp_path, study_env, tiny=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "-- 4/4 trials done" in result.stdout and "seeds completed" in result.stdout
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny_search")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`ips.role` = 'parent'")
    assert parent.data.tags["ips.search"] == "optuna-tpe"  # analysis draws its configurations as points
    runs = client.search_runs([experiment.experiment_id], "tags.`ips.role` = 'trial'")
    by_id = {run.info.run_id: run for run in runs}
    assert len(runs) == 4
    for run in runs:
        epochs = len(client.get_metric_history(run.info.run_id, "epoch"))
        expected = "completed" if epochs == 3 else "early_stopped"
        assert run.data.tags["ips.status"] == expected and run.info.status == "FINISHED"
    folder = tmp_path / "runs" / "ray" / "tiny_search-smoke"
    study = optuna.load_study(study_name=folder.name, storage=f"sqlite:///{folder / OPTUNA_FILE}")
    assert study.metric_names == ["val/accuracy"] and len(study.trials) == 2
    for trial in study.trials:
        assert set(trial.params) == {"patches.size", "optimisation.lr"}
        seeds = trial.user_attrs["mlflow_run_ids"]
        assert set(seeds) == {"0", "1"}
        statuses = [by_id[run_id].data.tags["ips.status"] for run_id in seeds.values()]
        assert statuses == list(trial.user_attrs["status_per_seed"].values())
        for run_id in seeds.values():
            assert by_id[run_id].data.params["patches.size"] == str(trial.params["patches.size"])
        if "early_stopped" in statuses:
            assert trial.state == optuna.trial.TrialState.PRUNED and trial.value is None
        else:
            finals = [by_id[run_id].data.metrics["val/accuracy"] for run_id in seeds.values()]
            assert trial.state == optuna.trial.TrialState.COMPLETE
            assert trial.value == pytest.approx(sum(finals) / 2)
