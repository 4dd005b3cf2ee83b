"""The converters called in-process on 4-unit models (as tf2onnx's own tests do): every recipe of the table on
every graph it allows for each model family tested (the two seeds' relu SimpleRNN and LSTM, a tanh GRU and a
tanh LSTM), and its step model, checked for structure (builtin ops only, one
input, one output, the recurrent op the graph promises; a step model's row, state and outputs) and against
Keras on a few digits (a step model fed the 28 rows one by one).

The models are built here with the project's input name, the family's cell, layer count and activation but
4 units and no dropout or Dense(32) head, trained one short epoch; the converters rebuild them from their own
config (models.rebuild_with_weights), so the size does not matter. TensorFlow is imported in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgeseq import data, runtimes
from edgeseq.artifacts import STEP_RECURRENCE, read_facts
from edgeseq.formats.onnx import RECURRENT_ONNX
from edgeseq.formats.tflite import RECURRENT_TFLITE
from edgeseq import models
from edgeseq.models import Cell, Variant
from edgeseq.recipes import GRAPHS, RECIPES, Format, Graph, Quant, Recipe
from edgeseq.step_contract import plain_name

UNITS = 4
DIGITS = 32              # compared with Keras
CALIBRATION = 16         # calibration digits for the calibrated recipes (few: quantize_static is slow)
# the families tested, each by a variant of the table (the tiny model takes its cell, layers and activation)
VARIANTS = [models.variant(name) for name in ("rnn", "lstm", "gru-16x1-tanh", "lstm-16x2-tanh")]
RNN, LSTM, GRU_TANH, LSTM_TANH = VARIANTS
RECURRENT_OPS = {*RECURRENT_TFLITE, *RECURRENT_ONNX}

# The loop graph (a WHILE loop) with a calibrated integer TFLite recipe: the converter process dies (SIGSEGV in
# the calibrator). test_export.py::test_converter_crash_is_contained checks that `export` survives it.
CRASHES = {(Format.TFLITE, Quant.INT8, Graph.LOOP), (Format.TFLITE, Quant.INT16X8, Graph.LOOP)}


def crash_reason(recipe: Recipe, arch: Variant) -> str:
    note = recipe.notes.get(arch.family, "")
    return (f"{recipe.key} on the loop graph crashes the converter process (SIGSEGV in the calibrator)"
            + (f"; recipes table: {note}" if "loop" in note else ""))


def slow(recipe: Recipe, arch: Variant, graph: Graph) -> bool:
    """The whole file takes 80-105 s on 2 cores, mostly on the LSTM's unrolled graphs (3-4 s each to convert,
    12-16 s for quantize_static on their ~1,000 nodes). The fast subset keeps those for fp32 and where the
    recipes table chooses them (50-65 s); the others run in the full suite."""
    return (arch.cell is Cell.LSTM and GRAPHS[graph].unroll and recipe.quant is not Quant.FP32
            and recipe.graph_for(arch) is not graph)


def cases(run: bool) -> list[Any]:
    """(recipe, arch, graph) for every recipe and every graph it allows for each variant tested. `run`: cases
    whose file is also run and compared with Keras, which leaves out the pairs the recipes table has no
    working graph for (the int16x8 GRU saturates). The int16x8 SimpleRNN's are run: the table's hoisted graph
    works, and its unrolled and step graphs, which saturate (parity catches them: test_validate.py), still give
    probabilities (a 4-unit one once aborted LiteRT at its first invoke; with LiteRT 2.3.0 none did in 4 runs)."""
    found = []
    for recipe in RECIPES.values():
        for arch in VARIANTS:
            for graph in (*recipe.allowed_graphs, Graph.STEP):   # every recipe has a step model (streaming)
                if recipe.graph_problem(arch, graph) is not None:
                    continue
                marks = []
                if (recipe.format, recipe.quant, graph) in CRASHES:
                    marks.append(pytest.mark.skip(reason=crash_reason(recipe, arch)))
                elif run and recipe.graph_for(arch) is None:
                    marks.append(pytest.mark.skip(reason=f"{recipe.key} {arch.value}: {recipe.note_for(arch)}"))
                if slow(recipe, arch, graph):
                    marks.append(pytest.mark.slow)
                found.append(pytest.param(recipe, arch, graph, marks=marks,
                                          id=f"{arch.value}-{recipe.format.value}-{recipe.name}-{graph.value}"))
    return found


CASES = cases(run=False)
RUN_CASES = cases(run=True)


@pytest.fixture(scope="module")
def keras() -> Any:
    pytest.importorskip("tensorflow")
    from edgeseq.core.tfsupport import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def tiny_models(keras: Any, sample: data.Dataset) -> dict[Variant, Any]:
    """Per variant: its recurrent layers with 4 units (SimpleRNN(4) relu; LSTM(4) -> LSTM(4) relu like the seeds;
    GRU(4) tanh; LSTM(4) -> LSTM(4) tanh) -> Dense(10), trained one epoch on 320 digits."""
    keras.utils.set_random_seed(0)
    layers = keras.layers
    found = {}
    for arch in VARIANTS:
        layer = getattr(layers, arch.cell.layer)
        recurrent = [layer(UNITS, activation=arch.activation.value, return_sequences=k < arch.layers - 1)
                     for k in range(arch.layers)]
        model = keras.Sequential([keras.Input((28, 28), name="pixels"), *recurrent,
                                  layers.Dense(10, activation="softmax")], name=f"tiny_{arch.value.replace('-', '_')}")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(sample.x_train[:320], sample.y_train[:320], epochs=1, batch_size=32, verbose=0)
        found[arch] = model
    return found


@pytest.fixture(scope="module")
def converted(tiny_models, sample, tmp_path_factory) -> Callable[[Recipe, Variant, Graph], Path]:
    """The file for (recipe, arch, graph), converted once by calling the converter directly."""
    folder = tmp_path_factory.mktemp("converted")
    done: dict[tuple[str, Variant, Graph], Path] = {}

    def get(recipe: Recipe, arch: Variant, graph: Graph) -> Path:
        key = (recipe.key, arch, graph)
        if key not in done:
            model = tiny_models[arch]
            calibration = data.calibration_sample(sample, CALIBRATION, seed=0) if recipe.calibrated else None
            target = folder / f"{arch.value}-{recipe.name}-{graph.value}{recipe.format.suffix}"
            if graph is Graph.STEP:
                from edgeseq.export import step

                step.convert(model, recipe, calibration, target)
            elif recipe.format is Format.TFLITE:
                from edgeseq.export import tflite

                target.write_bytes(tflite.convert(model, arch, recipe, graph, calibration))
            else:
                from edgeseq.export import onnx

                onnx.convert(model, arch, recipe, graph, calibration, target)
            done[key] = target
        return done[key]

    return get


def expected_recurrent_ops(recipe: Recipe, arch: Variant, graph: Graph) -> dict[str, int]:
    """The recurrent ops (and how many) the graph promises; an unrolled graph has none."""
    layers = arch.layers
    if graph is Graph.FUSED:
        return {"UNIDIRECTIONAL_SEQUENCE_LSTM": layers}
    if graph is not Graph.LOOP:
        return {}
    if recipe.format is Format.TFLITE:
        return {"WHILE": layers}
    if arch.cell is not Cell.LSTM:  # tf2onnx keeps a SimpleRNN or a GRU as an ONNX Loop
        return {"Loop": layers}
    return {"DynamicQuantizeLSTM" if recipe.quant is Quant.DYNAMIC else "LSTM": layers}


@pytest.mark.parametrize("recipe, arch, graph", CASES)
def test_structure(converted, recipe, arch, graph):
    """Builtin ops only, one input and one output of the promised type and batch, the graph's recurrent op."""
    facts = read_facts(converted(recipe, arch, graph))
    assert facts.custom_ops == [] and not [op for op in facts.ops if op.startswith(("Flex", "CUSTOM"))], facts.ops
    if graph is Graph.STEP:   # one row and the state in, the probabilities and the next state out, all float32
        kinds = ("h", "c") if arch.cell is Cell.LSTM else ("h",)
        states = [f"{kind}{k + 1}" for k in range(arch.layers) for kind in kinds]
        assert sorted(plain_name(t) for t in facts.inputs) == sorted(["row", *states]), facts.inputs
        assert sorted(plain_name(t) for t in facts.outputs) == sorted(["probabilities",
                                                                           *(f"next_{s}" for s in states)])
        assert {t.dtype for t in (*facts.inputs, *facts.outputs)} == {"float32"}
        assert not [op for op in facts.ops if op in RECURRENT_OPS] and facts.recurrent_op == STEP_RECURRENCE
        return
    assert len(facts.inputs) == 1 and len(facts.outputs) == 1, facts
    assert facts.inputs[0].shape[1:] == [28, 28] and facts.outputs[0].shape[-1] == 10
    assert facts.inputs[0].dtype == facts.outputs[0].dtype == recipe.io_dtype
    assert {op: n for op, n in facts.ops.items() if op in RECURRENT_OPS} == expected_recurrent_ops(recipe, arch, graph)
    if recipe.format is Format.TFLITE:
        assert facts.signatures == ["serving_default"]
        assert facts.inputs[0].shape[0] == GRAPHS[graph].batch  # None: a dynamic batch
    else:
        assert (facts.inputs[0].name, facts.outputs[0].name) == ("pixels", "probabilities")
        assert facts.inputs[0].shape[0] is None  # ONNX keeps a dynamic batch on every graph


@pytest.mark.parametrize("recipe, arch, graph", RUN_CASES)
def test_runs_like_keras(converted, tiny_models, sample, recipe, arch, graph):
    """Float files match Keras; quantized ones give probabilities (tiny models: their top-1 is not compared)."""
    path = converted(recipe, arch, graph)
    digits = sample.x_test[:DIGITS]
    runtime = runtimes.load(path, runtimes.runtimes_for(path)[0])
    got = runtimes.predict_in_batches(runtime, digits)
    expected = np.asarray(tiny_models[arch](digits, training=False))
    assert got.shape == expected.shape == (DIGITS, 10) and got.dtype == np.float32
    assert np.isfinite(got).all()
    if recipe.quant is Quant.FP32:
        assert np.abs(got - expected).max() <= 1e-4
    elif recipe.quant is Quant.FP16:
        assert np.abs(got - expected).max() <= 1e-2
    else:
        assert got.min() >= 0 and got.max() <= 1 + 1e-6
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=0.03)


def test_every_recipe_and_allowed_graph_is_a_case():
    """The cases come from the table: a recipe or graph added there is converted here without editing this file."""
    assert {(c.values[0].format, c.values[0].quant) for c in CASES} == set(RECIPES)
    assert {c.values[2] for c in CASES} == set(Graph)

    def skipped(found: list[Any]) -> set[tuple[str, Variant, Graph]]:
        return {(c.values[0].key, c.values[1], c.values[2]) for c in found
                if any(mark.name == "skip" for mark in c.marks)}

    assert {(key, graph) for key, _, graph in skipped(CASES)} == {(f"{f.value}/{q.value}", g) for f, q, g in CRASHES}
    assert skipped(RUN_CASES) - skipped(CASES) == {("tflite/int16x8", GRU_TANH, graph)
                                                   for graph in (Graph.UNROLLED, Graph.UNROLLED_B1, Graph.STEP,
                                                                 Graph.HOISTED)}


def test_tanh_lstm_int8_is_fused_with_integer_kernels(converted):
    """A tanh LSTM's int8 file keeps one UNIDIRECTIONAL_SEQUENCE_LSTM per layer, its weights int8, its hidden
    state int8 and its cell state int16 (the full-integer kernel, which hard-codes tanh), its options tanh."""
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    from edgeseq.export.fused_lstm import lstm_options

    recipe = RECIPES[(Format.TFLITE, Quant.INT8)]
    assert recipe.graph_problem(LSTM_TANH, Graph.FUSED) is None and recipe.graph_problem(LSTM, Graph.FUSED)
    path = converted(recipe, LSTM_TANH, Graph.FUSED)
    assert [o["activation"] for o in lstm_options(path.read_bytes())] == ["TANH"] * LSTM_TANH.layers
    interpreter = interpreter_module.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    lstms = [op for op in interpreter._get_ops_details() if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert len(lstms) == LSTM_TANH.layers
    for op in lstms:
        dtypes = [tensors[i]["dtype"].__name__ if i >= 0 else None for i in op["inputs"]]
        assert dtypes[:9] == ["int8"] * 9                     # input, 4 input and 4 recurrent weight matrices
        assert dtypes[12:16] == ["int32"] * 4                 # gate biases
        assert dtypes[18:20] == ["int8", "int16"]             # the variable h and c
        assert [tensors[i]["dtype"].__name__ for i in op["outputs"]] == ["int8"]
