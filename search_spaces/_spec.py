"""The plain-data shape of a study: a base config, the axes it varies, its seeds and its profiles.

A study module builds one ``StudySpec`` and nothing else; the runner (``study``) turns it into the
trial table and ``study.run`` runs that table on Ray Tune. Fields are named by the dotted keys of
``ips.config.override`` (``"patches.size"``), so every value can be checked before anything runs.

Axes
----
``axes`` maps an axis name to its grid values. The name is either a dotted config field
(``{"patches.size": [25, 50]}``) or, for fields that move together, a label whose values are dicts of
dotted fields (``{"digit": [{"data.digit_size": 28, "data.noise_count": 800}, ...]}``). The grid is
the Cartesian product of all axes, and every grid point runs once per seed.

Search
------
A searched study (``search`` set, ``axes`` empty) draws ``suggestions`` configurations from the
distributions in ``search.space`` with a seeded sampler; each suggestion runs once per seed and is
scored by the mean of its seeds.

Profiles
--------
``paper`` holds the paper's exact settings; for a Megapixel MNIST study that rebuilds a published
table that includes the follow-up's published canvas renderer (``search_spaces._megapixel``: the
generator that produced the paper's numbers, see ``ips.data.followup_renderer``). The other profiles
scale a study down with dotted ``overrides`` of the base, optional replacements of axes (same names),
seeds and search, and a ``note`` that says what was scaled and why:

- ``cpu``: at least 3 seeds within an hour on 2 CPU cores, at a scale where the finding can show
  (``tests/study/test_study_cpu_profiles.py`` holds every cpu profile to that);
- ``demo``: ``make run``'s ten minutes on 2 cores: one seed that learns, no verdict (only the study
  that ``make run`` runs has one);
- ``smoke``: every code path in a minute or two; its accuracies mean nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ips.config import IPSConfig

PROFILE_NAMES = ("paper", "cpu", "demo", "smoke")


# ------------------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Choice:
    """One of ``values``, each equally likely a priori."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class LogUniform:
    """A float whose logarithm is uniform on [log low, log high] (learning rates)."""

    low: float
    high: float


@dataclass(frozen=True)
class IntUniform:
    """An integer drawn uniformly from low..high (both included)."""

    low: int
    high: int


Distribution = Choice | Uniform | LogUniform | IntUniform


@dataclass(frozen=True)
class Search:
    """A searched study: ``suggestions`` draws from ``space`` by a sampler seeded with ``sampler_seed``."""

    space: Mapping[str, Distribution]
    suggestions: int
    sampler_seed: int = 0


# ------------------------------------------------------------------------------------ profile, study


@dataclass(frozen=True)
class Profile:
    """A scaled version of a study: dotted overrides of the base, axis replacements, seeds, a note."""

    note: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] | None = None  # None: the study's seeds
    search: Search | None = None  # None: the study's search
    expected_time: str = ""


@dataclass(frozen=True)
class StudySpec:
    """One named study: everything needed to rebuild one table or figure of the paper."""

    name: str
    description: str
    reproduces: str
    base: IPSConfig
    axes: Mapping[str, Sequence[Any]]
    seeds: tuple[int, ...]
    profiles: Mapping[str, Profile]
    metric: str = "val/accuracy"
    mode: str = "max"
    search: Search | None = None
