"""The runner's progress line: trials done, time spent and an ETA from the plan's estimate."""

from __future__ import annotations

import pytest

from study.progress import eta_seconds, progress_line


def test_eta_starts_from_the_plan_then_follows_the_finished_trials():
    assert eta_seconds(elapsed=20, finished_here=0, left=4, estimate=100) == 80  # the plan, less time spent
    assert eta_seconds(elapsed=150, finished_here=0, left=4, estimate=100) == 0  # late: no negative ETA
    assert eta_seconds(elapsed=60, finished_here=2, left=2, estimate=100) == pytest.approx(60)  # 30 s each
    assert eta_seconds(elapsed=60, finished_here=2, left=0, estimate=100) == 0


def test_progress_line_says_done_failed_elapsed_and_eta():
    line = progress_line(elapsed=90, done=3, failed=1, total=4, finished_here=3, estimate=240)
    assert line == "-- 3/4 trials done (1 failed), elapsed 90 s, ETA about 30 s (plan's estimate: 4 min)"
    # A resumed study: trials done earlier count as done, not in the pace of this invocation.
    assert "ETA about 60 s" in progress_line(
        elapsed=30, done=3, failed=0, total=5, finished_here=1, estimate=9
    )
