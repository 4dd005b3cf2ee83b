"""Export on tiny models: every recipe x architecture exports or says why not, with structural checks."""

import json
from pathlib import Path

import pytest

from edgeseq.artifacts import read_facts
from edgeseq.formats.onnx import onnx_lstm_activations
from edgeseq.recipes import RECIPES, Quant
from edgeseq.core.fileio import sha256_file
from edgeseq.core.layout import manifest_path
from edgeseq.core.manifest import SCHEMA_VERSION
from edgeseq.models import Arch

from conftest import run_cli

ALL_PAIRS = [(arch, fmt, quant.value) for arch in Arch for (fmt, quant) in RECIPES]


def by_key(results):
    return {(r["model"], r["format"], r["recipe"]): r for r in results}


@pytest.mark.parametrize("arch, fmt, name", ALL_PAIRS, ids=[f"{a.value}-{f.value}-{n}" for a, f, n in ALL_PAIRS])
def test_every_recipe_exports_or_says_why(exported, arch, fmt, name):
    _, results = exported
    result = by_key(results)[(arch.value, fmt.value, name)]
    assert set(result) >= {"model", "format", "recipe", "status", "path", "size_bytes", "sha256", "reason"}
    recipe = RECIPES[(fmt, Quant(name))]
    if recipe.graph_for(arch) is None:  # the table knows no working graph: it says why and writes nothing
        assert (result["status"], result["reason"], result["path"]) == ("unsupported", recipe.note_for(arch), None)
        return
    assert result["status"] == "ok" and result["reason"] is None, result
    assert result["graph"] == recipe.graph_for(arch).value
    path = Path(result["path"])
    assert path.name == f"{arch.value}-{name}.{fmt.value}"
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["sha256"] == sha256_file(path) == result["sha256"]
    assert manifest["size_bytes"] == path.stat().st_size == result["size_bytes"]
    assert manifest["architecture"] == arch.value and manifest["recipe"] == name and manifest["format"] == fmt.value
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["data_spec"]["labels"] == [str(i) for i in range(10)]
    assert (manifest["data_spec"]["timesteps"], manifest["data_spec"]["features"]) == (28, 28)
    assert "labels" not in manifest and "normalisation" not in manifest      # the data contract: one copy
    assert len(manifest["source_keras"]["sha256"]) == 64 and manifest["trained_on"]["name"] == "sample"
    facts = read_facts(path)
    assert facts.custom_ops == [] and not any(op.startswith("Flex") for op in facts.ops)
    assert manifest["recurrent_op"] == facts.recurrent_op
    assert facts.outputs[0].shape[-1] == 10
    if RECIPES[(fmt, name)].calibrated:
        assert manifest["calibration"]["size"] == 100 and manifest["calibration"]["seed"] == 0


def test_the_recipes_that_must_work_do(exported):
    """fp32 and dynamic-range of every format, and the full-integer RNN, are expected to export."""
    _, results = exported
    status = {k: r["status"] for k, r in by_key(results).items()}
    for arch in ("rnn", "lstm"):
        for fmt in ("tflite", "onnx"):
            for name in ("fp32", "dynamic"):
                assert status[(arch, fmt, name)] == "ok", (arch, fmt, name)
    assert status[("rnn", "tflite", "int8")] == "ok"


def test_tflite_files_have_stable_names_and_builtin_ops_only(exported):
    folder, results = exported
    for r in results:
        if r["status"] == "ok" and r["format"] == "tflite":
            facts = read_facts(Path(r["path"]))
            assert facts.signatures == ["serving_default"]
            assert all(not op.startswith("CUSTOM") for op in facts.ops)
    int8 = read_facts(folder / "rnn" / "rnn-int8.tflite")
    assert int8.inputs[0].dtype == "int8" and int8.inputs[0].scale is not None


def test_fused_lstm_is_the_default_for_float_lstm(exported):
    folder, _ = exported
    facts = read_facts(folder / "lstm" / "lstm-fp32.tflite")
    assert facts.ops.get("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2 and "WHILE" not in facts.ops
    manifest = json.loads(manifest_path(folder / "lstm" / "lstm-fp32.tflite").read_text())
    assert manifest["stateful"] is True and "reset" in manifest["usage_note"]


def test_onnx_lstm_keeps_relu(exported):
    folder, _ = exported
    facts = read_facts(folder / "lstm" / "lstm-fp32.onnx")
    assert facts.ops.get("LSTM") == 2
    activations = onnx_lstm_activations(folder / "lstm" / "lstm-fp32.onnx")
    assert len(activations) == 2 and all("Relu" in a for a in activations)
    assert facts.inputs[0].name == "pixels" and facts.inputs[0].shape[0] is None
    assert facts.outputs[0].name == "probabilities"
    dynamic = read_facts(folder / "lstm" / "lstm-dynamic.onnx")
    assert dynamic.ops.get("DynamicQuantizeLSTM") == 2


def test_quantized_lstm_files_are_smaller(exported):
    folder, _ = exported
    # the dynamic TFLite LSTM is the hoisted graph: int8 weights (215 KB of the committed file's 339 KB) and the
    # description of its ~800 ops, against the fused fp32 file's 2 ops: 0.39 of its size
    for fmt, share in (("tflite", 0.4), ("onnx", 0.3)):
        fp32 = (folder / "lstm" / f"lstm-fp32.{fmt}").stat().st_size
        assert (folder / "lstm" / f"lstm-dynamic.{fmt}").stat().st_size <= share * fp32


def test_converter_crash_is_contained(trained, tmp_path):
    """int8 calibration of the WHILE-loop graph kills the converter (SIGSEGV): status crashed (a crash is never
    "unsupported"), and the others still export."""
    done = run_cli("export", "--model", "rnn", "--format", "tflite", "--quant", "int8", "--quant", "fp32",
                   "--graph", "loop", "--from", trained, "--out", tmp_path, "--json")
    assert done.returncode == 1, done.stderr
    results = by_key(json.loads(done.stdout))
    crashed = results[("rnn", "tflite", "int8")]
    assert crashed["status"] == "crashed" and "crashed" in crashed["reason"]
    assert results[("rnn", "tflite", "fp32")]["status"] == "ok"
    assert not (tmp_path / "rnn" / "rnn-int8.tflite").exists()
    assert [p.name for p in tmp_path.rglob("*") if ".partial" in p.name or p.name.startswith(".edgeseq")] == []


def test_missing_and_corrupt_keras(tmp_path):
    done = run_cli("export", "--from", tmp_path, "--out", tmp_path / "o", "--model", "rnn")
    assert done.returncode == 1 and "no trained rnn model" in done.stderr
    (tmp_path / "rnn").mkdir()
    (tmp_path / "rnn" / "rnn.keras").write_bytes(b"PK\x03\x04 not really a zip")
    done = run_cli("export", "--from", tmp_path, "--out", tmp_path / "o", "--model", "rnn", "--format", "onnx",
                   "--quant", "fp32", "--json")
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["status"] == "failed" and result["reason"].startswith(f"cannot load {tmp_path / 'rnn' / 'rnn.keras'}")
    assert not list((tmp_path / "o").rglob("*.onnx"))


def test_inspect_prints_ops_and_manifest(exported):
    folder, _ = exported
    done = run_cli("inspect", folder / "lstm" / "lstm-dynamic.tflite", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["integrity"] == "verified" and payload["manifest"]["recipe"] == "dynamic"
    assert payload["manifest"]["graph"] == "hoisted" and payload["ops"]["FULLY_CONNECTED"] > 2   # the table's graph
    text = run_cli("inspect", folder / "rnn" / "rnn-int8.tflite")
    assert text.returncode == 0 and "int8 scale=" in text.stdout and "recurrent op:" in text.stdout
