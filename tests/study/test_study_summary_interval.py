"""The interval the end-of-study table prints beside the headline task's accuracy."""

import math

import pytest

from study.summary import wilson_interval


def test_wilson_interval_matches_the_textbook_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)  # never below 0
    assert wilson_interval(81, 100) == pytest.approx((0.7222, 0.8749), abs=1e-4)


def test_wilson_interval_of_no_images_is_unknown():
    assert all(math.isnan(bound) for bound in wilson_interval(0, 0))


def test_one_seed_gets_its_wilson_interval_as_one_draw():
    from study.summary import Headline

    one = Headline("majority", (0.5,), (10,), chance=0.1)
    assert one.interval() == pytest.approx((0.5, 0.2366, 0.7634), abs=1e-4)


def test_several_seeds_get_the_t_interval_over_seeds_never_their_images_pooled():
    from study.summary import Headline

    seeds = Headline("majority", (0.3, 0.5, 0.4), (100, 100, 100), chance=0.06)
    # mean 0.4, sd 0.1, t(2) = 4.303: half-width 0.2484, where 300 pooled images would give 0.055
    assert seeds.interval() == pytest.approx((0.4, 0.1516, 0.6484), abs=1e-4)
    assert seeds.text() == "0.400 [0.152, 0.648] (chance 0.06)"
