"""Two tables side by side: two studies, or two invocations of one study.

Cells are matched on the row fields both tables share (plus split and task); with no shared row
field the two tables are stacked, each row tagged with its side.
"""

from __future__ import annotations

import pandas as pd

from analysis import formatting
from analysis.tables import StudyTable

SIDES = ("A", "B")


def shared_fields(a: StudyTable, b: StudyTable) -> list[str]:
    return [field for field in a.rows if field in b.rows]


def compare_cells(a: StudyTable, b: StudyTable) -> pd.DataFrame:
    """Tidy: shared fields, split, task, ``mean_A, std_A, n_A, mean_B, std_B, n_B, difference`` (B − A)."""
    fields = shared_fields(a, b)
    keep = [*fields, "split", "task", "mean", "std", "n"]
    left, right = a.cells[keep], b.cells[keep]
    if not fields:
        stacked = pd.concat([left.assign(side=SIDES[0]), right.assign(side=SIDES[1])], ignore_index=True)
        return stacked
    merged = left.merge(right, on=[*fields, "split", "task"], how="outer", suffixes=("_A", "_B"))
    merged["difference"] = merged["mean_B"] - merged["mean_A"]
    return merged.sort_values([*fields, "split", "task"]).reset_index(drop=True)


def compare_frame(a: StudyTable, b: StudyTable) -> pd.DataFrame:
    """The display frame: one row per shared row key, per task ``A``, ``B`` and ``B − A`` columns."""
    cells = compare_cells(a, b)
    fields = shared_fields(a, b)
    if not fields:
        return cells
    keys = cells[fields].drop_duplicates().reset_index(drop=True)
    out = keys.rename(columns=formatting.field_label)
    for split in sorted(cells["split"].unique(), key=("train", "val").index):
        for task in a.tasks:
            part = keys.merge(
                cells[(cells["split"] == split) & (cells["task"] == task)], on=fields, how="left"
            )
            label = formatting.task_label(task) + ("" if split == "val" else f" ({split})")
            for side in SIDES:
                out[f"{label} {side}"] = [
                    formatting.percent_cell(m, s, 0 if pd.isna(n) else int(n))
                    for m, s, n in zip(
                        part[f"mean_{side}"], part[f"std_{side}"], part[f"n_{side}"], strict=True
                    )
                ]
            out[f"{label} B−A"] = [formatting.signed_points(d) for d in part["difference"]]
    return out


def comparison_markdown(a: StudyTable, b: StudyTable) -> str:
    lines = [
        f"**A = {a.caption()}**",
        "",
        f"**B = {b.caption()}**",
        "",
        formatting.markdown(compare_frame(a, b)),
        "",
        f"- B − A in accuracy points; trials: A {int(a.counts['total'].sum())}, "
        f"B {int(b.counts['total'].sum())}",
    ]
    if a.summary != b.summary:
        lines.append("- the two sides use different summaries: compare with care")
    return "\n".join(lines)
