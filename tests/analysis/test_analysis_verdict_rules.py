"""The verdict rules at the seed noise the cpu runs showed (SD 0.15 of accuracy between seeds, 3 seeds).

Each rule gets a synthetic study with a known truth written to a real MLflow store and read back
(``load_study``); its replications redraw every trial's final accuracies from the same rule with new
seed noise, in memory, and are judged by the same checks:

- no effect of the patch size: neither patch finding says "holds" in more than 5% of replications;
- a data-size effect with no interaction (the same gain at both ratios): the interaction says
  "holds" in at most 5% of replications;
- memory rising on Maj, Max and Top with Multi at chance (small noise): "holds", where the old
  every-task rule said "does not hold".
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from synthetic_studies import labels, memory_study, o2i_rule, o2i_study, patch_rule, patch_study

from analysis.chance import study_chance
from analysis.findings import memory_size, o2i_data_interaction, object_to_patch, patch_size_claim
from analysis.runs import LoggedStudy, load_study
from analysis.verdicts import HOLDS
from study import tracking

SEED_SD = 0.15
REPLICATIONS = 100
FALSE_HOLDS = 0.05


def replicate(study: LoggedStudy, rule, fields: list[str], rng: np.random.Generator) -> LoggedStudy:
    """``study`` with every trial's final-epoch accuracies redrawn: ``rule`` + N(0, SEED_SD), in [0, 1]."""
    history = study.history.copy()
    last = history.groupby("run_id")["step"].transform("max") == history["step"]
    points = study.trials.set_index("run_id")[fields].to_dict("index")
    for task in study.tasks:
        for split in tracking.SPLITS:
            rows = last & (history["metric"] == tracking.accuracy_metric(split, task.name))
            means = [rule(points[run], split, task.name) for run in history.loc[rows, "run_id"]]
            draws = np.clip(np.array(means) + rng.normal(0, SEED_SD, len(means)), 0, 1)
            history.loc[rows, "value"] = draws
    return dataclasses.replace(study, history=history)


def holds_rate(study: LoggedStudy, rule, fields: list[str], check) -> float:
    fixed = dataclasses.replace(study, chance_levels=study_chance(study))  # the labels do not change
    rng = np.random.default_rng(11)
    verdicts = [check(replicate(fixed, rule, fields, rng)).verdict for _ in range(REPLICATIONS)]
    return verdicts.count(HOLDS) / REPLICATIONS


@pytest.fixture(scope="module")
def flat_patch_study(new_store) -> LoggedStudy:
    builder = new_store("flat_patch")
    patch_study(builder, falls=None, sd=SEED_SD, losses=False)  # no effect of the patch size
    return load_study("patch_size_low_data", builder.uri)


@pytest.mark.parametrize("check", [object_to_patch, patch_size_claim], ids=["object-to-patch", "claim"])
def test_no_effect_of_the_patch_size_rarely_holds(flat_patch_study, check):
    assert check(flat_patch_study).verdict != HOLDS  # the study in the store itself
    rate = holds_rate(flat_patch_study, patch_rule(None), ["patches.size"], check)
    assert rate <= FALSE_HOLDS, f"holds in {rate:.1%} of {REPLICATIONS} replications"


def test_a_data_size_effect_without_interaction_rarely_holds(new_store):
    builder = new_store("o2i_no_interaction")
    o2i_study(builder, "data only", sd=SEED_SD)
    study = load_study("o2i_data_size", builder.uri)
    assert o2i_data_interaction(study).verdict != HOLDS
    rule = o2i_rule("data only", labels())
    rate = holds_rate(study, rule, ["data.digit_size", "data.train_canvases"], o2i_data_interaction)
    assert rate <= FALSE_HOLDS, f"holds in {rate:.1%} of {REPLICATIONS} replications"


def test_memory_rising_on_three_tasks_with_multi_at_chance_holds(new_store):
    builder = new_store("memory_multi_at_chance")
    memory_study(builder, rise=0.06, multi_at_chance=True)
    finding = memory_size(load_study("memory_size", builder.uri))
    assert finding.verdict == HOLDS, finding.reason
