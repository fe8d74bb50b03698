"""The traffic-sign studies end to end: the smoke profile of patch_size_traffic on a fixture written in
the Swedish Traffic Signs' exact file format, with real Ray Tune and a real MLflow SQLite store."""

from __future__ import annotations

from mlflow import MlflowClient
from study_fixtures import run_cli

from study import tracking
from study.mlflow_store import FINISHED, child_runs
from tests.data.traffic_fixture import make_traffic_signs_fixture


def test_smoke_profile_of_patch_size_traffic_runs_on_the_fixture(tmp_path, study_env):
    fixture = make_traffic_signs_fixture(tmp_path / "sts")
    result = run_cli(
        ["patch_size_traffic", "--profile", "smoke", "--data-root", str(fixture.root)], tmp_path, study_env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("patch_size_traffic")
    (parent,) = client.search_runs([experiment.experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'parent'")
    children = child_runs(client, experiment.experiment_id, parent.info.run_id)
    assert sorted(int(run.data.params["patches.size"]) for run in children) == [5, 10, 15, 20]
    for run in children:
        assert run.info.status == FINISHED
        assert run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
        assert run.data.params["data.name"] == "traffic_signs"
        assert run.data.params["data.root"] == str(fixture.root.resolve())
        history = client.get_metric_history(run.info.run_id, "val/sign/accuracy")
        assert sorted(metric.step for metric in history) == [1, 2]
        assert "attention_map.png" in {item.path for item in client.list_artifacts(run.info.run_id)}
    # Patch 15 does not tile the 160-pixel width (as 75 does not tile 1600): the grid is padded, 8 x 11.
    (padded,) = [run for run in children if run.data.params["patches.size"] == "15"]
    assert int(float(padded.data.params["derived.number_of_patches"])) == 8 * 11
