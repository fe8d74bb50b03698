"""Every ``cpu`` profile is a study a laptop can finish and a verdict can come from: at least three seeds
(no verdict rests on fewer) and a dry-run estimate of at most 150 minutes on 2 CPU cores (one trial per
core, as ``python -m study.run`` runs them there); and its note says what its trials run."""

from __future__ import annotations

import dataclasses
import re

import pytest

from search_spaces import STUDIES
from study.dry_run import plan_seconds
from study.plan import plan_study

CPU_STUDIES = sorted(name for name, study in STUDIES.items() if "cpu" in study.profiles)


@pytest.mark.parametrize("name", CPU_STUDIES)
def test_cpu_profile_runs_three_seeds_within_150_minutes_on_two_cores(name):
    plan = plan_study(STUDIES[name], "cpu")
    seeds = set(plan.seeds)
    assert len(seeds) >= 3, f"{name} cpu runs seeds {sorted(seeds)}: a verdict needs at least 3"
    minutes = plan_seconds(plan, cpus=1, gpus=0, concurrent=2) / 60
    assert minutes <= 150, f"{name} cpu: the dry run estimates {minutes:.0f} minutes on 2 cores"


def _number(value) -> str:
    """A value as a note writes it: 1,500 for 1500, 1.8 for 1.8."""
    if isinstance(value, float) and value.is_integer() and value < 1000:
        return f"{value:.1f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _says(note: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w.,]){re.escape(phrase.lower())}(?![\w]|[.,]\d)", note.lower()) is not None


RENDERER_WORDS = {"followup_published": "published renderer", "real_valued": "real-valued"}


def note_mismatches(note: str, configs: list, varied: set[str], seeds: int) -> list[str]:
    """What the note leaves unsaid or gets wrong about the trials it describes (empty: none)."""
    wrong: list[str] = []

    def require(phrase: str, what: str) -> None:
        if not _says(note, phrase):
            wrong.append(f"the note does not say {phrase!r} ({what})")

    def fixed(field: str) -> object | None:
        values = {_field(c, field) for c in configs}
        return values.pop() if field not in varied and len(values) == 1 else None

    renderers = {c.data.renderer for c in configs}
    for renderer, words in RENDERER_WORDS.items():
        if renderer in renderers:
            require(words, f"the trials run data.renderer = {renderer!r}")
        elif _says(note, words):
            wrong.append(f"the note says {words!r} but no trial runs data.renderer = {renderer!r}")
    require(f"{seeds} seeds", "the number of seeds")
    for epochs in sorted({c.optimisation.epochs for c in configs}):
        require(f"{epochs} epochs", "optimisation.epochs")
    checks = {
        "selection.memory_size": "memory {}",
        "patches.size": "patch {}",
        "data.canvas_height": "{}-pixel canvases",
        "data.digit_size": "{}-pixel digits",
        "data.train_canvases": "{} training",
        "data.validation_canvases": "{} validation",
    }
    for field, phrase in checks.items():
        value = fixed(field)
        if value is not None:
            require(phrase.format(_number(value)), field)
    noise = fixed("data.noise_count")
    if noise == 0 and not (_says(note, "clean") or _says(note, "without noise")):
        wrong.append("the canvases have no noise and the note does not say 'clean'")
    elif noise:
        require(f"{noise} curves", "data.noise_count")
    for field in sorted(varied):  # a grid's values (a search's are drawn as it runs)
        for value in sorted({_field(c, field) for c in configs} if len(configs) > 1 else ()):
            require(_number(value), f"a value of the varied {field}")
    return wrong


def _field(config, dotted: str):
    value = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize("name", CPU_STUDIES)
def test_cpu_profile_note_says_what_its_trials_run(name):
    plan = plan_study(STUDIES[name], "cpu")
    configs = [trial.config for trial in plan.trials] or [plan.base]
    varied = set(plan.varied_fields) & {f for f in _all_fields(configs[0])}
    wrong = note_mismatches(STUDIES[name].profiles["cpu"].note, configs, varied, len(set(plan.seeds)))
    assert not wrong, f"{name} cpu: " + "; ".join(wrong)


def _all_fields(config, prefix: str = "") -> list[str]:
    fields = []
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            fields += _all_fields(value, f"{prefix}{item.name}.")
        else:
            fields.append(prefix + item.name)
    return fields


def test_the_note_check_catches_a_note_that_names_the_wrong_renderer_epochs_or_seeds():
    plan = plan_study(STUDIES["noise_thickness"], "cpu")
    configs = [trial.config for trial in plan.trials]
    varied = {"data.noise_thickness"}
    note = STUDIES["noise_thickness"].profiles["cpu"].note
    assert note_mismatches(note, configs, varied, 4) == []
    real = [dataclasses.replace(c, data=dataclasses.replace(c.data, renderer="real_valued")) for c in configs]
    assert any("published renderer" in w for w in note_mismatches(note, real, varied, 4))
    assert any("3 seeds" in w for w in note_mismatches(note, configs, varied, 3))
    assert any(
        "epochs" in w for w in note_mismatches(note.replace("40 epochs", "forty epochs"), configs, varied, 4)
    )
    assert any("3.0" in w for w in note_mismatches(note.replace("3.0", "three"), configs, varied, 4))
