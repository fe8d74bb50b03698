"""The follow-up paper's published values (``published.json``), with their table numbers.

``published.json`` is the project's copy of ``shared/paper/published_values.json`` (its
``provenance`` block names the source and its sha256): every number of Tables 2-7 and the Figure 4
grid, accuracies as fractions, each table with the note saying where the authors' result files
disagree with the printed table. Only real numbers from the paper may go into it.

Each table's ``match`` holds the config fields, besides its rows, that a configuration must have for
the paper's value to stand beside it (``mismatches``): the paper's 25-pixel patch is on an 84-pixel
digit, so a scaled-down profile's patch 25 on a 28-pixel digit is not compared with it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class PublishedValue:
    mean: float
    std: float | None
    n: int | None


@dataclass(frozen=True)
class PublishedTable:
    table: str  # "4", "figure_4", ...
    study: str
    title: str
    rows: tuple[str, ...]
    splits: tuple[str, ...]
    derived: tuple[str, ...]
    transcribed: bool
    note: str
    values: tuple[dict[str, Any], ...]
    match: tuple[tuple[str, Any], ...] = ()  # (field, value) every compared configuration must have

    @property
    def caption(self) -> str:
        name = "Figure 4" if self.table == "figure_4" else f"Table {self.table}"
        return f"{name}: {self.title}"

    def mismatches(self, params: dict[str, Any]) -> list[str]:
        """The ``match`` fields that ``params`` (one configuration's logged params) does not satisfy."""
        return [f"{key}={value}" for key, value in self.match if not _same_row({key: value}, params)]

    def lookup(self, row: dict[str, Any], column: str, split: str = "val") -> PublishedValue | None:
        """The published value of one cell, or None where the paper's value is not stored."""
        for entry in self.values:
            if (
                entry.get("column") == column
                and entry.get("split", "val") == split
                and _same_row(entry["row"], row)
            ):
                return PublishedValue(float(entry["mean"]), _optional(entry.get("std")), entry.get("n"))
        return None


def paper_frame(table: PublishedTable, split: str = "val") -> pd.DataFrame:
    """The paper's own table as it printed it: one row per row key, one column per task, cells
    ``mean ± std`` in percent (blank where the paper gives none). Shown beside any profile's table,
    captioned with ``setting(table)``, the settings the paper ran it at."""
    entries = [v for v in table.values if v.get("split", "val") == split and v["column"] not in table.derived]
    columns = list(dict.fromkeys(v["column"] for v in entries))
    keys = sorted({tuple(v["row"][f] for f in table.rows) for v in entries})
    rows = []
    for key in keys:
        row = dict(zip(table.rows, key, strict=True))
        for column in columns:
            found = table.lookup(row, column, split)
            row[column] = "" if found is None else _percent(found)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*table.rows, *columns])


def _percent(value: PublishedValue) -> str:
    std = "" if value.std is None else f" ± {100 * value.std:.1f}"
    return f"{100 * value.mean:.1f}{std}"


def setting(table: PublishedTable) -> str:
    """The paper's setting of ``table``: ``data.digit_size=84, ...`` (what a run must match to be
    compared cell by cell)."""
    return ", ".join(f"{field}={value}" for field, value in table.match) or "as in the paper"


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _same_row(published: dict[str, Any], ours: dict[str, Any]) -> bool:
    for key, value in published.items():
        if key not in ours:
            return False
        mine = ours[key]
        if isinstance(value, (int, float)) and isinstance(mine, (int, float)):
            if not math.isclose(float(value), float(mine), rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif str(value) != str(mine):
            return False
    return True


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    """The whole ``published.json`` (paper, transcription status, claims, tables)."""
    return json.loads(resources.files("analysis").joinpath("published.json").read_text())


def tables() -> dict[str, PublishedTable]:
    return {key: _table(key, spec) for key, spec in load()["tables"].items()}


def _table(key: str, spec: dict[str, Any]) -> PublishedTable:
    return PublishedTable(
        table=key,
        study=spec["study"],
        title=spec["title"],
        rows=tuple(spec["rows"]),
        splits=tuple(spec.get("splits", ["val"])),
        derived=tuple(spec.get("derived", [])),
        transcribed=bool(spec.get("transcribed")) and bool(spec.get("values")),
        note=spec.get("note", ""),
        values=tuple(spec.get("values", [])),
        match=tuple(spec.get("match", {}).items()),
    )


def table_for_study(study: str) -> PublishedTable | None:
    """The paper table a study rebuilds, or None (e.g. ``memory_size``, ``low_data_search``)."""
    for table in tables().values():
        if table.study == study:
            return table
    return None


def claims(study: str | None = None) -> list[dict[str, Any]]:
    """The paper's headline claims (from its abstract), optionally for one study."""
    return [c for c in load()["claims"] if study is None or c["study"] == study]


def source_line() -> str:
    paper = load()["paper"]
    return f'{", ".join(paper["authors"])}, "{paper["title"]}", arXiv:{paper["arxiv"]} ({paper["year"]})'
