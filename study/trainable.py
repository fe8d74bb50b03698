"""The Ray Tune function trainable: a thin adapter from Ray's trial config to ``ips.train.fit``.

``train_trial`` rebuilds the typed config from Ray's config dict (``study.ray_config``), builds the
datasets, and calls ``fit`` with an ``on_epoch_end`` that reports the epoch's metrics to Tune together
with a full checkpoint. A trial that Tune restarts (``--resume``, a retry) continues from
``tune.get_checkpoint()``. After the last epoch one more report carries the final checkpoint with
``attention_map.png`` (validation canvas 0), which the driver's MLflow logger logs. The first report
of each attempt also carries the label distribution of the datasets (``label_distribution.json``),
so that the driver never builds a dataset, and the attempt's provenance (CPU model, threads, library
versions, data fingerprint: ``ips.provenance``), which the logger tags the run with. NaN losses
raise ``ips.train.NonFiniteLossError``: the trial fails and the study goes on.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from estimate.gpu_memory import cuda_context_mb
from ips.attention import attention_map, save_attention_png
from ips.config import IPSConfig
from ips.data import build_datasets
from ips.provenance import data_fingerprint, machine
from ips.resources import TrialDevice, limit_to_resources
from ips.train import EpochEnd, fit
from study.ray_config import FINAL_REPORT_KEY, LABELS_KEY, NODE_ID_KEY, PROVENANCE_KEY, trial_config
from study.tracking import ARTIFACT_ATTENTION_MAP

WORK_FOLDER_PREFIX = "ips-trial-"


def trial_resources() -> tuple[float, float]:
    """(CPUs, GPUs) that Tune reserved for this trial."""
    resources = tune.get_context().get_trial_resources().required_resources
    return float(resources.get("CPU", 1)), float(resources.get("GPU", 0))


def label_distribution(train_data: Any, val_data: Any) -> dict[str, Any]:
    """``{"train"|"val": {task: {class: count}}}`` from the datasets' ``label_counts()`` (no rendering),
    plus ``"vectors": {"train"|"val": {task: {"0,3,7": count}}}`` where a dataset has multilabel tasks."""
    distribution: dict[str, Any] = {"train": train_data.label_counts(), "val": val_data.label_counts()}
    if hasattr(train_data, "label_set_counts"):
        distribution["vectors"] = {"train": train_data.label_set_counts(), "val": val_data.label_set_counts()}
    return distribution


def provenance(train_data: Any, trial_device: TrialDevice) -> dict[str, str]:
    """This attempt's machine record, the device it trains on and the fingerprint of its training data
    (``ips.provenance``), taken after ``limit_to_resources`` so that the thread count is the one
    training uses."""
    return {**machine(), "device": trial_device.name, "data_fingerprint": data_fingerprint(train_data)}


def write_attention_map(model: torch.nn.Module, val_data: Any, config: IPSConfig, path: Path) -> None:
    image, _ = val_data[0]  # [C, H, W]: the same validation canvas for every trial of a study
    save_attention_png(image, attention_map(model, image, config), config, path)


def trial_work_folder(trial_id: str) -> Path:
    """A new temp folder ``ips-trial-<trial id>-*`` for this attempt of the trial; the folders of its
    earlier attempts, left behind by a killed process (kill -9 runs no cleanup), are removed first:
    Tune runs one attempt of a trial at a time, and the study's lock one driver per study."""
    prefix = f"{WORK_FOLDER_PREFIX}{trial_id}-"
    for stale in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=prefix))


def train_trial(ray_config: dict[str, Any]) -> None:
    logging.getLogger("ray.train").setLevel(logging.WARNING)  # not a line per saved checkpoint
    config = trial_config(ray_config)
    # before the data: a GPU trial without CUDA fails
    trial_device = limit_to_resources(*trial_resources(), cuda_context_mb())
    train_data, val_data = build_datasets(config)
    work = trial_work_folder(tune.get_context().get_trial_id())
    where = {NODE_ID_KEY: ray.get_runtime_context().get_node_id()}  # on a cluster: which node
    latest = work / "latest"  # the last checkpoint, kept to build the final one
    first = {  # with the first report of this attempt
        LABELS_KEY: json.dumps(label_distribution(train_data, val_data)),
        PROVENANCE_KEY: json.dumps(provenance(train_data, trial_device)),
    }

    def report(end: EpochEnd) -> None:
        shutil.rmtree(latest, ignore_errors=True)
        end.save_checkpoint(latest)
        tune.report({**end.metrics, **where, **first}, checkpoint=tune.Checkpoint.from_directory(str(latest)))
        first.clear()

    try:
        resume_from = None
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            checkpoint.to_directory(str(latest))
            resume_from = latest
        result = fit(
            config,
            train_data,
            val_data,
            on_epoch_end=report,
            resume_from=resume_from,
            device=trial_device.device,
            num_workers=trial_device.workers,
        )
        final = work / "final"
        shutil.copytree(latest, final)
        write_attention_map(result.model, val_data, config, final / ARTIFACT_ATTENTION_MAP)
        metrics = {**result.history[-1], FINAL_REPORT_KEY: 1, **where}
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(final)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
