"""What the MLflow UI opens on: a study's description and one saved view per invocation.

What MLflow 3.17's UI actually reads (checked in its bundled JavaScript, ``mlflow/server/js/build``):

- ``mlflow.note.content``: the description shown above the runs (the study, what it rebuilds, how
  its trials are named, how to reach its views);
- the screens (GenAI: traces, "Evaluation runs", runs listed as "Eval"; or model training: the runs
  table and charts) follow the sidebar's **GenAI | Model training** switch, remembered by the browser
  (GenAI until changed), or ``workflowType=machine_learning`` in the address; the experiment tag
  ``mlflow.experimentKind`` does not choose them in 3.17 (its workflow flag is on), so it is written
  for older 3.x UIs only;
- ``mlflow.sharedViewState.<key>``: a saved view. As an envelope ``{"name", "createdAt",
  "updatedAt", "state"}`` (``state`` the view as JSON text) it is listed in the runs tab's **Views**
  menu and opened by ``viewStateShareKey=<key>`` in the address; a bare view is only the latter.

One view per invocation (key ``ips-<parent run id>``, named by study, profile and start), whose filter
names its parent run: a group then never mixes invocations (smoke and demo, FIFO and ASHA), and it
is grouped by the varied params and ``ips.status``, so that no mean mixes running, early-stopped or
failed trials with completed ones. Its first column after the run's name, date and duration is the
main metric (the UI puts metric columns before params, each kind alphabetically: the other metrics
are charts, not columns, so that the main one shows on a 1280-pixel screen). ``ui_url`` opens it.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit, urlunsplit

from mlflow import MlflowClient

from study import tracking

NOTE_TAG = "mlflow.note.content"
KIND_TAG = "mlflow.experimentKind"
KIND_TRAINING = "custom_model_development"
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
LEGACY_VIEW_KEY = "ipstrials"  # the one view of every invocation that earlier versions wrote
UI_HOST, UI_PORT = "127.0.0.1", 5000
MAX_NOTE_LENGTH = 5000  # MLflow's limit on a tag value
EXTRA_METRICS = ("train/loss", tracking.METRIC_EPOCH_SECONDS)


def column(kind: str, key: str) -> str:
    """The UI's column id: ``params.`patches.size```, ``metrics.`val/accuracy```, ``tags.`ips.seed```."""
    return f"{kind}.`{key}`"


def view_key(parent_run_id: str) -> str:
    """The saved view's key of one invocation (its parent run)."""
    return f"ips-{parent_run_id}"


def runs_view(fields: list[str], metric: str, mode: str, parent_run_id: str) -> dict:
    """The saved view of one invocation's trials (the keys are those the UI's view state holds)."""
    params = [column("params", field) for field in fields]
    tags = [column("tags", tracking.TAG_SEED), column("tags", tracking.TAG_STATUS)]
    parallel = {
        "uuid": "ips-parallel",
        "type": "PARALLEL",
        "runsCountToCompare": 100,
        "metricSectionId": "ips",
        "deleted": False,
        "isGenerated": False,
        "selectedParams": list(fields),
        "selectedMetrics": [metric],
    }
    curve = {
        "uuid": "ips-curve",
        "type": "LINE",
        "runsCountToCompare": 100,
        "metricSectionId": "ips",
        "deleted": False,
        "isGenerated": False,
        "metricKey": metric,
        "selectedMetricKeys": [metric],
        "xAxisKey": "step",
        "scaleType": "linear",
        "lineSmoothness": 0,
        "selectedXAxisMetricKey": "",
    }
    curves = [
        {**curve, "uuid": f"ips-curve-{index}", "metricKey": name, "selectedMetricKeys": [name]}
        for index, name in enumerate(EXTRA_METRICS, start=1)
    ]
    group_keys = [{"mode": "param", "groupByData": field} for field in fields]
    if group_keys:  # a mean never mixes completed trials with running, stopped or failed ones
        group_keys.append({"mode": "tag", "groupByData": tracking.TAG_STATUS})
    return {
        "searchFilter": tracking.role_filter(tracking.ROLE_TRIAL, parent_run_id),
        "orderByKey": column("metrics", metric),
        "orderByAsc": mode == "min",
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "modelVersionFilter": "All Runs",
        "datasetsFilter": [],
        "selectedColumns": [column("metrics", metric), *params, *tags],
        "runsHiddenMode": "SHOW_ALL",
        "groupBy": {"aggregateFunction": "average", "groupByKeys": group_keys} if group_keys else None,
        "groupsExpanded": {},
        "useGroupedValuesInCharts": False,
        "compareRunCharts": [parallel, curve, *curves] if fields else [curve, *curves],
        "compareRunSections": [
            {"uuid": "ips", "name": "IPS study", "display": True, "isReordered": False, "deleted": False}
        ],
    }


def experiment_note(name: str, description: str, reproduces: str, fields: list[str], metric: str) -> str:
    """The experiment's description (Markdown): what the study is and how to read its runs."""
    varied = ", ".join(f"`{field}`" for field in fields) or "nothing"
    text = "\n".join(
        [
            f"**{name}**: {description}",
            "",
            f"Rebuilds: {reproduces}.",
            "",
            f"One parent run per invocation of `python -m study.run {name}`, one child run per trial "
            f"(named by its configuration and seed, tag `{tracking.TAG_ROLE}=trial`). Varied: {varied}; "
            f"main metric: `{metric}` (step = epoch; its last value is the trial's result). "
            f"Tags: `{tracking.TAG_SEED}`, `{tracking.TAG_STATUS}` (completed, early_stopped, failed, "
            f"interrupted), `{tracking.TAG_CONFIG_ID}` (the same for every seed of a configuration).",
            "",
            "Each invocation has its own view of its trials: **Views** (above the runs table) lists them, "
            "newest first, by profile and start. Set the sidebar's switch to **Model training** once "
            "(the browser remembers it) so that runs open on their metrics, not on the GenAI screens.",
        ]
    )
    return text[:MAX_NOTE_LENGTH]


def view_envelope(name: str, view: dict, created_ms: int, updated_ms: int) -> str:
    """A saved view as the Views menu lists it."""
    return json.dumps(
        {"name": name, "createdAt": created_ms, "updatedAt": updated_ms, "state": json.dumps(view)}
    )


def view_name(study: str, profile: str, started_ms: int) -> str:
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(started_ms / 1000))
    return f"{study} {profile}, started {started} UTC"


def describe_experiment(client: MlflowClient, experiment_id: str, note: str) -> None:
    """Write the description and the kind onto the experiment (each invocation rewrites them, so that
    they follow the study's module), and remove the one view shared by every invocation that earlier
    versions wrote (its groups mixed invocations)."""
    client.set_experiment_tag(experiment_id, NOTE_TAG, note)
    client.set_experiment_tag(experiment_id, KIND_TAG, KIND_TRAINING)
    if VIEW_TAG_PREFIX + LEGACY_VIEW_KEY in client.get_experiment(experiment_id).tags:
        client.delete_experiment_tag(experiment_id, VIEW_TAG_PREFIX + LEGACY_VIEW_KEY)


def save_invocation_view(client: MlflowClient, experiment_id: str, parent_run_id: str, view: dict) -> None:
    """The invocation's view, named by its study, profile and start (the same key on --resume)."""
    parent = client.get_run(parent_run_id)
    tags, started = parent.data.tags, parent.info.start_time
    name = view_name(tags.get(tracking.TAG_STUDY, ""), tags.get(tracking.TAG_PROFILE, ""), started)
    envelope = view_envelope(name, view, started, int(time.time() * 1000))
    client.set_experiment_tag(experiment_id, VIEW_TAG_PREFIX + view_key(parent_run_id), envelope)


def ui_base(tracking_uri: str) -> str:
    """Where the UI is: an MLflow server's own address (without credentials), else the address of
    ``mlflow ui`` as ``ui_command`` starts it."""
    parts = urlsplit(tracking_uri)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return f"http://{UI_HOST}:{UI_PORT}"


def ui_url(tracking_uri: str, experiment_id: str, parent_run_id: str) -> str:
    """The address that opens one invocation's trials in its saved view, on the runs tab."""
    query = f"workflowType=machine_learning&viewStateShareKey={view_key(parent_run_id)}"
    return f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs?{query}"
