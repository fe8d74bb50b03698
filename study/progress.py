"""One line per trial event on the driver's console, in place of Ray's tables of every config field.

[00001 patches.size=17 seed=0] epoch 1/2  train/loss 2.0312  val/accuracy 0.1875  (11.2 s)
[00001 patches.size=17 seed=0] completed
"""

from __future__ import annotations

from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from study import tracking
from study.expand import point_label
from study.ray_config import FINAL_REPORT_KEY, trial_config, trial_overrides


def trial_title(trial: Trial) -> str:
    return f"[{trial.trial_id.split('_')[-1]} {point_label(trial_overrides(trial.config))}]"


class ProgressPrinter(Callback):
    def __init__(self, metric: str) -> None:
        self.metric = metric

    def say(self, trial: Trial, text: str) -> None:
        print(f"{trial_title(trial)} {text}", flush=True)

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.say(trial, "started" if trial.checkpoint is None else "continues from its last checkpoint")

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any):
        epoch = result.get(tracking.METRIC_EPOCH)
        if epoch is None or result.get(FINAL_REPORT_KEY):
            return
        epochs = trial_config(trial.config).optimisation.epochs
        loss = result.get(tracking.loss_metric("train"), float("nan"))
        score = result.get(self.metric, float("nan"))
        seconds = result.get(tracking.METRIC_EPOCH_SECONDS, float("nan"))
        text = f"epoch {int(epoch)}/{epochs}  train/loss {loss:.4f}  {self.metric} {score:.4f}"
        self.say(trial, f"{text}  ({seconds:.1f} s)")

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.say(trial, "finished")

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.say(trial, "FAILED (its error is in MLflow: tag ips.error, artifact error.txt)")
