"""The launch: a validated plan and typed ``LaunchOptions`` in, an exit code out.

``launch`` starts Ray (or joins a cluster), writes the study folder's record once Ray has accepted the
resources (``study.guard.invocation``), opens the MLflow parent run, builds (or restores) the Tuner, runs
it and prints the summary. ``study.run.main`` calls it once the plan is validated and the storage
folder checked; Ray and MLflow are imported only inside ``launch``, so that bad input is refused
before either is imported.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study import tracking
from study.gpu_share import AutoResources, card_memory_mb, concurrent_trials, is_auto
from study.guard.lock import mark_environment
from study.guard.redact import client_uri, redact_uri
from study.plan import Plan, StudyError
from study.ray_config import HIDE_GPUS_FROM_CPU_TRIALS

CHECKPOINTS_TO_KEEP = 2
TUNER_STATE_FILE = "tuner.pkl"  # written by Tuner(); Ray's trials are listed only from:
EXPERIMENT_STATE_PATTERN = "experiment_state-*.json"  # written at the end of the Tuner's first step
SEARCHER_STATE_PATTERN = "searcher-state-*.pkl"  # a searched study's searcher, saved just after
# Ray's local instance uses the loopback address (its servers then listen on 127.0.0.1 only) when it
# believes cluster mode is off; read by ray at import and by the processes it starts.
LOOPBACK_ONLY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
DEFAULT_GPUS_PER_TRIAL = 0.25  # where the cluster has GPUs: four IPS trials share a card
EXIT_OK, EXIT_FAILED_TRIALS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class LaunchOptions:
    """What the launch needs of the command line, checked and resolved by ``study.run``."""

    study_folder: Path  # the study folder, <storage>/<study>-<profile>
    tracking_uri: str  # absolute; a password in it is never written or printed
    command: tuple[str, ...] = ()  # the command line's arguments, recorded (redacted) in study.json
    resume: bool = False
    address: str | None = None  # a Ray cluster to join; None starts a local instance
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | str | None = None  # a share, "auto[:GB]", or None (by the cluster's GPUs)
    max_concurrent: int | None = None
    retries: int = 0
    scheduler: str = "fifo"


# ----------------------------------------------------------------------------------------------- Ray


def sigterm_as_sigint(signum: int, frame: Any) -> None:
    """SIGTERM stops a study as Ctrl-C does: Ray saves its state and every run is closed honestly."""
    signal.raise_signal(signal.SIGINT)


def quiet_libraries() -> None:
    """Keep Ray's, MLflow's and Optuna's chatter out of the user's terminal (study.progress speaks):
    Ray Tune's legacy reporter is silent at verbose=0 (the new one prints a config table and a
    TensorBoard hint whatever the verbosity); Ray's driver log (token set-up, "Started a local Ray
    instance") and MLflow's table creation only at WARNING and above; MLflow's "View run ... at: <uri>"
    lines never (they would print a URI's secret query parameter). Trials' errors still show."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def start_ray(address: str | None) -> None:
    """Join ``address``, or start a local instance whose ports listen on 127.0.0.1 only (the
    environment is set before ``import ray`` in ``launch``). Either way Ray hides the GPUs from a
    worker given none (``ips.resources``): locally its workers inherit this environment, on a
    cluster the job's runtime environment carries it."""
    import ray

    os.environ.update(HIDE_GPUS_FROM_CPU_TRIALS)
    if address:
        runtime_env = {"env_vars": dict(HIDE_GPUS_FROM_CPU_TRIALS)}
        ray.init(address=address, logging_level=logging.ERROR, runtime_env=runtime_env)
    else:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.ERROR)
    # After ray.init, whose own SIGTERM handler would abort the driver without a word.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, sigterm_as_sigint)


def record_ray_processes(study_folder: Path) -> None:
    """Note the local Ray instance's processes in the study's lock, for the next driver to end them
    should this one be killed (kill -9 leaves them running)."""
    import psutil

    from study.guard.lock import record_processes

    processes = psutil.Process().children(recursive=True)
    record_processes(study_folder, [(process.pid, process.create_time()) for process in processes])


def trial_resources(options: LaunchOptions) -> dict[str, float] | AutoResources:
    """CPUs and GPUs per trial; a GPU share by default where the cluster has GPUs; with ``auto`` a
    function of each trial's config (``study.gpu_share``)."""
    import ray

    available = ray.cluster_resources()
    gpus = options.gpus_per_trial
    if gpus is None:
        gpus = DEFAULT_GPUS_PER_TRIAL if available.get("GPU", 0) > 0 else 0.0
    if not options.address and options.cpus_per_trial > available.get("CPU", 0):
        raise StudyError(
            f"--cpus-per-trial {options.cpus_per_trial:g}: this machine has "
            f"{available.get('CPU', 0):g} CPUs; give at most that many"
        )
    if is_auto(gpus):
        if not available.get("GPU", 0):
            raise StudyError(f"--gpus-per-trial {gpus}: the Ray cluster has no GPU; leave the flag out")
        return AutoResources(options.cpus_per_trial, card_memory_mb(gpus))
    if gpus > available.get("GPU", 0) and not options.address:
        raise StudyError(f"--gpus-per-trial {gpus:g}: this machine has {available.get('GPU', 0):g} GPUs")
    return {"cpu": options.cpus_per_trial, "gpu": gpus}


def build_tuner(
    plan: Plan,
    trainable: Any,
    study_folder: Path,
    callbacks: list,
    options: LaunchOptions,
    runs: tracking.InvocationRuns | None,
    concurrent: int,
):
    from ray import tune

    from study.ray_config import trial_dirname
    from study.search import scheduler, search_setup

    param_space, search_alg, samples = search_setup(plan, study_folder, runs)
    tune_config = tune.TuneConfig(
        metric=plan.study.metric,
        mode=plan.study.mode,
        num_samples=samples,
        search_alg=search_alg,
        scheduler=scheduler(options.scheduler, plan),
        # Tune lets a searcher keep one trial pending unless told how many may run at once: without
        # this, a searched study's trials run one after another whatever the resources.
        max_concurrent_trials=options.max_concurrent or (concurrent if plan.searched else None),
        trial_name_creator=trial_dirname,
        trial_dirname_creator=trial_dirname,
        reuse_actors=True,  # the next trial runs in a finished trial's process: no new torch import
    )
    run_config = tune.RunConfig(
        name=study_folder.name,
        storage_path=str(study_folder.parent),
        callbacks=callbacks,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=CHECKPOINTS_TO_KEEP),
        failure_config=tune.FailureConfig(max_failures=options.retries),
        verbose=0,  # study.progress prints one line per epoch instead
    )
    return tune.Tuner(trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)


def restorable(study_folder: Path, searched: bool = False) -> bool:
    """Whether Ray can continue the study: its Tuner and its list of trials were both saved, and for a
    searched study its searcher too (Ray saves it just after the list). A driver killed between the
    saves leaves only the Tuner: the study then starts its trials afresh (none had started, as trials
    start after the first list is saved)."""
    saved_trials = any(study_folder.glob(EXPERIMENT_STATE_PATTERN))
    saved_searcher = not searched or any(study_folder.glob(SEARCHER_STATE_PATTERN))
    return (study_folder / TUNER_STATE_FILE).is_file() and saved_trials and saved_searcher


def resources_text(resources: dict[str, float] | AutoResources) -> str:
    if isinstance(resources, AutoResources):
        return (
            f"{resources.cpus:g} CPU and a GPU share by estimated memory ({resources.card_mb / 1024:g} GB "
            "cards; --dry-run shows it)"
        )
    return f"{resources['cpu']:g} CPU and {resources['gpu']:g} GPU"


def tuner_for(
    plan: Plan,
    options: LaunchOptions,
    trainable: Any,
    runs: tuple[str, str],
    concurrent: int,
    estimate: float,
):
    """The Tuner: restored from the study folder on --resume where Ray saved enough, else a new one
    with the MLflow logger and the progress printer (``runs``: experiment id, parent run id)."""
    from ray import tune

    from study.mlflow_logger import MLflowTrialLogger
    from study.progress import ProgressPrinter
    from study.search import search_setup

    study_folder, (experiment_id, parent_id) = options.study_folder, runs
    if options.resume and restorable(study_folder, searched=plan.searched):
        # A grid's space again (Ray keeps it only in its trial list); a search's lives in its searcher.
        space = search_setup(plan, study_folder, None)[0] if plan.search is None else None
        return tune.Tuner.restore(
            str(study_folder), trainable=trainable, param_space=space, resume_errored=True
        )
    if options.resume:
        print(f"no Ray state to restore in {study_folder}; starting its trials again", flush=True)
    callbacks = [
        MLflowTrialLogger(
            tracking_uri=options.tracking_uri, experiment_id=experiment_id, parent_run_id=parent_id
        ),
        ProgressPrinter(plan.study.metric, plan.number_of_trials, estimate),
    ]
    where = tracking.InvocationRuns(
        redact_uri(options.tracking_uri), experiment_id, parent_id
    )  # redacted: pickled
    return build_tuner(plan, trainable, study_folder, callbacks, options, where, concurrent)


def exit_code(client: Any, experiment_id: str, parent_id: str) -> int:
    """Interrupted unless the logger closed the parent run as completed; else whether a trial failed."""
    from study import mlflow_store as store

    if client.get_run(parent_id).data.tags.get(tracking.TAG_STATUS) != tracking.STATUS_COMPLETED:
        return EXIT_INTERRUPTED  # study.run prints how to continue
    children = store.child_runs(client, experiment_id, parent_id)
    failed = [run for run in children if run.data.tags.get(tracking.TAG_STATUS) == tracking.STATUS_FAILED]
    return EXIT_FAILED_TRIALS if failed else EXIT_OK


# ---------------------------------------------------------------------------------------------- main


def launch(plan: Plan, options: LaunchOptions) -> int:
    """Run the plan: ``EXIT_OK`` when every trial finished, ``EXIT_FAILED_TRIALS`` when some failed,
    ``EXIT_INTERRUPTED`` when the study was stopped (``--resume`` continues it), ``EXIT_USAGE`` when Ray
    refused the resources (then nothing was written in the study folder but its lock)."""
    study_folder, tracking_uri = options.study_folder, options.tracking_uri
    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")  # belt and braces: every path is absolute
    # A checkpoint every epoch forces frequent snapshots of the experiment state (what --resume reads):
    # wanted here, so Ray's warning about them is noise.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    quiet_libraries()
    if not options.address:
        os.environ.update(LOOPBACK_ONLY_ENV)
        mark_environment(study_folder)  # the local Ray instance's processes: this study's (guard.lock)
    import ray
    from mlflow import MlflowClient
    from ray import tune

    from study import mlflow_store as store
    from study import mlflow_ui
    from study.dry_run import plan_seconds
    from study.guard.invocation import write_invocation
    from study.sqlite_store import ensure_store
    from study.summary import runner_table
    from study.trainable import train_trial

    print(
        f"starting Ray ({f'joining {options.address}' if options.address else 'a local instance'})",
        flush=True,
    )
    start_ray(options.address)
    if not options.address:
        record_ray_processes(study_folder)
    try:
        try:
            resources = trial_resources(options)
        except StudyError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        if not options.resume:  # Ray accepted the resources: from now on only --resume continues
            write_invocation(study_folder, plan, tracking_uri, options.command)
        ensure_store(tracking_uri)  # a new SQLite store built whole, before MLflow opens it
        client = MlflowClient(client_uri(tracking_uri))
        experiment_id, parent_id = store.open_parent_run(client, plan, tracking_uri, study_folder)
        trainable = tune.with_resources(train_trial, resources)
        typical = resources.typical(plan) if isinstance(resources, AutoResources) else resources
        available = ray.cluster_resources()
        cluster = (available.get("CPU", 1), available.get("GPU", 0))
        concurrent = concurrent_trials(options.max_concurrent, *cluster, typical)
        estimate = plan_seconds(plan, cpus=typical["cpu"], gpus=typical["gpu"], concurrent=concurrent)
        shown = redact_uri(tracking_uri)
        url = mlflow_ui.ui_url(shown, experiment_id, parent_id)
        print(
            f"study {plan.study.name} (profile {plan.profile_name}): {plan.number_of_trials} trials, "
            f"{resources_text(resources)} per trial, up to {concurrent} at once\n"
            f"Ray results: {study_folder}\n"
            f"MLflow: {shown}, experiment {plan.study.name}, parent run {parent_id}\n"
            f"MLflow UI: {store.ui_command(shown)}\n  then open {url}",
            flush=True,
        )
        tuner = tuner_for(plan, options, trainable, (experiment_id, parent_id), concurrent, estimate)
        tuner.fit()

        print("\n" + runner_table(client, experiment_id, parent_id, plan.varied_fields, plan.study.metric))
        print(f"\nCompare the trials in the MLflow UI:\n  {store.ui_command(shown)}\n  then open {url}")
        if plan.searched:
            from study.search import dashboard_commands

            print(
                "The Optuna study in optuna-dashboard:\n  "
                + "\n  then ".join(dashboard_commands(study_folder))
            )
        return exit_code(client, experiment_id, parent_id)
    finally:
        ray.shutdown()
