"""Ray's config dict of a trial: built by the driver (``param_space``), read by the trainable and the
MLflow logger. Plain JSON, so that Ray can store it with the experiment and restore it on --resume::

    {"base": <ips.config.to_dict of the profile's base config>,
     "trial": {"index": 3, "overrides": {"patches.size": 25, "seed": 0}},   # a grid trial
     "seeds": [0, 1, 2]}

A grid study puts ``tune.grid_search`` over the ``trial`` entries; a searched study puts Tune's
distributions at the top level under their dotted names (``"patches.size": tune.choice(...)``, listed
in ``"searched"``, so that Optuna's params carry those names) and lets ``study.search.SeedRepeater``
run each suggestion once per seed (``__trial_index__`` picks ``seeds[i]``).
"""

from __future__ import annotations

from typing import Any

from ips.config import IPSConfig, from_dict, override

TRIAL_INDEX_KEY = "__trial_index__"  # set by ray.tune.search.Repeater: which seed of a suggestion
FINAL_REPORT_KEY = "ips/final"  # set (to 1) on the trainable's report after the last epoch
SEARCHED_KEY = "searched"  # a searched study: the dotted fields drawn by the searcher (top-level keys)
NODE_ID_KEY = "ips/node_id"  # the Ray node a trial's report came from (Ray adds ``hostname`` itself)
# The first report of each attempt of a trial: its label distribution as JSON text (one column in Ray's
# own logs), counted by the trainable from the datasets it builds anyway; the driver logs it once.
LABELS_KEY = "ips/label_distribution"
# Also with the first report: what the numbers depend on beyond the config (``ips.provenance``: the CPU
# model, thread count, instruction set, library versions and a hash of the data), as JSON text.
PROVENANCE_KEY = "ips/provenance"
# Ray 2.60 sets CUDA_VISIBLE_DEVICES="" for a worker given no GPU only with this (``ips.resources``).
HIDE_GPUS_FROM_CPU_TRIALS = {"RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "1"}


def grid_entry(index: int, overrides: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "overrides": dict(overrides)}


def trial_overrides(ray_config: dict[str, Any]) -> dict[str, Any]:
    """The dotted changes of the base for this trial, the seed included."""
    changes = dict(ray_config["trial"]["overrides"])
    for field in ray_config.get(SEARCHED_KEY, ()):
        changes[field] = ray_config[field]
    if TRIAL_INDEX_KEY in ray_config:
        changes["seed"] = ray_config["seeds"][ray_config[TRIAL_INDEX_KEY]]
    return changes


def trial_config(ray_config: dict[str, Any]) -> IPSConfig:
    """The typed config of one trial from Ray's config dict."""
    return override(from_dict(ray_config["base"]), trial_overrides(ray_config))


class TrialConfigs:
    """Each trial's typed config, built once per trial on the driver (not again after every epoch)."""

    def __init__(self) -> None:
        self._configs: dict[str, IPSConfig] = {}

    def __call__(self, trial: Any) -> IPSConfig:
        if trial.trial_id not in self._configs:
            self._configs[trial.trial_id] = trial_config(trial.config)
        return self._configs[trial.trial_id]


def trial_dirname(trial: Any) -> str:
    """Ray's folder (and display name) of a trial: its id; the config is in MLflow, not in names."""
    return str(trial.trial_id)
