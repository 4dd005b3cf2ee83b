"""bench --profile: time per operator, grouped into layers. Real profiles of the committed ONNX files in
onnxruntime (and OpenVINO where installed), LiteRT's plain refusal, the grouping rules on names as the exporters
and runtimes write them, the CLI's --json and table, and the report's section. No timing assertions: only that
times are positive and shares add up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, invoke_cli, run_cli
from edgeseq import report
from edgeseq.bench import runner
from edgeseq.bench.profile import (
    DEFAULT_RUNS, DEFAULT_WARMUP, PROFILE_FILE, ProfileConfig, ProfileResult, figures, profile, read_profile)
from edgeseq.bench.profile_groups import (
    FUSED, INPUT_PROJECTION, OTHER, RECURRENCE, UNATTRIBUTED, GraphNode, place_graph, place_runtime_node,
    scope_layer)
from edgeseq.bench.profile_worker import onnxruntime_runs, openvino_means
from edgeseq.cli.bench_modes import MODES
from edgeseq.core.errors import DataError
from edgeseq.core.fileio import sha256_file
from edgeseq.runtimes import RuntimeName

MODELS = REPO / "models"
LSTM_FP32 = MODELS / "lstm" / "lstm-fp32.onnx"
LSTM_DYNAMIC = MODELS / "lstm" / "lstm-dynamic.onnx"
RNN_DYNAMIC = MODELS / "rnn" / "rnn-dynamic.onnx"
FAST = ProfileConfig(warmup=2, min_runs=8)
CLI_FAST = ("--warmup", "2", "--min-runs", "8")
LSTM_LAYERS = {"lstm_1", "lstm_2", "dense", "probabilities"}     # the Keras layer names of models/lstm/lstm.keras


def one(path: Path, runtime: str, config: ProfileConfig = FAST) -> ProfileResult:
    config = ProfileConfig(runtimes=(runtime,), warmup=config.warmup, min_runs=config.min_runs)
    (row,) = profile([path], config)
    return row


def check_figures(row: ProfileResult) -> None:
    """What holds for every profile: positive times, shares of the node sum adding up, layers covering it."""
    assert row.status == "ok", row.reason
    assert row.runs == FAST.min_runs and row.batch == 1 and row.threads == 1
    assert row.plain_p50_us > 0 and row.wall_p50_us > 0 and row.wall_mean_us > 0 and row.node_sum_us > 0
    assert row.overhead == pytest.approx(row.wall_p50_us / row.plain_p50_us)
    assert row.coverage == pytest.approx(row.node_sum_us / row.wall_mean_us)
    assert all(n.mean_us >= 0 and n.total_us >= 0 for n in row.nodes) and row.nodes[0].mean_us > 0
    assert [n.mean_us for n in row.nodes] == sorted((n.mean_us for n in row.nodes), reverse=True)
    assert sum(n.share for n in row.nodes) == pytest.approx(1.0, abs=1e-9)
    assert sum(layer.share for layer in row.layers) == pytest.approx(1.0, abs=1e-9)
    assert sum(op.share for op in row.ops) == pytest.approx(1.0, abs=1e-9)
    assert sum(n.mean_us for n in row.nodes) == pytest.approx(row.node_sum_us)


# --- the grouping rules --------------------------------------------------------------------------------------

def test_scope_names_give_the_keras_layer():
    assert scope_layer("lstm_1/lstm_2_1/strided_slice_3") == "lstm_2"
    assert scope_layer("fused lstm_1/dense_1/MatMul/MatMulAddFusion") == "dense"
    assert scope_layer("rnn_1/simple_rnn_1/simple_rnn_cell_3/MatMul_1") == "simple_rnn"
    assert scope_layer("LSTM__51") is None and scope_layer("probabilities/sink_port_0") is None


def test_unscoped_nodes_take_the_layer_that_reads_them():
    """tf2onnx's LSTM node has no scope: it belongs to the layer whose nodes read it (and it runs the whole
    layer: fused); a quantize node named after its input tensor belongs to the node that reads it."""
    graph = [
        GraphNode("lstm_1/lstm_1_1/transpose", "Transpose"),
        GraphNode("lstm_1/lstm_1_1/zeros", "Expand"),
        GraphNode("Unsqueeze__43", "Unsqueeze", ("lstm_1/lstm_1_1/zeros",)),
        GraphNode("LSTM__51", "LSTM", ("lstm_1/lstm_1_1/transpose", "Unsqueeze__43")),
        GraphNode("Squeeze__55", "Squeeze", ("LSTM__51",)),
        GraphNode("lstm_1/lstm_1_1/transpose_1", "Transpose", ("Squeeze__55",)),
        GraphNode("lstm_1/lstm_1_1/strided_slice_3__123:0_QuantizeLinear", "DynamicQuantizeLinear",
                  ("lstm_1/lstm_1_1/transpose_1",)),
        GraphNode("lstm_1/dense_1/MatMul_quant", "MatMulInteger",
                  ("lstm_1/lstm_1_1/strided_slice_3__123:0_QuantizeLinear",)),
        GraphNode("probabilities", "Softmax", ("lstm_1/dense_1/MatMul_quant",)),
    ]
    places, kinds = place_graph(graph)
    assert kinds == {"lstm_1": "recurrent", "dense": "feed-forward"}
    assert places["LSTM__51"].layer == "lstm_1" and places["LSTM__51"].part == FUSED
    assert places["Unsqueeze__43"].layer == "lstm_1" and places["Unsqueeze__43"].part == OTHER
    assert places["Squeeze__55"].layer == "lstm_1"
    assert places["lstm_1/lstm_1_1/strided_slice_3__123:0_QuantizeLinear"].layer == "dense"
    assert places["probabilities"].layer == "dense"        # an unscoped node nothing reads: what it reads
    assert place_runtime_node("LSTM__51:0_q", "QuantizeLinear", (), places, kinds) == ("lstm_1", OTHER)
    assert place_runtime_node("Transpose_token_28", "Transpose", (), places, kinds) == (UNATTRIBUTED, None)


def test_an_unrolled_cell_splits_into_input_projection_and_recurrence():
    """Keras cell names, as tf2onnx unrolls a SimpleRNN: x·W + b, then h·U + that, then the activation."""
    cell = "rnn_1/simple_rnn_1/simple_rnn_cell_5"
    graph = [GraphNode("rnn_1/simple_rnn_1/unstack", "Split"),
             GraphNode(f"{cell}/MatMul", "MatMul", ("rnn_1/simple_rnn_1/unstack",)),
             GraphNode(f"{cell}/BiasAdd", "Add", (f"{cell}/MatMul",)),
             GraphNode(f"{cell}/MatMul_1", "MatMul"),
             GraphNode(f"{cell}/add", "Add", (f"{cell}/BiasAdd", f"{cell}/MatMul_1")),
             GraphNode(f"{cell}/Relu", "Relu", (f"{cell}/add",)),
             GraphNode(f"{cell}/Relu:0_QuantizeLinear", "DynamicQuantizeLinear", (f"{cell}/Relu",)),
             GraphNode("rnn_1/simple_rnn_1/simple_rnn_cell_7/MatMul_1_quant", "MatMulInteger",
                       (f"{cell}/Relu:0_QuantizeLinear",)),
             GraphNode("rnn_1/probabilities_1/MatMul", "MatMul", (f"{cell}/Relu",))]
    places, kinds = place_graph(graph)
    parts = {name: place.part for name, place in places.items()}
    assert kinds["simple_rnn"] == "recurrent" and kinds["probabilities"] == "feed-forward"
    assert parts[f"{cell}/MatMul"] == parts[f"{cell}/BiasAdd"] == INPUT_PROJECTION
    assert parts[f"{cell}/MatMul_1"] == parts[f"{cell}/add"] == parts[f"{cell}/Relu"] == RECURRENCE
    assert parts[f"{cell}/Relu:0_QuantizeLinear"] == RECURRENCE      # quantizes h for the next step's h·U
    assert parts["rnn_1/simple_rnn_1/unstack"] == OTHER
    assert places["rnn_1/probabilities_1/MatMul"].part is None
    # onnxruntime's fusion of x·W + b, named after its first node; OpenVINO's fusion of a whole step
    assert place_runtime_node(f"fused {cell}/MatMul/MatMulAddFusion", "FusedGemm", (), places, kinds) \
        == ("simple_rnn", INPUT_PROJECTION)
    assert place_runtime_node("x", "Subgraph", [f"{cell}/MatMul", f"{cell}/MatMul_1", f"{cell}/Relu"], places,
                              kinds) == ("simple_rnn", FUSED)
    assert place_runtime_node("y", "Subgraph", [f"{cell}/Relu", "rnn_1/probabilities_1/MatMul"], places,
                              kinds)[0] == "simple_rnn + probabilities"


def test_onnxruntime_trace_keeps_the_last_runs_and_self_times():
    def node(name, op, ts, dur):
        return {"cat": "Node", "name": f"{name}_kernel_time", "op": op, "ts": ts, "dur": dur, "tid": 1}

    def run(ts, dur):
        return {"cat": "Session", "name": "model_run", "ts": ts, "dur": dur, "tid": 1, "op": None}

    events = [run(0, 50), node("a", "MatMul", 1, 40),                         # a warm-up run: left out
              run(100, 60), node("a", "MatMul", 101, 10), node("loop", "Loop", 112, 40),
              node("body", "Add", 115, 30),
              run(200, 60), node("a", "MatMul", 201, 12), node("loop", "Loop", 214, 40),
              node("body", "Add", 216, 34)]
    runs = onnxruntime_runs(events, 2)
    assert runs == [{("a", "MatMul", None): 10.0, ("loop", "Loop", None): 10.0, ("body", "Add", None): 30.0},
                    {("a", "MatMul", None): 12.0, ("loop", "Loop", None): 6.0, ("body", "Add", None): 34.0}]
    with pytest.raises(RuntimeError, match="holds 3 model runs, expected 4"):
        onnxruntime_runs(events, 4)


def test_openvino_counters_give_the_mean_of_the_profiled_runs_alone():
    """OpenVINO's counters are a running mean since compile: (10 + 90) runs at 100 µs after 10 at 1,000 µs."""
    key = ("LSTMSequence_1", "TensorIterator", "unknown_f32")
    (node,) = openvino_means({key: 1000.0}, {key: (10 * 1000.0 + 90 * 100.0) / 100}, 10, 90)
    assert node["mean_us"] == pytest.approx(100.0) and node["total_us"] == pytest.approx(9000.0)
    assert node["p50_us"] is None and node["runs_seen"] == 90


# --- real profiles -------------------------------------------------------------------------------------------

def test_onnxruntime_profile_of_the_fp32_lstm():
    row = one(LSTM_FP32, "onnxruntime")
    check_figures(row)
    assert LSTM_LAYERS <= {layer.layer for layer in row.layers}
    kinds = {layer.layer: layer.kind for layer in row.layers}
    assert kinds["lstm_1"] == kinds["lstm_2"] == "recurrent" and kinds["dense"] == "feed-forward"
    lstm = [n for n in row.nodes if n.op == "LSTM"]
    assert sorted(n.layer for n in lstm) == ["lstm_1", "lstm_2"] and {n.part for n in lstm} == {FUSED}
    assert all(n.runs_seen == FAST.min_runs and n.p50_us is not None for n in lstm)
    assert row.recurrence_share is None and row.split.startswith("fused: not separable")
    assert row.fused_share == pytest.approx(sum(n.share for n in lstm))
    assert "onnxruntime" in row.backend and "profiler on" in row.backend and row.resolution_us == 1.0


def test_an_unrolled_rnn_shows_its_recurrence_apart():
    row = one(RNN_DYNAMIC, "onnxruntime")
    check_figures(row)
    assert row.fused_share == 0 and row.recurrence_share is not None
    assert row.recurrence_share > 0 and row.input_projection_share > 0
    assert row.split.startswith("input projection")
    rnn = next(layer for layer in row.layers if layer.layer == "simple_rnn")
    assert rnn.kind == "recurrent" and set(rnn.parts) >= {INPUT_PROJECTION, RECURRENCE}


def test_the_worker_imports_no_tensorflow():
    answer = runner.run_measurement("edgeseq.bench.profile_worker", LSTM_DYNAMIC, RuntimeName.ONNXRUNTIME, 1, FAST,
                                    600, runner.as_progress(None))
    assert isinstance(answer, dict), answer
    assert answer["tensorflow_imported"] is False
    row = figures(answer)
    assert {n["op"] for n in answer["nodes"]} >= {"DynamicQuantizeLSTM"} and row["nodes"][0].mean_us > 0


def test_openvino_profile_of_the_fp32_lstm():
    pytest.importorskip("openvino", reason="OpenVINO is an optional extra: pip install 'edgeseq[openvino]'")
    row = one(LSTM_FP32, "openvino")
    check_figures(row)
    assert {"lstm_1", "lstm_2"} <= {layer.layer for layer in row.layers}
    loops = [n for n in row.nodes if n.op == "TensorIterator"]
    assert sorted(n.layer for n in loops) == ["lstm_1", "lstm_2"] and {n.part for n in loops} == {FUSED}
    assert row.split.startswith("fused: not separable") and "PERF_COUNT on" in row.backend
    assert row.resolution_us == pytest.approx((FAST.warmup + FAST.min_runs) / FAST.min_runs)


def test_litert_says_plainly_it_has_no_op_profiler():
    row = one(MODELS / "lstm" / "lstm-dynamic.tflite", "litert")
    assert row.status == "unsupported"
    assert "LiteRT's Python API exposes no op profiler" in row.reason
    assert "benchmark_model" in row.reason and "--enable_op_profiling=true" in row.reason
    assert row.nodes == [] and row.layers == [] and row.wall_p50_us is None and row.node_sum_us is None


def test_a_step_model_is_not_profiled_and_says_why():
    row = one(MODELS / "lstm" / "lstm-fp32-step.onnx", "onnxruntime")
    assert row.status == "unsupported" and "step model" in row.reason and row.nodes == []


# --- the command line ----------------------------------------------------------------------------------------

def test_cli_json_rows_and_out_file(tmp_path, without_tensorflow):
    out = tmp_path / "run"
    done = run_cli("bench", LSTM_FP32, MODELS / "rnn" / "rnn-fp32.tflite", "--profile", "--runtime",
                   "onnxruntime,litert", *CLI_FAST, "--json", "--out", out, env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(Path(r["path"]).name, r["runtime"], r["status"]) for r in rows] == [
        ("lstm-fp32.onnx", "onnxruntime", "ok"), ("rnn-fp32.tflite", "litert", "unsupported")]
    assert json.loads((out / PROFILE_FILE).read_text()) == rows
    assert [ProfileResult.from_dict(r) for r in rows] == read_profile(out)
    assert rows[0]["nodes"][0]["op"] and rows[0]["layers"] and rows[0]["sha256"] == sha256_file(LSTM_FP32)


def test_cli_table_shows_top_operators_layers_and_split(tmp_path):
    done = run_cli("bench", LSTM_FP32, "--profile", "--runtime", "onnxruntime", *CLI_FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "top 5 operators" in text and "LSTM__51" in text and "LSTM__72" in text
    assert "layers: lstm_1 " in text and "dense " in text
    assert "recurrent layers: fused: not separable" in text and "unprofiled" in text
    assert list(tmp_path.iterdir()) == []                 # no --out: nothing written


def test_cli_nothing_profiled_is_one_line_error(tmp_path):
    done = invoke_cli("bench", MODELS / "lstm" / "lstm-int8.tflite", "--profile", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: nothing could be profiled: lstm-int8.tflite")
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["--profile", "--scaling"], "--profile does not go with --scaling"),
    (["--profile", "--batch", "2"], "--batch does not go with --profile"),
    (["--profile", "--min-seconds", "1"], "--min-seconds does not go with --profile"),
    (["--profile", "--host", "pi"], "--host does not go with --profile"),
])
def test_cli_refuses_what_does_not_go_with_profile(tmp_path, args, message):
    done = invoke_cli("bench", LSTM_FP32, *args, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == f"Error: {message}" \
        + (": one mode at a time" if "--scaling" in message else "")
    assert list(tmp_path.iterdir()) == []


def test_the_mode_table_holds_the_profile_defaults():
    config = ProfileConfig()
    assert (config.warmup, config.min_runs) == (DEFAULT_WARMUP, DEFAULT_RUNS)
    assert MODES["warmup"].profile == config.warmup and MODES["min_runs"].profile == config.min_runs
    assert MODES["threads"].profile == config.threads


# --- the report ----------------------------------------------------------------------------------------------

RECOMMENDED = ("models/lstm/lstm-dynamic.onnx", "models/rnn/rnn-fp32.tflite")   # in the golden results


def results_about(folder: Path) -> Path:
    """The golden report results, the rows about their recommended files made about the committed files of
    the same names (their sha256): the report's recommended files are then files profiled here."""
    folder.mkdir()
    golden = REPO / "tests" / "golden" / "report_results"
    shas = {path: sha256_file(REPO / path) for path in RECOMMENDED}
    for name in report.INPUT_FILES:
        rows = json.loads((golden / name).read_text(encoding="utf-8"))
        for row in rows:
            if row.get("path") in shas:
                row["sha256"] = shas[row["path"]]
        (folder / name).write_text(json.dumps(rows), encoding="utf-8")
    return folder


def test_report_shows_the_profile_of_the_recommended_files(tmp_path):
    results = results_about(tmp_path / "results")
    rows = profile([LSTM_DYNAMIC, MODELS / "rnn" / "rnn-fp32.tflite", LSTM_FP32],
                   ProfileConfig(runtimes=("onnxruntime", "litert"), warmup=2, min_runs=8))
    (results / PROFILE_FILE).write_text(json.dumps([r.to_dict() for r in rows]), encoding="utf-8")
    built = report.build_report(results, tmp_path / "out")
    recommended = {v.model: v.recommended.label for v in built.verdict}
    assert recommended == {"rnn": "rnn tflite/fp32", "lstm": "lstm onnx/dynamic"}
    shown = [(r["label"], r["runtime"], r["status"]) for r in built.profile]
    assert shown == [("rnn tflite/fp32", "litert", "unsupported"), ("lstm onnx/dynamic", "onnxruntime", "ok")]
    text = Path(built.markdown_path).read_text(encoding="utf-8")
    section = text[text.index("## Time per operator (recommended files)"):]
    assert "### lstm onnx/dynamic in onnxruntime" in section and "| DynamicQuantizeLSTM | LSTM__" in section
    assert "fused: not separable" in section and "| lstm_1 | recurrent |" in section
    assert "LiteRT's Python API exposes no op profiler" in section
    assert "lstm onnx/fp32" not in section                       # profiled, but not a recommended file
    assert "Time per operator" in Path(built.html_path).read_text(encoding="utf-8")
    assert json.loads(Path(built.json_path).read_text())["profile"] == list(built.profile)


def test_report_without_a_profile_of_a_recommended_file_says_so(tmp_path):
    results = results_about(tmp_path / "results")
    rows = profile([LSTM_FP32], ProfileConfig(runtimes=("onnxruntime",), warmup=1, min_runs=3))
    (results / PROFILE_FILE).write_text(json.dumps([r.to_dict() for r in rows]), encoding="utf-8")
    built = report.build_report(results, tmp_path / "out")
    text = Path(built.markdown_path).read_text(encoding="utf-8")
    assert "profile.json holds no profile of a recommended file (it profiled: lstm onnx/fp32 (onnxruntime))" in text
    assert built.profile == ()


def test_report_without_profile_json_has_no_section(tmp_path):
    results = results_about(tmp_path / "results")
    built = report.build_report(results, tmp_path / "out")
    assert "Time per operator" not in Path(built.markdown_path).read_text(encoding="utf-8")


@pytest.mark.parametrize("content, says", [
    ("{}", "expected the list"),
    ('[{"path": "x"}]', "lacks"),
    ("[1", "profile.json"),
])
def test_a_malformed_profile_json_is_a_one_line_error(tmp_path, content, says):
    results = results_about(tmp_path / "results")
    (results / PROFILE_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        report.build_report(results, tmp_path / "out")
    assert says in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()
    shutil.rmtree(results)
