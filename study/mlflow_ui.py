"""What the MLflow UI opens on: a study's description, its kind, and a saved view of its trials.

MLflow 3.17's UI opens an experiment on its GenAI overview (traces) unless the experiment says it is
a training experiment; its runs table then shows the collapsed parent run with no param or metric
column. Three experiment tags, all read by the UI's own code, make the first page useful:

- ``mlflow.note.content``: the description shown above the runs (the study, what it rebuilds, how
  its trials are named and what to compare);
- ``mlflow.experimentKind = custom_model_development``: the experiment opens on its runs;
- ``mlflow.sharedViewState.<key>``: a saved view (JSON; the UI loads it when the URL carries
  ``viewStateShareKey=<key>``): the trials only, grouped by configuration (the mean over seeds, the
  seeds one click away), the varied params, the main metric, seed and status as columns, sorted by
  the main metric, every run in the charts, and a parallel-coordinates chart of the varied params
  against the main metric.

``ui_url`` is the address that opens that view; the runner prints it beside ``ui_command``.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

from mlflow import MlflowClient

from study import tracking

NOTE_TAG = "mlflow.note.content"
KIND_TAG = "mlflow.experimentKind"
KIND_TRAINING = "custom_model_development"
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
VIEW_KEY = "ipstrials"
UI_HOST, UI_PORT = "127.0.0.1", 5000
MAX_NOTE_LENGTH = 5000  # MLflow's limit on a tag value
EXTRA_METRICS = ("train/loss", tracking.METRIC_EPOCH_SECONDS)


def column(kind: str, key: str) -> str:
    """The UI's column id: ``params.`patches.size```, ``metrics.`val/accuracy```, ``tags.`ips.seed```."""
    return f"{kind}.`{key}`"


def runs_view(fields: list[str], metric: str, mode: str) -> dict:
    """The saved view of a study's trials (the keys are those the UI's view state holds)."""
    params = [column("params", field) for field in fields]
    metrics = [column("metrics", name) for name in (metric, *EXTRA_METRICS) if name != ""]
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
    group_keys = [{"mode": "param", "groupByData": field} for field in fields]
    return {
        "searchFilter": f"tags.`{tracking.TAG_ROLE}` = '{tracking.ROLE_TRIAL}'",
        "orderByKey": column("metrics", metric),
        "orderByAsc": mode == "min",
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "modelVersionFilter": "All Runs",
        "datasetsFilter": [],
        "selectedColumns": [*params, *metrics, *tags],
        "runsHiddenMode": "SHOW_ALL",
        "groupBy": {"aggregateFunction": "average", "groupByKeys": group_keys} if group_keys else None,
        "groupsExpanded": {},
        "useGroupedValuesInCharts": False,
        "compareRunCharts": [parallel, curve] if fields else [curve],
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
        ]
    )
    return text[:MAX_NOTE_LENGTH]


def describe_experiment(client: MlflowClient, experiment_id: str, note: str, view: dict) -> None:
    """Write the description, the kind and the saved view onto the experiment (each invocation
    rewrites them, so that they follow the study's module)."""
    client.set_experiment_tag(experiment_id, NOTE_TAG, note)
    client.set_experiment_tag(experiment_id, KIND_TAG, KIND_TRAINING)
    client.set_experiment_tag(experiment_id, VIEW_TAG_PREFIX + VIEW_KEY, json.dumps(view))


def ui_base(tracking_uri: str) -> str:
    """Where the UI is: an MLflow server's own address (without credentials), else the address of
    ``mlflow ui`` as ``ui_command`` starts it."""
    parts = urlsplit(tracking_uri)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return f"http://{UI_HOST}:{UI_PORT}"


def ui_url(tracking_uri: str, experiment_id: str) -> str:
    """The address that opens the study's trials in the saved view, on the runs tab."""
    query = f"workflowType=machine_learning&viewStateShareKey={VIEW_KEY}"
    return f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs?{query}"
