"""The digit pools: the shipped file's integrity, the fixed disjoint split, and MNIST IDX folders."""

import gzip
import hashlib

import numpy as np
import pytest

from ips.data.mnist_digits import (
    SHIPPED_DIGITS,
    SHIPPED_SHA256,
    load_digit_pools,
    load_idx_pool,
    load_shipped_pools,
    read_idx,
    resize_square,
)

README_SHA256 = "0217e13bd0668deb198aa7d305edbf0331eb89f8a6e7dd226e03d1aa3a9bd4ef"  # shared/data/README.md


def write_idx(path, array, compress=False):
    """An unsigned-byte IDX file (the MNIST format) holding ``array``."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)


def write_mnist_folder(folder, train=40, validation=30, compress=False):
    """Small fake MNIST IDX files whose pixel 0 records (file, index), so every digit is unique."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count, marker in (("train", train, 1), ("t10k", validation, 2)):
        images = np.zeros((count, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = marker
        images[:, 0, 1] = np.arange(count)
        labels = np.arange(count) % 10
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)


def test_shipped_file_matches_the_recorded_sha256():
    digest = hashlib.sha256(SHIPPED_DIGITS.read_bytes()).hexdigest()
    assert digest == SHIPPED_SHA256 == README_SHA256


def test_shipped_pools_are_the_documented_split():
    pools = load_digit_pools()
    train, validation = pools["train"], pools["validation"]
    assert (len(train), len(validation)) == (8000, 2000)
    assert (validation.source_indices % 5 == 4).all() and (train.source_indices % 5 != 4).all()
    assert train.images.shape == (8000, 28, 28) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64
    for pool in (train, validation):
        counts = np.bincount(pool.labels, minlength=10)
        assert counts.min() >= 150, counts  # every class in both pools
        for c in range(10):
            assert (pool.labels[pool.by_class[c]] == c).all()


def test_train_and_validation_pools_share_no_digit():
    train, validation = load_digit_pools()["train"], load_digit_pools()["validation"]
    assert not set(train.source_indices.tolist()) & set(validation.source_indices.tolist())
    train_bytes = {image.tobytes() for image in train.images}
    assert not any(image.tobytes() in train_bytes for image in validation.images)


def test_pools_are_loaded_once_per_process():
    assert load_digit_pools() is load_digit_pools(None)


def test_corrupt_shipped_file_is_refused(tmp_path):
    copy = tmp_path / SHIPPED_DIGITS.name
    data = bytearray(SHIPPED_DIGITS.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt.*sha256.*git checkout"):
        load_shipped_pools(copy)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_shipped_pools(tmp_path / "absent.npz")


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_train_file_trains_and_t10k_validates(tmp_path, compress):
    write_mnist_folder(tmp_path, compress=compress)
    pools = load_digit_pools(tmp_path)
    train, validation = pools["train"], pools["validation"]
    assert (len(train), len(validation)) == (40, 30)
    assert (train.images[:, 0, 0] == 1).all() and (validation.images[:, 0, 0] == 2).all()
    assert train.source == "train-images-idx3-ubyte" and validation.source == "t10k-images-idx3-ubyte"
    np.testing.assert_array_equal(train.labels, np.arange(40) % 10)


def test_idx_files_are_found_in_a_torchvision_root(tmp_path):
    write_mnist_folder(tmp_path / "MNIST" / "raw")
    assert len(load_digit_pools(tmp_path)["validation"]) == 30


def test_missing_idx_files_name_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder.*train-images-idx3-ubyte"):
        load_digit_pools(tmp_path / "nowhere")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no train-labels-idx1-ubyte.*t10k-images-idx3-ubyte.*None"):
        load_idx_pool(tmp_path, "train")


def test_corrupt_idx_files_are_refused(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(bad_magic)
    truncated = tmp_path / "truncated"
    write_idx(truncated, np.zeros((3, 28, 28), dtype=np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(truncated)
    mismatched = tmp_path / "mismatched"
    write_mnist_folder(mismatched)
    write_idx(mismatched / "train-labels-idx1-ubyte", np.arange(39) % 10)
    with pytest.raises(ValueError, match="do not match"):
        load_idx_pool(mismatched, "train")


def test_a_pool_needs_three_digits_of_every_class(tmp_path):
    write_mnist_folder(tmp_path, validation=25)  # classes 5 to 9 have two digits each
    with pytest.raises(ValueError, match="fewer than 3 of class \\[5, 6, 7, 8, 9\\]"):
        load_idx_pool(tmp_path, "validation")


def test_resize_square_keeps_range_and_size():
    digit = load_digit_pools()["train"].images[0].astype(np.float32) / 255
    assert np.array_equal(resize_square(digit, 28), digit)
    for size in (14, 56, 112):
        scaled = resize_square(digit, size)
        assert scaled.shape == (size, size) and scaled.dtype == np.float32
        assert 0.0 <= scaled.min() and scaled.max() <= 1.0
        assert abs(scaled.mean() - digit.mean()) < 0.02  # scaling keeps the ink per area
