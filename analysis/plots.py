"""PNG plots of a study (matplotlib's object API with the Agg canvas: no GUI, no pyplot state).

Accuracy is in percent on every axis and colour bar, as in the tables; an axis whose values are all
integers (epochs, patch sizes, noise counts) gets integer ticks.

- ``learning_curves``: per task and split, accuracy per epoch for every configuration, the mean over
  seeds; a band of ± one std while there are few configurations, thinner lines in a sequential
  colour map and the legend outside the axes when there are many; the blind model's chance on each
  panel, and one y range per task (its training and validation panels share it);
- ``accuracy_vs_factor``: per task, the table's cells against the varied factor, error bars of ± one
  std, the chance level and, where stored, the paper's values. Points are joined for a grid study;
  the configurations of a searched study (parent tag ``ips.search``), which differ in several fields
  at once, are drawn as separate points, and get no heatmap; the task panels share one y range;
- ``grid_heatmap``: per task, mean validation accuracy over a two-factor grid (O2I x data size).

Axes name their unit (``analysis.formatting.axis_label``: "patch size (px)", "memory (patches kept)").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.chance import study_chance
from analysis.formatting import axis_label, field_label, plain, task_label
from analysis.runs import LoggedStudy
from analysis.tables import StudyTable
from study import tracking


def _figure(
    rows: int, cols: int, width: float = 4.0, height: float = 3.0, sharey: bool | str = False
) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.atleast_2d(figure.subplots(rows, cols, squeeze=False, sharey=sharey))
    return figure, axes


PERCENT = 100.0  # fractions as logged -> percent as shown
FEW_CURVES = 6  # up to this many configurations: bands of ± std and the legend inside
MAX_LEGEND = 24  # beyond this, the legend names the colour map's ends only
ACCURACY_LABEL = "accuracy (%)"


def integer_ticks(ax, values, axis: str = "x") -> None:
    """Ticks at the values themselves when they are a few integers, else integer ticks."""
    numbers = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna().unique()
    if len(numbers) == 0 or not np.all(np.equal(np.mod(numbers, 1), 0)):
        return
    target = ax.xaxis if axis == "x" else ax.yaxis
    if len(numbers) <= 12:
        target.set_ticks(sorted(numbers), [str(int(n)) for n in sorted(numbers)])
    else:
        target.set_major_locator(MaxNLocator(integer=True))


def _save(figure: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def config_labels(study: LoggedStudy, fields: list[str]) -> pd.Series:
    """config_id -> a short label such as ``patch=25`` (the row fields' values)."""
    first = study.trials.groupby("config_id").first()
    if not fields:
        return pd.Series(first.index, index=first.index)
    first = first.sort_values(fields)
    parts = [first[f].map(lambda v, f=f: f"{field_label(f)}={plain(v)}") for f in fields]
    return pd.concat(parts, axis=1).agg(", ".join, axis=1)


def learning_curves(study: LoggedStudy, path: Path, splits: tuple[str, ...] = ("train", "val")) -> Path:
    """Accuracy per epoch, one line per configuration (mean over seeds, band ± std), as a PNG."""
    return _save(learning_curves_figure(study, splits), path)


def learning_curves_figure(study: LoggedStudy, splits: tuple[str, ...] = ("train", "val")) -> Figure:
    tasks = [t.name for t in study.tasks]
    labels = config_labels(study, study.axes)
    many = len(labels) > FEW_CURVES
    figure, axes = _figure(len(tasks), len(splits), width=4.8 if many else 4.0, sharey="row")
    colours = _colours(len(labels))
    chance = chance_by_split_task(study)
    for row, task in enumerate(tasks):
        for col, split in enumerate(splits):
            ax = axes[row, col]
            _curves(ax, study.history, tracking.accuracy_metric(split, task), labels, colours, bands=not many)
            if (split, task) in chance:
                ax.axhline(chance[(split, task)], linestyle="--", color="grey", linewidth=1, label="chance")
            ax.set_title(f"{task_label(task)} ({split})")
            ax.set_xlabel("epoch")
            ax.set_ylabel(ACCURACY_LABEL)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, names = axes[0, -1].get_legend_handles_labels()
    if many:  # the configurations only: the dashed chance line is named in the title
        pairs = [(h, n) for h, n in zip(handles, names, strict=True) if n != "chance"]
        handles, names = [h for h, _ in pairs], [n for _, n in pairs]
        keep = range(len(handles)) if len(handles) <= MAX_LEGEND else (0, len(handles) - 1)
        figure.legend(
            [handles[i] for i in keep],
            [names[i] for i in keep],
            fontsize="x-small",
            loc="outside right upper",
            title=None if len(handles) <= MAX_LEGEND else f"{len(handles)} configurations, in order",
        )
    elif handles:
        axes[0, -1].legend(fontsize="x-small", loc="best")
    spread = "mean over seeds" if many else "mean ± std over seeds"
    dashed = "; dashed: the blind model's chance" if chance else ""
    figure.suptitle(f"{study.label}: learning curves ({spread}{dashed})")
    return figure


def chance_by_split_task(study: LoggedStudy) -> dict[tuple[str, str], float]:
    """(split, task) -> the blind model's chance in percent, the mean over the trials (their seeds may
    draw different canvases); absent where no labels were logged."""
    try:
        levels = study_chance(study).dropna(subset=["chance"])
    except (KeyError, ValueError):  # a store without label distributions
        return {}
    means = levels.groupby(["split", "task"])["chance"].mean()
    return {key: PERCENT * value for key, value in means.items()}


def _colours(count: int) -> list:
    """Distinct colours for a few curves; a sequential map (in the row fields' order) for many."""
    if count <= 10:
        return [f"C{i}" for i in range(count)]
    from matplotlib import colormaps

    return [colormaps["viridis"](i / max(1, count - 1)) for i in range(count)]


def _curves(
    ax, history: pd.DataFrame, metric: str, labels: pd.Series, colours: list, bands: bool = True
) -> None:
    data = history[history["metric"] == metric]
    width = 1.5 if bands else 1.0
    for (config, label), colour in zip(labels.items(), colours, strict=True):  # row fields' order
        group = data[data["config_id"] == config]
        if group.empty:
            continue
        stats = PERCENT * group.groupby("step")["value"].agg(["mean", "std"]).fillna({"std": 0.0})
        ax.plot(stats.index, stats["mean"], label=label, color=colour, linewidth=width)
        if bands:
            ax.fill_between(
                stats.index,
                stats["mean"] - stats["std"],
                stats["mean"] + stats["std"],
                color=colour,
                alpha=0.2,
            )


def accuracy_vs_factor(table: StudyTable, path: Path, field: str | None = None) -> Path:
    """Per task: mean ± std of the table's cells against ``field`` (default: the first row field)."""
    return _save(accuracy_vs_factor_figure(table, field), path)


def accuracy_vs_factor_figure(table: StudyTable, field: str | None = None) -> Figure:
    field = field or (table.rows[0] if table.rows else None)
    if field is None:
        raise ValueError(f"{table.label}: no varied factor to plot against")
    figure, axes = _figure(1, len(table.tasks), sharey=True)
    for ax, task in zip(axes[0], table.tasks, strict=True):
        _factor_panel(ax, table, field, task)
    axes[0, 0].legend(fontsize="x-small")
    figure.suptitle(f"{table.label}: validation accuracy vs {axis_label(field)} ({table.summary} epoch)")
    return figure


def _factor_panel(ax, table: StudyTable, field: str, task: str) -> None:
    cells = table.cells[(table.cells["split"] == "val") & (table.cells["task"] == task)]
    grid = not table.searched
    others = independent_fields(cells, table.rows, field) if grid else []
    groups = cells.groupby(others, sort=True) if others else [("", cells)]
    for key, group in groups:
        group = group.sort_values(field)
        values = np.atleast_1d(key) if others else []
        label = ", ".join(f"{field_label(f)}={plain(v)}" for f, v in zip(others, values, strict=True))
        ax.errorbar(
            group[field],
            PERCENT * group["mean"],
            yerr=PERCENT * group["std"].fillna(0.0),
            marker="o",
            capsize=3,
            linestyle="-" if grid else "none",  # a search's points differ in other fields too
            label=label or ("ours" if grid else "ours (searched configurations, not joined)"),
        )
    published = cells.dropna(subset=["published_mean"])
    if not published.empty:
        ax.scatter(
            published[field],
            PERCENT * published["published_mean"],
            marker="x",
            color="black",
            label="paper",
        )
    chance = cells["chance"].dropna()
    if not chance.empty:
        ax.axhline(PERCENT * chance.mean(), linestyle="--", color="grey", label="chance (blind model)")
    integer_ticks(ax, cells[field])
    ax.set_title(task_label(task))
    ax.set_xlabel(axis_label(field))
    ax.set_ylabel(ACCURACY_LABEL)


def independent_fields(cells: pd.DataFrame, fields: list[str], field: str) -> list[str]:
    """The ``fields`` other than ``field`` that ``field`` does not determine (e.g. the noise count
    moves with the digit size in the O2I study: it is not a factor of its own)."""
    others = []
    for other in fields:
        if other != field and cells.groupby(field)[other].nunique().max() > 1:
            others.append(other)
    return others


def grid_heatmap(table: StudyTable, path: Path, row_field: str, col_field: str) -> Path:
    """Per task: mean validation accuracy over the ``row_field`` x ``col_field`` grid, annotated."""
    figure, axes = _figure(1, len(table.tasks), width=3.6, height=3.2)
    for ax, task in zip(axes[0], table.tasks, strict=True):
        cells = table.cells[(table.cells["split"] == "val") & (table.cells["task"] == task)]
        grid = PERCENT * cells.pivot_table(index=row_field, columns=col_field, values="mean", aggfunc="mean")
        image = ax.imshow(grid.to_numpy(), vmin=0, vmax=100, cmap="viridis", origin="lower", aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(j, i, "" if np.isnan(value) else f"{value:.0f}", ha="center", va="center", color="white")
        ax.set_xticks(range(grid.shape[1]), [plain(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [plain(v) for v in grid.index])
        ax.set_xlabel(axis_label(col_field))
        ax.set_ylabel(axis_label(row_field))
        ax.set_title(task_label(task))
    figure.colorbar(image, ax=axes[0, -1], label="validation accuracy (%)")
    figure.suptitle(f"{table.label}: {axis_label(row_field)} x {axis_label(col_field)}")
    return _save(figure, path)
