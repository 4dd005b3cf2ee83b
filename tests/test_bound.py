"""The compute bound beside the latency (edgeseq.bench.bound): FLOPs counted from the committed models' Keras
configs and from ONNX graphs, the single-thread peak measured in a fresh process, and bench's rows carrying
flops, bound_us and bound_ratio consistently. No timing assertions."""

from __future__ import annotations

import csv
import io
import json
import shutil
import statistics
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from edgeseq.bench import BenchResult, bound
from edgeseq.bench.remote import _counted_here
from edgeseq.core.manifest import Manifest

MODELS = REPO / "models"
FAST = ("--warmup", "2", "--min-runs", "20", "--min-seconds", "0")
T, FEATURES, CLASSES = 28, 28, 10       # MNIST read row by row: 28 rows of 28 pixels


def recurrent_macs(gates: int, inputs: int, units: int, steps: int = T) -> int:
    """Multiply-adds of a recurrent layer: every step, every gate, the input and the recurrent product."""
    return steps * gates * units * (inputs + units)


def lstm_flops(steps: int = T) -> int:
    """The committed LSTM: LSTM(128) -> LSTM(128) -> Dense(32) -> Dense(10), 2 FLOPs per multiply-add."""
    return 2 * (recurrent_macs(4, FEATURES, 128, steps) + recurrent_macs(4, 128, 128, steps) + 128 * 32
                + 32 * CLASSES)


def rnn_flops(steps: int = T) -> int:
    """The committed RNN: SimpleRNN(32) -> Dense(10)."""
    return 2 * (recurrent_macs(1, FEATURES, 32, steps) + 32 * CLASSES)


def manifest(path: Path) -> Manifest:
    return Manifest.from_dict(json.loads(path.with_name(path.name + ".json").read_text()))


# --- FLOPs ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lstm.keras", "lstm-fp32.tflite", "lstm-int8.tflite", "lstm-dynamic.onnx"])
def test_the_lstm_files_count_the_flops_of_their_keras_model(name):
    path = MODELS / "lstm" / name
    count = bound.count_flops(path, None if path.suffix == ".keras" else manifest(path))
    assert count.flops == lstm_flops()
    assert count.source == "Keras config of lstm.keras"
    assert [part["kind"] for part in count.layers] == ["LSTM", "LSTM", "Dense", "Dense"]


def test_a_step_model_counts_every_layer_once_per_row():
    """28 rows fed one by one: each row runs one step of each LSTM and the whole head."""
    path = MODELS / "lstm" / "lstm-fp32-step.tflite"
    count = bound.count_flops(path, manifest(path), step=True, timesteps=T)
    assert count.flops == T * lstm_flops(steps=1)
    assert count.flops > lstm_flops()                      # the head runs 28 times, not once
    assert "x 28 rows" in count.source


@pytest.mark.parametrize("name, step, expected", [
    ("rnn-fp32.onnx", False, rnn_flops()),                 # unrolled: 57 MatMuls, h0 = zeros of no static shape
    ("rnn-dynamic.onnx", False, rnn_flops()),              # MatMulInteger
    ("rnn-fp32-step.onnx", True, T * rnn_flops(steps=1)),
])
def test_an_onnx_file_without_its_keras_model_is_counted_from_its_graph(tmp_path, name, step, expected):
    alone = tmp_path / name
    shutil.copy(MODELS / "rnn" / name, alone)              # no manifest, no .keras beside it
    count = bound.count_flops(alone, None, step=step, timesteps=T)
    assert count.source.startswith("ONNX graph structure")
    assert count.flops == expected


def test_onnx_structure_of_a_built_graph(tmp_path):
    """An LSTM op, a MatMul on a symbolic batch and a transposed Gemm: 2 x (LSTM + MatMul + Gemm multiply-adds)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    steps, features, hidden, out = 5, 3, 4, 6
    weights = {"W": np.zeros((1, 4 * hidden, features), np.float32), "R": np.zeros((1, 4 * hidden, hidden), np.float32),
               "M": np.zeros((hidden, out), np.float32), "G": np.zeros((2, out), np.float32)}
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["y", "h"], hidden_size=hidden),
             helper.make_node("Reshape", ["h", "shape"], ["h2"]),
             helper.make_node("MatMul", ["h2", "M"], ["m"]),
             helper.make_node("Gemm", ["m", "G"], ["g"], transB=1)]
    shape = numpy_helper.from_array(np.array([-1, hidden], np.int64), "shape")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, "n", features])],
                              [helper.make_tensor_value_info("g", TensorProto.FLOAT, ["n", 2])],
                              [numpy_helper.from_array(v, k) for k, v in weights.items()] + [shape])
    path = tmp_path / "built.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    flops, parts = bound.onnx_structure_flops(path)
    assert [p["op"] for p in parts] == ["LSTM", "MatMul", "Gemm"]
    assert flops == 2 * (steps * 4 * hidden * (features + hidden) + hidden * out + out * 2)


def test_a_tflite_file_without_its_source_has_no_flops_and_says_why(tmp_path):
    alone = tmp_path / "lstm-int8.tflite"
    shutil.copy(MODELS / "lstm" / "lstm-int8.tflite", alone)
    count = bound.count_flops(alone, None)
    assert count.flops is None
    assert count.source.startswith("FLOPs unknown") and "TFLite graph is not counted" in count.source


def test_a_keras_file_of_the_right_name_but_other_bytes_is_not_its_source(tmp_path):
    for name in ("lstm-fp32.tflite", "lstm-fp32.tflite.json"):
        shutil.copy(MODELS / "lstm" / name, tmp_path / name)
    shutil.copy(MODELS / "rnn" / "rnn.keras", tmp_path / "lstm.keras")     # not what it was exported from
    count = bound.count_flops(tmp_path / "lstm-fp32.tflite", manifest(tmp_path / "lstm-fp32.tflite"))
    assert count.flops is None and "sha256 differs" in count.source


def test_bound_fields_are_flops_at_the_peak():
    fields = bound.bound_fields(2_000_000, 50.0, 100.0)       # 2 MFLOP at 100 GFLOP/s: 20 µs
    assert fields["bound_us"] == pytest.approx(20.0) and fields["bound_ratio"] == pytest.approx(2.5)
    assert bound.bound_fields(None, 50.0, 100.0) == {"bound_us": None, "bound_ratio": None}
    assert bound.bound_fields(2_000_000, 50.0, None) == {"bound_us": None, "bound_ratio": None}


# --- the peak -------------------------------------------------------------------------------------------------

def test_the_peak_is_measured_in_a_process_with_one_blas_thread():
    reading = bound.peak_in_worker()
    assert isinstance(reading, dict), reading
    assert reading["gflops"] > 0 and reading["gflops_best"] >= reading["gflops"]
    assert reading["size"] == bound.PEAK_SIZE and reading["reps"] == bound.PEAK_REPS
    assert reading["blas_threads"] == {name: "1" for name in bound.THREAD_VARIABLES}


def test_the_peak_environment_is_the_median_of_the_readings_that_worked():
    env = bound.peak_environment([{"gflops": 100.0, "blas": "x"}, "the peak measurement timed out after 120 s",
                                  {"gflops": 120.0}])
    assert env["fp32_gemm_peak_gflops"] == 110.0 and env["fp32_gemm_peak_readings_gflops"] == [100.0, 120.0]
    assert "timed out" in env["fp32_gemm_peak_error"]
    assert bound.peak_environment(["crashed"])["fp32_gemm_peak_gflops"] is None


# --- in bench -------------------------------------------------------------------------------------------------

def test_bench_rows_carry_flops_bound_and_ratio(tmp_path):
    """A real bench of the committed RNN's ONNX file at batch 1 and 2, and of a TFLite file with no source."""
    alone = tmp_path / "alone" / "rnn-int8.tflite"
    alone.parent.mkdir()
    shutil.copy(MODELS / "rnn" / "rnn-int8.tflite", alone)
    csv_path = tmp_path / "bench.csv"
    done = run_cli("bench", MODELS / "rnn" / "rnn-fp32.onnx", alone, "--runtime", "onnxruntime,litert",
                   "--batch", "1,2", *FAST, "--json", "--csv", csv_path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    peaks = {json.dumps({k: v for k, v in r["environment"].items() if k.startswith("fp32_gemm_peak")}) for r in rows}
    assert len(peaks) == 1                                          # one peak for the whole run
    env = rows[0]["environment"]
    assert len(env["fp32_gemm_peak_readings_gflops"]) == 2          # before the files and after them
    assert env["fp32_gemm_peak_gflops"] == pytest.approx(statistics.median(env["fp32_gemm_peak_readings_gflops"]))
    counted = [r for r in rows if r["path"].endswith("rnn-fp32.onnx")]
    assert sorted(r["batch"] for r in counted) == [1, 2]
    for row in counted:
        assert row["status"] == "ok" and row["flops"] == rnn_flops() * row["batch"]
        assert row["bound_us"] == pytest.approx(row["flops"] / (env["fp32_gemm_peak_gflops"] * 1e3))
        assert row["bound_ratio"] == pytest.approx(row["p50_us"] / row["bound_us"])
        assert BenchResult.from_dict(row).to_dict() == row
    uncounted = [r for r in rows if r["path"] == str(alone)]
    assert uncounted and all(r["status"] == "ok" and r["flops"] is None and r["bound_us"] is None
                             and r["bound_ratio"] is None and r["flops_source"].startswith("FLOPs unknown")
                             for r in uncounted)
    written = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert {"flops", "bound_us", "bound_ratio"} <= set(written[0])
    assert "fp32 GEMM peak before the files" in done.stderr and "after the files" in done.stderr


def test_bench_table_shows_the_bound_and_says_when_flops_are_unknown(tmp_path):
    for name in ("rnn-fp32.tflite", "rnn-fp32.tflite.json", "rnn.keras"):      # short paths: one line per row
        (tmp_path / "m").mkdir(exist_ok=True)
        shutil.copy(MODELS / "rnn" / name, tmp_path / "m" / name)
    (tmp_path / "a").mkdir()
    shutil.copy(MODELS / "rnn" / "rnn-int8.tflite", tmp_path / "a" / "rnn-int8.tflite")
    done = run_cli("bench", "m/rnn-fp32.tflite", "a/rnn-int8.tflite", "--runtime", "litert", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[4:8] == ["p50", "µs", "bound", "µs"] and lines[0].split()[8] == "p50/bound"
    known = next(line for line in lines if line.startswith("m/rnn-fp32.tflite")).split()
    assert float(known[5]) > 0 and float(known[6]) > 0                      # bound µs, p50/bound
    assert "FLOPs unknown" in next(line for line in lines if line.startswith("a/rnn-int8.tflite"))
    assert any(line.startswith("bound: each row's FLOPs at ") for line in lines)


def test_a_remote_row_is_counted_here_at_the_hosts_peak():
    """The host gets no .keras (only the files and their manifests travel): the FLOPs are counted here, the bound
    uses the peak the host measured."""
    path = MODELS / "lstm" / "lstm-fp32.tflite"
    there = BenchResult(path=str(path), model="lstm", format="tflite", recipe="fp32", runtime="litert",
                        status="ok", reason=None, batch=2, p50_us=1000.0, flops=None,
                        flops_source="FLOPs unknown: its source lstm.keras is not beside it",
                        environment={"fp32_gemm_peak_gflops": 10.0})
    home = _counted_here(there)
    assert home.flops == 2 * lstm_flops() and home.flops_source == "Keras config of lstm.keras"
    assert home.bound_us == pytest.approx(home.flops / 1e4) and home.bound_ratio == pytest.approx(1000.0 / home.bound_us)
    failed = BenchResult(path=str(path), model="lstm", format="tflite", recipe="fp32", runtime="litert",
                         status="failed", reason="crashed")
    assert _counted_here(failed) == failed
