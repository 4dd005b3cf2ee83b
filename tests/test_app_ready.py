"""App-ready files (issue 22, part 2): the documented tensor order of every exported file (export.tensor_order), the
app-ready variant `export --app` writes (export.app: batch 1, no variable tensors, float32 I/O), and that it loads in
LiteRT's CompiledModel (the API apps are pointed to) and answers as the golden outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from edgeseq import formats, golden
from edgeseq.core import layout
from edgeseq.artifacts import read_facts
from edgeseq.export import app, tensor_order
from edgeseq.export.exporter import plan_app
from edgeseq.core.errors import EdgeseqError
from edgeseq.models import Arch
from edgeseq.recipes import APP_FALLBACK, GRAPHS, RECIPES, Format, Graph, Quant, recipe
from edgeseq.step_contract import StepContract
from edgeseq.core.manifest import read_manifest

MODELS = REPO / "models"


def _contract(path: Path) -> StepContract:
    return StepContract.from_dict(json.loads(layout.manifest_path(path).read_text())["step"])


def _copy(tmp_path: Path, *paths: Path) -> list[Path]:
    return [Path(shutil.copy(p, tmp_path / p.name)) for p in paths]


def _step_feed(contract: StepContract, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.random((1, contract.features if name == "row" else
                              next(s.units for s in contract.states if s.name == name)), dtype=np.float32)
            for name in contract.input_names}


# ---------------------------------------------------------------- tensor order

def test_documented_order_is_the_step_contract_order() -> None:
    contract = _contract(MODELS / "lstm" / "lstm-fp32-step.tflite")
    order = tensor_order.documented(contract)
    assert order.inputs == ("row", "h1", "c1", "h2", "c2")
    assert order.outputs == ("probabilities", "next_h1", "next_c1", "next_h2", "next_c2")
    assert tensor_order.documented(None) == tensor_order.TensorOrder(("pixels",), ("probabilities",))


def _scrambled(path: Path, contract: StepContract) -> None:
    """`path` with its inputs and outputs in the reverse of the documented order, as a converter may leave them
    (the TFLite converter gave a step model h1, h2, c2, row, c1; tf2onnx sorts outputs by name)."""
    order = tensor_order.documented(contract)
    scrambled = tensor_order.TensorOrder(order.inputs[::-1], order.outputs[::-1])
    formats.by_suffix(path).adapter().write_tensor_order(path, scrambled)
    assert tensor_order.problem(read_facts(path), contract) is not None


@pytest.mark.parametrize("path", sorted(p for p in MODELS.glob("*/*-step*") if p.suffix in (".tflite", ".onnx")),
                         ids=lambda p: p.name)
def test_every_committed_step_file_has_the_documented_order(path: Path) -> None:
    assert tensor_order.problem(read_facts(path), _contract(path)) is None


@pytest.mark.parametrize("name", ["lstm/lstm-fp32-step.tflite", "rnn/rnn-dynamic-step.tflite"])
def test_tflite_order_rewrite_is_positional_and_keeps_every_output(name: str, tmp_path: Path) -> None:
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.interpreter import Interpreter

    source = MODELS / name
    contract = _contract(source)
    (path,) = _copy(tmp_path, source)
    _scrambled(path, contract)
    feed = _step_feed(contract)
    before = Interpreter(str(path)).get_signature_runner()(**feed)
    tensor_order.apply(path, contract)
    facts = read_facts(path)
    assert tensor_order.file_order(facts) == tensor_order.documented(contract)
    assert tensor_order.problem(facts, contract) is None
    after = Interpreter(str(path)).get_signature_runner()(**feed)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    # fed by position, read by position: the documented order, the same answers
    interpreter = Interpreter(str(path))
    interpreter.allocate_tensors()
    for detail, name_ in zip(interpreter.get_input_details(), contract.input_names):
        interpreter.set_tensor(detail["index"], feed[name_])
    interpreter.invoke()
    for detail, name_ in zip(interpreter.get_output_details(), contract.output_names):
        assert np.array_equal(interpreter.get_tensor(detail["index"]), before[name_])
    signature = CompiledModel.from_file(str(path)).get_signature_by_index(0)   # the signature's order too
    assert (tuple(signature["inputs"]), tuple(signature["outputs"])) == (tuple(contract.input_names),
                                                                         tuple(contract.output_names))


def test_onnx_order_rewrite_is_positional_and_keeps_every_output(tmp_path: Path) -> None:
    import onnxruntime as ort

    source = MODELS / "lstm" / "lstm-fp32-step.onnx"
    contract = _contract(source)
    (path,) = _copy(tmp_path, source)
    _scrambled(path, contract)
    feed = _step_feed(contract)
    before = dict(zip((o.name for o in ort.InferenceSession(str(path)).get_outputs()),
                      ort.InferenceSession(str(path)).run(None, feed)))
    tensor_order.apply(path, contract)
    assert tensor_order.problem(read_facts(path), contract) is None
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == contract.input_names
    assert [o.name for o in session.get_outputs()] == contract.output_names
    for name_, value in zip(contract.output_names, session.run(None, feed)):
        assert np.array_equal(value, before[name_])


def test_an_order_naming_other_tensors_is_refused(tmp_path: Path) -> None:
    (path,) = _copy(tmp_path, MODELS / "rnn" / "rnn-fp32-step.tflite")
    with pytest.raises(EdgeseqError, match="documented order names"):
        tensor_order.apply(path, _contract(MODELS / "lstm" / "lstm-fp32-step.tflite"))


# ---------------------------------------------------------------- what an app runtime refuses

@pytest.mark.parametrize(("name", "expected"), [
    ("lstm/lstm-fp32.tflite", [app.VARIABLE_STATE]),
    ("rnn/rnn-fp32.tflite", [app.DYNAMIC_BATCH]),
    ("rnn/rnn-int8.tflite", [app.DYNAMIC_BATCH, app.INTEGER_IO.format(dtype="int8")]),
    ("lstm/lstm-int8.tflite", [app.INTEGER_IO.format(dtype="int8")]),
    ("lstm/lstm-dynamic.tflite", []),
])
def test_blockers_of_the_committed_files(name: str, expected: list[str]) -> None:
    assert app.blockers(read_facts(MODELS / name)) == expected


def test_pin_batch_removes_the_dynamic_batch_and_keeps_the_answers(tmp_path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    (path,) = _copy(tmp_path, MODELS / "rnn" / "rnn-fp32.tflite")
    digits = golden.golden_digits(8).x_test.astype(np.float32)

    def answers() -> np.ndarray:
        interpreter = Interpreter(str(path))
        interpreter.allocate_tensors()
        x, y = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
        out = []
        for digit in digits:
            interpreter.set_tensor(x["index"], digit[None])
            interpreter.invoke()
            out.append(interpreter.get_tensor(y["index"]).copy())
        return np.concatenate(out)

    before = answers()
    assert app.pin_batch(path) > 0
    assert app.blockers(read_facts(path)) == []
    assert np.array_equal(answers(), before)


# ---------------------------------------------------------------- the app graph and the plan

def test_every_tflite_recipes_app_graph_is_app_ready() -> None:
    assert all(GRAPHS[g].app_problem is None for g in APP_FALLBACK)
    for row in (r for r in RECIPES.values() if r.format is Format.TFLITE):
        for arch in Arch:
            graph = row.app_graph_for(arch)
            if row.graph_for(arch) is None:
                assert graph is None
                continue
            assert graph is not None and GRAPHS[graph].app_problem is None, (row.key, arch)
            assert row.graph_problem(arch, graph) is None
    assert recipe("tflite", "fp32").app_graph_for(Arch.LSTM) is Graph.HOISTED      # fused: variable tensors
    assert recipe("tflite", "fp32").app_graph_for(Arch.RNN) is Graph.UNROLLED      # batch pinned after conversion


def test_plan_app_is_tflite_only_and_names_the_app_files(tmp_path: Path) -> None:
    chosen = [RECIPES[(Format.TFLITE, Quant.INT8)], RECIPES[(Format.ONNX, Quant.FP32)]]
    specs = plan_app([Arch.LSTM], chosen, streaming=True)
    assert [(s.recipe.key, s.graph, s.app) for s in specs] == [("tflite/int8", Graph.UNROLLED_B1, True),
                                                                ("tflite/int8", Graph.STEP, True)]
    with pytest.raises(EdgeseqError, match=".tflite files only"):
        plan_app([Arch.LSTM], [RECIPES[(Format.ONNX, Quant.FP32)]])
    with pytest.raises(EdgeseqError, match="not app-ready"):
        plan_app([Arch.LSTM], [RECIPES[(Format.TFLITE, Quant.FP32)]], Graph.FUSED)
    assert layout.exported_path(tmp_path, "lstm", "tflite", "fp32", app=True).name == "lstm-fp32-app.tflite"
    key = layout.parse(Path("lstm-fp32-step-app.tflite"))
    assert key == layout.FileKey("lstm", "tflite", "fp32", step=True, app=True)
    assert key.filename == "lstm-fp32-step-app.tflite" and key.label == "lstm tflite/fp32 step app"
    assert layout.parse(Path("lstm-fp32.tflite")).app is False


# ---------------------------------------------------------------- export --app, end to end (slow)

@pytest.fixture(scope="module")
def app_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """export --app of the committed Keras models: the rnn's int8 recipe (int8 I/O and a dynamic batch by
    default) with its step model, and the lstm's fp32 (fused by default)."""
    out = tmp_path_factory.mktemp("app")
    for model, quant in (("rnn", "int8"), ("lstm", "fp32")):
        done = run_cli("export", "--from", MODELS, "--model", model, "--format", "tflite", "--quant", quant, "--app",
                       "--streaming", "--out", out, "--json")
        assert done.returncode == 0, done.stderr[-2000:]
    return out


APP_FILES = ["rnn/rnn-int8-app.tflite", "rnn/rnn-int8-step-app.tflite", "lstm/lstm-fp32-app.tflite",
             "lstm/lstm-fp32-step-app.tflite"]


@pytest.mark.slow
@pytest.mark.parametrize("name", APP_FILES)
def test_app_files_are_app_ready_in_documented_order(app_files: Path, name: str) -> None:
    path = app_files / name
    manifest = json.loads(layout.manifest_path(path).read_text())
    facts = read_facts(path)
    contract = StepContract.from_dict(manifest["step"]) if manifest.get("step") else None
    assert app.blockers(facts) == [] and manifest["app_ready"]["ready"] is True
    assert tensor_order.problem(facts, contract) is None
    assert manifest["tensor_order"]["inputs"] == list(tensor_order.documented(contract).inputs)
    assert manifest[layout.APP_SECTION]["changes"][0].startswith("batch pinned to 1")
    assert layout.key_of(path, read_manifest(path)).app
    if name == "lstm/lstm-fp32-app.tflite":
        assert manifest["graph"] == "hoisted" and manifest[layout.APP_SECTION]["default_graph"] == "fused"
    if name == "rnn/rnn-int8-app.tflite":
        assert facts.inputs[0].dtype == "float32" and any("float32 input/output" in c
                                                         for c in manifest[layout.APP_SECTION]["changes"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rnn/rnn-int8-app.tflite", "lstm/lstm-fp32-app.tflite"])
def test_app_files_load_in_compiled_model_and_answer_as_the_golden_outputs(app_files: Path, name: str) -> None:
    from ai_edge_litert.compiled_model import CompiledModel

    path = app_files / name
    reference = golden.read(layout.golden_path(path.parent, path.parent.name))
    digits = reference.dataset().x_test.astype(np.float32)
    model = CompiledModel.from_file(str(path))
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    answers = []
    for digit in digits:
        inputs[0].write(digit[None])
        model.run_by_index(0, inputs, outputs)
        answers.append(outputs[0].read(10, np.float32))
    answers = np.asarray(answers)
    agreement = float(np.mean(answers.argmax(1) == reference.probabilities.argmax(1)))
    if name.startswith("lstm"):   # float: within the float tolerance of the Keras model
        assert np.max(np.abs(answers - reference.probabilities)) < 1e-4
    assert agreement >= 0.95


@pytest.mark.slow
def test_validate_treats_app_files_like_any_file(app_files: Path) -> None:
    done = run_cli("validate", app_files, "--json")
    rows = json.loads(done.stdout)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert {Path(n).name for n in APP_FILES} <= set(by_name), sorted(by_name)
    assert by_name["lstm-fp32-app.tflite"]["passed"] is True, by_name["lstm-fp32-app.tflite"]
    # a step model with a fixed batch of 1 is run one sequence at a time (runtimes.litert_runtime)
    assert by_name["lstm-fp32-step-app.tflite"]["passed"] is True, by_name["lstm-fp32-step-app.tflite"]
    assert Path(by_name["lstm-fp32-step-app.tflite"]["reference"]).name == "lstm-fp32-app.tflite"   # its own whole file
    assert by_name["rnn-int8-step-app.tflite"]["agreement"] is not None, by_name["rnn-int8-step-app.tflite"]
