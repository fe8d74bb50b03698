"""The saved views in a real MLflow store: two invocations of one study (smoke, then a demo-like
second one, in the README's order) each get their own view, listed in the UI's Views menu, whose
filter selects that invocation's trials only and whose groups never mix statuses."""

from __future__ import annotations

import json
import shutil

import pytest
from mlflow import MlflowClient

from search_spaces import STUDIES
from study import mlflow_store as store
from study import mlflow_ui, tracking
from study.plan import plan_study


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views_template")
    MlflowClient(tracking.resolve_tracking_uri(None, folder)).search_experiments()
    return folder / "mlflow.db"


def invocation(client, uri, tmp_path, profile: str, statuses: list[str]) -> tuple[str, str]:
    """One invocation of patch_size_low_data: its parent run and view, one trial per patch size
    (every trial's status as given, its val/accuracy logged), as the runner writes them."""
    plan = plan_study(STUDIES["patch_size_low_data"], profile)
    experiment_id, parent_id = store.open_parent_run(client, plan, uri, tmp_path / f"runs-{profile}")
    for index, (trial, status) in enumerate(zip(plan.trials, statuses, strict=False)):
        run_id = store.create_child(
            client, experiment_id, parent_id, f"{profile}_{index}", trial.config, trial.label
        )
        store.log_params(client, run_id, store.trial_params(trial.config))
        store.log_metrics(client, run_id, {"val/accuracy": 0.1 * (index + 1)}, step=1)
        store.set_status(client, run_id, status)
    return experiment_id, parent_id


def views(client, experiment_id) -> dict[str, dict]:
    """The saved views as the Views menu reads them: key -> envelope (the state parsed)."""
    found = {}
    for key, value in client.get_experiment(experiment_id).tags.items():
        if key.startswith(mlflow_ui.VIEW_TAG_PREFIX):
            envelope = json.loads(value)
            assert isinstance(envelope["name"], str) and isinstance(envelope["createdAt"], int)
            found[key[len(mlflow_ui.VIEW_TAG_PREFIX) :]] = {
                **envelope,
                "state": json.loads(envelope["state"]),
            }
    return found


def test_two_invocations_never_share_a_view_and_each_filter_selects_its_own_trials(tmp_path, empty_database):
    shutil.copy(empty_database, tmp_path / "mlflow.db")
    uri = tracking.resolve_tracking_uri(None, tmp_path)
    client = MlflowClient(uri)
    smoke = invocation(client, uri, tmp_path, "smoke", ["completed", "early_stopped", "running"])
    experiment_id, smoke_parent = smoke
    demo_id, demo_parent = invocation(client, uri, tmp_path, "demo", ["completed", "completed"])
    assert demo_id == experiment_id  # one experiment per study, as analysis reads it

    saved = views(client, experiment_id)
    assert set(saved) == {f"ips-{smoke_parent}", f"ips-{demo_parent}"}
    smoke_view, demo_view = saved[f"ips-{smoke_parent}"], saved[f"ips-{demo_parent}"]
    assert "smoke" in smoke_view["name"] and "demo" in demo_view["name"]
    for parent, view in ((smoke_parent, smoke_view), (demo_parent, demo_view)):
        selected = client.search_runs([experiment_id], view["state"]["searchFilter"])
        others = client.search_runs([experiment_id], f"tags.`{tracking.TAG_ROLE}` = 'trial'")
        assert selected and {run.data.tags[tracking.TAG_PARENT] for run in selected} == {parent}
        assert len(selected) == sum(run.data.tags[tracking.TAG_PARENT] == parent for run in others)
    smoke_runs = client.search_runs([experiment_id], smoke_view["state"]["searchFilter"])
    assert len(smoke_runs) == 3
    # The UI's groups are the group-by keys' values within the filter: status is one of the keys.
    keys = smoke_view["state"]["groupBy"]["groupByKeys"]
    assert {"mode": "tag", "groupByData": tracking.TAG_STATUS} in keys
    groups = {
        tuple(
            run.data.params.get(k["groupByData"])
            if k["mode"] == "param"
            else run.data.tags.get(k["groupByData"])
            for k in keys
        )
        for run in smoke_runs
    }
    assert len(groups) == 3  # completed, early-stopped and running trials are never averaged together
    # The main metric is the first column, as a laptop's screen shows it.
    assert smoke_view["state"]["selectedColumns"][0] == "metrics.`val/accuracy`"

    # A --resume of the smoke study keeps its one view (the same key, the same name).
    plan = plan_study(STUDIES["patch_size_low_data"], "smoke")
    again = store.open_parent_run(client, plan, uri, tmp_path / "runs-smoke")
    assert again == smoke
    assert views(client, experiment_id)[f"ips-{smoke_parent}"]["name"] == smoke_view["name"]
    assert len(views(client, experiment_id)) == 2
