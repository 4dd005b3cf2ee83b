"""A file's reference, found in one place for validate, quant-debug and drift (edgeseq.parity.reference), and
the tolerance validate holds a file to (its manifest's, else the recipes table's, always said). Built from the
committed models: nothing is trained, and only the last tests run a runtime."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeseq.core import layout
from edgeseq.core.errors import EdgeseqError, IntegrityError
from edgeseq.parity import reference as ref
from edgeseq.parity.reference import (
    DRIFT, FLOAT_KIND, GIVEN_KIND, GOLDEN_KIND, KERAS_KIND, QUANT_DEBUG, VALIDATE, WHOLE_SEQUENCE_KIND, is_float,
    resolve_reference)
from edgeseq.recipes import QUANTIZED, Tolerance, tolerance_of
from edgeseq.core.manifest import Manifest, read_manifest

from conftest import REPO, invoke_cli

MODELS = REPO / "models"
SENTENCE = re.compile(r"^no reference for \S+: .+; pass --reference$")


def put(folder: Path, *names: str, arch: str = "lstm", manifest: bool = True, rename: dict | None = None) -> Path:
    """Copies of committed files (with their manifests) in `folder`; `rename` maps a name to the copy's name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        target = folder / (rename or {}).get(name, name)
        shutil.copy(MODELS / arch / name, target)
        if manifest and (MODELS / arch / f"{name}.json").exists():
            shutil.copy(MODELS / arch / f"{name}.json", layout.manifest_path(target))
    return folder


@pytest.fixture
def no_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ref, "tensorflow_installed", lambda: False)


@pytest.fixture
def with_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ref, "tensorflow_installed", lambda: True)


def refused(path: Path, given: Path | None, accepts: ref.Accepts, **kwargs: object) -> str:
    with pytest.raises(EdgeseqError) as caught:
        resolve_reference(path, given, accepts, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_float_means_fp32_only() -> None:
    assert is_float("fp32") and not is_float("fp16") and not is_float("dynamic") and not is_float(None)


# --- validate -------------------------------------------------------------------------------------------

def test_validate_looks_for_keras_then_fp32_then_golden(tmp_path: Path, with_tensorflow: None) -> None:
    folder = put(tmp_path, "lstm-dynamic.tflite", "lstm.keras", "lstm-fp32.onnx", "lstm.golden.npz")
    file = folder / "lstm-dynamic.tflite"
    assert resolve_reference(file, None, VALIDATE).kind == KERAS_KIND
    (folder / "lstm.keras").unlink()
    found = resolve_reference(file, None, VALIDATE)
    assert (found.path.name, found.kind) == ("lstm-fp32.onnx", FLOAT_KIND)      # the other format, when alone
    put(folder, "lstm-fp32.tflite")
    assert resolve_reference(file, None, VALIDATE).path.name == "lstm-fp32.tflite"   # its own format first
    for name in ("lstm-fp32.tflite", "lstm-fp32.onnx"):
        (folder / name).unlink()
    found = resolve_reference(file, None, VALIDATE)
    assert (found.path.name, found.kind) == ("lstm.golden.npz", GOLDEN_KIND)


def test_validate_without_tensorflow_skips_the_keras_model(tmp_path: Path, no_tensorflow: None) -> None:
    folder = put(tmp_path, "lstm-dynamic.tflite", "lstm.keras", "lstm-fp32.tflite")
    assert resolve_reference(folder / "lstm-dynamic.tflite", None, VALIDATE).path.name == "lstm-fp32.tflite"
    # an fp32 file is never its own reference: the other format's is
    put(folder, "lstm-fp32.onnx")
    assert resolve_reference(folder / "lstm-fp32.tflite", None, VALIDATE).path.name == "lstm-fp32.onnx"


def test_validate_with_nothing_beside_is_the_one_sentence(tmp_path: Path, no_tensorflow: None) -> None:
    folder = put(tmp_path, "lstm-int8.tflite")
    manifest = json.loads(layout.manifest_path(folder / "lstm-int8.tflite").read_text())
    manifest.pop("golden")
    layout.manifest_path(folder / "lstm-int8.tflite").write_text(json.dumps(manifest))
    message = refused(folder / "lstm-int8.tflite", None, VALIDATE)
    assert SENTENCE.match(message), message
    assert "TensorFlow is not installed" in message and "neither lstm-fp32.tflite nor lstm-fp32.onnx" in message
    assert "no golden outputs" in message


def test_a_quantized_step_model_is_held_to_a_float_reference_not_its_sibling(tmp_path: Path,
                                                                             with_tensorflow: None) -> None:
    folder = put(tmp_path, "lstm-dynamic-step.tflite", "lstm-dynamic.tflite", "lstm.keras")
    found = resolve_reference(folder / "lstm-dynamic-step.tflite", None, VALIDATE)
    assert (found.path.name, found.kind) == ("lstm.keras", KERAS_KIND)          # the quantized sibling can be off
    fp32 = put(tmp_path / "fp32", "lstm-fp32-step.tflite", "lstm-fp32.tflite", "lstm.keras")
    found = resolve_reference(fp32 / "lstm-fp32-step.tflite", None, VALIDATE)
    assert (found.path.name, found.kind) == ("lstm-fp32.tflite", WHOLE_SEQUENCE_KIND)   # a float twin: first
    given = resolve_reference(folder / "lstm-dynamic-step.tflite", folder / "lstm-dynamic.tflite", VALIDATE)
    assert given.kind == WHOLE_SEQUENCE_KIND                      # given, the same: a quantized twin is taken
    assert "not an fp32 file" in refused(folder / "lstm-dynamic.tflite", folder / "lstm-dynamic-step.tflite",
                                         VALIDATE)               # but not the other way round


def test_the_step_predicate_reads_tensors_not_names(tmp_path: Path, no_tensorflow: None) -> None:
    """A whole-sequence file named like a step model is no step model; a step model named like a whole file is."""
    folder = put(tmp_path, "lstm-dynamic.tflite", "lstm-fp32.tflite", manifest=False)
    put(folder, "lstm-dynamic.tflite", manifest=False, rename={"lstm-dynamic.tflite": "lstm-dynamic-step.tflite"})
    found = resolve_reference(folder / "lstm-dynamic-step.tflite", None, VALIDATE)
    assert (found.path.name, found.kind) == ("lstm-fp32.tflite", FLOAT_KIND)       # not its "whole-sequence twin"
    steps = put(tmp_path / "steps", "lstm-dynamic-step.tflite", manifest=False,
                rename={"lstm-dynamic-step.tflite": "lstm-dynamic.tflite"})
    put(steps, "lstm-fp32.tflite")
    done = invoke_cli("quant-debug", steps / "lstm-dynamic.tflite")
    assert done.returncode == 1 and "is a step model" in done.stderr and "edgeseq drift" in done.stderr


def test_validate_refuses_a_given_reference_it_cannot_use(tmp_path: Path, with_tensorflow: None) -> None:
    folder = put(tmp_path, "lstm-dynamic.tflite", "lstm-int8.tflite", "lstm-fp32.tflite", "lstm.golden.npz")
    file = folder / "lstm-dynamic.tflite"
    assert resolve_reference(file, MODELS / "lstm" / "lstm-fp32.onnx", VALIDATE).kind == FLOAT_KIND
    assert resolve_reference(file, folder / "lstm.golden.npz", VALIDATE).kind == GOLDEN_KIND
    assert "not an fp32 file (int8)" in refused(file, folder / "lstm-int8.tflite", VALIDATE)
    assert "not the same model" in refused(file, MODELS / "rnn" / "rnn-fp32.onnx", VALIDATE)
    assert "is its own reference" in refused(folder / "lstm-fp32.tflite", folder / "lstm-fp32.tflite", VALIDATE)
    assert "not the model lstm-dynamic.tflite was exported from" in refused(
        file, put(tmp_path / "other", "rnn.keras", arch="rnn", manifest=False) / "rnn.keras", VALIDATE)
    assert "takes a .tflite, .onnx, .keras or .golden.npz file" in refused(
        file, layout.manifest_path(file), VALIDATE)
    assert "reference not found" in refused(file, folder / "nowhere.onnx", VALIDATE)


def test_a_file_that_names_no_model_is_the_one_sentence(tmp_path: Path) -> None:
    put(tmp_path, "lstm-int8.tflite", manifest=False, rename={"lstm-int8.tflite": "model.tflite"})
    for accepts in (VALIDATE, QUANT_DEBUG):
        message = refused(tmp_path / "model.tflite", None, accepts)
        assert SENTENCE.match(message) and "does not say its architecture" in message, message


# --- quant-debug ----------------------------------------------------------------------------------------

def test_quant_debug_takes_the_fp32_file_of_its_own_format(tmp_path: Path) -> None:
    folder = put(tmp_path, "lstm-int8.tflite", "lstm-fp32.onnx")
    message = refused(folder / "lstm-int8.tflite", None, QUANT_DEBUG)      # the ONNX one is not taken
    assert SENTENCE.match(message) and "lstm-fp32.tflite is not beside it" in message, message
    put(folder, "lstm-fp32.tflite")
    found = resolve_reference(folder / "lstm-int8.tflite", None, QUANT_DEBUG)
    assert (found.path.name, found.kind) == ("lstm-fp32.tflite", FLOAT_KIND)


@pytest.mark.parametrize("given, expected", [
    ("lstm/lstm-fp32.onnx", "is not a .tflite file"),
    ("lstm/lstm-dynamic.tflite", "not an fp32 file (dynamic)"),
    ("lstm/lstm-fp16.tflite", "not an fp32 file (fp16)"),
    ("lstm/lstm-fp32-step.tflite", "is a step model"),
    ("rnn/rnn-fp32.tflite", "is the rnn model"),
    ("lstm/lstm.keras", "takes a .tflite file"),
])
def test_quant_debug_refuses(given: str, expected: str) -> None:
    assert expected in refused(MODELS / "lstm" / "lstm-int8.tflite", MODELS / given, QUANT_DEBUG)


# --- drift ----------------------------------------------------------------------------------------------

def test_drift_takes_the_fp32_step_model_of_its_format_then_the_other(tmp_path: Path) -> None:
    folder = put(tmp_path, "lstm-dynamic-step.tflite", "lstm-fp32-step.onnx")
    found = resolve_reference(folder / "lstm-dynamic-step.tflite", None, DRIFT)
    assert (found.path.name, found.kind) == ("lstm-fp32-step.onnx", FLOAT_KIND)
    put(folder, "lstm-fp32-step.tflite")
    assert resolve_reference(folder / "lstm-dynamic-step.tflite", None, DRIFT).path.name == "lstm-fp32-step.tflite"
    # an fp32 step model is its own reference (zero drift by construction; drift says so)
    assert resolve_reference(folder / "lstm-fp32-step.tflite", None, DRIFT).path == folder / "lstm-fp32-step.tflite"


def test_drift_without_a_reference_is_the_one_sentence(tmp_path: Path) -> None:
    folder = put(tmp_path, "lstm-dynamic-step.tflite", "lstm-fp32.tflite")     # a whole-sequence fp32 is no use
    message = refused(folder / "lstm-dynamic-step.tflite", None, DRIFT)
    assert SENTENCE.match(message), message
    assert "neither lstm-fp32-step.tflite nor lstm-fp32-step.onnx is beside it" in message
    assert "edgeseq export --graph step --model lstm --quant fp32" in message


def test_drift_takes_a_given_whole_sequence_file_as_its_step_twin_and_a_quantized_one(tmp_path: Path) -> None:
    folder = put(tmp_path, "lstm-dynamic-step.tflite", "lstm-fp32.onnx", "lstm-fp32-step.onnx",
                 "lstm-dynamic-step.onnx")
    found = resolve_reference(folder / "lstm-dynamic-step.tflite", folder / "lstm-fp32.onnx", DRIFT)
    assert (found.path.name, found.named) == ("lstm-fp32-step.onnx", folder / "lstm-fp32.onnx")
    quantized = resolve_reference(folder / "lstm-dynamic-step.tflite", folder / "lstm-dynamic-step.onnx", DRIFT)
    assert quantized.kind == GIVEN_KIND


def test_drift_runs_its_own_check_before_the_model_check() -> None:
    """drift's step-contract check says more than "another model", so it runs first."""
    calls = []

    def contract(path: Path, reference: Path) -> None:
        calls.append((path.name, reference.name))
        raise EdgeseqError("not the same step contract")

    file, other = MODELS / "lstm" / "lstm-dynamic-step.tflite", MODELS / "rnn" / "rnn-fp32-step.tflite"
    assert "step contract" in refused(file, other, DRIFT, compatible=contract)
    assert calls == [("lstm-dynamic-step.tflite", "rnn-fp32-step.tflite")]
    assert "is the rnn model" in refused(file, other, DRIFT)


# --- the tolerance: the manifest's, else the recipes table's, and said which ----------------------------------

def test_the_tolerance_comes_from_the_manifest_else_the_table() -> None:
    stricter = Tolerance(min_delta_accuracy_pp=-0.25)
    manifest = Manifest(kind="exported-model", format="onnx", recipe="dynamic", tolerance=stricter.to_dict())
    assert tolerance_of(manifest, "onnx") == (stricter, "manifest")
    older = manifest.replace(tolerance=None)
    assert tolerance_of(older, "onnx") == (QUANTIZED, "recipes table (onnx/dynamic: not in its manifest)")
    tolerance, source = tolerance_of(None, "onnx")
    assert tolerance.max_abs_diff == 1e-4 and source.startswith("float parity (no manifest")
    with pytest.raises(IntegrityError, match="tolerance is not what edgeseq writes"):
        tolerance_of(manifest.replace(tolerance={"max_abs_diff": "small"}), "onnx")
    with pytest.raises(IntegrityError, match="tolerance is not what edgeseq writes"):
        tolerance_of(manifest.replace(tolerance={"max_diff": 1.0}), "onnx")


def test_validate_says_where_the_tolerance_came_from(tmp_path: Path) -> None:
    """The manifest's tolerance is used even where today's table says otherwise; a manifest without one falls
    back to the table, and the table output and --json say so."""
    folder = put(tmp_path, "rnn-dynamic.onnx", "rnn-fp32.onnx", arch="rnn")
    manifest_file = layout.manifest_path(folder / "rnn-dynamic.onnx")
    manifest = json.loads(manifest_file.read_text())
    manifest["tolerance"] = {"max_abs_diff": None, "min_agreement": None, "min_delta_accuracy_pp": -40.0}
    manifest_file.write_text(json.dumps(manifest))
    args = ("validate", folder / "rnn-dynamic.onnx", "--reference", folder / "rnn-fp32.onnx",
            "--runtime", "onnxruntime", "--limit", "20")
    done = invoke_cli(*args, "--json")
    (row,) = json.loads(done.stdout)
    assert row["tolerance_source"] == "manifest" and row["tolerance"]["min_delta_accuracy_pp"] == -40.0, row
    del manifest["tolerance"]
    manifest_file.write_text(json.dumps(manifest))
    (row,) = json.loads(invoke_cli(*args, "--json").stdout)
    assert row["tolerance_source"] == "recipes table (onnx/dynamic: not in its manifest)", row
    assert row["tolerance"]["min_delta_accuracy_pp"] == -1.0
    (row,) = json.loads(invoke_cli(*args, "--max-loss-pp", "5", "--json").stdout)
    assert row["tolerance_source"].endswith(", overridden: min_delta_accuracy_pp")
    assert row["tolerance"]["min_delta_accuracy_pp"] == -5.0
    table = invoke_cli(*args).stdout
    assert "tolerance: recipes table (onnx/dynamic: not in its manifest) for rnn-dynamic.onnx" in table


def test_the_committed_manifests_record_their_tolerance() -> None:
    """So that validate on models/ holds every committed file to the tolerance it was exported with."""
    for manifest in sorted(MODELS.glob("*/*.*.json")):
        recorded = read_manifest(manifest.with_suffix(""))
        if recorded.format in ("tflite", "onnx"):
            assert tolerance_of(recorded, recorded.format)[1] == "manifest", manifest


def test_import_is_light() -> None:
    code = ("import sys, edgeseq.parity.reference, edgeseq.diagnostics.drift, edgeseq.diagnostics.drift_report;"
            " print([m for m in ('tensorflow', 'keras', 'onnxruntime', 'ai_edge_litert') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
