"""The paper's columns of a study table: which configurations ran the paper's setting, the published
value beside each of our cells with the difference and how many of our stds apart, and the paper
columns left out where the paper published nothing (``analysis.tables`` lays them out)."""

from __future__ import annotations

import math
from typing import Protocol

import pandas as pd

from analysis import formatting
from analysis.published import NOT_AVAILABLE, PublishedTable
from analysis.runs import LoggedStudy


class Layout(Protocol):
    """What of a table's layout (``analysis.tables.Layout``) the paper's columns read."""

    rows: tuple[str, ...]
    published: PublishedTable | None


def comparable_configs(study: LoggedStudy, published: PublishedTable | None) -> set[str] | None:
    """The config_ids whose logged params have the paper table's ``match`` fields (None: no table)."""
    if published is None:
        return None
    first = study.trials.groupby("config_id").first()
    return {c for c, params in first.iterrows() if not published.mismatches(params.to_dict())}


def with_published(cells: pd.DataFrame, layout: Layout, comparable: set[str] | None = None) -> pd.DataFrame:
    """Add the paper's value of every cell (NaN where not stored, or where the configuration is not
    in ``comparable``: another canvas, digit or image size than the paper's), ours − paper, and
    ``stds_apart``."""
    found = []
    for cell in cells.to_dict("records"):
        row = {field: cell[field] for field in layout.rows}
        value = layout.published.lookup(row, cell["task"], cell["split"]) if layout.published else None
        if comparable is not None and cell.get("config_id") not in comparable:
            value = None
        found.append((math.nan, math.nan, None) if value is None else (value.mean, value.std, value.n))
    published = pd.DataFrame(
        found, columns=["published_mean", "published_std", "published_n"], index=cells.index
    )
    cells = pd.concat([cells, published], axis=1)
    cells["published_std"] = cells["published_std"].astype(float)
    cells["difference"] = cells["mean"] - cells["published_mean"].astype(float)
    ours_std = cells["std"].astype(float) if "std" in cells else pd.Series(math.nan, index=cells.index)
    cells["stds_apart"] = cells["difference"] / ours_std.where(ours_std > 0)
    if "config_id" in cells:
        cells["paper_comparable"] = cells["config_id"].isin(comparable) if comparable is not None else True
    return cells


PAPER_SUFFIXES = (" paper", " Δ", " Δ/σ")


def drop_empty_paper_columns(out: pd.DataFrame) -> pd.DataFrame:
    """Leave out every paper column (and its Δ, Δ/σ) in which no cell has a value."""
    empty = [
        column
        for column in out.columns
        if str(column).endswith(PAPER_SUFFIXES) and (out[column] == NOT_AVAILABLE).all()
    ]
    return out.drop(columns=empty)


def published_text(mean: float, std: float) -> str:
    """``76.0 ± 9.7``: the published mean ± std in percent (no seed count: the paper's is in its note)."""
    if formatting.is_missing(mean):
        return NOT_AVAILABLE
    return formatting.percent_cell(mean, std, 1).rsplit(" (", 1)[0]
