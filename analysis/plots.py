"""PNG plots of a study (matplotlib's object API with the Agg canvas: no GUI, no pyplot state).

- ``learning_curves``: per task and split, accuracy per epoch for every configuration, the mean over
  seeds with a band of ± one std;
- ``accuracy_vs_factor``: per task, the table's cells against the varied factor, error bars of ± one
  std, the chance level and, where stored, the paper's values;
- ``grid_heatmap``: per task, mean validation accuracy over a two-factor grid (O2I x data size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.formatting import field_label, plain, task_label
from analysis.runs import Study
from analysis.tables import StudyTable
from study import tracking


def _figure(rows: int, cols: int, width: float = 4.0, height: float = 3.0) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(width * cols, height * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.atleast_2d(figure.subplots(rows, cols, squeeze=False))
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def config_labels(study: Study, fields: list[str]) -> pd.Series:
    """config_id -> a short label such as ``patch=25`` (the row fields' values)."""
    first = study.trials.groupby("config_id").first()
    if not fields:
        return pd.Series(first.index, index=first.index)
    first = first.sort_values(fields)
    parts = [first[f].map(lambda v, f=f: f"{field_label(f)}={plain(v)}") for f in fields]
    return pd.concat(parts, axis=1).agg(", ".join, axis=1)


def learning_curves(study: Study, path: Path, splits: tuple[str, ...] = ("train", "val")) -> Path:
    """Accuracy per epoch, one line per configuration (mean over seeds, band ± std)."""
    tasks = [t.name for t in study.tasks]
    figure, axes = _figure(len(tasks), len(splits))
    labels = config_labels(study, study.axes)
    for row, task in enumerate(tasks):
        for col, split in enumerate(splits):
            _curves(axes[row, col], study.history, tracking.accuracy_metric(split, task), labels)
            axes[row, col].set_title(f"{task_label(task)} ({split})")
            axes[row, col].set_xlabel("epoch")
            axes[row, col].set_ylabel("accuracy")
    axes[0, -1].legend(fontsize="x-small", loc="best")
    figure.suptitle(f"{study.label}: learning curves (mean ± std over seeds)")
    return _save(figure, path)


def _curves(ax, history: pd.DataFrame, metric: str, labels: pd.Series) -> None:
    data = history[history["metric"] == metric]
    for config, label in labels.items():  # in the order of the row fields
        group = data[data["config_id"] == config]
        if group.empty:
            continue
        stats = group.groupby("step")["value"].agg(["mean", "std"]).fillna({"std": 0.0})
        line = ax.plot(stats.index, stats["mean"], label=label)[0]
        ax.fill_between(
            stats.index,
            stats["mean"] - stats["std"],
            stats["mean"] + stats["std"],
            color=line.get_color(),
            alpha=0.2,
        )


def accuracy_vs_factor(table: StudyTable, path: Path, field: str | None = None) -> Path:
    """Per task: mean ± std of the table's cells against ``field`` (default: the first row field)."""
    field = field or (table.rows[0] if table.rows else None)
    if field is None:
        raise ValueError(f"{table.label}: no varied factor to plot against")
    figure, axes = _figure(1, len(table.tasks))
    for ax, task in zip(axes[0], table.tasks, strict=True):
        _factor_panel(ax, table, field, task)
    axes[0, 0].legend(fontsize="x-small")
    figure.suptitle(f"{table.label}: validation accuracy vs {field_label(field)} ({table.summary} epoch)")
    return _save(figure, path)


def _factor_panel(ax, table: StudyTable, field: str, task: str) -> None:
    cells = table.cells[(table.cells["split"] == "val") & (table.cells["task"] == task)]
    others = independent_fields(cells, table.rows, field)
    groups = cells.groupby(others, sort=True) if others else [("", cells)]
    for key, group in groups:
        group = group.sort_values(field)
        values = np.atleast_1d(key) if others else []
        label = (
            ", ".join(f"{field_label(f)}={plain(v)}" for f, v in zip(others, values, strict=True)) or "ours"
        )
        ax.errorbar(
            group[field], group["mean"], yerr=group["std"].fillna(0.0), marker="o", capsize=3, label=label
        )
    published = cells.dropna(subset=["published_mean"])
    if not published.empty:
        ax.scatter(published[field], published["published_mean"], marker="x", color="black", label="paper")
    chance = cells["chance"].dropna()
    if not chance.empty:
        ax.axhline(chance.mean(), linestyle="--", color="grey", label="chance")
    ax.set_title(task_label(task))
    ax.set_xlabel(field_label(field))
    ax.set_ylabel("accuracy")


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
        grid = cells.pivot_table(index=row_field, columns=col_field, values="mean", aggfunc="mean")
        image = ax.imshow(grid.to_numpy(), vmin=0, vmax=1, cmap="viridis", origin="lower", aspect="auto")
        for (i, j), value in np.ndenumerate(grid.to_numpy()):
            ax.text(
                j, i, "" if np.isnan(value) else f"{100 * value:.0f}", ha="center", va="center", color="white"
            )
        ax.set_xticks(range(grid.shape[1]), [plain(v) for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [plain(v) for v in grid.index])
        ax.set_xlabel(field_label(col_field))
        ax.set_ylabel(field_label(row_field))
        ax.set_title(task_label(task))
    figure.colorbar(image, ax=axes[0, -1], label="validation accuracy")
    figure.suptitle(f"{table.label}: {field_label(row_field)} x {field_label(col_field)}")
    return _save(figure, path)
