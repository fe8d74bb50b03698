"""Tiny studies for the end-to-end tests, and helpers to run the study CLI as a real subprocess.

The studies are built like the shipped ones (``search_spaces``) but small enough that Ray's start-up,
not training, dominates: 200-pixel canvases, 4 training and 2 validation canvases, batch 2.
``python tests/study/study_fixtures.py <study> [flags]`` runs ``study.run.main`` with these studies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ips.config import IPSConfig, override
from search_spaces import Choice, Profile, Search, StudySpec
from search_spaces._smoke import smoke

HERE = Path(__file__).resolve().parent
TINY_BASE = override(
    IPSConfig(),
    smoke(
        {
            "data.canvas_height": 200,
            "data.canvas_width": 200,
            "data.noise_count": 10,
            "data.train_canvases": 4,
            "data.validation_canvases": 2,
            "optimisation.batch_size": 2,
            "patches.size": 50,
        }
    ),
)


def study_spec(
    name: str,
    base: IPSConfig,
    axes: dict,
    *,
    seeds: tuple[int, ...] = (0,),
    profiles: dict | None = None,
    search: Search | None = None,
) -> StudySpec:
    """A study built as the shipped ones are, for tests: one ``smoke`` profile of the test's own size
    unless ``profiles`` are given; a grid over ``axes``, or ``search`` with no axes."""
    return StudySpec(
        name=name,
        description=f"test study {name}",
        reproduces="nothing (a test)",
        base=base,
        axes=axes,
        seeds=seeds,
        profiles=profiles or {"smoke": Profile(note="the test's own size")},
        search=search,
    )


def tiny_study(name: str, axes: dict, epochs: int) -> StudySpec:
    return study_spec(name, override(TINY_BASE, {"optimisation.epochs": epochs}), axes)


def tiny_search(epochs: int) -> StudySpec:
    """A searched study: 2 suggestions of patch size x lr, each on seeds 0 and 1."""
    search = Search(
        space={"patches.size": Choice((25, 50)), "optimisation.lr": Choice((1e-3, 1e-5))},
        suggestions=2,
        sampler_seed=0,
    )
    base = override(TINY_BASE, {"optimisation.epochs": epochs})
    return study_spec("tiny_search", base, {}, seeds=(0, 1), search=search)


TINY_STUDIES = {
    # Two trials of 4 epochs: long enough to be killed in the middle.
    "tiny_resume": tiny_study("tiny_resume", {"patches.size": [25, 50]}, epochs=4),
    # lr 1e30 makes the loss NaN at the second batch: ips.train raises NonFiniteLossError.
    "tiny_failure": tiny_study("tiny_failure", {"optimisation.lr": [1e-3, 1e30]}, epochs=2),
    # One trial of one epoch: the shortest real study.
    "tiny_one": tiny_study("tiny_one", {"patches.size": [50]}, epochs=1),
    # Four trials of 3 epochs for ASHA (--scheduler asha) to stop some of.
    "tiny_search": tiny_search(epochs=3),
}


def run_cli(args: list[str], cwd: Path, env: dict, *, tiny: bool = False, timeout: float = 600):
    """``python -m study.run ARGS`` (or this file, with the tiny studies) in ``cwd``; waits for it."""
    command = (
        [sys.executable, str(HERE / "study_fixtures.py")] if tiny else [sys.executable, "-m", "study.run"]
    )
    return subprocess.run(command + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def start_cli(args: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """The tiny-study CLI started in the background (its output in ``log``)."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, str(HERE / "study_fixtures.py"), *args], cwd=cwd, env=env, stdout=out, stderr=out
        )


if __name__ == "__main__":
    from study.run import main

    raise SystemExit(main(studies=TINY_STUDIES))
