"""The published values file: every paper table present, nothing invented, lookups and differences."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import published
from analysis.tables import Layout, with_published
from search_spaces import STUDIES

PAPER_TABLES = {"2", "3", "4", "5", "6", "7", "figure_4"}
NOT_TRANSCRIBED = "not transcribed: source not available offline"


def test_every_paper_table_is_stored_with_its_number_and_study():
    tables = published.tables()
    assert set(tables) == PAPER_TABLES
    assert tables["4"].study == "patch_size_low_data" and tables["figure_4"].study == "o2i_data_size"
    mnist = {t.study for t in tables.values()} - {"patch_size_traffic", "dataset_fraction_traffic"}
    assert mnist <= set(STUDIES)


def test_untranscribed_tables_hold_no_values_and_say_why():
    for table in published.tables().values():
        if table.transcribed:
            assert all({"row", "column", "mean"} <= set(v) for v in table.values)
            assert all(0 <= v["mean"] <= 1 for v in table.values if v["column"] not in ("peak_memory_mb",))
        else:
            assert table.values == () and table.note.startswith(NOT_TRANSCRIBED)
            assert table.lookup({"patches.size": 25}, "majority") is None


def test_claims_name_their_source():
    claims = published.claims()
    assert claims and all(c["source"].startswith("abstract, arXiv:2412.11237") for c in claims)
    assert {c["value"] for c in published.claims("patch_size_low_data")} == {0.15}


def test_published_cells_and_differences_when_values_exist():
    value = {
        "row": {"patches.size": 25},
        "column": "majority",
        "split": "val",
        "mean": 0.9,
        "std": 0.02,
        "n": 3,
    }
    table = published.PublishedTable(
        table="test",
        study="s",
        title="a table made up for this test",
        rows=("patches.size",),
        splits=("val",),
        derived=(),
        transcribed=True,
        note="",
        values=(value,),
    )
    cells = pd.DataFrame(
        {
            "patches.size": [25, 50],
            "task": ["majority", "majority"],
            "split": ["val", "val"],
            "mean": [0.8, 0.7],
        }
    )
    out = with_published(cells, Layout(("patches.size",), ("val",), (), table))
    assert out.loc[0, "published_mean"] == 0.9 and out.loc[0, "published_n"] == 3
    assert out.loc[0, "difference"] == pytest.approx(-0.1)
    assert math.isnan(out.loc[1, "published_mean"]) and math.isnan(out.loc[1, "difference"])
