"""Write a study's report: its paper table, plots and checked findings, from MLflow only.

    python -m analysis.report patch_size_low_data                        # ./mlflow.db, latest invocation
    python -m analysis.report noise_thickness --tracking-uri sqlite:////abs/mlflow.db --out DIR
    python -m analysis.report patch_size_low_data --summary best         # best epoch instead of final
    python -m analysis.report --compare noise_amount@1 noise_amount@2    # two invocations side by side
    python -m analysis.report patch_size_low_data --compare @1 @2        # the same, with the study given once
    python -m analysis.report --from-csv docs/results/memory_size-cpu/trials.csv --out DIR   # no MLflow

A study is chosen as ``STUDY`` (its latest invocation) or ``STUDY@INVOCATION`` where INVOCATION is
the 1-based index of the parent run (``-1``: the latest) or a parent run id (or a unique prefix
of at least 6 characters).
Writes ``report.md``, ``cells.csv``, ``trials.csv`` (every trial x epoch x split x task, from which
``--from-csv`` rebuilds the same report without the store: ``analysis.trials_csv``) and the PNG plots
to ``--out`` (default ``outputs/report/<study>``) and prints the tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from mlflow.exceptions import MlflowException

from analysis import findings, paper_plots, plots, published, trials_csv
from analysis.compare import compare_cells, compare_frame, comparison_markdown, setting_differences
from analysis.epoch_values import SUMMARIES
from analysis.formatting import text
from analysis.plots import independent_fields
from analysis.runs import LoggedStudy, load_study
from analysis.store import StoreError, client_for, invocations
from analysis.tables import StudyTable, build_table
from study import tracking

DEFAULT_OUT = Path("outputs") / "report"


def parse_selector(text: str, default_study: str | None) -> tuple[str, str | None]:
    """``STUDY``, ``STUDY@INV`` or ``@INV`` (needs ``default_study``) -> (study, invocation or None)."""
    study, _, invocation = text.partition("@")
    study = study or default_study
    if not study:
        raise StoreError(f"{text!r} names no study: write STUDY@{invocation} or give the study first")
    return study, (invocation or None)


def write_plots(study: LoggedStudy, table: StudyTable, out: Path, prefix: str = "") -> list[Path]:
    paths = [plots.learning_curves(study, out / f"{prefix}learning_curves.png")]
    if table.rows:
        paths.append(plots.accuracy_vs_factor(table, out / f"{prefix}accuracy_vs_factor.png"))
    grid = bool(table.rows) and not table.searched  # a search's draws: no heatmap
    factors = independent_fields(table.cells, table.rows, table.rows[0]) if grid else []
    if factors:
        paths.append(plots.grid_heatmap(table, out / f"{prefix}grid_heatmap.png", table.rows[0], factors[0]))
        beside = out / f"{prefix}grid_heatmap_vs_paper.png"
        paths += [p for p in [paper_plots.grid_vs_paper(table, beside, table.rows[0], factors[0])] if p]
    return paths


def header(study: LoggedStudy, from_store: bool = True) -> list[str]:
    inv = study.invocation
    of = f" of {len(invocations(client_for(study.tracking_uri), study.name))}" if from_store else ""
    machines = sorted({p.get("cpu_model", "not recorded") for p in study.provenance.values()}) or [
        "not recorded"
    ]
    threads = sorted({p.get("torch_threads", "?") for p in study.provenance.values()}) or ["?"]
    return [
        f"# {study.label}",
        "",
        f"- store: `{study.tracking_uri}`",
        f"- invocation {inv.index}{of}: parent run `{inv.run_id}`, profile `{inv.profile}`, "
        f"git `{inv.git_commit}`, started {inv.start_time:%Y-%m-%d %H:%M} UTC",
        f"- ran on: {'; '.join(machines)}, torch threads {', '.join(threads)} (training is deterministic "
        "on the same CPU model and thread count, not across them)",
        f"- varied: {', '.join(study.axes) or 'nothing'}; selection metric `{study.metric}` ({study.mode})",
        f"- paper: {published.source_line()}",
    ]


def study_report(
    study: LoggedStudy,
    table: StudyTable,
    checked: list[findings.Finding],
    images: list[Path],
    from_store: bool = True,
) -> str:
    lines = [*header(study, from_store), "", "## Table", "", table.to_markdown(), "", "## Plots", ""]
    lines += [f"![{path.stem}]({path.name})" for path in images]
    lines += ["", "## Findings", ""]
    lines += [finding.to_markdown() + "\n" for finding in checked] or [
        "No paper finding is checked for this study."
    ]
    claims = published.claims(study.name)
    if claims:
        lines += ["", "## The paper's claims (from its abstract)", ""]
        lines += [f"- {c['text']} ({c['source']})" for c in claims]
    return "\n".join(lines) + "\n"


def run_study(selector: str, where: str | None, out: Path, summary: str) -> str:
    name, invocation = parse_selector(selector, None)
    return write_report(load_study(name, where, invocation), out, summary)


def write_report(study: LoggedStudy, out: Path, summary: str, from_store: bool = True) -> str:
    """report.md, cells.csv, trials.csv and the plots of ``study`` in ``out``; the printed summary."""
    table = build_table(study, summary)
    out = out / study.name if out == DEFAULT_OUT else out
    out.mkdir(parents=True, exist_ok=True)
    images = write_plots(study, table, out)
    checked = findings.check_study(study, summary)
    (out / "report.md").write_text(study_report(study, table, checked, images, from_store))
    table.cells.to_csv(out / "cells.csv", index=False)
    if from_store:
        trials_csv.write(study, out / "trials.csv")
    verdicts = [f"{f.name}: {f.verdict} - {f.reason}" for f in checked]
    return "\n".join([table.to_text(), *verdicts, f"report: {out / 'report.md'}"])


def run_compare(default: str | None, selectors: list[str], where: str | None, out: Path, summary: str) -> str:
    (a_name, a_inv), (b_name, b_inv) = (parse_selector(s, default) for s in selectors)
    studies = [load_study(a_name, where, a_inv), load_study(b_name, where, b_inv)]
    tables = [build_table(s, summary) for s in studies]
    differences = setting_differences(*studies)
    out = (
        out / f"compare_{studies[0].label}_vs_{studies[1].label}".replace("@", "-")
        if out == DEFAULT_OUT
        else out
    )
    out.mkdir(parents=True, exist_ok=True)
    images = [
        p
        for side, s, t in zip("AB", studies, tables, strict=True)
        for p in write_plots(s, t, out, prefix=f"{side}_")
    ]
    lines = [
        f"# {studies[0].label} vs {studies[1].label}",
        "",
        comparison_markdown(*tables, differences),
        "",
        "## Plots",
        "",
    ]
    lines += [f"![{p.stem}]({p.name})" for p in images]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    compare_cells(*tables).to_csv(out / "cells.csv", index=False)
    return "\n".join([text(compare_frame(*tables)), *differences, f"report: {out / 'report.md'}"])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis.report", description=__doc__.split("\n\n")[0])
    p.add_argument("study", nargs="?", help="study name, or STUDY@INVOCATION")
    p.add_argument(
        "--tracking-uri", default=None, help="SQLite file, sqlite:/// URI or server (default ./mlflow.db)"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for report.md, cells.csv and plots")
    p.add_argument(
        "--summary", choices=SUMMARIES, default="final", help="final epoch (default) or best epoch"
    )
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two studies or invocations side by side")
    p.add_argument(
        "--from-csv",
        type=Path,
        metavar="TRIALS_CSV",
        help="rebuild a report from a trials.csv alone (no store)",
    )
    return p


def read_trials_csv(path: Path):
    """``trials_csv.read``, a file that is not text or not CSV refused like one without the columns."""
    try:
        return trials_csv.read(path)
    except (UnicodeDecodeError, pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        message = f"{path}: not a trials.csv ({error}); give the file a report wrote"
        raise trials_csv.NotTrialsCsv(message) from error


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.study and not args.compare and not args.from_csv:
        parser().error("give a study (e.g. patch_size_low_data), --compare A B or --from-csv FILE")
    try:
        if args.from_csv:
            output = write_report(read_trials_csv(args.from_csv), args.out, args.summary, from_store=False)
        elif args.compare:
            output = run_compare(args.study, args.compare, args.tracking_uri, args.out, args.summary)
        else:
            output = run_study(args.study, args.tracking_uri, args.out, args.summary)
    except (StoreError, FileNotFoundError, trials_csv.NotTrialsCsv) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except MlflowException as error:
        where = tracking.redact_uri(args.tracking_uri or "the default store")
        print(f"error: the MLflow store {where} could not be read: {error.message}", file=sys.stderr)
        return 2
    except OSError as error:  # --out: a file, or a folder that cannot be written
        print(f"error: {error.filename or args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
