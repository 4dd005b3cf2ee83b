"""Per-layer quantization mixes (edgeseq.export.selective, ai-edge-quantizer) and the recipe search that uses
them: the mix's bookkeeping, the layer patterns on the converter's real tensor names, and on a real non-MNIST
set (JapaneseVowels, which sktime's wheel ships) the converter's int8 LSTM failing its budget where the
search's per-layer file meets it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli
from edgeseq.core.errors import ExportError
from edgeseq.export.selective import Mix, Precision, layer_pattern
from edgeseq.core.layout import manifest_path

# op output tensor names as the converter writes them for the seed LSTM (model scope lstm_1, layers lstm_1,
# lstm_2, dense, probabilities), read from a converted file
NAMES = ("lstm_1/lstm_1_1/lstm_cell_1/MatMul;lstm_1/lstm_1_1/lstm_cell_1/BiasAdd_1",
         "lstm_1/lstm_2_1/lstm_cell_57/mul_2",
         "lstm_1/dense_1/MatMul;lstm_1/dense_1/Relu;lstm_1/dense_1/BiasAdd",
         "lstm_1/probabilities_1/MatMul;lstm_1/probabilities_1/BiasAdd",
         "StatefulPartitionedCall:0")


@pytest.mark.parametrize(("layer", "matched"), [
    ("lstm_1", {NAMES[0]}),          # not every op: the model's own scope is also called lstm_1
    ("lstm_2", {NAMES[1]}),
    ("dense", {NAMES[2]}),
    ("probabilities", {NAMES[3]}),
    ("lstm", set()),
    ("dense_1", set()),
])
def test_a_layer_pattern_matches_that_layers_ops_only(layer, matched):
    assert {name for name in NAMES if re.search(layer_pattern(layer), name)} == matched


def test_a_mix_raises_one_layer_at_a_time_and_says_what_is_not_int8():
    mix = Mix().raised("lstm_2", Precision.INT16).raised("dense", Precision.FLOAT).raised("lstm_2", Precision.FLOAT)
    assert mix.precision_of("lstm_2") is Precision.FLOAT and mix.precision_of("lstm_1") is Precision.INT8
    assert not mix.integer_only and Mix().raised("lstm_1", Precision.INT16).integer_only
    described = mix.to_dict()
    assert described["layers"] == {"dense": "float", "lstm_2": "float"} and described["not_int8"] == ["dense", "lstm_2"]
    assert Mix.from_dict(described) == mix
    assert mix.label == "ai-edge-quantizer: every layer int8 but dense float, lstm_2 float"
    with pytest.raises(ExportError, match="not a quantization mix"):
        Mix.from_dict({"base": "int4", "layers": {}})


@pytest.mark.slow  # trains the seed LSTM on JapaneseVowels (15 epochs) and runs the search: about 4 minutes
def test_on_japanese_vowels_the_converters_int8_lstm_fails_and_the_per_layer_file_meets_the_budget(tmp_path):
    data = "uea:JapaneseVowels"
    trained = run_cli("train", "--model", "lstm", "--epochs", "15", "--data", data, "--out", tmp_path)
    assert trained.returncode == 0, trained.stderr
    done = run_cli("export", "--from", tmp_path, "--out", tmp_path, "--model", "lstm", "--format", "tflite",
                   "--quant", "int8", "--data", data, "--max-loss-pp", "1", "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    search = result["search"]
    first, kept = search["attempts"][0], search["attempts"][search["kept"]]
    assert first["remedy"] == "as configured" and first["mix"] is None
    assert first["outcome"] == "fail" and first["delta_accuracy_pp"] < -1, first   # the converter's int8 collapses
    assert kept["mix"] is not None and kept["mix"]["quantizer"] == "ai-edge-quantizer", kept
    assert kept["delta_accuracy_pp"] >= -1 and kept["outcome"] != "fail", kept
    path = Path(result["path"])
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["quantization_mix"]["integer_only"] and manifest["quantization_mix"]["version"].startswith(
        "ai-edge-quantizer ")
    assert manifest["inputs"][0]["dtype"] == "int8"        # still the int8 recipe's promise: integer I/O
    validated = run_cli("validate", path, "--data", data, "--json")
    assert validated.returncode == 0, validated.stderr
    (row,) = [r for r in json.loads(validated.stdout) if r["path"].endswith("lstm-int8.tflite")]
    assert row["outcome"] != "fail" and row["delta_accuracy_pp"] == pytest.approx(kept["delta_accuracy_pp"]), row
    inspected = run_cli("inspect", path)
    assert "quantization mix (ai-edge-quantizer" in inspected.stdout, inspected.stdout


def _climb(monkeypatch, tmp_path, quant: str, meets_when) -> tuple[list[str], object]:
    """The search's per-layer phase with its three measurements stubbed: the float file exports, quant-debug
    ranks dense above lstm_1 every time, and an attempt meets the budget when `meets_when(spec)`."""
    from edgeseq.export import climb as climbing, search
    from edgeseq.export.exporter import ExportResult, ExportSpec
    from edgeseq.core.progress import NullProgress
    from edgeseq.recipes import Graph, recipe

    float_file = tmp_path / "float.tflite"
    float_file.write_bytes(b"stub")
    monkeypatch.setattr(climbing, "export_one", lambda *a, **k: ExportResult(
        "lstm", "tflite", "fp32", "unrolled-b1", "ok", str(float_file), 4, None, None, None, 0.0))
    ranking = [climbing.LayerError("dense", 0.05, 0.0, 0.04, last=True),
               climbing.LayerError("lstm_1", 0.01, 0.02, 0.01, first=True),
               climbing.LayerError("(output)", 0.06, 0.1, 0.01)]
    monkeypatch.setattr(climbing, "layer_errors", lambda path, reference, dataset: ranking)
    labels: list[str] = []
    passed: list[bool] = []

    def run(label, spec):
        labels.append(label)
        passed.append(meets_when(spec))
        return search.Attempt(len(labels), label, 1000, None, "ok"), tmp_path / f"attempt-{len(labels)}.tflite"

    climb = climbing.Climb(ExportSpec("lstm", recipe("tflite", quant), Graph.UNROLLED_B1), tmp_path, None, tmp_path,
                         run, lambda: any(passed), lambda: False, [], NullProgress())
    return labels, climb.tflite()


def test_the_climb_raises_the_layer_making_most_error_to_int16_then_float_then_the_next(monkeypatch, tmp_path):
    labels, guide = _climb(monkeypatch, tmp_path, "int8",
                           lambda spec: spec.mix.precision_of("lstm_1") is Precision.INT16)
    # the model's input goes with the first layer (lstm_1), its output with the last (dense); (output) alone never
    assert labels == ["ai-edge-quantizer: every layer int8",
                      "ai-edge-quantizer: every layer int8 but dense int16, (output) int16",
                      "ai-edge-quantizer: every layer int8 but dense float, (output) float",
                      "ai-edge-quantizer: every layer int8 but dense float, (output) float, lstm_1 int16, (input) int16"]
    assert [e.layer for e in guide.first] == ["dense", "lstm_1", "(output)"]
    assert guide.reference == tmp_path / "float.tflite"


def test_the_climb_stops_at_the_first_mix_that_meets_and_int16x8_goes_straight_to_float(monkeypatch, tmp_path):
    labels, _ = _climb(monkeypatch, tmp_path, "int16x8", lambda spec: spec.mix.layers != ())
    assert labels == ["ai-edge-quantizer: every layer int16",
                      "ai-edge-quantizer: every layer int16 but dense float, (output) float"]


def test_when_every_layer_is_float_the_climb_ends_without_a_mix_that_meets(monkeypatch, tmp_path):
    """...and never tries the mix with every layer float: that is the fp32 recipe, not an integer one."""
    labels, guide = _climb(monkeypatch, tmp_path, "int8", lambda spec: False)
    assert len(labels) == 4 and labels[-1].endswith("dense float, (output) float, lstm_1 int16, (input) int16")
    assert guide.errors[0].layer == "dense"
    # the refusal names the layer still quantized that makes the most error, not dense (float by then)
    from edgeseq.export.climb import holder
    assert "of the layers still quantized, the most error is made in layer lstm_1 " in holder(guide)


def _louder_test_split(path: Path) -> None:
    """A constructed collapse: 4 classes of sine waves (the class is the frequency), the test sequences 2-4x
    louder than the training ones, so that the relu LSTM's test states range far beyond every calibration
    sequence (calibration draws the training split)."""
    import numpy as np

    rng = np.random.default_rng(0)

    def make(n: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        timesteps, classes = 24, 4
        y = rng.integers(0, classes, n)
        t = np.arange(timesteps)[None, :]
        amplitude, phase = rng.uniform(lo, hi, (n, 1)), rng.uniform(0, 2 * np.pi, (n, 1))
        angle = 2 * np.pi * (y[:, None] + 1) / timesteps * t + phase
        x = np.stack([amplitude * np.sin(angle), amplitude * np.cos(angle)], -1) + rng.normal(0, 0.1, (n, timesteps, 2))
        return x.astype(np.float32), y

    x_train, y_train = make(2000, 0.5, 1.5)
    x_test, y_test = make(800, 2.0, 4.0)
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


@pytest.mark.slow  # ten attempts of a 24-step LSTM: about 6 minutes
def test_a_constructed_collapse_plain_int8_fails_the_search_finds_a_mix_and_flags_the_calibration(tmp_path):
    data = tmp_path / "louder.npz"
    _louder_test_split(data)
    model = "lstm-32x1-relu"
    trained = run_cli("train", "--model", model, "--epochs", "6", "--data", data, "--out", tmp_path)
    assert trained.returncode == 0, trained.stderr
    done = run_cli("export", "--from", tmp_path, "--out", tmp_path, "--model", model, "--format", "tflite",
                   "--quant", "int8", "--data", data, "--max-loss-pp", "1", "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    search = result["search"]
    attempts = search["attempts"]
    assert all(a["outcome"] == "fail" and a["delta_accuracy_pp"] < -1 for a in attempts[:2]), attempts[:2]
    kept = attempts[search["kept"]]
    assert search["met"] and kept["mix"]["not_int8"] and kept["delta_accuracy_pp"] >= -1, kept
    assert kept["number"] > 2, "the per-layer phase went beyond 'every layer int8'"
    assert search["layers_before_raising"]["clipping_flagged"], search["layers_before_raising"]
    manifest = json.loads(manifest_path(Path(result["path"])).read_text())
    assert manifest["quantization_mix"]["layers"] == kept["mix"]["layers"]


def test_the_report_lists_the_kept_mixes_with_their_cost_against_the_recipe_as_configured():
    from edgeseq.export.exporter import ExportResult
    from edgeseq.report.mixes import mix_blocks

    def attempt(number, delta, p50, size, mix=None, onnx=None):
        return {"number": number, "delta_accuracy_pp": delta, "p50_us": p50, "size_bytes": size, "mix": mix,
                "onnx_settings": onnx}

    mixed = Mix().raised("lstm_2", Precision.INT16).to_dict()
    tflite = ExportResult("lstm", "tflite", "int8", "unrolled-b1", "ok", "out/lstm/lstm-int8.tflite", 2048, "x", None,
                          None, 1.0, search={"kept": 1, "met": True, "attempts": [
                              attempt(0, -14.86, 452.0, 501232), attempt(1, -0.54, 6153.0, 426656, mixed)]})
    onnx = ExportResult("lstm", "onnx", "static", "loop", "failed", None, None, None, "missed", None, 1.0,
                        search={"kept": 1, "met": False, "attempts": [
                            attempt(0, -24.0, 100.0, 1024), attempt(1, -3.0, 120.0, 2048, onnx={"float_layers": ["dense"]})]})
    plain = ExportResult("rnn", "tflite", "int8", "unrolled", "ok", "out/rnn/rnn-int8.tflite", 1, "y", None, None, 1.0,
                         search={"kept": 0, "met": True, "attempts": [attempt(0, -0.1, 10.0, 1024)]})
    (heading, _, (_, columns, rows)) = mix_blocks((tflite, onnx, plain))
    assert heading == ("h", 2, "Files quantized per layer") and "integer only" in columns
    assert rows[0][:4] == ["lstm-int8.tflite", "every layer int8 but lstm_2 int16", "yes", "-14.86 → -0.54"]
    assert "(13.61×)" in rows[0][4] and rows[0][5] == "489 → 417" and rows[0][6] == "yes"
    assert rows[1][1:3] == ["dense float", "no"] and rows[1][0].endswith("(rejected)") and rows[1][6] == "no"
    assert len(rows) == 2 and mix_blocks((plain,)) == []
