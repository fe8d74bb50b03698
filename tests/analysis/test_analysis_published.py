"""The published values file: every paper table present, nothing invented, lookups and differences."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis import published
from analysis.tables import Layout, with_published
from search_spaces import STUDIES

PAPER_TABLES = {"2", "3", "4", "5", "6", "7", "figure_4"}


def test_every_paper_table_is_stored_with_its_number_and_study():
    tables = published.tables()
    assert set(tables) == PAPER_TABLES
    assert tables["4"].study == "patch_size_low_data" and tables["figure_4"].study == "o2i_data_size"
    mnist = {t.study for t in tables.values()} - {"patch_size_traffic", "dataset_fraction_traffic"}
    assert mnist <= set(STUDIES)


ACCURACY_COLUMNS = {"majority", "max", "top", "multi", "sign"}
VALUES_PER_TABLE = {"2": 28, "3": 30, "4": 20, "5": 9, "6": 12, "7": 20, "figure_4": 68}


def test_every_table_is_transcribed_with_its_provenance():
    provenance = published.load()["provenance"]
    assert provenance["copied_from"].startswith("shared/paper/published_values.json")
    assert len(provenance["sha256_of_source"]) == 64
    for key, table in published.tables().items():
        assert table.transcribed and len(table.values) == VALUES_PER_TABLE[key], key
        assert all({"row", "column", "mean"} <= set(v) for v in table.values)
        assert all(0 <= v["mean"] <= 1 for v in table.values if v["column"] in ACCURACY_COLUMNS)
        assert table.match, f"table {key} says which configurations its values belong to"


def test_cells_read_as_the_paper_prints_them():
    tables = published.tables()
    assert tables["4"].lookup({"patches.size": 25}, "majority") == published.PublishedValue(0.76, 0.097, 3)
    assert tables["4"].lookup({"patches.size": 150}, "o2p_percent").mean == 31.0  # derived: no split
    assert tables["2"].lookup({"data.noise_thickness": 2.0}, "multi").mean == 0.0
    assert tables["2"].lookup({"data.noise_thickness": 2.0}, "multi", split="train") is None  # not printed
    assert tables["6"].lookup({"patches.size": 75}, "sign").mean == pytest.approx(0.8462)
    figure = tables["figure_4"].lookup({"data.digit_size": 28, "data.train_canvases": 800}, "majority")
    assert figure == published.PublishedValue(0.43, None, 1)
    assert tables["7"].lookup({"data.digit_size": 28}, "multi") is None  # Table 7 has no Multi column


def test_match_refuses_configurations_unlike_the_papers():
    table = published.tables()["4"]
    paper = {"data.canvas_height": 3000, "data.canvas_width": 3000, "data.digit_size": 84}
    paper["data.renderer"] = "followup_published"  # the canvases the paper's numbers were measured on
    assert table.mismatches({**paper, "data.train_canvases": 1000, "patches.size": 25}) == []
    ours = {**paper, "data.renderer": "real_valued", "data.train_canvases": 1000}
    assert table.mismatches(ours) == ["data.renderer=followup_published"]
    assert table.mismatches({**paper, "data.digit_size": 28, "data.train_canvases": 1000}) == [
        "data.digit_size=84"
    ]


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
