"""The MLflow contract: experiment, run, tag, param, metric and artifact names.

This module is what ``analysis`` reads to find things in a store; it holds names and tiny pure
helpers only (no Ray, no ips), so ``analysis`` may import it.

Layout of a store
-----------------
- One **experiment** per study, named after the study (``patch_size_low_data``).
- One **parent run** per invocation of ``python -m study.run`` (a ``--resume`` continues the same
  parent). Tags: ``ips.role=parent``, ``ips.study``, ``ips.profile``, ``ips.git_commit``,
  ``ips.axes`` (JSON list of the dotted config fields the study varies, e.g. ``["patches.size"]``),
  ``ips.metric``, ``ips.mode``, ``ips.storage`` (the Ray storage folder of the invocation),
  ``ips.search`` (a searched study only: its searcher; its configurations are draws, not a grid).
- One **child run** per trial, tagged ``mlflow.parentRunId``. Tags: ``ips.role=trial``,
  ``ips.trial_id`` (Ray's trial id), ``ips.seed``, ``ips.config_id`` (the same for all seeds of one
  configuration), ``ips.status`` (``completed`` | ``early_stopped`` | ``failed`` | ``running`` |
  ``interrupted``: the driver stopped before the trial ended, ``--resume`` continues the same run),
  ``ips.error`` (failed trials), ``ips.digits_reused`` (a Megapixel MNIST trial that draws each
  shipped digit more than once: how often, and how to use the full MNIST), ``ips.node_id`` and
  ``ips.hostname`` (the Ray node and the host its latest attempt ran on). Params: the flattened
  config (``selection.memory_size``, ...) and the derived values under ``derived.*``. Metrics: per
  epoch, step = epoch (1..E), names below.
  Artifacts: ``config.json``, ``label_distribution.json`` and, at the end, ``attention_map.png``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# tags ---------------------------------------------------------------------------------------------
TAG_ROLE = "ips.role"
ROLE_PARENT = "parent"
ROLE_TRIAL = "trial"
TAG_STUDY = "ips.study"
TAG_PROFILE = "ips.profile"
TAG_GIT_COMMIT = "ips.git_commit"
TAG_AXES = "ips.axes"
TAG_METRIC = "ips.metric"
TAG_MODE = "ips.mode"
TAG_STORAGE = "ips.storage"
TAG_SEARCH = "ips.search"  # parent of a searched study: the searcher ("optuna-tpe"); absent for a grid
SEARCHER_OPTUNA_TPE = "optuna-tpe"
TAG_TRIAL_ID = "ips.trial_id"
TAG_SEED = "ips.seed"
TAG_CONFIG_ID = "ips.config_id"
TAG_STATUS = "ips.status"
TAG_ERROR = "ips.error"
TAG_NODE_ID = "ips.node_id"
TAG_HOSTNAME = "ips.hostname"
TAG_PARENT = "mlflow.parentRunId"
TAG_DIGITS_REUSED = (
    "ips.digits_reused"  # Megapixel MNIST trials that reuse the shipped digits: why and how much
)

STATUS_COMPLETED = "completed"
STATUS_EARLY_STOPPED = "early_stopped"
STATUS_FAILED = "failed"
STATUS_RUNNING = "running"
STATUS_INTERRUPTED = "interrupted"
STATUSES = (STATUS_COMPLETED, STATUS_EARLY_STOPPED, STATUS_FAILED, STATUS_RUNNING, STATUS_INTERRUPTED)

# params -------------------------------------------------------------------------------------------
DERIVED_PREFIX = "derived."  # derived.number_of_patches, derived.object_to_image_ratio, ...
PARAM_SEED = "seed"

# metrics (step = epoch, 1-based) --------------------------------------------------------------------
METRIC_EPOCH = "epoch"
METRIC_LR = "lr"
METRIC_SECONDS_PER_BATCH = "time/seconds_per_batch"
METRIC_IMAGES_PER_SECOND = "time/images_per_second"
METRIC_EPOCH_SECONDS = "time/epoch_seconds"
METRIC_PEAK_MEMORY_MB = "memory/peak_mb"
SPLITS = ("train", "val")


def loss_metric(split: str, task: str | None = None) -> str:
    """``train/loss`` (mean over tasks) or ``train/majority/loss``."""
    return f"{split}/loss" if task is None else f"{split}/{task}/loss"


def accuracy_metric(split: str, task: str | None = None) -> str:
    """``val/accuracy`` (mean over tasks) or ``val/majority/accuracy``."""
    return f"{split}/accuracy" if task is None else f"{split}/{task}/accuracy"


# artifacts ----------------------------------------------------------------------------------------
ARTIFACT_CONFIG = "config.json"
# {"train"|"val": {task: {class: count}}, "vectors": {"train"|"val": {task: {"0,3,7": count}}}}
ARTIFACT_LABELS = "label_distribution.json"
ARTIFACT_ATTENTION_MAP = "attention_map.png"


def config_id(flat_config: dict[str, Any]) -> str:
    """A short id shared by all seeds of one configuration (the flat config without its seeds)."""
    kept = {k: v for k, v in flat_config.items() if k != PARAM_SEED and not k.startswith(DERIVED_PREFIX)}
    return hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:10]
