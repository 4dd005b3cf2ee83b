"""The user's own Keras model (`export --keras`, edgeseq.own_model): read without TensorFlow, refused by layer
name where a graph cannot take it, exported and validated under its own name."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import invoke_cli, run_cli
from edgeseq.core.errors import ModelError
from edgeseq.own_model import LAYERS, inspect_keras
from edgeseq.recipes import Format, Graph, Quant, RECIPES

N, T, F, K = 200, 12, 3, 3


def _layer(cls: str, **config: object) -> dict:
    return {"module": "keras.layers", "class_name": cls, "config": {"name": config.pop("name", cls.lower()), **config}}


def _archive(path: Path, layers: list[dict], shape: tuple[int, int] = (T, F)) -> Path:
    """A .keras archive as Keras writes it (config.json, model.weights.h5), enough for inspect_keras."""
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": "sequential", "layers": [_layer("InputLayer", batch_shape=[None, *shape]), *layers]}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
    return path


def _gru(name: str = "gru", seq: bool = False) -> dict:
    return _layer("GRU", name=name, units=4, activation="tanh", return_sequences=seq)


HEAD = _layer("Dense", name="probabilities", units=K, activation="softmax")
BIDIRECTIONAL = _layer("Bidirectional", name="both_ways",
                       layer={"class_name": "LSTM", "config": {"units": 4, "activation": "tanh"}})


def _data(path: Path, features: int = F) -> Path:
    """Class-dependent sine patterns, (N, T, features), K classes."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, N)
    t = np.arange(T)[None, :, None]
    x = np.sin((y[:, None, None] + 1) * 0.5 * t + np.arange(features)[None, None, :])
    x = (x + 0.1 * rng.normal(size=x.shape)).astype(np.float32)
    np.savez(path, x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    return path


def test_inspect_reads_the_layers_without_tensorflow(tmp_path):
    model = inspect_keras(_archive(tmp_path / "my_gru.keras", [_gru("a", True), _layer("Dropout"), _gru("b"), HEAD]))
    assert (model.name, model.timesteps, model.features, model.classes) == ("my_gru", T, F, K)
    assert model.family.value == "gru-tanh"
    assert model.description == "GRU(4, tanh) -> Dropout -> GRU(4, tanh) -> Dense(3, softmax)"
    assert [layer["class"] for layer in model.config()["layers"]] == ["InputLayer", "GRU", "Dropout", "GRU", "Dense"]


def test_mixed_cells_and_activations_follow_the_family_rule(tmp_path):
    lstm = _layer("LSTM", name="l", units=4, activation="tanh", return_sequences=True)
    relu_gru = _layer("GRU", name="g", units=4, activation="relu")
    model = inspect_keras(_archive(tmp_path / "mixed.keras", [lstm, relu_gru, HEAD]))
    assert model.family.value == "gru-relu"       # a non-LSTM cell in the stack; not every layer tanh
    fused = RECIPES[(Format.TFLITE, Quant.FP32)].graph_problem(model, Graph.FUSED)
    assert fused and "takes LSTM layers only" in fused


@pytest.mark.parametrize("layers, expect", [
    ([_layer("Lambda"), _gru(), HEAD], "layer lambda (Lambda) cannot be exported: it holds Python code"),
    ([_layer("Attention"), _gru(), HEAD], "layer attention (Attention) is not one edgeseq exports"),
    ([_layer("Dense", units=4, activation="relu"), HEAD], "no SimpleRNN, GRU, LSTM layer"),
    ([_gru(), _layer("Dense", units=K, activation="linear")], "end the model with Dense(K, activation='softmax')"),
])
def test_refused_models_are_one_line_naming_the_layer(tmp_path, layers, expect):
    with pytest.raises(ModelError) as err:
        inspect_keras(_archive(tmp_path / "m.keras", layers))
    assert expect in str(err.value) and "\n" not in str(err.value)


def test_the_stem_must_be_a_plain_name(tmp_path):
    with pytest.raises(ModelError, match="stem"):
        inspect_keras(_archive(tmp_path / "my@gru.keras", [_gru(), HEAD]))


@pytest.mark.parametrize("graph", [Graph.STEP, Graph.HOISTED, Graph.FUSED])
def test_written_graphs_refuse_a_bidirectional_layer_by_name(tmp_path, graph):
    model = inspect_keras(_archive(tmp_path / "bi.keras", [BIDIRECTIONAL, HEAD]))
    problem = RECIPES[(Format.TFLITE, Quant.DYNAMIC)].graph_problem(model, graph)
    assert problem.startswith(f"the {graph.value} graph cannot be built for a Bidirectional layer (both_ways): ")
    assert RECIPES[(Format.TFLITE, Quant.DYNAMIC)].graph_problem(model, Graph.UNROLLED) is None


def test_the_table_graph_falls_back_where_a_layer_refuses_it(tmp_path):
    norm = _layer("Normalization", axis=[-1])
    lstm = _layer("LSTM", name="l", units=4, activation="tanh")
    model = inspect_keras(_archive(tmp_path / "normed.keras", [norm, lstm, HEAD]))
    fp32 = RECIPES[(Format.TFLITE, Quant.FP32)]
    assert fp32.graphs[model.family] is Graph.FUSED and fp32.graph_for(model) is Graph.LOOP
    assert "fused graph cannot be built for a Normalization layer" in fp32.note_for(model)


def test_every_layer_row_says_why_where_it_refuses():
    assert all(row.reason for row in LAYERS.values() if not (row.rebuilt and row.written))


def test_cli_step_graph_for_bidirectional_is_one_line_before_any_work(tmp_path):
    model, data = _archive(tmp_path / "bi.keras", [BIDIRECTIONAL, HEAD]), _data(tmp_path / "d.npz")
    ran = invoke_cli("export", "--keras", model, "--data", data, "--graph", "step", "--format", "tflite",
                     "--quant", "fp32", "--out", tmp_path / "out")
    assert ran.returncode == 2
    last = ran.stderr.strip().splitlines()[-1]
    assert "the step graph cannot be built for a Bidirectional layer (both_ways)" in last
    assert "Traceback" not in ran.stderr and not (tmp_path / "out").exists()


def test_cli_shape_mismatch_is_one_line(tmp_path):
    model, data = _archive(tmp_path / "my_gru.keras", [_gru(), HEAD]), _data(tmp_path / "d.npz", features=5)
    ran = invoke_cli("export", "--keras", model, "--data", data, "--out", tmp_path / "out")
    assert ran.returncode == 1
    assert ran.stderr.strip().splitlines()[-1].startswith("Error: my_gru takes 12 x 3 sequences (T x F);")
    assert "12 x 5" in ran.stderr and not (tmp_path / "out").exists()


def test_cli_unknown_layer_is_one_line(tmp_path):
    model, data = _archive(tmp_path / "lam.keras", [_layer("Lambda"), _gru(), HEAD]), _data(tmp_path / "d.npz")
    ran = invoke_cli("export", "--keras", model, "--data", data, "--out", tmp_path / "out")
    assert ran.returncode == 1
    assert ran.stderr.strip().splitlines() == [
        "Error: layer lambda (Lambda) cannot be exported: it holds Python code, which Keras will not load in safe"
        " mode and no converter reads"]


@pytest.mark.slow
def test_export_validate_a_two_layer_gru(tmp_path):
    import keras

    data = _data(tmp_path / "d.npz")
    arrays = np.load(data)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.GRU(4, return_sequences=True),
                              keras.layers.Dropout(0.1), keras.layers.GRU(4),
                              keras.layers.Dense(K, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(arrays["x_train"], arrays["y_train"], epochs=1, verbose=0)
    model.save(tmp_path / "my_gru.keras")
    out = tmp_path / "out"
    ran = run_cli("export", "--keras", tmp_path / "my_gru.keras", "--data", data, "--format", "tflite",
                  "--quant", "fp32,dynamic", "--out", out)
    assert ran.returncode == 0, ran.stderr
    folder = out / "my_gru"
    assert {p.name for p in folder.glob("my_gru*") if p.suffix != ".json"} == {
        "my_gru.keras", "my_gru-fp32.tflite", "my_gru-dynamic.tflite", "my_gru.golden.npz"}
    source = json.loads((folder / "my_gru.keras.json").read_text())
    assert source["kind"] == "keras-model" and source["architecture"] == "my_gru"
    assert source["data_spec"]["timesteps"] == T and source["own_model"]["family"] == "gru-tanh"
    assert str(tmp_path) not in json.dumps(source)
    exported = json.loads((folder / "my_gru-fp32.tflite.json").read_text())
    assert exported["architecture"] == "my_gru" and exported["variant"]["own_model"] is True
    assert exported["data_spec"]["features"] == F
    checked = run_cli("validate", out, "--data", data)
    assert checked.returncode == 0, checked.stderr
    assert "my_gru-fp32.tflite" in checked.stdout and "PASS" in checked.stdout


@pytest.mark.slow
def test_rebuilt_normalization_keeps_its_adapted_mean_and_variance():
    """The rebuilt graphs (loop, unrolled) of a model with an adapted Normalization answer as the model does:
    its mean and variance are state computed from its weights, and constants of the traced graph (ONNX)."""
    import keras

    from edgeseq import models

    x = np.random.default_rng(1).normal(3.0, 2.0, (20, T, F)).astype(np.float32)
    norm = keras.layers.Normalization()
    norm.adapt(x)
    model = keras.Sequential([keras.Input((T, F)), norm, keras.layers.LSTM(4),
                              keras.layers.Dense(K, activation="softmax")])
    for unroll in (False, True):
        twin = models.rebuild_with_weights(model, unroll=unroll, batch_size=None)
        assert isinstance(twin.layers[0].mean, np.ndarray)
        np.testing.assert_allclose(twin.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
