"""The app runtimes: LiteRT's CompiledModel (Python) and, through js/edgeseq-runner.mjs, onnxruntime-node,
onnxruntime-web (WASM) and LiteRT.js under Node. Each runs a committed RNN file and a step file against the golden
outputs; a file one refuses is one line saying why; bench rows come from timing inside Node."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, invoke_cli, run_cli
from edgeseq import golden, runtimes
from edgeseq.runtimes import RuntimeName
from js_env import require_js

MODELS = REPO / "models"
DIGITS = 64
NODE = {RuntimeName.ONNXRUNTIME_NODE: "onnxruntime-node", RuntimeName.ONNXRUNTIME_WEB: "onnxruntime-web",
        RuntimeName.LITERTJS: "@litertjs/core"}


@pytest.fixture(scope="module")
def rnn_golden() -> tuple[np.ndarray, np.ndarray]:
    """The first digits golden outputs are stored for, and the Keras model's probabilities on them."""
    stored = golden.read(MODELS / "rnn" / "rnn.golden.npz")
    return golden.golden_digits(DIGITS).x_test, stored.probabilities[:DIGITS]


def batch_one_copy(source: Path, folder: Path) -> Path:
    """A copy of a .tflite file with every tensor's batch axis fixed to 1 (shape_signature -1 -> 1, in place)."""
    import tflite

    data = bytearray(source.read_bytes())
    model = tflite.Model.GetRootAsModel(data, 0)
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            signature = graph.Tensors(t).ShapeSignatureAsNumpy()
            if isinstance(signature, np.ndarray) and len(signature) and signature[0] == -1:
                signature[0] = 1          # a view into `data`
    target = folder / source.name.replace(".tflite", "-b1.tflite")
    target.write_bytes(bytes(data))
    return target


def predicted(path: Path, runtime: RuntimeName, digits: np.ndarray) -> np.ndarray:
    loaded = runtimes.load(path, runtime)
    return runtimes.predict_in_batches(loaded, digits)


@pytest.mark.parametrize("name", ["rnn-fp32.tflite", "rnn-fp32-step.tflite"])
def test_litert_compiled_matches_golden(name, rnn_golden):
    digits, expected = rnn_golden
    probabilities = predicted(MODELS / "rnn" / name, RuntimeName.LITERT_COMPILED, digits)
    assert probabilities.shape == expected.shape and np.abs(probabilities - expected).max() < 1e-4
    assert runtimes.load(MODELS / "rnn" / name, RuntimeName.LITERT_COMPILED).backend.startswith(
        "LiteRT CompiledModel (ai-edge-litert")


def test_litert_compiled_int8_io_matches_the_interpreter(rnn_golden):
    """int8 input and output, quantized and dequantized by the adapter with the file's scales: the same
    probabilities as the classic Interpreter's adapter."""
    digits, _ = rnn_golden
    path = MODELS / "rnn" / "rnn-int8.tflite"
    ours, theirs = predicted(path, RuntimeName.LITERT_COMPILED, digits), predicted(path, RuntimeName.LITERT, digits)
    assert ours.shape == (DIGITS, 10) and np.abs(ours - theirs).max() < 1e-6


def test_litert_compiled_refuses_the_fused_lstm_in_one_line():
    done = run_cli("validate", MODELS / "lstm" / "lstm-fp32.tflite", "--runtime", "litert-compiled", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [row] = json.loads(done.stdout)
    assert row["accuracy"] is None and "\n" not in row["reason"]
    assert "LiteRT CompiledModel cannot load it" in row["reason"] and "variable tensors" in row["reason"]


@pytest.mark.parametrize("runtime", [RuntimeName.ONNXRUNTIME_NODE, RuntimeName.ONNXRUNTIME_WEB])
@pytest.mark.parametrize("name", ["rnn-fp32.onnx", "rnn-fp32-step.onnx"])
def test_onnxruntime_in_node_matches_golden(runtime, name, rnn_golden):
    require_js(NODE[runtime])
    digits, expected = rnn_golden
    loaded = runtimes.load(MODELS / "rnn" / name, runtime)
    probabilities = runtimes.predict_in_batches(loaded, digits)
    assert probabilities.shape == expected.shape and np.abs(probabilities - expected).max() < 1e-4
    assert loaded.backend.startswith(runtime.value) and "Node v" in loaded.backend


@pytest.mark.parametrize("name", ["rnn-fp32.tflite", "rnn-fp32-step.tflite"])
def test_litertjs_runs_a_batch_one_copy_and_matches_golden(name, rnn_golden, tmp_path):
    require_js("@litertjs/core")
    digits, expected = rnn_golden
    copy = batch_one_copy(MODELS / "rnn" / name, tmp_path)
    probabilities = predicted(copy, RuntimeName.LITERTJS, digits)
    assert probabilities.shape == expected.shape and np.abs(probabilities - expected).max() < 1e-4


def test_litertjs_refusals_are_one_line_each(tmp_path):
    require_js("@litertjs/core")
    files = [MODELS / "rnn" / "rnn-fp32.tflite", MODELS / "rnn" / "rnn-int8.tflite", MODELS / "lstm" / "lstm-fp32.tflite"]
    done = run_cli("validate", *files, "--runtime", "litertjs", "--json", "--limit", "20")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    reasons = {Path(r["path"]).name: r["reason"] for r in json.loads(done.stdout)}
    assert all("\n" not in r and "LiteRT.js cannot run it" in r for r in reasons.values()), reasons
    assert "dynamic batch axis" in reasons["rnn-fp32.tflite"]
    assert "int8 input/output tensors" in reasons["rnn-int8.tflite"]
    assert "variable tensors" in reasons["lstm-fp32.tflite"]


def test_a_node_runtime_without_its_packages_names_the_install(tmp_path):
    shutil.copy(REPO / "edgeseq" / "runtimes" / "js" / "edgeseq-runner.mjs", tmp_path)   # the bridge, no node_modules
    done = invoke_cli("validate", MODELS / "rnn" / "rnn-fp32.onnx", "--runtime", "onnxruntime-node",
                      env={"EDGESEQ_JS_DIR": str(tmp_path)})
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "runtime onnxruntime-node:" in done.stderr and "edgeseq setup js" in done.stderr


def test_app_runtimes_are_chosen_by_name_only():
    defaults = runtimes.default_runtimes()
    assert not {RuntimeName.LITERT_COMPILED, *NODE} & set(defaults)
    assert runtimes.runtimes_for(MODELS / "rnn" / "rnn-fp32.onnx", [RuntimeName.ONNXRUNTIME_WEB]) == \
        [RuntimeName.ONNXRUNTIME_WEB]


@pytest.mark.slow
def test_bench_times_inside_node_and_rows_carry_the_runtime(tmp_path):
    require_js("onnxruntime-node")
    for name in ("rnn-fp32.onnx", "rnn-fp32-step.onnx"):
        shutil.copy(MODELS / "rnn" / name, tmp_path)
        shutil.copy(MODELS / "rnn" / f"{name}.json", tmp_path)
    done = run_cli("bench", tmp_path, "--runtime", "onnxruntime-node", "--batch", "1,2", "--min-runs", "20",
                   "--min-seconds", "0", "--warmup", "2", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {(Path(r["path"]).name, r["batch"]) for r in rows} == {
        (n, b) for n in ("rnn-fp32.onnx", "rnn-fp32-step.onnx") for b in (1, 2)}
    for row in rows:
        assert row["status"] == "ok" and row["runtime"] == "onnxruntime-node"
        assert row["backend"].startswith("onnxruntime-node 1.") and row["runs"] >= 20
        assert 0 < row["p50_us"] <= row["p99_us"] and "node process" in row["memory_method"]
        assert (row["step_p50_us"] is not None) == ("step" in row["path"])
    # the rows join the report like any other runtime's: one file row per file × runtime, batch 1 its p50
    from edgeseq.bench.runner import BenchResult
    from edgeseq.report.inputs import Inputs
    from edgeseq.report.join import file_rows

    joined = file_rows(Inputs(str(tmp_path), (), (), (), tuple(BenchResult.from_dict(r) for r in rows)))
    assert {(r.runtime, r.p50_us) for r in joined} == {("onnxruntime-node", r["p50_us"]) for r in rows
                                                       if r["batch"] == 1}
