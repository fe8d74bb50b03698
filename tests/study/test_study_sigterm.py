"""SIGTERM to the driver's whole process group (what a job scheduler or ``kill -- -PGID`` sends) stops a
study as cleanly as Ctrl-C: the driver exits 130 within seconds with every run closed as interrupted
and Ray's processes ended, and ``--resume`` completes the study. Real Ray, real training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from ray_processes import processes_with_env
from study_fixtures import HERE
from test_study_end_to_end import open_study, wait_for_an_epoch
from test_study_kill import STUDY, resume_to_the_end

from study import tracking
from study.mlflow_store import RUNNING


@pytest.mark.slow  # two real Ray starts and a study: about 3 minutes
@pytest.mark.xfail(
    reason="issue 26 item 8: Ray's processes started with SIGTERM blocked left its agents running after "
    "shutdown, so that fix is withdrawn; SIGTERM to the process group is open",
    strict=False,
)
def test_sigterm_to_the_process_group_stops_cleanly_and_resume_completes(tmp_path, env):
    log = tmp_path / "driver.log"
    with open(log, "w") as out:
        driver = subprocess.Popen(
            [sys.executable, str(HERE / "study_fixtures.py"), *STUDY],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # its own process group, as a job of a shell or a container
        )
    try:
        wait_for_an_epoch(tmp_path, driver, log)
        started = time.monotonic()
        os.killpg(driver.pid, signal.SIGTERM)  # the driver and every Ray process in its group
        assert driver.wait(timeout=120) == 130, log.read_text()[-3000:]
        assert time.monotonic() - started < 30, "the driver waited for Ray's dead processes"
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    _, _, parent, children = open_study(tmp_path, "tiny_resume")
    assert not [run for run in [parent, *children] if run.info.status == RUNNING], "a run was left RUNNING"
    assert {run.data.tags[tracking.TAG_STATUS] for run in children} <= {
        tracking.STATUS_INTERRUPTED,
        tracking.STATUS_COMPLETED,
    }
    deadline = time.monotonic() + 30
    while processes_with_env("RAY_TMPDIR", env["RAY_TMPDIR"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not processes_with_env("RAY_TMPDIR", env["RAY_TMPDIR"]), "Ray processes were left behind"
    assert "--resume" in log.read_text()
    resume_to_the_end(tmp_path, env)
