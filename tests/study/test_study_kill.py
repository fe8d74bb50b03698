"""kill -9 of the driver at any moment, then ``--resume``, completes the study; one driver per study
folder. Real Ray Tune, real training, a real MLflow SQLite store in a temporary folder.

The default test kills the driver twice (in the start-up window between the Tuner's first save and
Ray's first list of trials, and in the middle of training) and starts second invocations against a live
study; the slow one kills it at ten random moments, spread over every phase of a run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from ray_processes import processes_with_env
from study_fixtures import run_cli, start_cli
from test_study_end_to_end import open_study, steps, wait_for_an_epoch

from study import tracking
from study.mlflow_store import FINISHED

STUDY = ["tiny_resume", "--profile", "smoke"]
EPOCHS = [1, 2, 3, 4]
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
ARTIFACTS = {"attention_map.png", "config.json", "label_distribution.json"}


def study_folder(folder: Path) -> Path:
    return folder / "runs" / "ray" / "tiny_resume-smoke"


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def output(result) -> str:
    return result.stdout[-3000:] + result.stderr[-3000:]


def wait_until(condition, process: subprocess.Popen, log: Path, timeout: float = 300, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the driver ended too early:\n" + log.read_text()[-3000:]
        assert time.monotonic() < deadline, "timed out:\n" + log.read_text()[-3000:]
        time.sleep(every)


def listening_addresses(env: dict) -> set[str]:
    """The addresses that the study's processes (driver, Ray's servers and workers) listen on."""
    addresses = set()
    for pid in processes_with_env("RAY_TMPDIR", env["RAY_TMPDIR"]):
        try:
            connections = psutil.Process(pid).net_connections(kind="inet")
        except psutil.Error:
            continue
        addresses |= {item.laddr.ip for item in connections if item.status == psutil.CONN_LISTEN}
    assert addresses, "no listening socket found: the check would prove nothing"
    return addresses


def check_no_duplicates(folder: Path) -> None:
    """After any kill: at most one run per trial, each epoch logged at most once."""
    client, _, _, children = open_study(folder, "tiny_resume")
    trial_ids = [run.data.tags[tracking.TAG_TRIAL_ID] for run in children]
    assert len(trial_ids) == len(set(trial_ids)) <= 2, "a trial has two runs"
    for run in children:
        logged = steps(client, run.info.run_id, "epoch")
        assert len(logged) == len(set(logged)), f"an epoch was logged twice: {logged}"


def check_completed(folder: Path, env: dict) -> None:
    """The study is whole: every trial once, finished, every epoch once, its artifacts logged, and
    nothing of it left behind (temp folders, processes)."""
    client, _, parent, children = open_study(folder, "tiny_resume")
    assert parent.info.status == FINISHED
    assert parent.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
    assert len({run.data.tags[tracking.TAG_TRIAL_ID] for run in children}) == len(children) == 2
    for run in children:
        assert run.info.status == FINISHED and run.data.tags[tracking.TAG_STATUS] == tracking.STATUS_COMPLETED
        for metric in ("epoch", "val/accuracy", "train/loss"):
            assert steps(client, run.info.run_id, metric) == EPOCHS, (metric, run.data.tags)
        assert ARTIFACTS <= {item.path for item in client.list_artifacts(run.info.run_id)}
    assert not list(Path(env["TMPDIR"]).glob("ips-trial-*")), "a trial's temp folder was left behind"
    deadline = time.monotonic() + 30
    while processes_with_env("RAY_TMPDIR", env["RAY_TMPDIR"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_with_env("RAY_TMPDIR", env["RAY_TMPDIR"]), "Ray processes were left behind"


def resume_to_the_end(folder: Path, env: dict) -> None:
    result = run_cli([*STUDY, "--resume"], folder, env, tiny=True)
    assert result.returncode == 0, output(result)
    check_completed(folder, env)


def test_one_driver_per_study_and_kills_in_start_up_and_training_are_resumed(tmp_path, env):
    # Two identical commands half a second apart: one runs, the other is refused, naming the first.
    first = start_cli(STUDY, tmp_path, env, tmp_path / "a.log")
    time.sleep(0.5)
    second = start_cli(STUDY, tmp_path, env, tmp_path / "b.log")
    deadline = time.monotonic() + 120
    while first.poll() is None and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    refused, driver = (first, second) if first.poll() is not None else (second, first)
    log = tmp_path / ("b.log" if driver is second else "a.log")
    refused_log = (tmp_path / ("a.log" if driver is second else "b.log")).read_text()
    assert refused.poll() == 2, refused_log
    assert f"pid {driver.pid} on host" in refused_log and "in use by a running study" in refused_log

    # Killed between the Tuner's first save and Ray's first list of trials (the window is a few
    # hundred ms wide: where the poll came late, the list is removed, as if killed a moment earlier).
    try:
        wait_until(lambda: (study_folder(tmp_path) / "tuner.pkl").is_file(), driver, log)
    finally:
        kill(driver)
    for state in study_folder(tmp_path).glob("experiment_state-*.json"):
        state.unlink()

    # Resumed (the dead driver's lock does not block it), then killed in the middle of training; a
    # --resume started meanwhile is refused, naming the live driver.
    log = tmp_path / "resumed.log"
    resumed = start_cli([*STUDY, "--resume"], tmp_path, env, log)
    try:
        wait_for_an_epoch(tmp_path, resumed, log)
        assert listening_addresses(env) <= LOOPBACK, "Ray listens beyond this machine"
        meanwhile = run_cli([*STUDY, "--resume"], tmp_path, env, tiny=True)
        assert meanwhile.returncode == 2, output(meanwhile)
        assert f"pid {resumed.pid} on host" in meanwhile.stderr
    finally:
        kill(resumed)
    check_no_duplicates(tmp_path)

    resume_to_the_end(tmp_path, env)


# Where a kill lands: a random moment up to 3 s after one of these lines of the driver's output (""
# is its start), so that every phase is hit whatever the machine's speed.
PHASES = ("", "Started a local Ray instance", "parent run", "] epoch", "] finished")


def wait_for_text(text: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_at_ten_random_moments_then_resume_completes_the_study(tmp_path, env):
    seed = random.randrange(10**6)
    chance = random.Random(seed)
    for number in range(10):
        phase, delay = chance.choice(PHASES), chance.uniform(0, 3)
        log = tmp_path / f"run{number}.log"
        started = (study_folder(tmp_path) / "study.json").is_file()  # else killed before it began
        driver = start_cli(STUDY + (["--resume"] if started else []), tmp_path, env, log)
        wait_for_text(phase, driver, log)
        time.sleep(delay)
        ended = driver.poll() is not None
        kill(driver)
        where = f"seed {seed}, kill {number} {delay:.1f} s after {phase!r}"
        assert not ended or driver.returncode == 0, f"{where}:\n{log.read_text()[-3000:]}"
        if (tmp_path / "mlflow.db").exists() and "parent run" in log.read_text():
            check_no_duplicates(tmp_path)
    resume_to_the_end(tmp_path, env)
    # --resume of a finished study runs nothing again and leaves it completed (what `make run` does twice).
    resume_to_the_end(tmp_path, env)
