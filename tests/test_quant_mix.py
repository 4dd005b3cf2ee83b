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
