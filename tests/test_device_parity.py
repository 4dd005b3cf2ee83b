"""Parity on the device without the reference model: golden outputs, the file's embedded facts, where it runs,
and the order of checks (a corrupt file is reported as corrupt before any reference is looked for)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from edgeseq import golden
from edgeseq.core import layout
from edgeseq.embedded import contradictions
from edgeseq.core.errors import IntegrityError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import Manifest, read_manifest


def _golden_file(tmp_path: Path, count: int = 20) -> Path:
    digits = golden.golden_digits(count)
    probabilities = np.eye(10, dtype=np.float32)[digits.y_test]
    path = tmp_path / "rnn.golden.npz"
    golden.write(path, probabilities, digits.y_test, {"name": "rnn.keras", "sha256": "ab" * 32}, digits.sha256)
    return path


def test_golden_round_trip_and_integrity(tmp_path):
    path = _golden_file(tmp_path)
    stored = golden.read(path, sha256_file(path))
    assert stored.count == 20 and stored.info["reference"]["name"] == "rnn.keras"
    assert np.array_equal(stored.dataset().y_test, stored.labels)
    assert golden.encode(stored.probabilities, stored.labels, stored.info["reference"],
                         stored.info["sample_sha256"]) == path.read_bytes()       # deterministic bytes
    with pytest.raises(IntegrityError, match="does not match the sha256"):
        golden.read(path, "0" * 64)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IntegrityError, match="not a golden-outputs file"):
        golden.read(path)


def test_golden_from_another_sample_is_refused(tmp_path):
    digits = golden.golden_digits(10)
    path = tmp_path / "rnn.golden.npz"
    golden.write(path, np.eye(10, dtype=np.float32)[digits.y_test], digits.y_test, {"name": "rnn.keras"},
                 {"mnist-sample.npz": "f" * 64})
    with pytest.raises(IntegrityError, match="another version of the shipped sample"):
        golden.read(path).dataset()


def test_golden_sidecar_travels_with_its_file(tmp_path):
    target = tmp_path / "lstm-int8.tflite"
    for path in (target, layout.manifest_path(target), layout.golden_path(tmp_path, "lstm")):
        path.write_text("x")
    assert layout.sidecars(target) == [layout.manifest_path(target), tmp_path / "lstm.golden.npz"]


def test_contradictions_name_the_field():
    manifest = Manifest(kind="exported-model", architecture="rnn", format="tflite", recipe="int8", stateful=False,
                        source_keras={"sha256": "a" * 64})
    same = {"architecture": "rnn", "format": "tflite", "recipe": "int8", "stateful": False,
            "source_keras_sha256": "a" * 64}
    assert contradictions(same, manifest) == []
    assert contradictions(None, manifest) == [] and contradictions(same, None) == []
    found = contradictions(same | {"recipe": "fp32"}, manifest)
    assert len(found) == 1 and "recipe" in found[0] and "'fp32'" in found[0]


@pytest.mark.parametrize("name", ["rnn-int8.tflite", "rnn-fp32.onnx"])
def test_corrupt_file_alone_is_reported_as_corrupt(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00garbage" * 50)
    done = run_cli("validate", tmp_path / name, "--limit", "20", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    rows = json.loads(done.stdout)  # one per runtime that loads the file type (onnxruntime, openvino if installed)
    assert rows and all("reference" not in row["reason"] and ("corrupt" in row["reason"] or "not a" in row["reason"])
                        for row in rows), rows


def _alone(folder: Path, source: Path, target: Path) -> Path:
    """`source` with its manifest and golden sidecar copied into the empty folder `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (source, *layout.sidecars(source)):
        shutil.copy2(path, target / path.name)
    return target / source.name


def test_exported_files_carry_golden_portability_and_embedded_facts(exported):
    folder, results = exported
    ok = [r for r in results if r["status"] == "ok"]
    assert ok
    for result in ok:
        path = Path(result["path"])
        manifest = json.loads(layout.manifest_path(path).read_text())
        key = layout.key_of(path, read_manifest(path))
        assert manifest["golden"]["file"] == f"{key.model}.golden.npz"
        assert manifest["golden"]["sha256"] == sha256_file(path.parent / manifest["golden"]["file"])
        assert manifest["embedded"]["recipe"] == key.recipe
        assert manifest["embedded"]["source_keras_sha256"] == manifest["source_keras"]["sha256"]
        section = manifest["portability"]
        cells = {c["backend"]: c for c in section["runs_on"] + section["does_not_run_on"]}
        main = cells["LiteRT" if path.suffix == ".tflite" else "onnxruntime"]   # measured where it was built
        assert main["measured"] and main["library"], (path.name, section)
        assert (main in section["runs_on"]) == (main["status"] == "pass") and (main["status"] == "pass" or main["reason"])
        assert result["portability"] == manifest["portability"]
        assert str(folder) not in json.dumps(manifest)
    dynamic_tflite = next(r for r in ok if r["path"].endswith("-dynamic.tflite"))
    limits = json.loads(layout.manifest_path(Path(dynamic_tflite["path"])).read_text())["portability"]
    assert any(c["backend"] == "tflite-runtime" and "FULLY_CONNECTED" in c["reason"]
               for c in limits["does_not_run_on"])


@pytest.mark.parametrize("name", ["lstm/lstm-int8.tflite", "rnn/rnn-fp32.onnx"])
def test_file_alone_validates_against_golden_outputs_with_the_same_figures(exported, tmp_path, name):
    """Alone in a folder, the file is judged on its golden outputs, with the figures the Keras model gives on
    the same digits (whether or not the tiny test model's file passes its tolerance)."""
    folder, _ = exported
    source = folder / name
    alone = _alone(folder, source, tmp_path / "device")
    only = ("--runtime", "litert" if source.suffix == ".tflite" else "onnxruntime")  # one row (not openvino's too)
    done = run_cli("validate", alone, *only, "--json")
    [row] = json.loads(done.stdout)
    assert row["reference_kind"] == "golden outputs" and row["digits"] == golden.DIGITS, row
    # exit 1 on a failure; a pass, or an inconclusive row (too few samples to judge), exits 0 without --strict
    assert row["model_test_accuracy"] is not None and done.returncode == (1 if row["outcome"] == "fail" else 0), row
    with_model = run_cli("validate", source, *only, "--data", "sample", "--limit", str(golden.DIGITS), "--json")
    [reference_row] = json.loads(with_model.stdout)
    assert reference_row["reference_kind"] == "keras model"
    for figure in ("accuracy", "reference_accuracy", "delta_accuracy_pp", "agreement", "max_abs_diff", "passed"):
        assert row[figure] == reference_row[figure], figure
    if name.endswith("fp32.onnx"):
        assert row["passed"]


def test_golden_sidecar_that_does_not_match_is_an_integrity_error(exported, tmp_path):
    folder, _ = exported
    alone = _alone(folder, folder / "rnn" / "rnn-fp32.onnx", tmp_path / "device")
    sidecar = alone.parent / "rnn.golden.npz"
    _golden_file(tmp_path / "other")
    shutil.copy2(tmp_path / "other" / "rnn.golden.npz", sidecar)
    done = run_cli("validate", alone, "--runtime", "onnxruntime", "--json")
    assert done.returncode == 1
    [row] = json.loads(done.stdout)
    assert "does not match the sha256" in row["reason"]


def test_embedded_facts_that_contradict_the_manifest_are_an_integrity_error(exported, tmp_path):
    folder, _ = exported
    alone = _alone(folder, folder / "rnn" / "rnn-fp32.onnx", tmp_path / "device")
    manifest_file = layout.manifest_path(alone)
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps(manifest | {"recipe": "dynamic"}))
    done = run_cli("validate", alone, "--runtime", "onnxruntime", "--json")
    [row] = json.loads(done.stdout)
    assert done.returncode == 1 and "embedded metadata contradicts its manifest" in row["reason"]
    assert "recipe" in row["reason"]


MACHINE_PATH = r'"/(home|work|tmp|usr|root|Users|mnt|var|opt)/|\.\./|[A-Z]:\\\\'


def test_committed_results_and_manifests_name_no_machine_path():
    """A manifest that ships inside an app names nobody's folders; nor do the committed results."""
    import re

    pattern = re.compile(MACHINE_PATH)
    offending = []
    for root in (REPO / "models", REPO / "docs"):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".json", ".md", ".html", ".csv"):
                text = path.read_text(encoding="utf-8", errors="replace")
                offending += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert not offending, offending[:10]


def test_a_file_no_chosen_runtime_loads_is_one_line_naming_the_runtimes(tmp_path):
    source = REPO / "models" / "rnn" / "rnn-fp32.onnx"
    for command in (("validate", source, "--runtime", "litert", "--limit", "10"),
                    ("bench", source, "--runtime", "litert", "--min-runs", "1", "--min-seconds", "0")):
        done = run_cli(*command, cwd=tmp_path)
        last = done.stderr.strip().splitlines()[-1]
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "no requested runtime loads .onnx files (litert loads .tflite)" in last and "onnxruntime" in last
