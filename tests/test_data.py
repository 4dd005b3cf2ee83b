import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from edgeseq import data
from edgeseq.core.errors import DataError


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x803 if array.ndim == 3 else 0x801
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, n_train: int = 20, n_test: int = 10, gz: bool = True, **override: bytes) -> Path:
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28)), "y_train": rng.integers(0, 10, n_train),
              "x_test": rng.integers(0, 256, (n_test, 28, 28)), "y_test": rng.integers(0, 10, n_test)}
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        payload = override.get(key, idx_bytes(arr))
        name = data.IDX_NAMES[key][0]
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / name).write_bytes(payload)
    return folder


def test_sample_is_stratified_real_mnist(sample):
    assert sample.x_train.shape == (6000, 28, 28) and sample.x_test.shape == (1000, 28, 28)
    assert sample.x_train.dtype == np.float32 and 0.0 <= sample.x_train.min() and sample.x_train.max() == 1.0
    assert np.bincount(sample.y_train).tolist() == [600] * 10
    assert np.bincount(sample.y_test).tolist() == [100] * 10
    identity = sample.identity()
    assert identity["name"] == "sample" and identity["train_count"] == 6000
    assert len(identity["sha256"]["mnist-sample.npz"]) == 64


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_gzipped_and_raw(tmp_path, gz):
    ds = data.load(write_idx_folder(tmp_path / "idx", gz=gz))
    assert ds.x_train.shape == (20, 28, 28) and ds.y_test.shape == (10,)
    assert ds.x_train.dtype == np.float32 and ds.x_train.max() <= 1.0
    assert len(ds.identity()["sha256"]) == 4


def test_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), y_train=np.arange(5),
             x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), y_test=np.arange(3))
    ds = data.load(path)
    assert ds.identity()["train_count"] == 5 and ds.identity()["test_count"] == 3
    assert data.load(tmp_path).identity()["train_count"] == 5  # a folder holding mnist.npz


@pytest.mark.parametrize("override, message", [
    ({"x_train": b"\x00\x00\x08\x01" + b"\x00" * 20}, "wrong magic number"),
    ({"y_test": idx_bytes(np.arange(10) % 10)[:-3]}, "truncated"),
    ({"x_test": idx_bytes(np.zeros((10, 28, 27)))}, "expected 28x28"),
    ({"y_train": idx_bytes(np.full(20, 12))}, "labels out of range"),
    ({"y_train": idx_bytes(np.zeros(19))}, "20 train images but 19 labels"),
    ({"x_train": b"\x00\x00"}, "too short"),
])
def test_bad_idx_files(tmp_path, override, message):
    with pytest.raises(DataError, match=message):
        data.load(write_idx_folder(tmp_path / "bad", **override))


def test_corrupt_gzip(tmp_path):
    folder = write_idx_folder(tmp_path / "gz")
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        data.load(folder)


def test_missing_and_unknown_paths(tmp_path):
    with pytest.raises(DataError, match="not found"):
        data.load(tmp_path / "nowhere")
    with pytest.raises(DataError, match="has no train-images"):
        data.load(tmp_path)
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DataError, match="neither"):
        data.load(tmp_path / "x.txt")


@pytest.mark.parametrize("bad, message", [
    (np.full((2, 28, 28), np.nan), "NaN or infinite"),
    (np.full((2, 28, 28), 300.0), "outside 0..255"),
])
def test_float_pixels_checked(bad, message):
    with pytest.raises(DataError, match=message):
        data.to_model_input(bad)


def test_npz_missing_arrays_and_pickles_refused(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="lacks the arrays"):
        data.load(path)
    np.savez(path, x_train=np.array([{"a": 1}], dtype=object), y_train=np.zeros(1), x_test=np.zeros((1, 28, 28)),
             y_test=np.zeros(1))
    with pytest.raises(DataError, match="never loads pickles"):
        data.load(path)


def test_limited_is_recorded(sample):
    small = sample.limited(train=100, test=50)
    assert len(small.y_train) == 100 and "limited" in small.identity()["note"]


def test_calibration_sample_is_seeded(sample):
    a = data.calibration_sample(sample, 50, seed=3)
    assert a.shape == (50, 28, 28) and np.array_equal(a, data.calibration_sample(sample, 50, seed=3))
    assert not np.array_equal(a, data.calibration_sample(sample, 50, seed=4))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.sampled_from([1, 3]))
def test_idx_parser_raises_only_data_errors(payload, ndim):
    try:
        out = data.parse_idx(payload, ndim)
    except DataError:
        return
    assert out.ndim == ndim


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 24), st.integers(0, 255))
def test_idx_parser_on_mutated_valid_header(position, value):
    payload = bytearray(idx_bytes(np.zeros((2, 28, 28))))
    payload[position] = value
    try:
        out = data.parse_idx(bytes(payload), 3)
    except DataError:
        return
    assert out.shape[1:] == (28, 28)


def test_mnist_reads_the_keras_cache(tmp_path, monkeypatch):
    """`--data mnist` goes through Keras' cache (~/.keras/datasets/mnist.npz, or KERAS_HOME): no download
    when it is there, and the identity says which file was read (by name and sha256: no machine path)."""
    cache = tmp_path / "datasets"
    cache.mkdir()
    rng = np.random.default_rng(0)
    np.savez(cache / "mnist.npz", x_train=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), y_train=np.arange(4),
             x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), y_test=np.arange(2))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ds = data.load("mnist")
    assert ds.name == "mnist" and "Keras cache" in ds.source
    assert str(tmp_path) not in json.dumps(ds.identity())
    assert ds.identity()["train_count"] == 4 and "mnist.npz" in ds.identity()["sha256"]


def test_identity_names_no_folder(tmp_path):
    """Results and manifests record names, counts and sha256: the folder read is not in the identity."""
    folder = tmp_path / "private" / "digits"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    np.savez(folder / "mnist.npz", x_train=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8), y_train=np.arange(4),
             x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), y_test=np.arange(2))
    for spec in (folder, folder / "mnist.npz"):
        identity = data.load(spec).identity()
        assert str(tmp_path) not in json.dumps(identity) and "private" not in json.dumps(identity)
        assert identity["name"].startswith("npz:") and "mnist.npz" in identity["sha256"]
