"""Megapixel MNIST canvases: determinism, labels that match the drawing, ratios, and input checks."""

import dataclasses
import gzip
import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ips.config import IPSConfig, MegapixelMNISTConfig, PatchConfig
from ips.data.megapixel_mnist import MegapixelMNIST, followup_noise_count
from ips.data.megapixel_mnist.__main__ import main

SMALL = dict(canvas_height=300, canvas_width=400, canvases=12, noise_count=60, noise_bank_size=100)


def build(split="train", canvases=5000, seed=0, noise_bank_size=1000, **fields):
    """The dataset of ``MegapixelMNISTConfig(**fields)`` with ``canvases`` per split and ``seed``."""
    config = MegapixelMNISTConfig(
        **fields, train_canvases=canvases, validation_canvases=canvases, data_seed=seed
    )
    return MegapixelMNIST(config, split, noise_bank_size=noise_bank_size)


def small(**changes):
    return build(**{**SMALL, **changes})


def fingerprint(dataset, index):
    """sha256 of a canvas' pixels and labels."""
    image, labels = dataset[index]
    digest = hashlib.sha256(image.numpy().tobytes())
    for task in sorted(labels):
        digest.update(labels[task].numpy().tobytes())
    return digest.hexdigest()


FINGERPRINT_SCRIPT = """
import hashlib
from ips.config import IPSConfig, MegapixelMNISTConfig, PatchConfig
from ips.data.megapixel_mnist import MegapixelMNIST
for noise, split in (("bezier", "train"), ("lines", "validation")):
    config = MegapixelMNISTConfig(canvas_height=300, canvas_width=400, train_canvases=12,
                                  validation_canvases=12, noise_count=60, noise=noise, data_seed=3)
    dataset = MegapixelMNIST(config, split, noise_bank_size=100)
    image, labels = dataset[5]
    digest = hashlib.sha256(image.numpy().tobytes())
    for task in sorted(labels):
        digest.update(labels[task].numpy().tobytes())
    print(digest.hexdigest())
"""


def test_same_canvas_is_bit_identical_in_another_process():
    here = [fingerprint(small(noise=noise, split=split, seed=3), 5)
            for noise, split in (("bezier", "train"), ("lines", "validation"))]  # fmt: skip
    there = subprocess.run(
        [sys.executable, "-c", FINGERPRINT_SCRIPT], capture_output=True, text=True, check=True
    ).stdout.split()
    assert there == here


def test_seed_split_and_index_change_the_canvas():
    reference = fingerprint(small(seed=0), 0)
    assert fingerprint(small(seed=0), 0) == reference
    assert fingerprint(small(seed=1), 0) != reference
    assert fingerprint(small(seed=0, split="validation"), 0) != reference
    assert fingerprint(small(seed=0), 1) != reference


def test_item_format_and_default_collation():
    dataset = small()
    image, labels = dataset[0]
    assert image.dtype == torch.float32 and image.shape == (1, 300, 400)
    assert image.min() == 0.0 and image.max() <= 1.0 and (image == 0).float().mean() > 0.5
    assert set(labels) == {"majority", "max", "top", "multi"}
    for task in ("majority", "max", "top"):
        assert labels[task].dtype == torch.int64 and labels[task].shape == ()
    assert labels["multi"].dtype == torch.float32 and labels["multi"].shape == (10,)
    images, batch = next(iter(DataLoader(dataset, batch_size=3)))
    assert images.shape == (3, 1, 300, 400) and batch["multi"].shape == (3, 10)
    with pytest.raises(IndexError):
        dataset[12]


@pytest.mark.parametrize("digit_size", [28, 50])
def test_labels_agree_with_what_was_drawn(digit_size):
    dataset = small(noise="none", digit_size=digit_size, canvases=40)
    for index in range(len(dataset)):
        layout = dataset.layout(index)
        image, labels = dataset[index]
        canvas = image[0].numpy()
        classes, positions = layout.classes, layout.digit_positions
        # The digits drawn are the pool digits of those classes, where the layout says, and nothing else.
        np.testing.assert_array_equal(dataset.digits.labels[layout.digit_indices], classes)
        covered = np.zeros_like(canvas, dtype=bool)
        for digit, (row, col) in zip(layout.digit_indices, positions, strict=True):
            window = np.s_[row : row + digit_size, col : col + digit_size]
            np.testing.assert_array_equal(canvas[window], dataset.digit_image(digit))
            assert not covered[window].any()  # no overlap
            covered[window] = True
        assert not canvas[~covered].any()
        # Three of one class, two of others, and the four labels re-derived here from scratch.
        values, counts = np.unique(classes, return_counts=True)
        majority = values[counts == 3]
        assert len(majority) == 1 and counts.max() == 3
        assert labels["majority"].item() == majority[0]
        assert labels["max"].item() == max(classes)
        highest = min(range(5), key=lambda i: (positions[i][0], positions[i][1]))
        assert labels["top"].item() == classes[highest]
        assert labels["multi"].tolist() == [float(c in classes) for c in range(10)]


def test_noise_is_drawn_first_and_digits_over_it():
    dataset = small(noise="bezier", noise_count=300, canvases=3)
    for index in range(3):
        layout = dataset.layout(index)
        canvas = dataset.render(layout)
        no_digits = dataclasses.replace(
            layout, digit_indices=layout.digit_indices[:0], digit_positions=layout.digit_positions[:0]
        )
        no_noise = dataclasses.replace(
            layout, noise_patterns=layout.noise_patterns[:0], noise_positions=layout.noise_positions[:0]
        )
        np.testing.assert_array_equal(canvas, np.maximum(dataset.render(no_digits), dataset.render(no_noise)))
        assert dataset.render(no_digits).any()


def test_digits_do_not_change_with_the_noise_settings():
    plain = small(noise="none").layout(4)
    for noise in ("bezier", "lines"):
        noisy = small(noise=noise, noise_thickness=2.6).layout(4)
        np.testing.assert_array_equal(noisy.digit_indices, plain.digit_indices)
        np.testing.assert_array_equal(noisy.digit_positions, plain.digit_positions)
    assert len(small(noise="bezier").layout(4).noise_patterns) == 60


def test_label_counts_match_the_rendered_labels():
    dataset = small(canvases=30, noise_count=10)
    counts = dataset.label_counts()
    expected = {task: dict.fromkeys(range(10), 0) for task in ("majority", "max", "top", "multi")}
    for index in range(len(dataset)):
        _, labels = dataset[index]
        for task in ("majority", "max", "top"):
            expected[task][labels[task].item()] += 1
        for present in labels["multi"].nonzero().flatten().tolist():
            expected["multi"][present] += 1
    assert counts == expected
    assert sum(counts["majority"].values()) == 30


def test_train_and_validation_use_their_own_pools():
    train, validation = small(split="train"), small(split="validation")
    assert len(train.digits) == 8000 and len(validation.digits) == 2000
    assert train.noise_bank().shape == (100, 28, 28)
    assert not np.array_equal(train.noise_bank(), validation.noise_bank())


@pytest.mark.parametrize(
    ("digit_size", "percent", "places"), [(28, 0.0087, 4), (56, 0.035, 3), (84, 0.078, 3), (112, 0.139, 3)]
)
def test_object_to_image_ratios_of_the_followup(digit_size, percent, places):
    data = MegapixelMNISTConfig(digit_size=digit_size, noise_count=followup_noise_count(digit_size))
    config = IPSConfig(data=data, patches=PatchConfig(size=50))
    assert round(100 * config.object_to_image_ratio, places) == percent
    assert config.object_to_image_ratio == digit_size**2 / 3000**2
    assert config.object_to_patch_ratio == digit_size**2 / 50**2


def test_followup_noise_counts():
    assert [followup_noise_count(size) for size in (28, 56, 84, 112)] == [800, 600, 400, 200]


def test_from_config_carries_every_parameter():
    config = MegapixelMNISTConfig(
        canvas_height=500, canvas_width=600, digit_size=40, train_canvases=7, validation_canvases=3,
        noise="lines", noise_count=11, noise_size=30, noise_thickness=2.2, data_seed=5,
    )  # fmt: skip
    train = MegapixelMNIST(config, "train")
    validation = MegapixelMNIST(config, "validation")
    assert (len(train), len(validation)) == (7, 3)
    assert (train.config.canvas_height, train.config.canvas_width, train.config.digit_size) == (500, 600, 40)
    assert (train.config.noise, train.config.noise_count, train.noise_size, train.config.noise_thickness) == (
        "lines",
        11,
        30,
        2.2,
    )
    assert (train.config.data_seed, train.split, validation.split) == (5, "train", "validation")
    assert MegapixelMNIST(MegapixelMNISTConfig(digit_size=56), "train").noise_size == 56


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(canvas_height=130, canvas_width=130), "digit_size: five 28-pixel digits cannot .* 138x138"),
        (dict(digit_size=500), "digit_size: 500 pixels is larger than the 300x400 canvas"),
        (dict(noise_size=301), "noise_size: 301 pixels is larger than the 300x400 canvas"),
        (dict(noise_thickness=0.0), "noise_thickness: got 0.0; the stroke thickness must be > 0"),
        (dict(noise_thickness=-1.5), "noise_thickness: got -1.5"),
        (dict(noise_count=-1), "noise_count: got -1; must be >= 0"),
        (dict(canvases=-5), "canvases: got -5; use a positive count"),
        (dict(noise="dots"), "noise: unknown noise kind 'dots'; use one of"),
        (dict(split="test"), "split: unknown split 'test'; use 'train' or 'validation'"),
        (dict(seed=-1), "seed: got -1; use a non-negative integer"),
        (dict(digit_size=0), "digit_size: got 0"),
        (dict(canvas_height=2.5), "canvas_height: got 2.5"),
    ],
)
def test_bad_input_raises_an_error_naming_the_parameter(changes, message):
    with pytest.raises(ValueError, match=message):
        small(**changes)


def test_bad_input_is_reported_before_any_work(tmp_path):
    # The MNIST folder does not exist, but the thickness is checked first.
    with pytest.raises(ValueError, match="noise_thickness"):
        small(noise_thickness=0, mnist_path=str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        small(mnist_path=str(tmp_path / "absent"))


def test_canvases_from_a_folder_of_mnist_idx_files(tmp_path):
    for prefix, count in (("train", 40), ("t10k", 30)):
        for kind, array in (("images", np.full((count, 28, 28), 200)), ("labels", np.arange(count) % 10)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
            path = tmp_path / f"{prefix}-{kind}-idx{array.ndim}-ubyte.gz"
            path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    config = MegapixelMNISTConfig(canvas_height=200, canvas_width=200, noise="none", mnist_path=str(tmp_path))
    validation = MegapixelMNIST(config, "validation")
    assert len(validation.digits) == 30
    image, _ = validation[0]
    assert (image > 0).sum() == 5 * 28 * 28  # five solid squares of grey 200
    assert image.max() == pytest.approx(200 / 255)


def test_smallest_canvas_that_fits_five_digits_generates():
    dataset = small(canvas_height=138, canvas_width=138, noise="none", canvases=20)
    for index in range(20):
        assert (dataset[index][0] > 0).sum() > 0


def test_stats_command_prints_the_numbers(capsys):
    main(["--stats", "--canvas", "500", "--digit-size", "28", "--noise-count", "50", "--patch-size", "50"])
    out = capsys.readouterr().out
    assert "labels: majority" in out and "object-to-image ratio: 0.3136%" in out
    assert "object-to-patch ratio: 31.36%" in out and "of 100 (" in out and "inked fraction" in out


def test_preview_command_writes_a_picture(tmp_path):
    path = tmp_path / "preview.png"
    main(["--preview", str(path), "--canvas", "600", "--digit-size", "56", "--noise", "lines"])
    with Image.open(path) as picture:
        assert picture.width >= 600 and picture.height > 600
        assert np.asarray(picture.convert("L")).std() > 5


def test_label_set_counts_agree_with_the_per_class_counts():
    dataset = build(canvas_height=300, canvas_width=300, digit_size=28, canvases=60, noise="none")
    sets = dataset.label_set_counts()["multi"]
    assert sum(sets.values()) == 60
    per_class = dict.fromkeys(range(10), 0)
    for key, count in sets.items():
        present = [int(label) for label in key.split(",")]
        assert 2 <= len(present) <= 3  # a majority class and one or two others
        for label in present:
            per_class[label] += count
    assert per_class == dataset.label_counts()["multi"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--canvas", "0"], "--height (or --canvas): got 0"),
        (["--height", "0"], "--height (or --canvas): got 0"),  # not silently replaced by --canvas
        (["--width", "-3"], "--width (or --canvas): got -3"),
        (["--digit-size", "0"], "--digit-size: got 0"),
        (["--digit-size", "900"], "--digit-size: 900 pixels is larger than the 500x500 canvas"),
        (["--noise", "dots"], "--noise: unknown noise kind 'dots'"),
        (["--noise-count", "-1"], "--noise-count: got -1"),
        (["--noise-size", "0"], "--noise-size: got 0"),
        (["--thickness", "nan"], "--thickness: got nan"),
        (["--seed", "-1"], "--seed: got -1"),
        (["--patch-size", "0"], "--patch-size: got 0"),
        (["--repeats", "0"], "--repeats: got 0; give an integer >= 1"),
        (["--index", "-1"], "--index: got -1"),
        (["--mnist-path", "/no/such/folder"], "is not a folder"),
        (["--preview", "/no/such/folder/a.png"], "give a .png file in an existing folder"),
        (["--canvas", "big"], "invalid int value: 'big'"),
    ],
)
def test_bad_flags_of_the_command_exit_2_naming_the_flag(arguments, message, capsys):
    action = [] if "--preview" in arguments else ["--stats"]
    with pytest.raises(SystemExit) as exit_status:
        main([*action, "--canvas", "500", *arguments])
    assert exit_status.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
