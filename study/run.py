"""Run a named study: every configuration x seed as a Ray Tune trial, every trial tracked in MLflow.

    python -m study.run --list
    python -m study.run patch_size_low_data --profile smoke             # about 2 minutes on 2 CPU cores
    python -m study.run patch_size_low_data --profile cpu --dry-run     # the trial table and its cost
    python -m study.run patch_size_low_data                             # the paper's settings
    python -m study.run patch_size_low_data --profile smoke --resume    # after Ctrl-C, SIGTERM, kill -9

The whole plan is validated before Ray starts (an unknown study lists the valid ones; an invalid value
names the trial and the field), and so are the storage folder, the MLflow store, the dataset folders
and the GPU share (``study.preflight``); one driver at a time runs a study folder (``study.lock``).
Results go to MLflow: by default a SQLite store ``./mlflow.db`` with
its artifacts in ``./mlartifacts`` (``--tracking-uri http://host:5000`` for a server); Ray's trial
folders and checkpoints go to ``./runs/ray/<study>-<profile>`` (``--storage``). A study that was
stopped is continued with the same command plus ``--resume``: finished trials are kept, interrupted ones
continue from their last epoch, and each trial keeps its one MLflow run.

On a GPU machine each trial gets ``--gpus-per-trial`` of the card (0.25 by default: four IPS trials
share one GPU, their CUDA memory capped to their share less the CUDA context); on a CPU machine each gets
``--cpus-per-trial`` cores (1 by default). ``--address`` joins a running Ray cluster.

Exit status: 0 all trials finished, 1 some failed, 2 bad input (nothing started), 130 interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ips.config import to_dict
from search_spaces import PROFILE_NAMES, STUDIES, Study
from study.plan import Plan, StudyError, check_scheduler, get_study, plan_study
from study.redact import is_redacted, redact_argv, redact_uri, remember

DEFAULT_STORAGE = Path("runs") / "ray"
DEFAULT_GPUS_PER_TRIAL = 0.25
INVOCATION_FILE = "study.json"  # what the first invocation ran, checked by --resume
EXIT_OK, EXIT_FAILED_TRIALS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


# ---------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m study.run",
        description="Run a named IPS study on Ray Tune, tracked in MLflow.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n")[1],
    )
    parser.add_argument("study", nargs="?", help="the study's name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the studies and their profiles")
    parser.add_argument(
        "--profile", default="paper", help=f"one of {', '.join(PROFILE_NAMES)} (default paper)"
    )
    parser.add_argument("--seeds", type=int, help="run seeds 0..K-1 instead of the profile's seeds")
    parser.add_argument("--resume", action="store_true", help="continue the study stopped in --storage")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the trial table and cost; start nothing"
    )
    parser.add_argument(
        "--json", action="store_true", help="with --dry-run: print the plan as JSON (configs, seeds, cost)"
    )
    parser.add_argument(
        "--max-concurrent", type=int, help="at most N trials at once (default: as resources allow)"
    )
    parser.add_argument(
        "--cpus-per-trial",
        type=float,
        default=1.0,
        help="CPU cores per trial (default 1); with a GPU, all but one render canvases",
    )
    parser.add_argument(
        "--gpus-per-trial",
        help=f"share of a GPU per trial (default {DEFAULT_GPUS_PER_TRIAL} with GPUs, else 0), or auto: "
        "a share per trial from its estimated peak memory (auto:GB names the card's memory)",
    )
    parser.add_argument("--address", help="join this Ray cluster (e.g. ray://head:10001 or auto)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///<cwd>/mlflow.db)")
    parser.add_argument(
        "--storage", help=f"folder for Ray's results and checkpoints (default ./{DEFAULT_STORAGE})"
    )
    parser.add_argument("--data-root", help="dataset folder, set as data.root of every trial (traffic signs)")
    parser.add_argument("--retries", type=int, default=0, help="times a failed trial is retried (default 0)")
    parser.add_argument(
        "--scheduler",
        default="fifo",
        help="fifo (default: every trial to its last epoch) or asha (searched studies: stop poor ones early)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a dotted config field of every trial, e.g. --set optimisation.epochs=5",
    )
    return parser


def parse_sets(items: Sequence[str]) -> dict[str, Any]:
    """``["optimisation.epochs=5", "data.noise=lines"]`` -> dotted overrides (values read as JSON)."""
    changes: dict[str, Any] = {}
    for item in items:
        key, separator, text = item.partition("=")
        if not separator or not key:
            raise StudyError(f"--set {item!r}: write it as KEY=VALUE, e.g. --set optimisation.epochs=5")
        try:
            changes[key] = json.loads(text)
        except json.JSONDecodeError:
            changes[key] = text
    return changes


def make_plan(args: argparse.Namespace, studies: Mapping[str, Study]) -> Plan:
    """The validated plan of the command line; dataset folders made absolute (trials change cwd)."""
    study = get_study(args.study, studies)
    changes = parse_sets(args.set)
    if args.data_root:
        changes["data.root"] = str(Path(args.data_root).expanduser().resolve())
    plan = plan_study(study, args.profile, seeds=args.seeds, overrides=changes)
    root = getattr(plan.base.data, "root", None)
    if root is not None and not Path(root).is_absolute():
        plan = plan_study(
            study,
            args.profile,
            seeds=args.seeds,
            overrides={**changes, "data.root": str(Path(root).resolve())},
        )
    return plan


def check_resources(args: argparse.Namespace) -> None:
    from study.gpu_packing import is_auto, parse_gpus_per_trial

    if args.gpus_per_trial is not None:
        args.gpus_per_trial = parse_gpus_per_trial(str(args.gpus_per_trial))
    if not math.isfinite(args.cpus_per_trial) or args.cpus_per_trial <= 0:
        raise StudyError(f"--cpus-per-trial {args.cpus_per_trial}: give a positive number of cores")
    gpus = args.gpus_per_trial
    if gpus is not None and not is_auto(gpus) and not (math.isfinite(gpus) and gpus >= 0):
        raise StudyError(f"--gpus-per-trial {args.gpus_per_trial}: give a share >= 0 (e.g. 0.25)")
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise StudyError(f"--max-concurrent {args.max_concurrent}: give at least 1")
    if args.retries < 0:
        raise StudyError(f"--retries {args.retries}: give 0 or more")
    cores = os.cpu_count() or 1
    if not args.address and args.cpus_per_trial > cores:
        raise StudyError(f"--cpus-per-trial {args.cpus_per_trial:g}: this machine has {cores} cores")


def gpu_packing_text(plan: Plan, gpus_per_trial: float | str | None) -> str | None:
    """With ``--gpus-per-trial auto``: every trial's share, checked now (None otherwise)."""
    from study.gpu_packing import is_auto, packing_description

    return packing_description(plan, gpus_per_trial) if is_auto(gpus_per_trial) else None


def list_studies(studies: Mapping[str, Study]) -> str:
    lines = []
    for name, study in studies.items():
        lines.append(f"{name}: {study.description}")
        lines.append(f"    reproduces {study.reproduces}")
        for profile_name, profile in study.profiles.items():
            trials = plan_study(study, profile_name).number_of_trials
            lines.append(f"    --profile {profile_name:5s}  {trials:3d} trials  {profile.expected_time}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- storage


def plan_fingerprint(plan: Plan) -> str:
    """A hash of everything that decides the trials, to refuse a --resume with different flags."""
    content = {
        "base": to_dict(plan.base),
        "trials": [trial.overrides for trial in plan.trials],
        "search": repr(plan.search),
        "seeds": list(plan.seeds),
    }
    return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]


def resume_command(argv: Sequence[str], storage: Path, tracking_uri: str) -> str:
    """The same command with --resume (and the storage and store it used, spelled out); a password in
    the tracking URI is shown as ``***``."""
    words = ["python -m study.run", *redact_argv(argv)]
    if "--storage" not in argv:
        words += ["--storage", str(storage)]
    if "--tracking-uri" not in argv:
        words += ["--tracking-uri", redact_uri(tracking_uri)]
    if "--resume" not in argv:
        words.append("--resume")
    return " ".join(words)


def check_storage(experiment_dir: Path, plan: Plan, args: argparse.Namespace, tracking_uri: str) -> str:
    """Refuse to overwrite a study or to resume a different one; returns the tracking URI to use."""
    from study.lock import LOCK_FILE

    record_path = experiment_dir / INVOCATION_FILE
    if not args.resume:
        # A folder holding only the lock of a driver that stopped before it recorded anything is new.
        if experiment_dir.exists() and {path.name for path in experiment_dir.iterdir()} - {LOCK_FILE}:
            raise StudyError(
                f"{experiment_dir} already holds a run of study {plan.study.name!r} (profile "
                f"{plan.profile_name!r}); add --resume to continue it, or choose another --storage "
                "(nothing logged is ever deleted)"
            )
        return tracking_uri
    if not record_path.is_file():
        raise StudyError(
            f"--resume: nothing to resume in {experiment_dir}; run without --resume to start the study"
        )
    record = read_invocation(record_path)
    if record["fingerprint"] != plan_fingerprint(plan):
        raise StudyError(
            f"--resume: the study in {experiment_dir} was started with other settings ({record['command']}); "
            "resume with the same flags, or choose another --storage to start anew"
        )
    if args.tracking_uri is not None and redact_uri(tracking_uri) != record["tracking_uri"]:
        raise StudyError(
            f"--resume: this study is tracked in {record['tracking_uri']}, not {redact_uri(tracking_uri)}; "
            "leave out --tracking-uri or give that one"
        )
    if args.tracking_uri is None and is_redacted(record["tracking_uri"]):
        raise StudyError(
            f"--resume: this study is tracked in {record['tracking_uri']}, whose password is not stored; "
            "give --tracking-uri with it again"
        )
    return tracking_uri if args.tracking_uri is not None else record["tracking_uri"]


def read_invocation(record_path: Path) -> dict[str, Any]:
    """The record of the first invocation, or a StudyError if it is empty or damaged."""
    try:
        record = json.loads(record_path.read_text())
        if not all(isinstance(record.get(key), str) for key in ("fingerprint", "tracking_uri", "command")):
            raise ValueError("a field is missing")
    except (OSError, ValueError, AttributeError) as error:
        raise StudyError(
            f"--resume: {record_path} is empty or damaged ({error}); it records the command that started "
            f"the study: restore it, or start anew with another --storage"
        ) from error
    return record


def write_invocation(experiment_dir: Path, plan: Plan, tracking_uri: str, argv: Sequence[str]) -> None:
    experiment_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "study": plan.study.name,
        "profile": plan.profile_name,
        "seeds": list(plan.seeds),
        "tracking_uri": redact_uri(tracking_uri),  # a password stays in memory only
        "fingerprint": plan_fingerprint(plan),
        "command": " ".join(["python -m study.run", *redact_argv(argv)]),
    }
    partial = experiment_dir / (INVOCATION_FILE + ".partial")  # never a torn study.json
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(experiment_dir / INVOCATION_FILE)


# ----------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None, studies: Mapping[str, Study] = STUDIES) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        print(list_studies(studies))
        return EXIT_OK
    if args.study is None:
        parser.error("give a study name (python -m study.run --list shows them)")
    if args.json and not args.dry_run:
        parser.error("--json prints the plan: use it with --dry-run")
    try:
        check_resources(args)
        plan = make_plan(args, studies)
        check_scheduler(args.scheduler, plan)
        packing = gpu_packing_text(plan, args.gpus_per_trial)  # refuses a trial that fits no card
        if args.dry_run:
            from study.dry_run import describe

            gpus = args.gpus_per_trial or 0.0
            if packing is not None:
                from study.gpu_packing import mean_share

                gpus = mean_share(plan, args.gpus_per_trial)
            concurrent = args.max_concurrent or max(1, int((os.cpu_count() or 1) // args.cpus_per_trial))
            if args.json:
                from study.dry_run import plan_notes
                from study.plan_export import plan_as_json

                resources = {"cpus": args.cpus_per_trial, "gpus": gpus, "concurrent": concurrent}
                print(json.dumps(plan_as_json(plan, **resources, notes=plan_notes(plan)), indent=1))
                return EXIT_OK
            print(describe(plan, cpus=args.cpus_per_trial, gpus=gpus, concurrent=concurrent))
            if packing is not None:
                print(packing)
            return EXIT_OK
        from study import lock, preflight
        from study.tracking import resolve_tracking_uri

        storage = Path(args.storage or DEFAULT_STORAGE).expanduser().resolve()
        experiment_dir = storage / f"{plan.study.name}-{plan.profile_name}"
        preflight.check_storage_folder(storage, experiment_dir)
        lock.refuse_if_locked(experiment_dir)
        tracking_uri = check_storage(experiment_dir, plan, args, resolve_tracking_uri(args.tracking_uri))
        preflight.check_tracking_uri(tracking_uri)
        remember(tracking_uri)  # its password, if any, lives only in this process's environment
        preflight.check_data_roots(plan)
        preflight.check_gpus(args.gpus_per_trial, args.address)
        created = preflight.outermost_missing(experiment_dir)  # removed again if Ray refuses
        # Held until this process ends, however it ends; the first file this command writes.
        lock.acquire(experiment_dir, " ".join(["python -m study.run", *redact_argv(argv)]))
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    from study.launch import launch  # Ray and MLflow: imported only once the plan is known to be good

    recorded = False

    def record() -> None:  # once Ray has accepted the resources: from then on, only --resume continues
        nonlocal recorded
        recorded = True
        if not args.resume:
            write_invocation(experiment_dir, plan, tracking_uri, argv)

    hint = f"interrupted; continue with:\n  {resume_command(argv, storage, tracking_uri)}"
    try:
        code = launch(plan, args, experiment_dir, tracking_uri, record, hint)
        if code == EXIT_USAGE and not recorded and created is not None:
            shutil.rmtree(created, ignore_errors=True)  # refused once Ray was joined: leave nothing behind
        return code
    except KeyboardInterrupt:
        print(f"\n{hint}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
