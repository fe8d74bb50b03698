"""Two tables side by side: two studies, or two invocations of one study.

Cells are matched on the row fields both tables share (plus split and task); with no shared row
field the two tables are stacked, each row tagged with its side.
"""

from __future__ import annotations

import pandas as pd

from analysis import formatting
from analysis.runs import TRIAL_COLUMNS, LoggedStudy
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


def _fixed_params(study: LoggedStudy) -> dict[str, str]:
    """The params every trial of ``study`` shares (one value each), as logged text."""
    trials = study.trials.drop(columns=[c for c in TRIAL_COLUMNS if c in study.trials], errors="ignore")
    return {c: str(trials[c].iloc[0]) for c in trials.columns if trials[c].astype(str).nunique() == 1}


def setting_differences(a: LoggedStudy, b: LoggedStudy, shown: int = 8) -> list[str]:
    """What differs between the two sides besides their row fields: the profile, and the settings
    that each side holds fixed at different values (``shown`` of them named, the count of the rest)."""
    lines = []
    if a.invocation.profile != b.invocation.profile:
        lines.append(
            f"- the two sides ran different profiles (A {a.invocation.profile}, B {b.invocation.profile}): "
            "a difference below mixes the profiles' settings with the row fields"
        )
    fixed_a, fixed_b = _fixed_params(a), _fixed_params(b)
    differ = sorted(k for k in fixed_a.keys() & fixed_b.keys() if fixed_a[k] != fixed_b[k])
    if differ:
        named = ", ".join(f"{k} (A {fixed_a[k]}, B {fixed_b[k]})" for k in differ[:shown])
        more = f" and {len(differ) - shown} more" if len(differ) > shown else ""
        lines.append(f"- settings that differ between the sides: {named}{more}")
    return lines


def comparison_markdown(a: StudyTable, b: StudyTable, differences: list[str] | None = None) -> str:
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
    lines += differences or []
    return "\n".join(lines)
