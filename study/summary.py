"""The table ``python -m study.run`` prints when its trials end: the study's metric per configuration.

One row per configuration (``ips.config_id``): the values of the varied fields, the final value of the
study's metric as mean +/- standard deviation over the seeds that completed every epoch, the headline
task's validation accuracy with its 95% interval beside its chance level (``headline``), and how many
of its seeds did (an early-stopped seed's value is that of a shorter training: it is counted apart,
never averaged in; ``tracking.SUMMARISED_STATUSES``, the rule of ``analysis``'s tables too). Reading
MLflow rather than Ray's result grid means a resumed study reports every trial, from this invocation
and the ones before. It reads the store through ``study.tracking`` only, what the runner wrote.

Why not ``analysis.tables.build_table``: that table answers the paper's question (every task and
split, chance levels, the published columns, the outcome of each trial), reading every metric's
history and every label distribution. The runner asks for a glance at the one metric it optimised,
on a study that may have just been interrupted, straight from the runs' last values in one search.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run
from scipy import stats

from study import tracking
from study.tracking import SUMMARISED_STATUSES

Z_95 = 1.959964  # the normal quantile of a two-sided 95% interval


def wilson_interval(correct: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion of ``correct`` successes in ``n`` trials."""
    if n <= 0:
        return math.nan, math.nan
    p, z2 = correct / n, Z_95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Headline:
    """The headline task's validation accuracy over a configuration's finished seeds, beside the chance
    level (a model blind to the images: always the training set's most frequent class, scored on
    validation). With one seed, its Wilson 95% interval over that seed's validation images (one draw:
    it says nothing of the seed-to-seed spread); with several, the mean and the t interval over the
    seeds (each seed one draw of model and data; never the images pooled, which the seeds may share)."""

    task: str
    accuracies: tuple[float, ...]  # per finished seed
    images: tuple[int, ...]  # validation images of each seed
    chance: float

    def interval(self) -> tuple[float, float, float]:
        """(accuracy, low, high)."""
        if len(self.accuracies) == 1:
            low, high = wilson_interval(self.accuracies[0] * self.images[0], self.images[0])
            return self.accuracies[0], low, high
        mean = statistics.fmean(self.accuracies)
        half = (
            stats.t.ppf(0.975, len(self.accuracies) - 1)
            * statistics.stdev(self.accuracies)
            / math.sqrt(len(self.accuracies))
        )
        return mean, max(0.0, mean - half), min(1.0, mean + half)

    def text(self) -> str:
        if not self.accuracies:
            return "-"
        value, low, high = self.interval()
        chance = "?" if math.isnan(self.chance) else f"{self.chance:.2f}"
        return f"{value:.3f} [{low:.3f}, {high:.3f}] (chance {chance})"


def headline_task(runs: list[Run]) -> str | None:
    """The dataset's first task when it is multiclass (Megapixel MNIST: majority; traffic: sign)."""
    params = runs[0].data.params if runs else {}
    if params.get("tasks.0.kind", "multiclass") != "multiclass":
        return None
    return params.get("tasks.0.name")


def headline(members: list[Run], statuses: tuple[str, ...], task: str, labels: dict) -> Headline:
    accuracies, images, chances = [], [], []
    for run, status in zip(members, statuses, strict=True):
        distribution = labels.get(run.info.run_id, {})
        counts = distribution.get("val", {}).get(task)
        train = distribution.get("train", {}).get(task)
        value = run.data.metrics.get(tracking.accuracy_metric("val", task))
        if status not in SUMMARISED_STATUSES or not counts or not train or value is None:
            continue
        accuracies.append(value)
        images.append(sum(counts.values()))
        total, known = sum(counts.values()), sum(train.values()) > 0
        chances.append(counts.get(tracking.blind_answer(train), 0) / total if total and known else math.nan)
    chance = statistics.fmean(chances) if chances else math.nan
    return Headline(task, tuple(accuracies), tuple(images), chance)


@dataclass(frozen=True)
class Row:
    values: tuple[str, ...]  # the varied fields, in the plan's order
    scores: tuple[float, ...]  # the metric of each finished seed
    trials: int
    statuses: tuple[str, ...]
    headline: Headline | None = None

    def score_text(self) -> str:
        if not self.scores:
            return "-"
        mean = statistics.fmean(self.scores)
        if len(self.scores) == 1:
            return f"{mean:.4f}"
        return f"{mean:.4f} ± {statistics.stdev(self.scores):.4f}"


def summary_rows(runs: list[Run], fields: list[str], metric: str, labels: dict | None = None) -> list[Row]:
    """One row per configuration; ``labels`` (run id -> label distribution) adds the headline task."""
    task = headline_task(runs) if labels is not None else None
    groups: dict[str, list[Run]] = {}
    for run in sorted(runs, key=lambda run: run.info.start_time):
        groups.setdefault(run.data.tags.get(tracking.TAG_CONFIG_ID, run.info.run_id), []).append(run)
    rows = []
    for members in groups.values():
        first = members[0].data.params
        statuses = tuple(run.data.tags.get(tracking.TAG_STATUS, "?") for run in members)
        scores = tuple(
            run.data.metrics[metric]
            for run, status in zip(members, statuses, strict=True)
            if status in SUMMARISED_STATUSES and metric in run.data.metrics
        )
        best = headline(members, statuses, task, labels) if task else None
        values = tuple(first.get(field, "?") for field in fields)
        rows.append(Row(values, scores, len(members), statuses, best))
    return sorted(rows, key=lambda row: tuple(sort_key(value) for value in row.values))


def short_text(value: str) -> str:
    """A logged param for people: ``0.00042246380742484593`` -> ``0.0004225``."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() or len(value) <= 8 else f"{number:.4g}"


def sort_key(value: str) -> tuple[int, float, str]:
    """Numbers in numeric order, before any text."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def stopped_text(row: Row) -> str:
    stopped = row.statuses.count(tracking.STATUS_EARLY_STOPPED)
    return f" ({stopped} stopped early)" if stopped else ""


def format_table(rows: list[Row], fields: list[str], metric: str) -> str:
    task = next((row.headline.task for row in rows if row.headline), None)
    header = [*fields, f"{metric} (final)", *([f"val {task} (95% CI)"] if task else []), "seeds completed"]
    body = [
        [
            *map(short_text, row.values),
            row.score_text(),
            *([row.headline.text() if row.headline else "-"] if task else []),
            f"{len(row.scores)}/{row.trials}{stopped_text(row)}",
        ]
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if task:
        lines.append(
            f"val {task}: with one seed, its accuracy and Wilson 95% interval over its validation images "
            "(one draw); with several, the mean and t 95% interval over the seeds; chance: always "
            "answering the training set's most frequent class"
        )
    return "\n".join(lines)


def runner_table(
    client: MlflowClient, experiment_id: str, parent_id: str, fields: list[str], metric: str
) -> str:
    """The table of the trials of parent run ``parent_id`` (one invocation of ``study.run``)."""
    runs = tracking.search_runs(client, experiment_id, tracking.role_filter(tracking.ROLE_TRIAL, parent_id))
    if not runs:
        return "no trials were logged"
    rows = summary_rows(runs, fields, metric, tracking.label_distributions(client, runs))
    failed = sum(status == tracking.STATUS_FAILED for row in rows for status in row.statuses)
    text = format_table(rows, fields, metric)
    if failed:
        text += f"\n{failed} trial(s) failed: see the ips.error tag of their runs"
    return text
