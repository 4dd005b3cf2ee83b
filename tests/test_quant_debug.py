"""quant-debug on the committed full-MNIST files: layer matching, figures, a damaged layer found, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgeseq import data
from edgeseq.cli import EdgeseqGroup
from edgeseq.cli.quant import quant_debug
from edgeseq.diagnostics.quant_debug import debug_file, plot
from edgeseq.diagnostics.capture import tflite_graph

MODELS = Path(__file__).resolve().parents[1] / "models"
DIGITS = 30


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load("sample").limited(None, DIGITS)


def layer(result, name: str):
    return next(r for r in result.layers if r.layer == name)


def test_lstm_int8_tflite_against_fused_fp32(digits: data.Dataset) -> None:
    result = debug_file(MODELS / "lstm/lstm-int8.tflite", None, digits, DIGITS)
    assert result.reference.endswith("lstm-fp32.tflite")
    assert [r.layer for r in result.layers] == ["lstm_1", "lstm_2", "dense", "probabilities", "probabilities:softmax"]
    steps = [r for r in result.rows if r.layer == "lstm_2" and r.timestep is not None]
    assert [r.timestep for r in steps] == list(range(28)) and all(r.matched for r in steps)
    for row in result.layers:
        assert row.matched and 0 <= row.relative_rmse < 0.2 and row.clipping is not None
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in layer(result, "lstm_1").op     # unrolled int8 vs fused fp32
    assert result.worst is not None and result.summary().startswith("largest relative error: layer ")


def test_static_onnx_keeps_lstm_in_float(digits: data.Dataset) -> None:
    """quantize_static leaves the LSTM ops (and their input) in float: no error there, error from dense on."""
    result = debug_file(MODELS / "lstm/lstm-static.onnx", None, digits, DIGITS)
    assert layer(result, "lstm_1").rmse == 0 and layer(result, "lstm_2").rmse == 0
    assert layer(result, "dense").rmse > 0 and layer(result, "dense").clipping is not None


def _damage_tflite_recurrent_kernel(source: Path, target: Path, which: int) -> None:
    """Flip the sign of the `which`-th recurrent kernel (the weight shared by T-1 FULLY_CONNECTED ops)."""
    import tflite

    graph, _ = tflite_graph(source)
    uses = Counter(n.inputs[1] for n in graph.nodes if n.op == "FULLY_CONNECTED")
    kernels = [t for t, n in uses.items() if n == 27]
    kernels.sort(key=lambda t: min(n.index for n in graph.nodes if n.op == "FULLY_CONNECTED" and n.inputs[1] == t))
    buf = bytearray(source.read_bytes())
    model = tflite.Model.GetRootAs(buf, 0)
    tensor = model.Subgraphs(0).Tensors(int(kernels[which]))
    weights = model.Buffers(tensor.Buffer()).DataAsNumpy().view(np.int8)   # a view into `buf`
    weights[:] = np.clip(-weights.astype(np.int16), -127, 127).astype(np.int8)
    target.write_bytes(bytes(buf))


def _first_jump(result, baseline, factor: float = 3.0) -> str:
    """The first layer whose relative error grew `factor`-fold over the undamaged file's."""
    before = {r.layer: r.relative_rmse for r in baseline.layers}
    return next(r.layer for r in result.layers if r.relative_rmse > factor * before[r.layer])


def test_finds_a_damaged_tflite_layer(digits: data.Dataset, tmp_path: Path) -> None:
    source = MODELS / "lstm/lstm-int8.tflite"
    damaged = tmp_path / "lstm-int8.tflite"
    _damage_tflite_recurrent_kernel(source, damaged, which=1)             # lstm_2's recurrent kernel
    reference = MODELS / "lstm/lstm-fp32.tflite"
    baseline = debug_file(source, reference, digits, DIGITS)
    result = debug_file(damaged, reference, digits, DIGITS)
    assert layer(result, "lstm_1").rmse == pytest.approx(layer(baseline, "lstm_1").rmse)
    assert _first_jump(result, baseline) == "lstm_2"
    # the damage shows first in the step after the first state it could reach: lstm_2 at t=0 is still intact
    t0 = next(r for r in result.rows if r.layer == "lstm_2" and r.timestep == 0)
    assert t0.rmse == pytest.approx(next(r for r in baseline.rows if r.layer == "lstm_2" and r.timestep == 0).rmse)


def test_finds_a_damaged_onnx_layer(digits: data.Dataset, tmp_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    source = MODELS / "lstm/lstm-static.onnx"
    model = onnx.load(str(source))
    second_lstm = [n for n in model.graph.node if n.op_type == "LSTM"][1]
    weights = next(i for i in model.graph.initializer if i.name == second_lstm.input[1])   # W: input weights
    weights.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weights) * 1.5, weights.name))
    damaged = tmp_path / "lstm-static.onnx"
    onnx.save(model, str(damaged))
    reference = MODELS / "lstm/lstm-fp32.onnx"
    baseline = debug_file(source, reference, digits, DIGITS)
    result = debug_file(damaged, reference, digits, DIGITS)
    assert layer(result, "lstm_1").rmse == 0
    assert layer(baseline, "lstm_2").rmse == 0 and layer(result, "lstm_2").relative_rmse > 0.01
    assert _first_jump(result, baseline) == "lstm_2"


def test_plot_is_a_png(digits: data.Dataset) -> None:
    result = debug_file(MODELS / "rnn/rnn-int8.tflite", None, digits, 10)
    assert plot(result).startswith(b"\x89PNG")


def run(*args: str):
    group = EdgeseqGroup(commands={"quant-debug": quant_debug})
    return CliRunner().invoke(group, ["quant-debug", *map(str, args)])


def test_cli_table_and_json(tmp_path: Path) -> None:
    done = run(MODELS / "rnn/rnn-int8.tflite", "--limit", "20", "--plot", tmp_path / "rnn.png")
    assert done.exit_code == 0, done.output
    assert "simple_rnn" in done.stdout and "largest relative error: layer" in done.stdout
    assert (tmp_path / "rnn.png").read_bytes().startswith(b"\x89PNG")
    done = run(MODELS / "rnn/rnn-int8.tflite", "--limit", "20", "--json", "--layers-only")
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)
    assert [r["layer"] for r in rows] == ["simple_rnn", "probabilities", "probabilities:softmax"]
    assert {"rmse", "relative_rmse", "clipping", "timestep", "shape"} <= set(rows[0])


@pytest.mark.parametrize("args, message", [
    (("lstm/lstm-fp32.tflite",), "nothing to debug"),
    (("lstm/lstm-int8.tflite", "--reference", MODELS / "rnn/rnn-fp32.tflite"), "is the rnn model"),
    (("lstm/lstm-int8.tflite", "--reference", MODELS / "lstm/lstm-fp32.onnx"), "not a .tflite file"),
])
def test_cli_errors_are_one_line(args: tuple, message: str) -> None:
    done = run(MODELS / args[0], *args[1:])
    assert done.exit_code == 1 and message in done.stderr and "Traceback" not in done.output


def test_missing_reference_and_corrupt_file(tmp_path: Path) -> None:
    alone = tmp_path / "lstm-int8.tflite"
    shutil.copy(MODELS / "lstm/lstm-int8.tflite", alone)
    done = run(alone)
    assert done.exit_code == 1 and "lstm-fp32.tflite is not beside it" in done.stderr
    alone.write_bytes(alone.read_bytes()[:2000])
    done = run(alone, "--reference", MODELS / "lstm/lstm-fp32.tflite")
    assert done.exit_code == 1 and "Traceback" not in done.output


def test_import_is_light() -> None:
    code = "import sys, edgeseq.diagnostics.quant_debug, edgeseq.cli.quant; print('tensorflow' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
