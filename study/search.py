"""The searched studies' side of Ray Tune: the Optuna study, the per-seed repeater, early stopping.

- Ray's param space puts every searched field at the top level under its dotted name, so that the
  Optuna study's params read ``patches.size``, ``selection.memory_size``, ``optimisation.lr``
  (nested, they would read ``trial/overrides/patches.size``); ``study.ray_config`` reads them back.
- The Optuna study is persisted in ``<storage>/<study>-<profile>/optuna.db`` and created here, before
  Ray does, with the study's metric as its objective name and where its runs are in MLflow as study
  user attributes; optuna-dashboard opens it as it is.
- ``SeedRepeater`` runs each suggestion once per seed (``__trial_index__`` picks the seed) and tells
  Optuna the mean over the seeds, with each seed's value, status, Ray trial id and MLflow run id as
  user attributes of the Optuna trial. A suggestion any of whose seeds was stopped early (ASHA) is
  told as PRUNED, never as COMPLETE with a partial value (what Ray's ``Repeater`` would do).
- ``scheduler``: Tune's default FIFO, or ASHA on the study's metric with ``epoch`` as its clock.
"""

from __future__ import annotations

import logging
import math
import shlex
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

from ray.tune.search import Repeater
from ray.tune.search.repeater import TRIAL_INDEX

from search_spaces import Choice, IntUniform, LogUniform, Uniform
from study import tracking
from study.guard.redact import client_uri
from study.plan import Plan, StudyError
from study.ray_config import SEARCHED_KEY

logger = logging.getLogger(__name__)

OPTUNA_FILE = "optuna.db"
ASHA_REDUCTION_FACTOR = 3


def tune_domain(distribution: Any) -> Any:
    from ray import tune

    if isinstance(distribution, Choice):
        return tune.choice(list(distribution.values))
    if isinstance(distribution, LogUniform):
        return tune.loguniform(distribution.low, distribution.high)
    if isinstance(distribution, Uniform):
        return tune.uniform(distribution.low, distribution.high)
    if isinstance(distribution, IntUniform):
        return tune.randint(distribution.low, distribution.high + 1)
    raise StudyError(f"{distribution!r} is not a search distribution")


def optuna_storage_url(study_folder: Path) -> str:
    return f"sqlite:///{study_folder / OPTUNA_FILE}"


def dashboard_commands(study_folder: Path) -> list[str]:
    """The commands that open the Optuna study in optuna-dashboard (not a dependency of the project):
    install it with this interpreter's pip, then start the script that pip puts beside it."""
    from study.guard.invocation import python_command

    script = shlex.quote(str(Path(sys.executable).with_name("optuna-dashboard")))
    return [
        f"{python_command()} -m pip install optuna-dashboard",
        f"{script} {optuna_storage_url(study_folder)} --host 127.0.0.1 --port 8080",
    ]


def create_optuna_study(plan: Plan, study_folder: Path, runs: tracking.InvocationRuns) -> Any:
    """The Optuna study of this invocation (loaded if it exists): objective named after the metric,
    where its ``runs`` are (MLflow URI, experiment and parent run ids) as study user attributes."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=optuna_storage_url(study_folder),
        study_name=study_folder.name,
        direction="maximize" if plan.study.mode == "max" else "minimize",
        load_if_exists=True,
    )
    with warnings.catch_warnings():  # "experimental" since Optuna 3.2, and what optuna-dashboard shows
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([plan.study.metric])
    for key, value in {**runs.attributes(), "study": plan.study.name, "profile": plan.profile_name}.items():
        study.set_user_attr(key, value)
    study.set_user_attr("seeds", list(plan.seeds))
    return study


class SeedRepeater(Repeater):
    """Ray's ``Repeater`` that tells Optuna per-seed values and MLflow run ids, and tells a suggestion
    with an early-stopped seed as PRUNED."""

    def __init__(self, searcher: Any, plan: Plan, runs: tracking.InvocationRuns) -> None:
        super().__init__(searcher, repeat=len(plan.seeds))
        self.seeds = list(plan.seeds)
        self.epochs = plan.base.optimisation.epochs
        self.runs = runs
        self._index: dict[str, int] = {}  # trial id -> index of its seed
        self._outcome: dict[str, dict[str, Any]] = {}  # trial id -> its seed's outcome

    def suggest(self, trial_id: str) -> dict | None:
        config = super().suggest(trial_id)
        if isinstance(config, dict):
            self._index[trial_id] = config.get(TRIAL_INDEX, 0)
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False, **kwargs):
        group = self._trial_id_to_group.get(trial_id)
        if group is None:
            logger.error("trial %s belongs to no suggestion; not told to the searcher", trial_id)
            return
        value = (result or {}).get(self.searcher.metric)  # set by Tune on the inner searcher
        epoch = int((result or {}).get(tracking.METRIC_EPOCH, 0))
        stopped = not error and value is not None and epoch < self.epochs
        status = (
            "failed" if error else tracking.STATUS_EARLY_STOPPED if stopped else tracking.STATUS_COMPLETED
        )
        self._outcome[trial_id] = {"value": value, "status": status}
        group.report(trial_id, math.nan if value is None or stopped or error else float(value))
        if not group.finished_reporting():
            return
        members = list(group._trials)  # the group's trial ids, in the order of their seeds
        self.annotate(group.primary_trial_id, members)
        statuses = [self._outcome[member]["status"] for member in members]
        values = [score for score in group.scores() if not math.isnan(score)]
        if tracking.STATUS_EARLY_STOPPED in statuses:
            self.searcher.on_trial_complete(group.primary_trial_id, result=None)  # PRUNED
        elif not values:
            self.searcher.on_trial_complete(group.primary_trial_id, result=None, error=True)  # FAIL
        else:
            mean = {self.searcher.metric: statistics.fmean(values)}
            self.searcher.on_trial_complete(group.primary_trial_id, result=mean)

    def annotate(self, primary: str, members: list[str]) -> None:
        """Per-seed values, statuses, Ray trial ids and MLflow run ids as the Optuna trial's user
        attributes (before it is told: Optuna refuses changes to finished trials)."""
        trial = getattr(self.searcher, "_ot_trials", {}).get(primary)  # OptunaSearch's trial map
        if trial is None:
            logger.warning("no Optuna trial for %s: per-seed values not stored", primary)
            return
        seeds = [str(self.seeds[self._index.get(member, 0)]) for member in members]
        runs = mlflow_runs(self.runs, members)
        attributes = {
            "value_per_seed": dict(zip(seeds, (self._outcome[m]["value"] for m in members), strict=True)),
            "status_per_seed": dict(zip(seeds, (self._outcome[m]["status"] for m in members), strict=True)),
            "ray_trial_ids": dict(zip(seeds, members, strict=True)),
            "mlflow_run_ids": dict(zip(seeds, (runs.get(m) for m in members), strict=True)),
        }
        for key, value in attributes.items():
            trial.set_user_attr(key, value)


def mlflow_runs(where: tracking.InvocationRuns, trial_ids: list[str]) -> dict[str, str]:
    """Ray trial id -> MLflow run id of the study's child runs (empty if MLflow cannot be read)."""
    from mlflow import MlflowClient

    from study.mlflow_store import child_runs

    try:
        client = MlflowClient(client_uri(where.tracking_uri))  # kept redacted in pickles
        runs = child_runs(client, where.experiment_id, where.parent_run_id)
    except Exception as error:  # the search must not stop because a link is missing
        logger.warning("MLflow runs not found for the Optuna trial: %s", error)
        return {}
    by_trial = {run.data.tags.get(tracking.TAG_TRIAL_ID): run.info.run_id for run in runs}
    return {trial_id: by_trial[trial_id] for trial_id in trial_ids if trial_id in by_trial}


def search_setup(
    plan: Plan, study_folder: Path, runs: tracking.InvocationRuns | None
) -> tuple[dict, Any, int]:
    """(param space, search algorithm, number of samples) of a grid or a searched study (a searched
    one needs where its ``runs`` are)."""
    from ray import tune

    from ips.config import to_dict
    from study.ray_config import grid_entry

    space: dict[str, Any] = {"base": to_dict(plan.base), "seeds": list(plan.seeds)}
    if plan.search is None:
        entries = [grid_entry(trial.index, trial.overrides) for trial in plan.trials]
        space["trial"] = tune.grid_search(entries)
        return space, None, 1
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    space["trial"] = grid_entry(0, {})
    space[SEARCHED_KEY] = list(plan.search.space)
    for field, distribution in plan.search.space.items():
        space[field] = tune_domain(distribution)
    assert runs is not None, "a searched study needs where its runs are"
    create_optuna_study(plan, study_folder, runs)
    searcher = OptunaSearch(
        sampler=optuna.samplers.TPESampler(seed=plan.search.sampler_seed),
        storage=optuna.storages.RDBStorage(optuna_storage_url(study_folder)),
        study_name=study_folder.name,
    )
    return space, SeedRepeater(searcher, plan, runs), plan.number_of_trials


def scheduler(name: str, plan: Plan) -> Any:
    """None (Tune's FIFO) or ASHA on the study's metric, ``epoch`` as its time (grace: a quarter of
    the epochs, at least 1)."""
    if name != "asha":
        return None
    from ray.tune.schedulers import ASHAScheduler

    epochs = plan.base.optimisation.epochs
    return ASHAScheduler(
        time_attr=tracking.METRIC_EPOCH,
        max_t=epochs,
        grace_period=max(1, epochs // 4),
        reduction_factor=ASHA_REDUCTION_FACTOR,
        stop_last_trials=False,  # a trial that reached the last epoch ends itself (attention map)
    )
