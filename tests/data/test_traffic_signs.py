"""The Swedish Traffic Signs loader on a generated fixture in the published file format."""

from __future__ import annotations

import hashlib
import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ips.config import TrafficSignsConfig
from ips.data.patches import ImagePatches
from ips.data.traffic_sign_annotations import (
    PUBLISHED_MD5,
    AnnotationChecksumError,
    AnnotationChecksumWarning,
    AnnotationFormatError,
    check_annotation_checksum,
    parse_annotation_line,
)
from ips.data.traffic_signs import (
    TrafficSigns,
    TrafficSignsNotFoundError,
    random_shift,
    stratified_subset,
    translate,
)

try:  # `python -m pytest` (the Makefile) puts the repository on sys.path; plain `pytest` only tests/data
    from tests.data.traffic_fixture import TrafficSignsFixture, make_traffic_signs_fixture
except ModuleNotFoundError:
    from traffic_fixture import TrafficSignsFixture, make_traffic_signs_fixture

# The fixture's annotation files never have the published md5 sums; the checksum tests below check the
# warning itself.
pytestmark = pytest.mark.filterwarnings("ignore::ips.data.traffic_sign_annotations.AnnotationChecksumWarning")

SMALL = {"image_height": 120, "image_width": 160}
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)

# Hand-written from the fixture's drawings: which images each set must keep, with their labels.
EXPECTED = {
    "Set1": {
        "Image000001.jpg": 0,  # empty line
        "Image000002.jpg": 1,
        "Image000003.jpg": 0,  # MISC_SIGNS only
        "Image000005.jpg": 2,
        "Image000006.jpg": 0,
        "Image000007.jpg": 3,
        "Image000008.jpg": 1,  # 50 + PRIORITY_ROAD
        "Image000010.jpg": 0,
        "Image000011.jpg": 2,  # 70 + PASS_RIGHT_SIDE + GIVE_WAY
        "Image000012.jpg": 3,  # two 80 signs
        "Image000013.jpg": 0,
        "Image000014.jpg": 1,  # MISC + visible 50 + larger occluded 70
        "Image000016.jpg": 0,
        "Image000017.jpg": 2,  # side-road 50 + visible 70
        "Image000018.jpg": 3,  # 80 + 100
        "Image000019.jpg": 0,
        "Image000020.jpg": 1,  # large 50 + small 80, both visible
        "Image000022.jpg": 0,
        "Image000023.jpg": 2,  # 70 + larger blurred 80
        "Image000024.jpg": 3,  # small 70 + large 80, both visible
        "Image000026.jpg": 0,
        "Image000028.jpg": 0,
        "Image000029.jpg": 0,
        "Image000030.jpg": 0,
    },
    "Set2": {
        "Image001001.jpg": 3,
        "Image001002.jpg": 0,
        "Image001004.jpg": 1,
        "Image001005.jpg": 0,
        "Image001007.jpg": 0,
        "Image001008.jpg": 2,
        "Image001009.jpg": 2,
        "Image001010.jpg": 0,
        "Image001012.jpg": 1,
        "Image001013.jpg": 0,
        "Image001014.jpg": 3,
        "Image001016.jpg": 0,
    },
}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> TrafficSignsFixture:
    return make_traffic_signs_fixture(tmp_path_factory.mktemp("traffic") / "signs")


@pytest.fixture()
def fresh(tmp_path: Path) -> TrafficSignsFixture:
    """A fixture of its own, for tests that damage it."""
    return make_traffic_signs_fixture(tmp_path / "signs")


def config(fixture: TrafficSignsFixture, **changes) -> TrafficSignsConfig:
    return TrafficSignsConfig(root=str(fixture.root), **{**SMALL, **changes})


# ------------------------------------------------------------------------------------ which images


@pytest.mark.parametrize("set_name", ["Set1", "Set2"])
def test_keeps_and_labels_exactly_the_expected_images(fixture: TrafficSignsFixture, set_name: str) -> None:
    dataset = TrafficSigns(fixture.root, set_name, **SMALL)
    assert dict(zip(dataset.files, dataset.labels, strict=True)) == EXPECTED[set_name]
    assert dataset.files == list(EXPECTED[set_name])  # annotation order
    assert fixture.expected_labels(set_name) == EXPECTED[set_name]  # the fixture agrees with this list


def test_items_carry_the_labels(fixture: TrafficSignsFixture) -> None:
    dataset = TrafficSigns(fixture.root, "Set2", **SMALL)
    image, labels = dataset[0]
    assert image.dtype == torch.float32 and image.shape == (3, 120, 160)
    assert labels["sign"].dtype == torch.int64 and labels["sign"].shape == ()
    assert [int(dataset[i][1]["sign"]) for i in range(len(dataset))] == list(EXPECTED["Set2"].values())
    images, batch = next(iter(DataLoader(dataset, batch_size=4)))
    assert images.shape == (4, 3, 120, 160) and batch["sign"].tolist() == [3, 0, 1, 0]


def test_data_seed_chooses_which_set_trains(fixture: TrafficSignsFixture) -> None:
    for data_seed, (train_set, validation_set) in {0: ("Set1", "Set2"), 1: ("Set2", "Set1")}.items():
        train = TrafficSigns.from_config(config(fixture, data_seed=data_seed), "train")
        validation = TrafficSigns.from_config(config(fixture, data_seed=data_seed), "validation")
        assert train.files == list(EXPECTED[train_set])
        assert validation.files == list(EXPECTED[validation_set])


def test_label_counts_come_from_the_annotations_alone(fresh: TrafficSignsFixture) -> None:
    dataset = TrafficSigns(fresh.root, "Set1", **SMALL)
    for file in dataset.files:  # no image could be decoded now
        (fresh.root / "Set1" / file).write_bytes(b"not a jpeg")
    assert dataset.label_counts() == {"sign": {0: 12, 1: 4, 2: 4, 3: 4}}
    with pytest.raises(OSError):
        dataset[0]


# ---------------------------------------------------------------------------------------- bad input


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    fixture = make_traffic_signs_fixture(tmp_path / "signs", malformed_line=True)
    path, line = fixture.malformed
    with pytest.raises(AnnotationFormatError) as error:
        TrafficSigns(fixture.root, "Set1", **SMALL)
    assert f"{path}, line {line}:" in str(error.value)
    assert "6 comma-separated fields, not 7" in str(error.value)
    TrafficSigns(fixture.root, "Set2", **SMALL)  # the other set is fine


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Image1.jpg VISIBLE, 1, 2, 3, 4, PROHIBITORY, 50_SIGN;", "no 'FILE:'"),
        (":VISIBLE, 1, 2, 3, 4, PROHIBITORY, 50_SIGN;", "no 'FILE:'"),
        ("Image1.jpg:SHARP, 1, 2, 3, 4, PROHIBITORY, 50_SIGN;", "unknown visibility 'SHARP'"),
        ("Image1.jpg:VISIBLE, 1, 2, x, 4, PROHIBITORY, 50_SIGN;", "is not a number"),
        ("Image1.jpg:VISIBLE, 1, 2, 3, 4, PROHIBITORY, 50_SIGN, 9;", "8 comma-separated fields"),
        ("Image1.jpg:VISIBLE, 1, 2, 3, 4, , 50_SIGN;", "empty TYPE or NAME"),
    ],
)
def test_malformed_lines_are_rejected(line: str, problem: str) -> None:
    with pytest.raises(AnnotationFormatError, match="annotations.txt, line 7: ") as error:
        parse_annotation_line(line, Path("Set1/annotations.txt"), 7)
    assert problem in str(error.value)


def test_annotation_lines_parse_as_published() -> None:
    line = (
        "Image000004.jpg:MISC_SIGNS;VISIBLE, 616.957210, 718.303048, 580.957210, 679.303048, INFORMATION, "
        "PRIORITY_ROAD;OCCLUDED, 176.95243l, 725.05608, 139.698699, 691.424239, PROHIBITORY, 70_SIGN;"
    )
    annotation = parse_annotation_line(line, Path("annotations.txt"), 3)
    assert annotation.file == "Image000004.jpg" and annotation.misc_signs and annotation.line_number == 3
    assert [(s.visibility, s.kind, s.name) for s in annotation.signs] == [
        ("VISIBLE", "INFORMATION", "PRIORITY_ROAD"),
        ("OCCLUDED", "PROHIBITORY", "70_SIGN"),
    ]
    assert annotation.signs[1].box == (176.95243, 725.05608, 139.698699, 691.424239)  # stray 'l' ignored
    assert parse_annotation_line("Image1.jpg:", Path("a"), 1).signs == ()
    assert parse_annotation_line("   ", Path("a"), 2) is None


def test_missing_root_says_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(TrafficSignsNotFoundError) as error:
        TrafficSigns.from_config(TrafficSignsConfig(root=str(tmp_path / "nowhere")), "train")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message and "ROOT/Set1/annotations.txt" in message
    assert "Linköping University" in message and "Swedish Traffic Signs Dataset" in message
    assert "https://www.cvl.isy.liu.se/research/datasets/traffic-signs-dataset/" in message


def test_incomplete_folder_names_the_missing_parts(fresh: TrafficSignsFixture) -> None:
    shutil.rmtree(fresh.root / "Set2")
    (fresh.root / "Set1" / "annotations.txt").unlink()
    with pytest.raises(TrafficSignsNotFoundError, match="missing Set1/annotations.txt, the folder Set2/"):
        TrafficSigns.from_config(config(fresh), "validation")


def test_missing_images_are_named(fresh: TrafficSignsFixture) -> None:
    (fresh.root / "Set2" / "Image001008.jpg").unlink()
    (fresh.root / "Set2" / "Image001003.jpg").unlink()  # a dropped image: not needed
    with pytest.raises(TrafficSignsNotFoundError, match="1 of the 12 images .* Image001008.jpg"):
        TrafficSigns(fresh.root, "Set2", **SMALL)


def test_bad_split_is_refused(fixture: TrafficSignsFixture) -> None:
    with pytest.raises(ValueError, match="split must be 'train' or 'validation'"):
        TrafficSigns.from_config(config(fixture), "test")


# --------------------------------------------------------------------------------------- checksums


@pytest.mark.filterwarnings("default")
def test_checksum_mismatch_is_a_warning_naming_file_and_sums(fixture: TrafficSignsFixture) -> None:
    path = fixture.root / "Set1" / "annotations.txt"
    actual = hashlib.md5(path.read_bytes()).hexdigest()
    with pytest.warns(AnnotationChecksumWarning) as record:
        dataset = TrafficSigns(fixture.root, "Set1", **SMALL)
    message = str(record[0].message)
    assert "Set1/annotations.txt" in message and str(path) in message
    assert actual in message and PUBLISHED_MD5["Set1"] in message
    assert "not the annotation file of the published" in message
    assert not dataset.checksum_matches and len(dataset) == 24  # loading goes on


def test_strict_checksums_raise(fixture: TrafficSignsFixture) -> None:
    with pytest.raises(AnnotationChecksumError, match=PUBLISHED_MD5["Set2"]):
        TrafficSigns.from_config(config(fixture), "validation", strict_checksums=True)


def test_matching_checksum_is_silent(fixture: TrafficSignsFixture) -> None:
    contents = (fixture.root / "Set1" / "annotations.txt").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_annotation_checksum(
            contents, Path("Set1/annotations.txt"), hashlib.md5(contents).hexdigest()
        )
    assert PUBLISHED_MD5 == {
        "Set1": "9106a905a86209c95dc9b51d12f520d6",
        "Set2": "09debbc67f6cd89c1e2a2688ad1d03ca",
    }


# -------------------------------------------------------------------------------------- data fraction


def test_stratified_subsets_keep_the_proportions_and_the_seed(fixture: TrafficSignsFixture) -> None:
    def train(fraction: float, data_seed: int = 0) -> TrafficSigns:
        return TrafficSigns.from_config(config(fixture, fraction=fraction, data_seed=data_seed), "train")

    quarter, half, full = train(0.25), train(0.5), train(1.0)
    assert quarter.label_counts() == {"sign": {0: 3, 1: 1, 2: 1, 3: 1}}  # 50% / 16.7% x 3, as Set1
    assert half.label_counts() == {"sign": {0: 6, 1: 2, 2: 2, 3: 2}}
    assert full.files == list(EXPECTED["Set1"])
    assert train(0.25).files == quarter.files  # the same seed, the same subset
    assert train(0.25, data_seed=2).files != quarter.files  # another seed (Set1 trains again)
    assert set(quarter.files) <= set(half.files)  # nested
    assert all(
        EXPECTED["Set1"][file] == label for file, label in zip(quarter.files, quarter.labels, strict=True)
    )
    assert len(TrafficSigns.from_config(config(fixture, fraction=0.25), "validation")) == 12  # whole set


def test_stratified_subset_rounds_each_class() -> None:
    labels = [0] * 200 + [1] * 67 + [2] * 67 + [3] * 66
    subset = stratified_subset(labels, 0.25, seed=5)
    assert Counter(labels[i] for i in subset) == {0: 50, 1: 17, 2: 17, 3: 17}  # 16.75 and 16.5 round up
    assert subset == sorted(set(subset)) and subset == stratified_subset(labels, 0.25, seed=5)
    assert stratified_subset([0, 0, 0, 1], 0.25, seed=0) in ([0, 3], [1, 3], [2, 3])  # at least one per class
    with pytest.raises(ValueError, match="fraction"):
        stratified_subset(labels, 0.0, seed=0)


# ----------------------------------------------------------------------------------- image pipeline


def test_resize_to_1200_by_1600_and_imagenet_normalisation(fixture: TrafficSignsFixture) -> None:
    dataset = TrafficSigns.from_config(TrafficSignsConfig(root=str(fixture.root)), "validation")
    image, _ = dataset[0]
    assert image.shape == (3, 1200, 1600) and image.dtype == torch.float32
    with Image.open(fixture.root / "Set2" / dataset.files[0]) as jpeg:
        assert jpeg.size == (160, 120)
        expected = np.asarray(jpeg.convert("RGB").resize((1600, 1200), Image.Resampling.BILINEAR))
    expected = torch.from_numpy(expected.copy()).permute(2, 0, 1).float() / 255
    torch.testing.assert_close(image * STD + MEAN, expected, atol=1e-5, rtol=0)
    sky = image[:, :50, :50].mean(dim=(1, 2)) * STD.flatten() + MEAN.flatten()
    torch.testing.assert_close(sky, torch.tensor([151 / 255, 190 / 255, 230 / 255]), atol=0.02, rtol=0)


def test_augmentation_only_on_training_images(fixture: TrafficSignsFixture) -> None:
    plain = TrafficSigns(fixture.root, "Set1", **SMALL)
    train = TrafficSigns.from_config(config(fixture, augment=True), "train")
    validation = TrafficSigns.from_config(config(fixture, augment=True, data_seed=1), "validation")
    unaugmented = TrafficSigns.from_config(config(fixture, augment=False), "train")
    assert train.augment and not validation.augment and not unaugmented.augment
    for index in (0, 5):
        reference = plain[index][0]
        assert not torch.equal(train[index][0], reference)
        assert torch.equal(validation[index][0], reference)  # Set1 validates for data_seed 1
        assert torch.equal(unaugmented[index][0], reference)


def test_augmentation_draws_from_torchs_global_rng(fixture: TrafficSignsFixture) -> None:
    train = TrafficSigns.from_config(config(fixture, augment=True), "train")
    torch.manual_seed(7)
    first = train[3][0]
    assert not torch.equal(train[3][0], first)  # new draws at every visit...
    torch.manual_seed(7)
    assert torch.equal(train[3][0], first)  # ...from torch's global RNG


def test_translation_moves_pixels_and_fills_with_black() -> None:
    image = torch.arange(2 * 4 * 5, dtype=torch.float32).view(2, 4, 5) + 1
    shifted = translate(image, 1, -2)  # down 1, left 2
    assert torch.equal(shifted[:, 1:, :3], image[:, :3, 2:])
    assert (shifted[:, 0] == 0).all() and (shifted[:, :, 3:] == 0).all()
    generator = torch.Generator().manual_seed(0)
    shifts = torch.tensor([random_shift(1200, 1600, generator) for _ in range(400)])
    assert shifts.abs().max() == 100 and shifts.abs().max(dim=0).values.min() >= 95


def test_patch_75_on_1200_by_1600_is_a_16_by_22_grid_padded_at_the_right(
    fixture: TrafficSignsFixture,
) -> None:
    image, _ = TrafficSigns.from_config(TrafficSignsConfig(root=str(fixture.root)), "validation")[0]
    patches = ImagePatches(image.unsqueeze(0), 75)
    assert (patches.rows, patches.columns, patches.num_patches) == (16, 22, 352)
    last_column = patches.take(torch.tensor([21, 15 * 22 + 21]))[0]  # top-right, bottom-right [2, 3, 75, 75]
    assert torch.equal(last_column[0, :, :, :25], image[:, :75, 1575:])
    assert torch.equal(last_column[1, :, :, :25], image[:, 1125:, 1575:])  # 16 x 75 = 1200: no bottom padding
    assert (last_column[:, :, :, 25:] == 0).all()  # 50 columns of zero padding at the right
    inner = patches.take(torch.tensor([3 * 22 + 7]))[0, 0]
    assert torch.equal(inner, image[:, 225:300, 525:600])
