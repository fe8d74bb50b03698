"""The interval the end-of-study table prints beside the headline task's accuracy."""

import math

import pytest

from analysis.runner_table import wilson_interval


def test_wilson_interval_matches_the_textbook_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)  # never below 0
    assert wilson_interval(81, 100) == pytest.approx((0.7222, 0.8749), abs=1e-4)


def test_wilson_interval_of_no_images_is_unknown():
    assert all(math.isnan(bound) for bound in wilson_interval(0, 0))
