"""A study + a profile + seeds -> the validated plan of trials, before anything starts.

``plan_study(study, profile)`` applies the profile to the study (overrides of the base, replaced axes,
seeds, search), expands the grid (the Cartesian product of the axes, every point once per seed) and
builds every trial's typed config with ``ips.config.override``: an invalid value raises ``StudyError``
naming the trial and the field. A searched study is checked on every choice and both ends of every
range, alone and combined, since its trials are drawn only once Ray runs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ips.config import ConfigError, IPSConfig, flatten, override
from search_spaces import PROFILE_NAMES, STUDIES, Profile, Search, StudySpec
from study import tracking

SCHEDULERS = ("fifo", "asha")  # Tune's default, or early stopping (study.search.scheduler)


class StudyError(ValueError):
    """A study, profile or flag that cannot run: the message names the problem and the fix."""


@dataclass(frozen=True)
class TrialSpec:
    """One row of the trial table: a grid point run with one seed."""

    index: int
    point: dict[str, Any]  # axis name -> its value at this grid point
    seed: int
    overrides: dict[str, Any]  # dotted changes of the plan's base (the axes' fields and the seed)
    config: IPSConfig

    @property
    def label(self) -> str:
        return point_label(self.point)

    @property
    def config_id(self) -> str:
        return tracking.config_id(flatten(self.config))


@dataclass(frozen=True)
class Plan:
    """What one invocation runs: the profile's base, its seeds, and the grid trials or the search."""

    study: StudySpec
    profile_name: str
    base: IPSConfig
    seeds: tuple[int, ...]
    axes: dict[str, list[Any]]
    trials: tuple[TrialSpec, ...]  # the grid; empty for a searched study
    search: Search | None

    @property
    def searched(self) -> bool:
        return self.search is not None

    @property
    def varied_fields(self) -> list[str]:
        """The dotted config fields the study varies (linked axes contribute each of their fields)."""
        if self.search is not None:
            return list(self.search.space)
        fields: list[str] = []
        for name, values in self.axes.items():
            for field in axis_fields(name, values):
                if field not in fields:
                    fields.append(field)
        return fields

    @property
    def number_of_trials(self) -> int:
        if self.search is not None:
            return self.search.suggestions * len(self.seeds)
        return len(self.trials)


# ----------------------------------------------------------------------------------------- helpers


def short(value: Any) -> str:
    """A value for people: floats to 4 significant digits (a searched lr of 0.00042246380742484593)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def point_label(point: Mapping[str, Any]) -> str:
    """``patches.size=25`` or ``data.digit_size=28 data.noise_count=800 data.train_canvases=800``."""
    parts = []
    for name, value in point.items():
        if isinstance(value, Mapping):
            parts.extend(f"{field}={short(item)}" for field, item in value.items())
        else:
            parts.append(f"{name}={short(value)}")
    return " ".join(parts) or "base"


def axis_fields(name: str, values: Sequence[Any]) -> list[str]:
    """The dotted fields an axis sets: its name, or the keys of its linked values."""
    if values and all(isinstance(value, Mapping) for value in values):
        return list(dict.fromkeys(field for value in values for field in value))
    return [name]


def point_overrides(point: Mapping[str, Any]) -> dict[str, Any]:
    """A grid point's dotted overrides: linked axis values spread into their fields."""
    changes: dict[str, Any] = {}
    for name, value in point.items():
        if isinstance(value, Mapping):
            changes.update(value)
        else:
            changes[name] = value
    return changes


def get_study(name: str, studies: Mapping[str, StudySpec] = STUDIES) -> StudySpec:
    if name not in studies:
        raise StudyError(f"unknown study {name!r}; valid studies are: {', '.join(sorted(studies))}")
    return studies[name]


def get_profile(study: StudySpec, name: str) -> Profile:
    if name not in study.profiles:
        valid = ", ".join(p for p in PROFILE_NAMES if p in study.profiles) or ", ".join(study.profiles)
        raise StudyError(f"study {study.name!r} has no profile {name!r}; use one of: {valid}")
    return study.profiles[name]


def check_plain(value: Any, where: str) -> None:
    """Trial values travel through Ray and MLflow as JSON: refuse anything else early."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise StudyError(f"{where}: {value!r} is not a plain JSON value ({error})") from None


# ------------------------------------------------------------------------------------------ the plan


def profile_axes(study: StudySpec, profile: Profile) -> dict[str, list[Any]]:
    """The study's axes with the profile's replacements (``StudySpec`` checked that each replaces one)."""
    axes = {name: list(values) for name, values in {**study.axes, **profile.axes}.items()}
    for name, values in axes.items():
        check_plain(values, f"axis {name!r} of study {study.name!r}")
    return axes


def profile_base(
    study: StudySpec, profile_name: str, profile: Profile, extra: Mapping[str, Any], absolute_root: bool
) -> IPSConfig:
    """The study's base with the profile's overrides, then ``extra``; with ``absolute_root`` its dataset
    folder (``data.root``) made absolute and resolved, against the working directory."""
    changes = {**profile.overrides, **extra}
    check_plain(changes, f"overrides of profile {profile_name!r}")
    try:
        base = override(study.base, changes)
    except ConfigError as error:
        raise StudyError(f"study {study.name!r}, profile {profile_name!r}: {error}") from None
    root = getattr(base.data, "root", None)
    if not absolute_root or root is None:
        return base
    absolute = str(Path(root).expanduser().resolve())
    return (
        base
        if absolute == root
        else dataclasses.replace(base, data=dataclasses.replace(base.data, root=absolute))
    )


def resolve_seeds(profile_seeds: tuple[int, ...], seeds: int | None) -> tuple[int, ...]:
    if seeds is None:
        return tuple(profile_seeds)
    if seeds < 1:
        raise StudyError(f"--seeds {seeds}: give at least 1 seed")
    return tuple(range(seeds))


def expand_grid(study: StudySpec, base: IPSConfig, axes: dict[str, list[Any]], seeds: tuple[int, ...]):
    """Every grid point x every seed, each config built and validated."""
    trials: list[TrialSpec] = []
    names = list(axes)
    for values in itertools.product(*(axes[name] for name in names)):
        point = dict(zip(names, values, strict=True))
        for seed in seeds:
            changes = {**point_overrides(point), "seed": seed}
            index = len(trials)
            try:
                config = override(base, changes)
            except ConfigError as error:
                raise StudyError(
                    f"study {study.name!r}, trial {index} ({point_label(point)}, seed {seed}): {error}"
                ) from None
            trials.append(TrialSpec(index, point, seed, changes, config))
    return tuple(trials)


def check_search(study: StudySpec, base: IPSConfig, search: Search, seeds: tuple[int, ...]) -> None:
    """Every corner of the search space builds a valid config (``Search`` checked its own shape)."""
    fields = list(search.space)
    corners = [search.space[field].corners() for field in fields]
    check_plain(corners, f"search space of study {study.name!r}")
    for corner in search.corners():
        try:
            override(base, {**corner, "seed": seeds[0]})
        except ConfigError as error:
            label = " ".join(f"{field}={value}" for field, value in corner.items())
            raise StudyError(f"study {study.name!r}, search value ({label}): {error}") from None


def plan_study(
    study: StudySpec,
    profile_name: str = "paper",
    *,
    seeds: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    absolute_data_root: bool = False,
) -> Plan:
    """The validated plan of ``study`` under ``profile_name``; ``seeds`` replaces the profile's seeds by
    0..seeds-1; ``overrides`` (dotted) apply to every trial after the profile's (e.g. ``data.root``);
    ``absolute_data_root`` makes a relative dataset folder absolute (against the working directory:
    Ray's trials run elsewhere)."""
    profile = get_profile(study, profile_name)
    base = profile_base(study, profile_name, profile, overrides or {}, absolute_data_root)
    trial_seeds = resolve_seeds(profile.seeds if profile.seeds is not None else study.seeds, seeds)
    search = profile.search if profile.search is not None else study.search
    axes = profile_axes(study, profile)
    if search is not None:
        check_search(study, base, search, trial_seeds)
        trials: tuple[TrialSpec, ...] = ()
    else:
        trials = expand_grid(study, base, axes, trial_seeds)
    return Plan(study, profile_name, base, trial_seeds, axes, trials, search)


def check_scheduler(name: str, plan: Plan) -> None:
    if name not in SCHEDULERS:
        raise StudyError(f"--scheduler {name}: use one of {', '.join(SCHEDULERS)}")
    if name == "asha" and not plan.searched:
        raise StudyError(
            f"--scheduler asha: study {plan.study.name!r} is a grid, whose table needs every seed of "
            "every configuration to the last epoch; early stopping is for searched studies "
            "(e.g. low_data_search)"
        )
    if name == "asha" and plan.base.optimisation.epochs < 2:
        raise StudyError("--scheduler asha: the trials run 1 epoch; there is nothing to stop early")
