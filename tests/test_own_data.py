"""Your own sequences (issue 21): labelled sequence sets in npz form, their checks, the DataSpec they carry, and
the seed architectures built for any (T, F, K). The data is written by the tests: class-dependent temporal
patterns a small model can learn, in several shapes, with unequal lengths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import invoke_cli
from edgeseq import data, golden
from edgeseq.data import DataSpec, spec_of_manifest
from edgeseq.data.spec import spec_of_record
from edgeseq.core.errors import DataError


def patterns(n: int, timesteps: int, features: int, classes: int, seed: int = 0,
             lengths: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sequences whose class sets the frequency of a sine on feature 0 and the sign of a ramp on the others,
    scaled and shifted far from [0, 1] (so normalisation matters); optionally of unequal lengths."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    rng.shuffle(y)
    t = np.arange(timesteps)[None, :, None]
    freq = (1 + y)[:, None, None] * 0.35
    x = np.sin(t * freq) + 0.2 * rng.normal(size=(n, timesteps, features))
    x[:, :, 1:] += np.where(y % 2 == 0, 1.0, -1.0)[:, None, None] * t / timesteps
    x = 40.0 * x + 250.0
    if not lengths:
        return x, y, None
    n_steps = rng.integers(max(2, timesteps // 2), timesteps + 1, size=n)
    for i, steps in enumerate(n_steps):
        x[i, steps:] = np.nan            # ignored: only the first lengths[i] steps are the sequence
    return x, y, n_steps


def write_set(path: Path, timesteps: int = 12, features: int = 3, classes: int = 3, lengths: bool = False,
              names: tuple[str, ...] | None = None, train: int = 240, test: int = 90) -> Path:
    x_train, y_train, l_train = patterns(train, timesteps, features, classes, 0, lengths)
    x_test, y_test, l_test = patterns(test, timesteps, features, classes, 1, lengths)
    arrays = {"x_train": x_train, "x_test": x_test}
    if names:
        arrays |= {"y_train": np.array(names)[y_train], "y_test": np.array(names)[y_test]}
    else:
        arrays |= {"y_train": y_train, "y_test": y_test}
    if lengths:
        arrays |= {"lengths_train": l_train, "lengths_test": l_test}
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("shape", [(12, 3, 3), (30, 1, 2), (8, 6, 5)])
def test_any_shape_is_read_with_its_contract(tmp_path, shape):
    t, f, k = shape
    ds = data.load(write_set(tmp_path / "s.npz", t, f, k))
    assert ds.x_train.shape == (240, t, f) and ds.x_test.shape == (90, t, f) and ds.x_train.dtype == np.float32
    assert ds.spec.shape == (t, f) and ds.spec.classes == k and not ds.spec.mnist and ds.units == "sequences"
    assert ds.spec.labels == tuple(str(i) for i in range(k))
    # standardised with the training split's statistics only: the training split has mean 0 and std 1 per feature
    flat = ds.x_train.reshape(-1, f)
    assert np.allclose(flat.mean(0), 0, atol=1e-4) and np.allclose(flat.std(0), 1, atol=1e-3)
    assert not np.allclose(ds.x_test.reshape(-1, f).mean(0), 0, atol=1e-4)      # the test split is not refitted
    identity = ds.identity()
    assert identity["shape"] == [t, f] and identity["classes"] == k and identity["name"] == "npz:s.npz"
    assert str(tmp_path) not in json.dumps(identity)


def test_two_dimensional_x_means_one_feature(tmp_path):
    x, y, _ = patterns(40, 10, 1, 2)
    np.savez(tmp_path / "u.npz", x_train=x[:, :, 0], y_train=y, x_test=x[:, :, 0], y_test=y)
    assert data.load(tmp_path / "u.npz").spec.shape == (10, 1)


def test_string_labels_are_the_sorted_classes_and_names_order_integer_ones(tmp_path):
    ds = data.load(write_set(tmp_path / "s.npz", names=("walk", "run", "sit")))
    assert ds.spec.labels == ("run", "sit", "walk")
    raw = np.load(tmp_path / "s.npz")
    assert [ds.spec.labels[i] for i in ds.y_test[:20]] == [str(v) for v in raw["y_test"][:20]]
    x, y, _ = patterns(30, 6, 2, 3)
    np.savez(tmp_path / "n.npz", x_train=x, y_train=y, x_test=x, y_test=y, labels=np.array(["a", "b", "c"]))
    assert data.load(tmp_path / "n.npz").spec.labels == ("a", "b", "c")


def test_unequal_lengths_are_left_padded_and_normalised_on_real_steps(tmp_path):
    ds = data.load(write_set(tmp_path / "v.npz", 16, 2, 3, lengths=True))
    raw = np.load(tmp_path / "v.npz")
    assert ds.spec.variable_length and "left-padded" in ds.spec.lengths_rule()
    assert np.all(np.isfinite(ds.x_train))                      # the NaN past each length is never read
    norm = ds.spec.normalisation
    for i in range(5):
        n = int(raw["lengths_train"][i])
        assert np.all(ds.x_train[i, :16 - n] == 0)              # padding first
        assert np.allclose(ds.x_train[i, 16 - n:], norm.apply(raw["x_train"][i, :n]), atol=1e-5)
    assert np.array_equal(ds.test_lengths(), raw["lengths_test"])
    limited = ds.limited(train=10, test=5)
    assert len(limited.lengths_train) == 10 and len(limited.lengths_test) == 5 and limited.spec == ds.spec


def test_uint8_values_keep_the_pixel_rule_and_mnist_npz_is_unchanged(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(20, 7, 4), dtype=np.uint8)
    y = np.arange(20) % 2
    np.savez(tmp_path / "p.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    ds = data.load(tmp_path / "p.npz")
    assert ds.spec.normalisation.kind == data.NormKind.PIXELS and np.allclose(ds.x_train, x / 255.0)
    mnist = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=mnist, y_train=np.arange(20) % 10, x_test=mnist, y_test=np.arange(20) % 10)
    same = data.load(tmp_path / "mnist.npz")
    assert same.spec is data.MNIST_SPEC and "shape" not in same.identity()


def test_spec_round_trips_and_reads_old_manifests():
    spec = data.load("sample").spec
    assert spec is data.MNIST_SPEC
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert spec_of_record(None, data.NORMALISATION) == data.MNIST_SPEC          # records before data contracts
    assert spec_of_record(None, None) == data.MNIST_SPEC
    assert spec_of_record(spec.to_dict(), {"input": "ignored"}) == spec
    assert spec_of_manifest(None) == data.MNIST_SPEC                           # a file without a manifest
    with pytest.raises(DataError):
        spec_of_record(None, {"input": "something else"})


def test_mismatch_names_shape_classes_and_normalisation(tmp_path):
    a = data.load(write_set(tmp_path / "a.npz", 12, 3, 3)).spec
    assert a.mismatch(a) is None
    assert "12 x 3" in a.mismatch(data.load(write_set(tmp_path / "b.npz", 12, 2, 3)).spec)
    assert "classes" in a.mismatch(data.load(write_set(tmp_path / "c.npz", 12, 3, 4)).spec)
    other = data.load(write_set(tmp_path / "d.npz", 12, 3, 3, train=120)).spec
    assert "normalised differently" in a.mismatch(other)


def test_golden_slice_is_class_balanced_and_stored(tmp_path):
    ds = data.load(write_set(tmp_path / "s.npz", 12, 3, 3, names=("x", "y", "z")))
    samples = golden.golden_inputs(ds.spec, ds)
    assert len(samples.y_test) == 90 and np.bincount(samples.y_test).tolist() == [30, 30, 30]
    few = golden.golden_inputs(ds.spec, ds, count=7)
    assert sorted(np.bincount(few.y_test).tolist()) == [2, 2, 3]
    path = tmp_path / "m.golden.npz"
    probabilities = np.full((90, 3), 1 / 3, np.float32)
    golden.write(path, probabilities, samples.y_test, {"name": "m.keras", "sha256": "ab" * 32}, samples.sha256, samples)
    stored = golden.read(path)
    assert np.array_equal(stored.dataset().x_test, samples.x_test) and stored.dataset().spec == ds.spec
    assert golden.is_current(path, "ab" * 32, samples) and not golden.is_current(path, "ab" * 32, None)


def _bad_sets() -> list[tuple[str, dict[str, object], str]]:
    x, y, _ = patterns(20, 6, 2, 2)
    ok = {"x_train": x, "y_train": y, "x_test": x, "y_test": y}
    nan = x.copy()
    nan[3, 2, 1] = np.nan
    inf = x.copy()
    inf[0, 0, 0] = np.inf
    return [
        ("nan", ok | {"x_train": nan}, "NaN or infinite"),
        ("inf", ok | {"x_test": inf}, "NaN or infinite"),
        ("label-out-of-range", ok | {"y_test": y + 1}, "out of range"),
        ("negative-label", ok | {"y_train": y - 1}, "negative"),
        ("unseen-string", ok | {"y_train": np.array(["a", "b"])[y], "y_test": np.array(["a", "c"])[y]},
         "not seen in the training split"),
        ("class-without-training-sample", ok | {"y_train": y * 2, "y_test": y * 2}, "have no training sample"),
        ("counts", ok | {"y_train": y[:-1]}, "20 train sequences but 19 labels"),
        ("single-class", ok | {"y_train": np.zeros(20, int), "y_test": np.zeros(20, int)}, "single class"),
        ("zero-timesteps", ok | {"x_train": np.zeros((20, 0, 2)), "x_test": np.zeros((20, 0, 2))}, "T and F"),
        ("zero-features", ok | {"x_train": np.zeros((20, 6, 0)), "x_test": np.zeros((20, 6, 0))}, "T and F"),
        ("features-differ", ok | {"x_test": x[:, :, :1]}, "features per step"),
        ("timesteps-differ", ok | {"x_test": x[:, :4]}, "timesteps"),
        ("lengths-too-long", ok | {"lengths_train": np.full(20, 7), "lengths_test": np.full(20, 6)}, "within 1..T=6"),
        ("lengths-zero", ok | {"lengths_train": np.full(20, 0), "lengths_test": np.full(20, 6)}, "within 1..T=6"),
        ("lengths-one-split", ok | {"lengths_train": np.full(20, 6)}, "without lengths_test"),
        ("four-dimensional", ok | {"x_train": x[:, :, :, None]}, "expected \\(N, T, F\\)"),
        ("text-values", ok | {"x_train": np.full((20, 6, 2), "a")}, "expected real numbers"),
        ("missing-array", {"x_train": x, "y_train": y, "x_test": x}, "lacks the arrays y_test"),
    ]


@pytest.mark.parametrize("case", _bad_sets(), ids=[c[0] for c in _bad_sets()])
def test_bad_data_is_one_line_and_nothing_is_written(tmp_path, case):
    name, arrays, message = case
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        data.load(path)
    out = tmp_path / "out"
    done = invoke_cli("train", "--data", path, "--out", out, "--model", "rnn", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert message.split()[0] in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not out.exists()


def test_ragged_arrays_and_pickles_are_refused(tmp_path):
    path = tmp_path / "ragged.npz"
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros((3, 2)), np.zeros((5, 2))]
    np.savez(path, x_train=ragged, y_train=np.array([0, 1]), x_test=ragged, y_test=np.array([0, 1]))
    with pytest.raises(DataError, match="never loads pickles"):
        data.load(path)


def test_seed_architectures_take_any_shape(tmp_path):
    pytest.importorskip("keras")
    from edgeseq import models

    ds = data.load(write_set(tmp_path / "s.npz", 9, 4, 5))
    for name in ("rnn", "lstm", "gru-16x2-tanh"):
        v = models.variant(name)
        model = models.build(v, spec=ds.spec)
        assert tuple(model.input_shape) == (None, 9, 4) and tuple(model.output_shape) == (None, 5)
        assert model.count_params() == v.parameters_for(ds.spec)
        assert v.description_for(ds.spec).endswith("Dense(5, softmax)")
    seed = models.build("lstm")                              # MNIST's: the published layers, unchanged
    assert tuple(seed.input_shape) == (None, 28, 28) and seed.count_params() == 216_426
