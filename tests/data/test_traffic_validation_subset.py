"""The authors' validation subset: ``int(count x fraction)`` images per class, the first in file order.

shared/paper/README.md item 12: the follow-up's code subsetted the validation set too, which gives the
paper's 169 / 341 / 684 validation images of Table 5. ``data.validation_subset="first_per_class"``
rebuilds that; ``"full"`` (the default) keeps the whole set.
"""

from __future__ import annotations

import warnings

import pytest

from ips.config import ConfigError, TrafficSignsConfig
from ips.data.traffic_signs import TrafficSigns, first_per_class

try:
    from tests.data.traffic_fixture import TrafficSignsFixture, make_traffic_signs_fixture
except ImportError:  # run from inside tests/data
    from traffic_fixture import TrafficSignsFixture, make_traffic_signs_fixture

pytestmark = pytest.mark.filterwarnings("ignore::ips.data.traffic_sign_annotations.AnnotationChecksumWarning")
SMALL = {"image_height": 120, "image_width": 160}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> TrafficSignsFixture:
    return make_traffic_signs_fixture(tmp_path_factory.mktemp("traffic_validation") / "signs")


def validation(fixture: TrafficSignsFixture, **changes) -> TrafficSigns:
    config = TrafficSignsConfig(root=str(fixture.root), data_seed=1, **{**SMALL, **changes})  # Set1 validates
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TrafficSigns.from_config(config, "validation")


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.3])
def test_the_validation_subset_keeps_the_first_int_count_x_fraction_of_each_class(fixture, fraction):
    whole = validation(fixture)  # the whole of Set1, in file order: 12 no sign, 4 each of 50, 70, 80
    subset = validation(fixture, fraction=fraction, validation_subset="first_per_class")
    assert whole.set_name == subset.set_name == "Set1"
    for label in range(4):
        members = [item.file for item in whole.items if item.label == label]
        kept = [item.file for item in subset.items if item.label == label]
        assert kept == members[: int(len(members) * fraction)], (label, fraction)
    assert [item.line_number for item in subset.items] == sorted(item.line_number for item in subset.items)


def test_the_whole_validation_set_stays_the_default(fixture):
    assert TrafficSignsConfig().validation_subset == "full"
    assert len(validation(fixture, fraction=0.25)) == 24  # the training fraction leaves validation whole


def test_the_training_set_keeps_its_seeded_stratified_subset(fixture):
    config = TrafficSignsConfig(
        root=str(fixture.root), fraction=0.5, validation_subset="first_per_class", **SMALL
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = TrafficSigns.from_config(config, "train")
    assert train.subset == "stratified" and len(train) == 12  # Set1 at 50%: 6 + 2 + 2 + 2


def test_rule_and_bad_values():
    assert first_per_class([0, 1, 0, 0, 1, 0], 0.5) == [0, 1, 2]  # 2 of 4 zeros, int(1.0) = 1 one
    assert first_per_class([0, 0, 0], 0.3) == []  # int(0.9) = 0: truncated, as the authors' code
    with pytest.raises(ConfigError, match="data.validation_subset: got 'last'"):
        TrafficSignsConfig(validation_subset="last")
