"""Run a named study: every configuration x seed as a Ray Tune trial, every trial tracked in MLflow.

    python -m study.run --list
    python -m study.run patch_size_low_data --profile smoke             # about 2 minutes on 2 CPU cores
    python -m study.run patch_size_low_data --profile cpu --dry-run     # the trial table and its cost
    python -m study.run patch_size_low_data                             # the paper's settings
    python -m study.run patch_size_low_data --profile smoke --resume    # after Ctrl-C, SIGTERM, kill -9

The whole plan is validated before Ray starts (an unknown study lists the valid ones; an invalid value
names the trial and the field), and so are the storage folder, the MLflow store, the dataset folders
and the GPU share (``study.guard.preflight``); one driver at a time runs a study folder
(``study.guard.lock``).
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
import json
import math
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ips.config_coercion import ConfigError, parse_assignment
from search_spaces import PROFILE_NAMES, STUDIES, StudySpec
from study.guard.invocation import check_storage, command_line, resume_command
from study.guard.redact import remember
from study.launch import (
    DEFAULT_GPUS_PER_TRIAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    LaunchOptions,
    launch,
)
from study.plan import Plan, StudyError, check_scheduler, get_study, plan_study
from study.tracking import resolve_tracking_uri

DEFAULT_STORAGE = Path("runs") / "ray"
MAX_SEEDS = 100  # a study's statistics need 3 to 10; far more is a typo (and a plan of millions of trials)
MIN_CPUS_PER_TRIAL = 0.01  # Ray counts resources in steps of 0.0001; less than this is a typo
# The flags that reach ``LaunchOptions`` as given (checked by ``check_resources``).
LAUNCH_FLAGS = (
    *("resume", "address", "cpus_per_trial", "gpus_per_trial"),
    *("max_concurrent", "retries", "scheduler"),
)


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
    parser.add_argument("--retries", type=int, help="times a failed trial is retried (default 0)")
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
    """``["optimisation.epochs=5", "data.noise=lines"]`` -> dotted overrides (``ips``'s rule: values
    read as JSON where they parse); a seed and a number that is not finite are refused."""
    changes: dict[str, Any] = {}
    for item in items:
        try:
            key, value = parse_assignment(item)
        except ConfigError:
            raise StudyError(
                f"--set {item!r}: write it as KEY=VALUE, e.g. --set optimisation.epochs=5"
            ) from None
        if key == "seed":
            raise StudyError(f"--set {item}: every trial has its own seed; choose them with --seeds K")
        if isinstance(value, float) and not math.isfinite(value):
            raise StudyError(f"--set {item}: give a finite number")
        changes[key] = value
    return changes


def check_sets_not_varied(changes: Mapping[str, Any], plan: Plan) -> None:
    """A ``--set`` of a field the study varies would be overridden by every trial: refused."""
    for key in changes:
        if key in plan.varied_fields:
            raise StudyError(
                f"--set {key}: study {plan.study.name!r} varies {key} (its trials set it); leave it out, "
                f"or change another field (the varied ones: {', '.join(plan.varied_fields)})"
            )


def make_plan(args: argparse.Namespace, studies: Mapping[str, StudySpec]) -> Plan:
    """The validated plan of the command line; dataset folders made absolute (trials change cwd)."""
    study = get_study(args.study, studies)
    sets = parse_sets(args.set)
    changes = dict(sets)
    if args.data_root:
        changes["data.root"] = args.data_root  # made absolute by the plan, as a profile's is
    plan = plan_study(study, args.profile, seeds=args.seeds, overrides=changes, absolute_data_root=True)
    check_sets_not_varied(sets, plan)
    return plan


def check_resources(args: argparse.Namespace) -> None:
    from study.gpu_share import is_auto, parse_gpus_per_trial

    if args.gpus_per_trial is not None:
        args.gpus_per_trial = parse_gpus_per_trial(str(args.gpus_per_trial))
    if not math.isfinite(args.cpus_per_trial) or args.cpus_per_trial <= 0:
        raise StudyError(f"--cpus-per-trial {args.cpus_per_trial}: give a positive number of cores")
    if args.cpus_per_trial < MIN_CPUS_PER_TRIAL:
        raise StudyError(
            f"--cpus-per-trial {args.cpus_per_trial:g}: give at least {MIN_CPUS_PER_TRIAL:g} of a core "
            "(e.g. 0.5 or 1)"
        )
    gpus = args.gpus_per_trial
    if gpus is not None and not is_auto(gpus) and not (math.isfinite(gpus) and gpus >= 0):
        raise StudyError(f"--gpus-per-trial {args.gpus_per_trial}: give a share >= 0 (e.g. 0.25)")
    if args.seeds is not None and args.seeds > MAX_SEEDS:
        raise StudyError(f"--seeds {args.seeds}: give at most {MAX_SEEDS} (3 to 10 decide a finding)")
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise StudyError(f"--max-concurrent {args.max_concurrent}: give at least 1")
    if args.retries is not None and args.resume:
        raise StudyError(
            f"--retries {args.retries} with --resume: a resumed study keeps the retries of the command "
            "that started it; leave --retries out"
        )
    if args.retries is not None and args.retries < 0:
        raise StudyError(f"--retries {args.retries}: give 0 or more")
    args.retries = args.retries or 0
    cores = os.cpu_count() or 1
    if not args.address and args.cpus_per_trial > cores:
        raise StudyError(f"--cpus-per-trial {args.cpus_per_trial:g}: this machine has {cores} cores")


def gpu_packing_text(plan: Plan, gpus_per_trial: float | str | None) -> str | None:
    """With ``--gpus-per-trial auto``: every trial's share, checked now (None otherwise)."""
    from study.gpu_share import is_auto, packing_description

    return packing_description(plan, gpus_per_trial) if is_auto(gpus_per_trial) else None


def list_studies(studies: Mapping[str, StudySpec]) -> str:
    lines = []
    for name, study in studies.items():
        lines.append(f"{name}: {study.description}")
        lines.append(f"    reproduces {study.reproduces}")
        for profile_name, profile in study.profiles.items():
            trials = plan_study(study, profile_name).number_of_trials
            lines.append(f"    --profile {profile_name:5s}  {trials:3d} trials  {profile.expected_time}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ dry run, launch


def dry_run_text(plan: Plan, args: argparse.Namespace, packing: str | None) -> str:
    """What ``--dry-run`` prints: the trial table and its cost, or with ``--json`` the plan as JSON."""
    from study.dry_run import describe, plan_as_json, plan_notes
    from study.gpu_share import concurrent_trials, local_gpus

    gpus = args.gpus_per_trial or 0.0
    if packing is not None:
        from study.gpu_share import mean_share

        gpus = mean_share(plan, args.gpus_per_trial)
    concurrent = concurrent_trials(
        args.max_concurrent, os.cpu_count() or 1, local_gpus(gpus), {"cpu": args.cpus_per_trial, "gpu": gpus}
    )
    if args.json:
        resources = {"cpus": args.cpus_per_trial, "gpus": gpus, "concurrent": concurrent}
        return json.dumps(plan_as_json(plan, **resources, notes=plan_notes(plan)), indent=1)
    text = describe(plan, cpus=args.cpus_per_trial, gpus=gpus, concurrent=concurrent)
    return text if packing is None else f"{text}\n{packing}"


def launch_options(
    args: argparse.Namespace, argv: Sequence[str], study_folder: Path, uri: str
) -> LaunchOptions:
    """The launch's options: the checked flags as given, the study folder and the resolved URI."""
    flags = {name: getattr(args, name) for name in LAUNCH_FLAGS}
    return LaunchOptions(study_folder=study_folder, tracking_uri=uri, command=tuple(argv), **flags)


# ----------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None, studies: Mapping[str, StudySpec] = STUDIES) -> int:
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
            print(dry_run_text(plan, args, packing))
            return EXIT_OK
        from study.guard import lock, preflight

        # Said at once: the checks and Ray's start take tens of seconds on a loaded laptop.
        print(
            f"study {plan.study.name} (profile {plan.profile_name}): {plan.number_of_trials} trials; "
            "checking the storage and the MLflow store, then starting Ray",
            flush=True,
        )
        storage = Path(args.storage or DEFAULT_STORAGE).expanduser().resolve()
        study_folder = storage / f"{plan.study.name}-{plan.profile_name}"
        preflight.check_storage_folder(storage, study_folder)
        lock.refuse_if_locked(study_folder)
        tracking_uri = check_storage(
            study_folder,
            plan,
            resolve_tracking_uri(args.tracking_uri),
            resume=args.resume,
            uri_given=args.tracking_uri is not None,
        )
        preflight.check_tracking_uri(tracking_uri)
        remember(tracking_uri)  # its password, if any, lives only in this process's environment
        preflight.check_data_roots(plan)
        preflight.check_trial_configs(plan)
        if not args.address:
            preflight.check_ray_temp_dir()
        preflight.check_ray_address(args.address)
        preflight.check_gpus(args.gpus_per_trial, args.address)
        created = preflight.outermost_missing(study_folder)  # removed again if Ray refuses
        # Held until this process ends, however it ends; the first file this command writes.
        lock.acquire(study_folder, command_line(argv))
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        code = launch(plan, launch_options(args, argv, study_folder, tracking_uri))
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        print(
            f"\ninterrupted; continue with:\n  {resume_command(argv, storage, tracking_uri)}", file=sys.stderr
        )
    elif code == EXIT_USAGE and created is not None:
        shutil.rmtree(created, ignore_errors=True)  # refused once Ray was joined: leave nothing behind
    return code


if __name__ == "__main__":
    raise SystemExit(main())
