"""The variant space (edgeseq.models): names round-trip, the seeds are the published models, bad names are
one-line errors, dashed names lay out and parse, and a tiny variant trains, exports and validates (slow)."""

from __future__ import annotations

import json

import pytest

from edgeseq import models, recipes
from edgeseq.core import layout
from edgeseq.models import Activation, Arch, Cell, Variant
from edgeseq.core.manifest import read_manifest

from conftest import run_cli

SPACE = models.space()


def test_names_round_trip_over_the_whole_space():
    assert len(SPACE) == len(Cell) * len(models.UNITS) * len(models.LAYERS) * len(Activation)
    assert len({v.name for v in SPACE}) == len(SPACE)
    for v in SPACE:
        assert models.variant(v.name) == v and models.variant(v.long_name) == v
        assert models.variant(v) is v and str(v) == v.name
        assert v.long_name == f"{v.cell.value}-{v.units}x{v.layers}-{v.activation.value}"


def test_seeds_keep_their_short_names():
    assert models.variant("rnn-32x1-relu") == models.SEEDS[Arch.RNN] == models.variant(Arch.RNN)
    assert models.variant("lstm-128x2-relu") == models.SEEDS[Arch.LSTM] == models.variant("lstm")
    assert [v.name for v in models.SEEDS.values()] == ["rnn", "lstm"]
    assert [v.name for v in models.select("all")] == ["rnn", "lstm"]
    assert {v for v in SPACE if v.seed} == set(models.SEEDS.values())
    assert models.variant("lstm-64x2-tanh").name == "lstm-64x2-tanh" and not models.variant("lstm-64x2-tanh").seed


def test_default_grid_is_in_the_space_and_holds_both_seeds():
    grid = [models.variant(name) for name in models.DEFAULT_GRID]
    assert 8 <= len(grid) <= 12 and len(set(grid)) == len(grid)
    assert set(models.SEEDS.values()) <= set(grid)
    assert [v.name for v in grid] == list(models.DEFAULT_GRID)   # the grid spells the seeds by their short names
    assert {v.cell for v in grid} == set(Cell) and {v.activation for v in grid} == set(Activation)


@pytest.mark.parametrize("bad", ["gru", "lstm-64x3-tanh", "lstm-48x2-tanh", "cnn-64x2-tanh", "lstm-64x2-sigmoid",
                                 "LSTM-64x2-tanh", "lstm-64-tanh", "lstm-64x2-tanh-int8", ""])
def test_bad_names_are_one_line_errors(bad):
    with pytest.raises(ValueError) as err:
        models.variant(bad)
    message = str(err.value)
    assert "\n" not in message and repr(bad) in message
    assert models.GRAMMAR in message and "rnn|gru|lstm" in message and "16|32|64|128" in message


def test_bad_model_option_is_a_usage_error():
    done = run_cli("train", "--model", "lstm-64x3-tanh", "--out", "unused")
    assert done.returncode == 2 and "--model" in done.stderr and models.GRAMMAR in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("name", ["rnn", "lstm", "lstm-64x2-tanh", "gru-16x1-relu"])
def test_layout_parses_dashed_names(name, tmp_path):
    for fmt, recipe in [("tflite", "int8"), ("tflite", "int16x8"), ("onnx", "static")]:
        for step in (False, True):
            path = layout.exported_path(tmp_path, name, fmt, recipe, step)
            assert path.parent.name == name
            assert layout.parse(path) == layout.FileKey(name, fmt, recipe, step)
            assert layout.key_of(path, None) == layout.FileKey(name, fmt, recipe, step)
    assert layout.parse(layout.model_path(tmp_path, name)) == layout.model_key(name)
    assert layout.parse(tmp_path / f"{name}.golden.npz") is None


def _published(kind: str, **config):
    return kind, config


def _layers(model):
    """(class, the config fields that define the published model) per layer."""
    found = []
    for layer in model.layers:
        config = layer.get_config()
        kind = type(layer).__name__
        if kind in models.RECURRENT_LAYERS:
            found.append(_published(kind, units=config["units"], activation=config["activation"],
                                    return_sequences=config["return_sequences"]))
        elif kind == "Dense":
            found.append(_published(kind, units=config["units"], activation=config["activation"]))
        else:
            found.append(_published(kind, rate=config["rate"]))
    return found


def test_seed_configs_equal_the_published_ones():
    pytest.importorskip("tensorflow")
    rnn = models.build("rnn-32x1-relu")
    assert _layers(rnn) == [
        ("SimpleRNN", {"units": 32, "activation": "relu", "return_sequences": False}),
        ("Dense", {"units": 10, "activation": "softmax"}),
    ]
    lstm = models.build("lstm-128x2-relu")
    assert _layers(lstm) == [
        ("LSTM", {"units": 128, "activation": "relu", "return_sequences": True}),
        ("Dropout", {"rate": 0.2}),
        ("LSTM", {"units": 128, "activation": "relu", "return_sequences": False}),
        ("Dropout", {"rate": 0.2}),
        ("Dense", {"units": 32, "activation": "relu"}),
        ("Dropout", {"rate": 0.2}),
        ("Dense", {"units": 10, "activation": "softmax"}),
    ]
    assert (rnn.count_params(), lstm.count_params()) == (2_282, 216_426)
    assert (rnn.name, lstm.name) == ("rnn", "lstm")
    for arch, row in models.ARCHITECTURES.items():   # the published rows agree with the generated ones
        seed = models.SEEDS[arch]
        assert (seed.description, seed.parameters, seed.cell.layer) == (row.description, row.parameters,
                                                                        row.recurrent_layer)
        assert row.build().get_config() == models.build(arch).get_config() == models.build(seed.long_name).get_config()


@pytest.mark.parametrize("name", models.DEFAULT_GRID)
def test_variants_follow_the_head_rule(name):
    pytest.importorskip("tensorflow")
    v = models.variant(name)
    model = models.build(v)
    assert model.count_params() == v.parameters
    kinds = [type(layer).__name__ for layer in model.layers]
    recurrent = [layer for layer in model.layers if type(layer).__name__ in models.RECURRENT_LAYERS]
    assert [layer.units for layer in recurrent] == [v.units] * v.layers
    assert {layer.activation.__name__ for layer in recurrent} == {v.activation.value}
    assert [layer.return_sequences for layer in recurrent] == [True] * (v.layers - 1) + [False]
    if v.cell is Cell.RNN:
        assert kinds == ["SimpleRNN"] * v.layers + ["Dense"]
    else:
        assert kinds == [v.cell.layer, "Dropout"] * v.layers + ["Dense", "Dropout", "Dense"]
        assert model.layers[-3].units == 32 and model.layers[-3].activation.__name__ == "relu"
    assert model.layers[-1].units == 10 and model.layers[-1].activation.__name__ == "softmax"


def test_recipes_table_covers_every_family():
    """Every recipe gives every family a graph or says why not, the graph exists for the cell, and the seeds keep
    the graphs they had before the variants."""
    for recipe in recipes.RECIPES.values():
        assert set(recipe.graphs) == set(models.Family)
        for v in SPACE:
            graph = recipe.graph_for(v)
            if graph is None:
                assert recipe.note_for(v).startswith("no working graph"), (recipe.key, v.name)
            else:
                assert recipe.graph_problem(v, graph) is None, (recipe.key, v.name)
    seeds = {r.key: (r.graph_for("rnn"), r.graph_for("lstm")) for r in recipes.RECIPES.values()}
    g = recipes.Graph
    assert seeds == {
        "tflite/fp32": (g.UNROLLED, g.FUSED), "tflite/fp16": (g.UNROLLED, g.FUSED),
        "tflite/dynamic": (g.UNROLLED, g.HOISTED), "tflite/int8": (g.UNROLLED, g.UNROLLED_B1),
        "tflite/int16x8": (g.HOISTED, g.UNROLLED), "onnx/fp32": (g.UNROLLED, g.LOOP),
        "onnx/dynamic": (g.UNROLLED, g.LOOP), "onnx/static": (g.UNROLLED, g.LOOP)}
    assert recipes.recipe("tflite", "dynamic").graph_for("lstm-64x2-tanh") is g.FUSED   # hoisted: measured for relu
    assert recipes.recipe("tflite", "int16x8").graph_for("rnn-32x1-tanh") is None      # hoisted: measured for relu
    int8 = recipes.recipe("tflite", "int8")
    assert int8.graph_for("lstm-64x2-tanh") is g.UNROLLED_B1 and int8.graph_problem("lstm-64x2-tanh", g.FUSED) is None
    assert "tanh" in (int8.graph_problem("lstm", g.FUSED) or "")   # the int8 kernel hard-codes tanh
    assert "not available" in (int8.graph_problem("gru-32x1-relu", g.FUSED) or "")


def test_specs_and_configs_take_variant_names():
    from edgeseq.export.exporter import ExportSpec, plan
    from edgeseq.train import TrainConfig

    assert TrainConfig("lstm-64x2-tanh").arch == Variant(Cell.LSTM, 64, 2, Activation.TANH)
    assert TrainConfig(Arch.RNN).arch == models.SEEDS[Arch.RNN]
    specs = plan(models.select("gru-32x1-relu"), list(recipes.RECIPES.values()))
    assert {s.arch.name for s in specs} == {"gru-32x1-relu"}
    assert ExportSpec(Arch.LSTM, specs[0].recipe, None).arch.name == "lstm"


@pytest.mark.slow
def test_a_tiny_variant_trains_exports_and_validates(tmp_path):
    name = "gru-16x1-tanh"
    done = run_cli("train", "--model", name, "--epochs", "1", "--limit-train", "300", "--limit", "100",
                   "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    (trained,) = json.loads(done.stdout)
    model = layout.model_path(tmp_path, name)
    assert trained["model"] == name and trained["path"] == str(model) and model.is_file()
    manifest = json.loads(layout.manifest_path(model).read_text())
    assert manifest["architecture"] == name
    assert manifest["variant"] == {"name": name, "long_name": name, "cell": "gru", "units": 16, "layers": 1,
                                   "activation": "tanh", "seed": False}
    done = run_cli("export", "--model", name, "--from", tmp_path, "--out", tmp_path, "--quant", "fp32",
                   "--calibration-size", "50", "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert {(r["format"], r["recipe"], r["status"]) for r in results} == {("tflite", "fp32", "ok"),
                                                                          ("onnx", "fp32", "ok")}
    for r in results:
        path = layout.exported_path(tmp_path, name, r["format"], "fp32")
        assert r["path"] == str(path) and r["model"] == name
        exported = json.loads(layout.manifest_path(path).read_text())
        assert exported["architecture"] == name and exported["variant"]["cell"] == "gru"
        assert layout.key_of(path, read_manifest(path)) == layout.FileKey(name, r["format"], "fp32")
    done = run_cli("validate", tmp_path / name, "--limit", "100", "--json")
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert {(r["model"], r["format"], r["recipe"]) for r in reports} >= {(name, "tflite", "fp32"),
                                                                         (name, "onnx", "fp32")}
