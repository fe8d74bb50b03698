"""MNIST digits for Megapixel MNIST: the 10,000 shipped with the package, or the full MNIST from IDX files.

Train and validation canvases draw their digits from two disjoint pools, split one fixed way:

- shipped (``mnist_digits_10k.npz``, see ``PROVENANCE.md``): digit ``i`` of the file is a validation
  digit if ``i % 5 == 4`` and a training digit otherwise. The file is sorted by class, so this takes
  every fifth digit of each class: 8,000 training and 2,000 validation digits, about 200 per class.
- full MNIST (``mnist_path``, a folder of the IDX files): the MNIST training file is the training pool
  (60,000 digits) and the MNIST test file ``t10k`` the validation pool (10,000 digits).

Digits are scaled from 28 pixels to the canvas' digit size by ``resize_square``, a fixed bicubic filter
computed in floating point by Pillow, so a scaled digit is the same on every machine.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

SHIPPED_DIGITS = Path(__file__).with_name("mnist_digits_10k.npz")
SHIPPED_SHA256 = "0217e13bd0668deb198aa7d305edbf0331eb89f8a6e7dd226e03d1aa3a9bd4ef"
SHIPPED_VALIDATION_EVERY = 5  # digit i is a validation digit if i % 5 == 4

# (images, labels) file names per split, as torchvision keeps them under MNIST/raw/ (optionally .gz).
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "validation": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DIGIT_PIXELS = 28
CLASSES = 10
MIN_DIGITS_PER_CLASS = 3  # a canvas shows three different digits of its majority class


@dataclass(frozen=True)
class DigitPool:
    """The digits one split may use: ``images`` [N, 28, 28] uint8, ``labels`` [N] int64.

    ``source`` names the file they came from and ``source_indices`` [N] their positions in it, so that
    two pools can be checked to share no digit.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str
    source_indices: np.ndarray
    by_class: tuple[np.ndarray, ...] = field(init=False, repr=False)  # class -> indices into the pool

    def __post_init__(self) -> None:
        by_class = tuple(np.flatnonzero(self.labels == c) for c in range(CLASSES))
        scarce = [c for c, members in enumerate(by_class) if len(members) < MIN_DIGITS_PER_CLASS]
        if scarce:
            raise ValueError(
                f"the digits of {self.source} have fewer than {MIN_DIGITS_PER_CLASS} of class {scarce}; "
                "use the full MNIST files"
            )
        object.__setattr__(self, "by_class", by_class)

    def __len__(self) -> int:
        return len(self.labels)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """A float32 [h, w] image in [0, 1] resized to [size, size] (bicubic, clipped back into [0, 1])."""
    if image.shape == (size, size):
        return image.astype(np.float32, copy=False)
    resized = Image.fromarray(image.astype(np.float32, copy=False), mode="F").resize(
        (size, size), Image.Resampling.BICUBIC
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


# --------------------------------------------------------------------------------- shipped digits


def load_shipped_pools(path: Path = SHIPPED_DIGITS) -> dict[str, DigitPool]:
    """The shipped 10,000 digits split into train / validation pools, after checking their sha256."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; restore it with `git checkout -- ips/data/{path.name}`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHIPPED_SHA256:
        raise ValueError(
            f"{path} is corrupt: sha256 {digest}, expected {SHIPPED_SHA256}; "
            f"restore it with `git checkout -- ips/data/{path.name}`"
        )
    with np.load(path) as archive:
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    indices = np.arange(len(labels))
    is_validation = indices % SHIPPED_VALIDATION_EVERY == SHIPPED_VALIDATION_EVERY - 1
    return {
        split: DigitPool(images[chosen], labels[chosen], path.name, indices[chosen])
        for split, chosen in (("train", ~is_validation), ("validation", is_validation))
    }


# ------------------------------------------------------------------------------------ MNIST IDX


def _expected_files() -> str:
    names = [name for pair in IDX_FILES.values() for name in pair]
    return ", ".join(f"{name}[.gz]" for name in names)


def _find_idx_file(folder: Path, name: str) -> Path:
    """``folder/name`` or ``folder/name.gz``, also looked for under ``folder/MNIST/raw`` (torchvision)."""
    for directory in (folder, folder / "MNIST" / "raw"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"mnist_path {folder} has no {name}[.gz]; it must hold the MNIST IDX files {_expected_files()} "
        "(directly or under MNIST/raw/, as torchvision downloads them), or set mnist_path to None "
        "to use the 10,000 digits shipped with the package"
    )


def read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte IDX file (the MNIST format), gzipped or not, as a uint8 array of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ValueError(f"{path} cannot be read ({error}); download MNIST again") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (bad magic number); download MNIST again")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(
            f"{path} holds {len(data) - header} bytes of data but its header promises shape {shape}; "
            "the file is truncated or corrupt, download MNIST again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_idx_pool(folder: Path, split: str) -> DigitPool:
    """One split's pool from MNIST IDX files: the train file for training, t10k for validation."""
    image_name, label_name = IDX_FILES[split]
    image_path, label_path = _find_idx_file(folder, image_name), _find_idx_file(folder, label_name)
    images, labels = read_idx(image_path), read_idx(label_path).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_PIXELS, DIGIT_PIXELS) or labels.ndim != 1:
        raise ValueError(f"{folder}/{image_name} does not hold 28x28 images; download MNIST again")
    if len(images) != len(labels) or labels.max(initial=0) >= CLASSES:
        raise ValueError(
            f"{folder}: {image_name} ({len(images)} images) and {label_name} ({len(labels)} labels in "
            "0..9) do not match; download MNIST again"
        )
    return DigitPool(images, labels, image_name, np.arange(len(labels)))


# ------------------------------------------------------------------------------------------- reuse

SHIPPED_DIGITS_COUNT = 10_000
SHIPPED_POOL_SIZES = {  # digit i of the shipped file validates if i % 5 == 4
    "train": SHIPPED_DIGITS_COUNT - SHIPPED_DIGITS_COUNT // SHIPPED_VALIDATION_EVERY,
    "validation": SHIPPED_DIGITS_COUNT // SHIPPED_VALIDATION_EVERY,
}
DIGITS_PER_CANVAS = 5


def digit_reuse(train_canvases: int, validation_canvases: int, mnist_path: str | None) -> str | None:
    """A sentence saying how often each shipped digit is drawn, or None when no digit is reused.

    With the shipped digits, ``5 x canvases`` draws come from 8,000 training (2,000 validation) digits:
    above one draw per digit the same digit images recur across canvases (the follow-up drew from the
    full MNIST, 60,000 training digits; shared/paper/README.md item 9). With ``mnist_path`` None is
    returned: the full MNIST is not reused at the paper's sizes.
    """
    if mnist_path is not None:
        return None
    train = DIGITS_PER_CANVAS * train_canvases / SHIPPED_POOL_SIZES["train"]
    validation = DIGITS_PER_CANVAS * validation_canvases / SHIPPED_POOL_SIZES["validation"]
    if max(train, validation) <= 1:
        return None
    return (
        f"digits reused: each of the 10,000 shipped MNIST digits is drawn about {train:.1f} times in "
        f"training, {validation:.1f} in validation (the paper drew from the full MNIST); set "
        "data.mnist_path to a folder of the MNIST IDX files to use it"
    )


# ----------------------------------------------------------------------------------------- entry


@functools.lru_cache(maxsize=4)
def _cached_pools(folder: str | None) -> dict[str, DigitPool]:
    if folder is None:
        return load_shipped_pools()
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(
            f"mnist_path {folder} is not a folder; give a folder holding {_expected_files()}, "
            "or set mnist_path to None to use the 10,000 digits shipped with the package"
        )
    return {split: load_idx_pool(path, split) for split in IDX_FILES}


def load_digit_pools(mnist_path: str | Path | None = None) -> dict[str, DigitPool]:
    """{"train": DigitPool, "validation": DigitPool}, loaded once per process and folder.

    ``mnist_path=None`` uses the shipped 10,000 digits; otherwise a folder of MNIST IDX files.
    """
    folder = None if mnist_path is None else str(Path(mnist_path).expanduser().resolve())
    return _cached_pools(folder)
