"""One line per trial event on the driver's console, in place of Ray's tables of every config field,
and after each finished trial where the study stands::

    [00001 patches.size=17 seed=0] epoch 1/2  train/loss 2.0312  val/accuracy 0.1875  (11.2 s)
    [00001 patches.size=17 seed=0] finished
    -- 1/4 trials done, elapsed 41 s, ETA about 2 min (plan's estimate: 3 min)

The ETA starts from the plan's estimate (``study.dry_run.plan_seconds``) and, once trials have
finished, follows their pace: the time per finished trial so far times the trials still to run.
"""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from ray.tune.experiment import Trial

from study import tracking
from study.plan import point_label
from study.ray_config import FINAL_REPORT_KEY, TrialConfigs, trial_overrides


def trial_title(trial: Trial) -> str:
    return f"[{trial.trial_id.split('_')[-1]} {point_label(trial_overrides(trial.config))}]"


def eta_seconds(elapsed: float, finished_here: int, left: int, estimate: float) -> float:
    """Seconds still to go: the plan's estimate less the time spent until a trial of this invocation
    has finished, then their pace (elapsed / finished_here per trial) over the ``left`` trials."""
    if left <= 0:
        return 0.0
    if finished_here == 0:
        return max(0.0, estimate - elapsed)
    return elapsed / finished_here * left


def progress_line(
    elapsed: float, done: int, failed: int, total: int, finished_here: int, estimate: float
) -> str:
    from estimate.cost import human_seconds

    failures = f" ({failed} failed)" if failed else ""
    eta = eta_seconds(elapsed, finished_here, total - done, estimate)
    return (
        f"-- {done}/{total} trials done{failures}, elapsed {human_seconds(elapsed)}, "
        f"ETA about {human_seconds(eta)} (plan's estimate: {human_seconds(estimate)})"
    )


class ProgressPrinter(Callback):
    def __init__(self, metric: str, total: int = 0, estimate: float = 0.0) -> None:
        self.metric = metric
        self.total = total
        self.estimate = estimate
        self.setup()

    def setup(self, **info: Any) -> None:
        self.start = time.monotonic()  # also after --resume: the ETA is of this invocation
        self.finished_here: set[str] = set()
        self.config = TrialConfigs()  # trial -> its typed config, built once

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.setup()

    def tally(self, trials: list[Trial], trial: Trial, failed_now: bool) -> None:
        """The progress line, from Ray's view of every trial (restored ones included; the trial
        that just ended may not carry its final status yet)."""
        if not hasattr(self, "finished_here"):
            self.setup()
        self.finished_here.add(trial.trial_id)
        ended = {t.trial_id for t in trials if t.status in (Trial.TERMINATED, Trial.ERROR)} | {trial.trial_id}
        failed = {t.trial_id for t in trials if t.status == Trial.ERROR} | (
            {trial.trial_id} if failed_now else set()
        )
        total = max(self.total, len(trials))
        elapsed = time.monotonic() - self.start
        line = progress_line(elapsed, len(ended), len(failed), total, len(self.finished_here), self.estimate)
        print(line, flush=True)

    def say(self, trial: Trial, text: str) -> None:
        print(f"{trial_title(trial)} {text}", flush=True)

    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.say(trial, "started" if trial.checkpoint is None else "continues from its last checkpoint")

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial, result: dict, **info: Any):
        epoch = result.get(tracking.METRIC_EPOCH)
        if epoch is None or result.get(FINAL_REPORT_KEY):
            return
        epochs = self.config(trial).optimisation.epochs
        loss = result.get(tracking.loss_metric("train"), float("nan"))
        score = result.get(self.metric, float("nan"))
        seconds = result.get(tracking.METRIC_EPOCH_SECONDS, float("nan"))
        text = f"epoch {int(epoch)}/{epochs}  train/loss {loss:.4f}  {self.metric} {score:.4f}"
        self.say(trial, f"{text}  ({seconds:.1f} s)")

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        epoch = int(trial.last_result.get(tracking.METRIC_EPOCH, 0) or 0)
        stopped = epoch < self.config(trial).optimisation.epochs
        self.say(trial, "stopped early (scheduler)" if stopped else "finished")
        self.tally(trials, trial, failed_now=False)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.say(trial, "FAILED (its error is in MLflow: tag ips.error, artifact error.txt)")
        self.tally(trials, trial, failed_now=True)
