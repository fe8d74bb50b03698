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

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ips.config import IPSConfig

PROFILE_NAMES = ("paper", "cpu", "demo", "smoke")
METRIC_DIRECTIONS = ("max", "min")


class SpecError(ValueError):
    """A study module's spec that is malformed in itself: the message names the study or the value."""


# ------------------------------------------------------------------------------------- distributions


@dataclass(frozen=True)
class Choice:
    """One of ``values``, each equally likely a priori."""

    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise SpecError(f"{self}: give at least one value to choose from")

    def corners(self) -> list[Any]:
        """The values worth validating before a search draws any: every choice."""
        return list(self.values)


@dataclass(frozen=True)
class _Range:
    low: Any
    high: Any

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise SpecError(f"{self}: low must be below high")

    def corners(self) -> list[Any]:
        """The values worth validating before a search draws any: both ends of the range."""
        return [self.low, self.high]


@dataclass(frozen=True)
class Uniform(_Range):
    """A float drawn uniformly from [low, high]."""

    low: float
    high: float


@dataclass(frozen=True)
class LogUniform(_Range):
    """A float whose logarithm is uniform on [log low, log high] (learning rates)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            raise SpecError(f"{self}: a log-uniform range must be positive")


@dataclass(frozen=True)
class IntUniform(_Range):
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

    def __post_init__(self) -> None:
        for field_name, distribution in self.space.items():
            if not isinstance(distribution, (Choice, Uniform, LogUniform, IntUniform)):
                raise SpecError(
                    f"{field_name}: {distribution!r} is not a search distribution; use Choice, Uniform, "
                    "LogUniform, IntUniform"
                )
        if self.suggestions < 1:
            raise SpecError(f"search.suggestions is {self.suggestions}; give at least 1")

    def corners(self) -> list[dict[str, Any]]:
        """Every combination of its distributions' corners, as dotted changes: what the runner validates
        and the estimates cost before anything is drawn."""
        fields = list(self.space)
        combinations = itertools.product(*(self.space[field].corners() for field in fields))
        return [dict(zip(fields, values, strict=True)) for values in combinations]


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

    def __post_init__(self) -> None:
        if self.mode not in METRIC_DIRECTIONS:
            raise SpecError(f"study {self.name!r}: mode {self.mode!r}; use 'max' or 'min'")
        if self.axes and self.search is not None:
            raise SpecError(f"study {self.name!r} has both axes and a search; give one or the other")
        for profile_name, profile in self.profiles.items():
            if profile.search is not None and self.axes:
                raise SpecError(
                    f"study {self.name!r}, profile {profile_name!r}: a search on a study with axes; give "
                    "one or the other"
                )
            for name in profile.axes:
                if name not in self.axes:
                    raise SpecError(
                        f"profile axis {name!r} of study {self.name!r} replaces no axis; "
                        f"the study's axes are {sorted(self.axes) or 'none'}"
                    )
        for name, values in [
            *self.axes.items(),
            *(a for p in self.profiles.values() for a in p.axes.items()),
        ]:
            if not values:
                raise SpecError(f"axis {name!r} of study {self.name!r} has no values; give at least one")
