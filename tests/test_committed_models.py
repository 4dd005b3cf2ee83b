"""The committed full-MNIST models: every file matches its manifest and passes validate on the shipped
sample against fp32 references (as a runtime-only user would run it)."""

import json

import pytest

from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest
from edgeseq.runtimes import runtimes_for

from conftest import REPO, run_cli

MODELS = REPO / "models"
FILES = sorted(p for p in MODELS.rglob("*") if p.suffix in (".tflite", ".onnx", ".keras"))


def test_models_are_committed():
    names = {p.name for p in FILES}
    assert {"rnn.keras", "lstm.keras", "rnn-fp32.tflite", "lstm-fp32.tflite", "rnn-fp32.onnx", "lstm-fp32.onnx",
            "lstm-dynamic.tflite", "lstm-dynamic.onnx"} <= names


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(MODELS)) for p in FILES])
def test_file_matches_its_manifest(path):
    manifest = read_manifest(path)
    assert manifest is not None
    assert manifest.sha256 == sha256_file(path) and manifest.size_bytes == path.stat().st_size
    trained_on = manifest.data if path.suffix == ".keras" else manifest.trained_on  # the training data
    assert trained_on["train_count"] == 60000 and trained_on["test_count"] == 10000


def test_committed_files_pass_validate_against_fp32_references(without_tensorflow):
    done = run_cli("validate", MODELS, "--json", env=without_tensorflow)
    reports = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert len(reports) == sum(len(runtimes_for(p)) for p in FILES if p.suffix != ".keras")  # openvino too, if installed
    # an fp32 step model is checked against its whole-sequence file (28 rows fed one by one), the others against
    # the fp32 file: a quantized sibling is no accuracy reference
    assert all(r["reference_kind"] == ("whole-sequence file" if r["step"] and r["recipe"] == "fp32" else "fp32 file")
               and r["integrity"] == "verified" for r in reports), reports
    # 1,000 sample digits: every file passes or is inconclusive (the full 10,000 decide: docs/report), none fails
    assert all(r["outcome"] in ("pass", "inconclusive") for r in reports), reports
    assert all(r["outcome"] == "pass" for r in reports if r["recipe"] in ("fp32", "fp16")), reports
