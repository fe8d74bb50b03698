"""One summary value per (trial, task) in long form: what tables and findings average."""

from __future__ import annotations

import pandas as pd

from analysis.chance import study_chance
from analysis.epoch_values import summarise
from analysis.runs import LoggedStudy
from analysis.status import SUMMARISED_STATUSES
from study import tracking


def trial_values(
    study: LoggedStudy,
    split: str = "val",
    summary: str = "final",
    include: tuple[str, ...] = SUMMARISED_STATUSES,
    fields: list[str] | None = None,
) -> pd.DataFrame:
    """Columns: ``run_id, config_id, seed``, the ``fields`` (default: the study's axes), ``task``,
    ``value`` (accuracy on ``split`` at the summary epoch), ``chance`` and ``upper_bound``."""
    fields = [f for f in (fields if fields is not None else study.axes) if f != tracking.PARAM_SEED]
    trials = study.trials[study.trials["status"].isin(include)]
    summary_values = summarise(study.history, summary, study.metric, study.mode)
    chance = study_chance(study)
    chance = chance.loc[chance["split"] == split, ["run_id", "task", "chance", "upper_bound"]]
    frames = []
    for task in study.tasks:
        metric = tracking.accuracy_metric(split, task.name)
        column = summary_values[metric] if metric in summary_values else pd.Series(dtype=float)
        frame = trials[["run_id", "config_id", "seed", *fields]].copy()
        frame["task"] = task.name
        frame["value"] = column.reindex(frame["run_id"]).to_numpy()
        frames.append(frame)
    columns = ["run_id", "config_id", "seed", *fields, "task", "value", "chance", "upper_bound"]
    if not frames:
        return pd.DataFrame(columns=columns)
    values = pd.concat(frames, ignore_index=True).merge(chance, on=["run_id", "task"], how="left")
    return values[columns]


def missing_params(study: LoggedStudy, fields: list[str]) -> list[str]:
    """The ``fields`` that the study's trials did not log as params."""
    return [f for f in fields if f not in study.trials]
