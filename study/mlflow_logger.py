"""The MLflow logger: the Ray Tune callback on the driver that owns every MLflow write of a study.

One writer (the driver) keeps a SQLite store free of "database is locked", and keeping the trial ->
run map in MLflow itself (the ``ips.trial_id`` tag) rather than in memory is what makes ``--resume``
continue each trial's one run instead of opening a second (Ray's stock ``MLflowLoggerCallback`` does
the latter and leaves the first RUNNING forever):

- a trial starts (first time, retried, or restored after the driver died): its child run under the
  parent is looked up by trial id and continued, or created with the params and ``config.json``
  (logged again into a run whose creator was killed before it logged them);
- the first report of each attempt carries the label distribution that the trainable counted on its
  worker: it becomes ``label_distribution.json`` if the run has none yet (the driver builds no dataset);
  and its provenance (machine, library versions, data fingerprint), which becomes tags;
- every epoch's result is logged with step = epoch; epochs already in the run (re-run after a restore
  from an older checkpoint) are skipped, so the history stays one continuous 1..E;
- a checkpoint carrying ``attention_map.png`` (the trainable's last report) is logged as an artifact;
- completion, early stop and failure set an honest ``ips.status`` (and ``ips.error``); at the end of
  the experiment every run of the invocation is reconciled with Ray's view, so that none is left
  RUNNING (trials the driver did not finish become ``interrupted``, status KILLED).

The callback is pickled with the Tuner (Ray restores it on ``--resume``): it keeps only plain values
and opens its client lazily; each trial's typed config is built once (``ray_config.TrialConfigs``).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.fs
from mlflow import MlflowClient
from mlflow.entities import RunTag
from ray import cloudpickle
from ray.tune import Callback
from ray.tune.experiment import Trial

from ips.config import IPSConfig, to_dict
from study import mlflow_store as store
from study import tracking
from study.guard.redact import client_uri, redact_uri
from study.plan import point_label
from study.ray_config import LABELS_KEY, NODE_ID_KEY, PROVENANCE_KEY, TrialConfigs, trial_overrides

logger = logging.getLogger(__name__)

EPOCH_METRIC_ROOTS = ("train", "val", "time", "memory")


def is_epoch_metric(key: str, value: Any) -> bool:
    """The trainer's per-epoch metrics (not Ray's bookkeeping such as ``time_total_s``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return key in (tracking.METRIC_EPOCH, tracking.METRIC_LR) or key.split("/")[0] in EPOCH_METRIC_ROOTS


def error_text(trial: Trial) -> str:
    """The trial's error trace: Ray writes it to the trial's local folder first, to storage later."""
    path = trial.error_file
    if path and Path(path).is_file():
        return Path(path).read_text()
    return trial.get_error() or ""


def error_summary(trial: Trial) -> str:
    """``ExceptionType: message`` of a failed trial's error (its full trace is the error.txt artifact)."""
    error = None
    path = trial.pickled_error_file
    try:
        if path and Path(path).is_file():
            error = cloudpickle.loads(Path(path).read_bytes())
    except Exception:  # an error class that cannot be unpickled on the driver
        error = None
    cause = getattr(error, "cause", None) or error
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    lines = [line for line in error_text(trial).splitlines() if line.strip()]
    return lines[-1] if lines else "the trial failed (Ray kept no error message)"


class MLflowTrialLogger(Callback):
    def __init__(self, *, tracking_uri: str, experiment_id: str, parent_run_id: str) -> None:
        self.tracking_uri = redact_uri(tracking_uri)  # pickled into the study folder: no password
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self._reset()

    def _reset(self) -> None:
        self._client: MlflowClient | None = None
        self._runs: dict[str, str] | None = None  # trial id -> run id
        self._checked: set[str] = set()  # runs of earlier drivers whose params and artifacts were checked
        self._logged_step: dict[str, int] = {}  # trial id -> last epoch in its run
        self._labelled: set[str] = set()  # runs known to hold their label distribution
        self._config = TrialConfigs()  # trial -> its typed config, built once
        self._nodes: dict[str, str] = {}  # trial id -> the node its run is tagged with

    def __getstate__(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("tracking_uri", "experiment_id", "parent_run_id")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    # ---------------------------------------------------------------------------------- lookups

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(client_uri(self.tracking_uri))
        return self._client

    def known_runs(self) -> dict[str, str]:
        if self._runs is None:
            runs = store.child_runs(self.client, self.experiment_id, self.parent_run_id)
            self._runs = {run.data.tags[tracking.TAG_TRIAL_ID]: run.info.run_id for run in runs}
        return self._runs

    def run_for(self, trial: Trial) -> str:
        """The trial's one child run: found by its trial id, or created with params and artifacts."""
        runs = self.known_runs()
        if trial.trial_id not in runs:
            config = self._config(trial)
            name = point_label(trial_overrides(trial.config))
            run_id = store.create_child(
                self.client, self.experiment_id, self.parent_run_id, trial.trial_id, config, name
            )
            runs[trial.trial_id] = run_id
            self._checked.add(run_id)
            self.log_provenance(run_id, config)
        elif runs[trial.trial_id] not in self._checked:
            self._checked.add(runs[trial.trial_id])
            if self.lacks_provenance(runs[trial.trial_id]):  # its creator was killed while logging it
                self.log_provenance(runs[trial.trial_id], self._config(trial))
        return runs[trial.trial_id]

    def lacks_provenance(self, run_id: str) -> bool:
        if not self.client.get_run(run_id).data.params:
            return True
        return tracking.ARTIFACT_CONFIG not in self.artifacts(run_id)

    def artifacts(self, run_id: str) -> set[str]:
        return {item.path for item in self.client.list_artifacts(run_id)}

    def log_provenance(self, run_id: str, config: IPSConfig) -> None:
        store.log_params(self.client, run_id, store.trial_params(config))
        self.client.log_dict(run_id, to_dict(config), tracking.ARTIFACT_CONFIG)

    def log_labels(self, run_id: str, result: dict) -> None:
        """The label distribution of the trial's first report, logged once per run."""
        text = result.get(LABELS_KEY)
        if text is None or run_id in self._labelled:
            return
        self._labelled.add(run_id)
        if tracking.ARTIFACT_LABELS in self.artifacts(run_id):
            return  # logged by an earlier attempt or driver
        try:
            self.client.log_dict(run_id, json.loads(text), tracking.ARTIFACT_LABELS)
        except Exception as error:  # the study must not stop because a chance level is missing
            logger.warning("no %s for run %s: %s", tracking.ARTIFACT_LABELS, run_id, error)

    def tag_provenance(self, run_id: str, result: dict) -> None:
        """The machine and data record of the attempt's first report, as tags (each attempt's own: a
        trial resumed on another machine says so)."""
        text = result.get(PROVENANCE_KEY)
        if text is None:
            return
        record = json.loads(text)
        fingerprint = record.pop("data_fingerprint", None)
        tags = {f"{tracking.TAG_MACHINE_PREFIX}{key}": str(value) for key, value in record.items()}
        if fingerprint is not None:
            tags[tracking.TAG_DATA_FINGERPRINT] = str(fingerprint)
        self.client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])

    def logged_step(self, trial: Trial, run_id: str) -> int:
        if trial.trial_id not in self._logged_step:
            self._logged_step[trial.trial_id] = store.last_step(self.client, run_id)
        return self._logged_step[trial.trial_id]

    # ------------------------------------------------------------------------------------ hooks

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        run_id = self.run_for(trial)
        client = self.client
        if client.get_run(run_id).data.tags.get(tracking.TAG_ERROR) is not None:
            client.delete_tag(run_id, tracking.TAG_ERROR)  # a failed trial resumed by --resume
        store.set_status(client, run_id, tracking.STATUS_RUNNING)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any
    ) -> None:
        epoch = result.get(tracking.METRIC_EPOCH)
        if epoch is None:
            return
        run_id = self.run_for(trial)
        self.tag_node(trial, run_id, result)
        self.log_labels(run_id, result)
        self.tag_provenance(run_id, result)
        step = int(epoch)
        if step <= self.logged_step(trial, run_id):
            return  # already in the run: re-run after a restore, or the trainable's final report
        metrics = {
            key: float(value)
            for key, value in result.items()
            if is_epoch_metric(key, value) and math.isfinite(float(value))
        }
        store.log_metrics(self.client, run_id, metrics, step)
        self._logged_step[trial.trial_id] = step

    def tag_node(self, trial: Trial, run_id: str, result: dict) -> None:
        """Where the trial runs (on a cluster: which node), tagged when it first reports from there."""
        node = result.get(NODE_ID_KEY)
        if node is None or self._nodes.get(trial.trial_id) == node:
            return
        tags = {tracking.TAG_NODE_ID: str(node), tracking.TAG_HOSTNAME: str(result.get("hostname", ""))}
        self.client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
        self._nodes[trial.trial_id] = node

    def on_checkpoint(
        self, iteration: int, trials: list[Trial], trial: Trial, checkpoint, **info: Any
    ) -> None:
        source = f"{checkpoint.path}/{tracking.ARTIFACT_ATTENTION_MAP}"
        filesystem = checkpoint.filesystem
        if filesystem.get_file_info(source).type == pyarrow.fs.FileType.NotFound:
            return
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / tracking.ARTIFACT_ATTENTION_MAP
            with filesystem.open_input_stream(source) as stream:
                local.write_bytes(stream.readall())
            self.client.log_artifact(self.run_for(trial), str(local))

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.finish(trial)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.fail(trial)

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        # Tune retries it (FailureConfig.max_failures): still running, with the error of this attempt.
        run_id = self.run_for(trial)
        message = f"attempt {trial.num_failures} failed, retrying: {error_summary(trial)}"
        self.client.set_tag(run_id, tracking.TAG_ERROR, message[-store.MAX_TAG_LENGTH :])

    def on_experiment_end(self, trials: list[Trial], **info: Any) -> None:
        """Reconcile every run with Ray's final view, so that no run of this invocation stays RUNNING.

        After Ctrl-C Ray stops the running trials as TERMINATED, but their last result is not ``done``:
        those, and any run Ray no longer knows, become ``interrupted`` (KILLED) until ``--resume``.
        """
        incomplete = False
        for trial in trials:
            run_id = self.known_runs().get(trial.trial_id)
            if trial.status == Trial.ERROR:
                self.fail(trial, only_if_open=True)
            elif trial.status == Trial.TERMINATED and trial.last_result.get("done"):
                self.finish(trial, only_if_open=True)
            elif trial.status == Trial.TERMINATED and self.ended_earlier(run_id):
                continue  # finished in an earlier invocation; --resume restored it as it was
            else:
                incomplete = True
                if run_id is not None and self.is_open(run_id):
                    store.set_status(self.client, run_id, tracking.STATUS_INTERRUPTED)
        known = {trial.trial_id for trial in trials}
        for trial_id, run_id in self.known_runs().items():
            if trial_id not in known and self.is_open(run_id):
                store.set_status(self.client, run_id, tracking.STATUS_INTERRUPTED)
        status = tracking.STATUS_INTERRUPTED if incomplete else tracking.STATUS_COMPLETED
        store.set_status(self.client, self.parent_run_id, status)

    # ----------------------------------------------------------------------------------- endings

    def ended_earlier(self, run_id: str | None) -> bool:
        """Whether the run was already closed as completed or early-stopped (a restored trial's last
        result no longer carries Ray's ``done`` flag)."""
        if run_id is None or self.is_open(run_id):
            return False
        status = self.client.get_run(run_id).data.tags.get(tracking.TAG_STATUS)
        return status in (tracking.STATUS_COMPLETED, tracking.STATUS_EARLY_STOPPED)

    def is_open(self, run_id: str) -> bool:
        return self.client.get_run(run_id).info.status == store.RUNNING

    def finish(self, trial: Trial, only_if_open: bool = False) -> None:
        run_id = self.run_for(trial)
        if only_if_open and not self.is_open(run_id):
            return
        epochs = self._config(trial).optimisation.epochs
        finished_all = self.logged_step(trial, run_id) >= epochs
        status = tracking.STATUS_COMPLETED if finished_all else tracking.STATUS_EARLY_STOPPED
        store.set_status(self.client, run_id, status)

    def fail(self, trial: Trial, only_if_open: bool = False) -> None:
        run_id = self.run_for(trial)
        if only_if_open and not self.is_open(run_id):
            return
        text = error_text(trial)
        if text:
            self.client.log_text(run_id, text, "error.txt")
        store.set_status(self.client, run_id, tracking.STATUS_FAILED, error=error_summary(trial))
