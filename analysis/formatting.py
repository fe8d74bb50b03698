"""Plain-text and Markdown rendering of small frames (no tabulate needed) and of table cells."""

from __future__ import annotations

import math

import pandas as pd

from analysis.published import NOT_AVAILABLE

TASK_LABELS = {"majority": "Maj", "max": "Max", "top": "Top", "multi": "Multi", "sign": "Sign"}
FIELD_LABELS = {
    "patches.size": "patch",
    "data.noise_thickness": "thickness",
    "data.noise_count": "noise",
    "data.digit_size": "digit",
    "data.train_canvases": "train canvases",
    "data.fraction": "fraction",
    "selection.memory_size": "memory",
    "o2i_percent": "O2I %",
    "o2p_percent": "O2P %",
    "peak_memory_mb": "peak memory (MB)",
    "seconds_per_batch": "time/batch (s)",
}


# A plot's axis names the quantity and its unit ("patch" alone does not say pixels or patches).
AXIS_LABELS = {
    "patches.size": "patch size (px)",
    "data.noise_thickness": "noise thickness (px at the 28-px digit scale)",
    "data.noise_count": "noise curves per canvas",
    "data.digit_size": "digit size (px)",
    "data.train_canvases": "training canvases",
    "data.fraction": "fraction of the training set",
    "selection.memory_size": "memory (patches kept)",
    "o2i_percent": "object-to-image ratio (%)",
    "o2p_percent": "object-to-patch ratio (%)",
}


def axis_label(field: str) -> str:
    return AXIS_LABELS.get(field, field_label(field))


def task_label(task: str) -> str:
    return TASK_LABELS.get(task, task)


def field_label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent_cell(mean: float, std: float, n: int) -> str:
    """``91.2 ± 1.0 (3)``: accuracy in percent, std over seeds, number of seeds."""
    if is_missing(mean) or n == 0:
        return f"{NOT_AVAILABLE} (0)"
    spread = "" if is_missing(std) else f" ± {100 * std:.1f}"
    return f"{100 * mean:.1f}{spread} ({n})"


def signed_points(value: float | None) -> str:
    return NOT_AVAILABLE if is_missing(value) else f"{100 * value:+.1f}"


def number(value: float | None) -> str:
    """About three significant figures, thousands separated: ``1,225``, ``72.0``, ``0.856``."""
    if is_missing(value):
        return NOT_AVAILABLE
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"


def plain(value: object) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of ``frame`` (index dropped; every cell shown with ``plain``)."""
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(plain(v).replace("|", "/") for v in row) + " |")
    return "\n".join(lines)


def text(frame: pd.DataFrame) -> str:
    """Fixed-width text for the terminal."""
    return frame.map(plain).to_string(index=False)
