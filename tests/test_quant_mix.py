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
from edgeseq.errors import ExportError
from edgeseq.export.selective import Mix, Precision, layer_pattern
from edgeseq.layout import manifest_path

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
    from edgeseq.export import search
    from edgeseq.export.exporter import ExportResult, ExportSpec
    from edgeseq.progress import NullProgress
    from edgeseq.recipes import Graph, recipe

    float_file = tmp_path / "float.tflite"
    float_file.write_bytes(b"stub")
    monkeypatch.setattr(search, "export_one", lambda *a, **k: ExportResult(
        "lstm", "tflite", "fp32", "unrolled-b1", "ok", str(float_file), 4, None, None, None, 0.0))
    ranking = [search.LayerError("dense", 0.05, 0.0, 0.04), search.LayerError("lstm_1", 0.01, 0.02, 0.01)]
    monkeypatch.setattr(search, "_layer_errors", lambda path, reference, dataset: ranking)
    labels: list[str] = []
    passed: list[bool] = []

    def run(label, spec):
        labels.append(label)
        passed.append(meets_when(spec))
        return search.Attempt(len(labels), label, 1000, None, "ok"), tmp_path / f"attempt-{len(labels)}.tflite"

    climb = search.Climb(ExportSpec("lstm", recipe("tflite", quant), Graph.UNROLLED_B1), tmp_path, None, tmp_path,
                         run, lambda: any(passed), lambda: False, [], NullProgress())
    return labels, climb.tflite()


def test_the_climb_raises_the_layer_making_most_error_to_int16_then_float_then_the_next(monkeypatch, tmp_path):
    labels, guide = _climb(monkeypatch, tmp_path, "int8",
                           lambda spec: spec.mix.precision_of("lstm_1") is Precision.FLOAT)
    assert labels == ["ai-edge-quantizer: every layer int8",
                      "ai-edge-quantizer: every layer int8 but dense int16",
                      "ai-edge-quantizer: every layer int8 but dense float",
                      "ai-edge-quantizer: every layer int8 but dense float, lstm_1 int16",
                      "ai-edge-quantizer: every layer int8 but dense float, lstm_1 float"]
    assert [e.layer for e in guide.first] == ["dense", "lstm_1"] and guide.reference == tmp_path / "float.tflite"


def test_the_climb_stops_at_the_first_mix_that_meets_and_int16x8_goes_straight_to_float(monkeypatch, tmp_path):
    labels, _ = _climb(monkeypatch, tmp_path, "int16x8", lambda spec: spec.mix.layers != ())
    assert labels == ["ai-edge-quantizer: every layer int16", "ai-edge-quantizer: every layer int16 but dense float"]


def test_when_every_layer_is_float_the_climb_ends_without_a_mix_that_meets(monkeypatch, tmp_path):
    labels, guide = _climb(monkeypatch, tmp_path, "int8", lambda spec: False)
    assert len(labels) == 5 and labels[-1].endswith("dense float, lstm_1 float")
    assert guide.errors[0].layer == "dense"
