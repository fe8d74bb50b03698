"""A study's paper table: rows = the varied factor(s), columns = the tasks, cells = mean ± std (n).

``build_table(study, summary="final")`` gives a ``StudyTable`` with

- ``cells`` (tidy): one row per (configuration, split, task): the row fields, ``mean``, ``std``
  (sample std over seeds, ddof=1; NaN for one seed), ``n`` (seeds averaged), ``chance``, and the
  paper's ``published_mean`` / ``published_std`` / ``published_n``, ``difference`` (ours − paper) and
  ``stds_apart`` (the difference in units of our std over seeds), NaN where the paper's value is not
  stored (or, for ``stds_apart``, where our std is unknown or 0);
- ``derived``: per configuration, O2I % and O2P % (from the logged ``derived.*`` params), peak
  memory (max over epochs) and time per batch (mean over epochs), mean and std over seeds;
- ``counts``: per configuration, every outcome of ``analysis.status`` (completed, early_stopped,
  not_converged, failed, running, unknown) and the total; each trial is counted exactly once.

Which trials a cell averages is explicit: those whose ``ips.status`` tag is in ``include``
(default: ``completed``, not-converged ones among them). Early-stopped, failed and running trials are
counted, not averaged. Accuracy is shown in percent; the tidy frames keep fractions. In the display
table a paper column (and its Δ and Δ/σ) appears only where the paper published at least one value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import formatting
from analysis.chance import config_chance
from analysis.epoch_values import describe, resources, summarise
from analysis.paper_columns import (
    comparable_configs,
    drop_empty_paper_columns,
    published_text,
    with_published,
)
from analysis.published import NOT_AVAILABLE, PublishedTable, table_for_study
from analysis.runs import LoggedStudy
from analysis.status import (
    ALWAYS_SHOWN,
    DEFAULT_MARGIN,
    NOT_CONVERGED,
    OUTCOMES,
    SUMMARISED_STATUSES,
    outcome_counts,
    outcomes,
)
from study import tracking

RESOURCE_COLUMNS = ("peak_memory_mb", "seconds_per_batch")
RATIO_COLUMNS = {"o2i_percent": "object_to_image_ratio", "o2p_percent": "object_to_patch_ratio"}


@dataclass(frozen=True)
class Layout:
    rows: tuple[str, ...]
    splits: tuple[str, ...]
    derived: tuple[str, ...]
    published: PublishedTable | None


def layout_for(study: LoggedStudy) -> Layout:
    """Rows from the study's axes; splits and derived columns from its paper table, if it has one."""
    published = table_for_study(study.name)
    rows = tuple(a for a in study.axes if a != tracking.PARAM_SEED) or (published.rows if published else ())
    if published is not None:
        return Layout(rows, published.splits, published.derived, published)
    derived = tuple(
        c for c, axis in (("o2p_percent", "patches.size"), ("o2i_percent", "data.digit_size")) if axis in rows
    )
    return Layout(rows, ("val",), derived + RESOURCE_COLUMNS, None)


@dataclass
class StudyTable:
    study: str
    label: str
    profile: str | None
    summary: str
    summary_text: str
    layout: Layout
    tasks: tuple[str, ...]
    cells: pd.DataFrame
    derived: pd.DataFrame
    counts: pd.DataFrame
    margin: float
    included: tuple[str, ...]
    searched: bool = False  # the configurations are a search's draws: never joined nor pooled in plots

    @property
    def rows(self) -> list[str]:
        return list(self.layout.rows)

    def caption(self) -> str:
        paper = f"paper: {self.layout.published.caption}" if self.layout.published else "no paper table"
        return f"{self.label}, profile {self.profile} ({paper}); cells: {self.summary_text}"

    def wide(self, published: bool = True) -> pd.DataFrame:
        """The display table (strings): rows, derived columns, one column group per task, counts."""
        return wide_frame(self, published)

    def notes(self) -> list[str]:
        return table_notes(self)

    def to_markdown(self) -> str:
        lines = [f"**{self.caption()}**", "", formatting.markdown(self.wide()), ""]
        return "\n".join(lines + [f"- {note}" for note in self.notes()])

    def to_text(self) -> str:
        return "\n".join([self.caption(), formatting.text(self.wide()), *self.notes()])


def build_table(
    study: LoggedStudy,
    summary: str = "final",
    margin: float = DEFAULT_MARGIN,
    include: tuple[str, ...] = SUMMARISED_STATUSES,
) -> StudyTable:
    layout = layout_for(study)
    keys = row_keys(study, layout.rows)
    values = summarise(study.history, summary, study.metric, study.mode)
    included = study.trials[study.trials["status"].isin(include)]
    cells = accuracy_cells(study, layout, keys, values, included)
    counts = outcome_counts(outcomes(study, margin), study.trials.set_index("run_id")["config_id"])
    return StudyTable(
        study=study.name,
        label=study.label,
        profile=study.invocation.profile,
        summary=summary,
        summary_text=describe(summary, study.metric, study.mode),
        layout=layout,
        tasks=tuple(t.name for t in study.tasks),
        cells=cells,
        derived=derived_columns(study, layout, keys, included),
        counts=counts.reindex(keys.index, fill_value=0),
        margin=margin,
        included=include,
        searched=study.invocation.searched,
    )


def row_keys(study: LoggedStudy, rows: tuple[str, ...]) -> pd.DataFrame:
    """One row per configuration (index ``config_id``): the values of the row fields, sorted."""
    trials = study.trials
    missing = [r for r in rows if r not in trials]
    if missing:
        raise ValueError(f"{study.label}: row field(s) {missing} are not logged params of its trials")
    keys = trials.groupby("config_id", sort=False)[list(rows)].first()
    return keys.sort_values(list(rows)) if rows else keys


def mean_std_n(values: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Per group: mean, sample std (ddof=1) and count of the non-missing values."""
    grouped = values.groupby(groups)
    return pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()})


def accuracy_cells(
    study: LoggedStudy, layout: Layout, keys: pd.DataFrame, values: pd.DataFrame, included: pd.DataFrame
) -> pd.DataFrame:
    frames = []
    for split in layout.splits:
        chance = config_chance(study, split).set_index(["config_id", "task"])["chance"]
        for task in study.tasks:
            metric = tracking.accuracy_metric(split, task.name)
            per_run = values[metric] if metric in values else pd.Series(dtype=float)
            run_values = per_run.reindex(included["run_id"]).to_numpy()
            stats = mean_std_n(pd.Series(run_values), included["config_id"].reset_index(drop=True))
            stats = stats.reindex(keys.index)
            stats["n"] = stats["n"].fillna(0).astype(int)
            stats["chance"] = [chance.get((c, task.name), math.nan) for c in stats.index]
            frames.append(keys.join(stats).assign(split=split, task=task.name))
    cells = pd.concat(frames).rename_axis("config_id").reset_index()
    return with_published(cells, layout, comparable_configs(study, layout.published))


def derived_columns(
    study: LoggedStudy, layout: Layout, keys: pd.DataFrame, included: pd.DataFrame
) -> pd.DataFrame:
    frame = pd.DataFrame(index=keys.index)
    first = study.trials.groupby("config_id").first()
    for column, name in RATIO_COLUMNS.items():
        if column in layout.derived:
            frame[column] = 100 * ratio(first, name).reindex(keys.index)
    used = resources(study.history).reindex(included["run_id"])
    used.index = included["config_id"].to_numpy()
    for column in RESOURCE_COLUMNS:
        if column in layout.derived:
            stats = mean_std_n(used[column], pd.Series(used.index, index=used.index))
            frame[column] = stats["mean"].reindex(keys.index)
            frame[f"{column}_std"] = stats["std"].reindex(keys.index)
    return frame


def ratio(first: pd.DataFrame, name: str) -> pd.Series:
    """``derived.<name>`` as logged, else computed from the logged data and patch params."""
    logged = f"{tracking.DERIVED_PREFIX}{name}"
    if logged in first:
        return pd.to_numeric(first[logged], errors="coerce")
    digit = pd.to_numeric(first.get("data.digit_size"), errors="coerce")
    if name == "object_to_image_ratio":
        area = pd.to_numeric(first.get("data.canvas_height"), errors="coerce") * pd.to_numeric(
            first.get("data.canvas_width"), errors="coerce"
        )
        return digit**2 / area
    return digit**2 / pd.to_numeric(first.get("patches.size"), errors="coerce") ** 2


# display --------------------------------------------------------------------------------------------


def wide_frame(table: StudyTable, published: bool = True) -> pd.DataFrame:
    keys = table.cells.drop_duplicates("config_id").set_index("config_id")[table.rows]
    out = keys.rename(columns=formatting.field_label).copy()
    for column in table.layout.derived:
        out[formatting.field_label(column)] = [_derived_text(table, c, column) for c in keys.index]
        if published and table.layout.published is not None:
            out[f"{formatting.field_label(column)} paper"] = _published_derived(table, keys, column)
    for split in table.layout.splits:
        for task in table.tasks:
            _add_task_columns(out, table, split, task, published)
    counts = table.counts.reindex(keys.index)
    for outcome in [*OUTCOMES, "total"]:
        if outcome in ALWAYS_SHOWN or outcome == "total" or counts[outcome].any():
            out[outcome] = counts[outcome].to_numpy()
    return drop_empty_paper_columns(out).reset_index(drop=True)


def _published_derived(table: StudyTable, keys: pd.DataFrame, column: str) -> list[str]:
    """The paper's value of a derived column (O2P %, peak memory, time) per configuration."""
    comparable = set(table.cells.loc[table.cells["paper_comparable"], "config_id"])
    found = []
    for config, row in keys.iterrows():
        value = table.layout.published.lookup({f: row[f] for f in table.rows}, column)
        value = value if config in comparable else None
        found.append(NOT_AVAILABLE if value is None else formatting.number(value.mean))
    return found


def _derived_text(table: StudyTable, config: str, column: str) -> str:
    value = table.derived.at[config, column]
    if column in RATIO_COLUMNS:
        return formatting.number(value)
    std = table.derived.at[config, f"{column}_std"]
    spread = "" if formatting.is_missing(std) else f" ± {formatting.number(std)}"
    return f"{formatting.number(value)}{spread}"


def _add_task_columns(out: pd.DataFrame, table: StudyTable, split: str, task: str, published: bool) -> None:
    cells = table.cells[(table.cells["split"] == split) & (table.cells["task"] == task)].set_index(
        "config_id"
    )
    cells = cells.reindex(out.index)
    label = formatting.task_label(task) + ("" if table.layout.splits == ("val",) else f" ({split})")
    out[label] = [
        formatting.percent_cell(m, s, n)
        for m, s, n in zip(cells["mean"], cells["std"], cells["n"], strict=True)
    ]
    if published:
        out[f"{label} paper"] = [
            published_text(m, s) for m, s in zip(cells["published_mean"], cells["published_std"], strict=True)
        ]
        out[f"{label} Δ"] = [formatting.signed_points(d) for d in cells["difference"]]
        out[f"{label} Δ/σ"] = [
            NOT_AVAILABLE if formatting.is_missing(z) else f"{z:+.1f}" for z in cells["stds_apart"]
        ]


def table_notes(table: StudyTable) -> list[str]:
    notes = [
        f"cells: accuracy in percent, mean ± sample std over seeds (n seeds), {table.summary_text}; "
        f"averaged: trials tagged {', '.join(table.included)}, so n = the {averaged_outcomes(table)} "
        "columns together; paper: the published mean ± std in percent; Δ = ours − paper in points; "
        "Δ/σ = Δ over our std across seeds (how many of our stds apart); paper columns with no "
        "published value are left out",
        f"not_converged: a finished trial whose training accuracy never rose more than "
        f"{100 * table.margin:.0f} points above chance on any task with a known chance level (a result: "
        "averaged if tagged completed); the outcome columns partition the trials",
        chance_note(table),
    ]
    published = table.layout.published
    if published is None:
        notes.append("no paper table for this study")
    elif not published.transcribed:
        notes.append(f"paper column: {published.note} ({published.caption})")
    elif not table.cells["published_mean"].notna().any():
        fields = ", ".join(f"{k}={v}" for k, v in published.match)
        notes.append(
            f"paper column left out: {published.caption} holds values for {fields} only, and no "
            "configuration of this invocation has them (a scaled-down profile is not compared)"
        )
    total = int(table.counts["total"].sum())
    parts = ", ".join(f"{int(table.counts[o].sum())} {o}" for o in OUTCOMES if table.counts[o].sum())
    notes.append(f"trials: {total} ({parts or 'none'})")
    return notes


def averaged_outcomes(table: StudyTable) -> str:
    """The outcome columns whose trials the cells average (not_converged ones are completed runs)."""
    names = list(table.included)
    if tracking.STATUS_COMPLETED in names:
        names.insert(names.index(tracking.STATUS_COMPLETED) + 1, NOT_CONVERGED)
    return " + ".join(names)


def chance_note(table: StudyTable) -> str:
    parts = []
    for split in table.layout.splits:
        for task in table.tasks:
            levels = table.cells[(table.cells["split"] == split) & (table.cells["task"] == task)]["chance"]
            parts.append(f"{formatting.task_label(task)} ({split}) {_range(levels)}")
    return (
        "chance (a model blind to the images: the training set's most frequent class, or the vector of "
        "classes in more than half of the training images, scored on each split; from "
        "label_distribution.json): " + ", ".join(parts)
    )


def _range(levels: pd.Series) -> str:
    levels = levels.dropna()
    if levels.empty:
        return "unknown"
    low, high = 100 * levels.min(), 100 * levels.max()
    return f"{low:.1f}" if np.isclose(low, high) else f"{low:.1f}–{high:.1f}"
