"""The paper's published grid beside ours: Figure 4 (O2I x training-set size) as two rows of heatmaps.

``grid_vs_paper`` draws, per task, our mean validation accuracy over the two-factor grid (top row) and
the paper's published values over its own grid (bottom row: Figure 4 has no table, its values are the
final-epoch accuracies of the authors' result files, see ``published.json``), on one colour scale, so
that a reader sees at a glance where the threshold moves in each. The paper's row is drawn whatever
the profile: a scaled-down grid is then beside the paper's, not on top of it, and the axes say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.formatting import field_label, plain, task_label
from analysis.plots import PERCENT
from analysis.published import PublishedTable
from analysis.tables import StudyTable


def published_grid(published: PublishedTable, task: str, row_field: str, col_field: str) -> pd.DataFrame:
    """The paper's values of ``task`` (validation) pivoted to ``row_field`` x ``col_field``."""
    records = [
        {row_field: v["row"][row_field], col_field: v["row"][col_field], "mean": v["mean"]}
        for v in published.values
        if v.get("column") == task
        and v.get("split", "val") == "val"
        and {row_field, col_field} <= set(v["row"])
    ]
    if not records:
        return pd.DataFrame()
    return pd.DataFrame(records).pivot_table(index=row_field, columns=col_field, values="mean")


def _panel(ax, grid: pd.DataFrame, title: str, row_field: str, col_field: str):
    """One heatmap of a grid of accuracies (fractions), drawn and annotated in percent."""
    percent = PERCENT * grid.to_numpy()
    image = ax.imshow(percent, vmin=0, vmax=100, cmap="viridis", origin="lower", aspect="auto")
    for (i, j), value in np.ndenumerate(percent):
        text = "" if np.isnan(value) else f"{value:.0f}"
        ax.text(j, i, text, ha="center", va="center", color="white")
    ax.set_xticks(range(grid.shape[1]), [plain(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [plain(v) for v in grid.index])
    ax.set_xlabel(field_label(col_field))
    ax.set_ylabel(field_label(row_field))
    ax.set_title(title)
    return image


def grid_vs_paper(table: StudyTable, path: Path, row_field: str, col_field: str) -> Path | None:
    """Ours (top) and the paper's (bottom) heatmaps per task; None when the paper has no such grid."""
    published = table.layout.published
    if published is None:
        return None
    paper = {task: published_grid(published, task, row_field, col_field) for task in table.tasks}
    if all(grid.empty for grid in paper.values()):
        return None
    figure = Figure(figsize=(3.6 * len(table.tasks), 6.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.atleast_2d(figure.subplots(2, len(table.tasks), squeeze=False))
    image = None
    for column, task in enumerate(table.tasks):
        cells = table.cells[(table.cells["split"] == "val") & (table.cells["task"] == task)]
        ours = cells.pivot_table(index=row_field, columns=col_field, values="mean", aggfunc="mean")
        image = _panel(axes[0, column], ours, f"{task_label(task)}: ours", row_field, col_field)
        if paper[task].empty:
            axes[1, column].set_axis_off()
            axes[1, column].set_title(f"{task_label(task)}: not published")
        else:
            _panel(axes[1, column], paper[task], f"{task_label(task)}: paper", row_field, col_field)
    figure.colorbar(image, ax=axes[:, -1], label="validation accuracy (%)")
    figure.suptitle(f"{table.label} beside {published.caption}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
