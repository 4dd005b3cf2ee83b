"""The one typed, versioned manifest (edgeseq.core.manifest): what it reads, what it refuses in one line, and the
commands that refuse a manifest the file contradicts, with or without --no-verify."""

import json
import shutil
from pathlib import Path

import pytest

from edgeseq.core.errors import IntegrityError
from edgeseq.core.layout import manifest_path
from edgeseq.core.manifest import SCHEMA_VERSION, Manifest, read_manifest

from conftest import invoke_cli

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
COMMITTED = sorted(p.with_suffix("") for p in MODELS.glob("*/*.json") if p.name != "history.json")


def _copy(tmp_path: Path, name: str, **changes) -> Path:
    """A committed file and its manifest in tmp_path, the manifest with `changes` (None deletes a field)."""
    source = next(MODELS.rglob(name))
    target = tmp_path / name
    shutil.copyfile(source, target)
    record = json.loads(manifest_path(source).read_text()) | changes
    manifest_path(target).write_text(json.dumps({k: v for k, v in record.items() if v is not None}))
    return target


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_every_committed_manifest_is_the_current_schema_and_round_trips(path):
    written = json.loads(manifest_path(path).read_text())
    assert written["schema_version"] == SCHEMA_VERSION
    manifest = read_manifest(path)
    assert manifest.to_dict() == written
    assert "labels" not in written and "normalisation" not in written     # the data contract: data_spec only
    assert manifest.data_contract.shape == (28, 28) and manifest.labels == [str(i) for i in range(10)]


def test_a_schema_1_manifest_is_upgraded_in_memory():
    record = json.loads(manifest_path(MODELS / "rnn" / "rnn-int8.tflite").read_text())
    spec = record.pop("data_spec")
    del record["schema_version"]
    golden = record.pop("golden")
    legacy = record | {"zero_digit_output": record.pop("zero_input_output"),
                       "labels": spec["labels"], "normalisation": spec["normalisation"],
                       "golden": {("digits" if k == "samples" else k): v for k, v in golden.items()}}
    upgraded = Manifest.from_dict(legacy)
    assert upgraded.schema_version == SCHEMA_VERSION and upgraded.data_spec == spec
    assert upgraded.zero_input_output == legacy["zero_digit_output"] and upgraded.golden == golden


@pytest.mark.parametrize(("changes", "message"), [
    ({"schema_version": 99}, "schema_version 99; this edgeseq reads 1 to 3"),
    ({"schema_version": "2"}, "schema_version '2'"),
    ({"kind": "model"}, "kind 'model' is not one of"),
    ({"sha256": None}, "missing sha256 (every exported-model manifest has them)"),
    ({"recipe": "int4"}, "recipe 'int4' is not a tflite recipe (fp32, "),
    ({"format": "coreml"}, "format 'coreml' is not one of"),
    ({"size_bytes": "big"}, "size_bytes is a JSON str, not what edgeseq writes"),
    ({"stateful": 1}, "stateful is a JSON int"),
    ({"surprise": 1}, "unknown field 'surprise'"),
    ({"data_spec": {"timesteps": 0}}, "data_spec:"),
])
def test_what_edgeseq_could_not_have_written_is_one_line(tmp_path, changes, message):
    path = _copy(tmp_path, "rnn-int8.tflite", **changes)
    with pytest.raises(IntegrityError) as caught:
        read_manifest(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_writing_checks_the_manifest_first(tmp_path):
    from edgeseq.core.manifest import commit_with_manifest

    partial, target = tmp_path / "partial.tflite", tmp_path / "rnn-int8.tflite"
    partial.write_bytes(b"bytes")
    with pytest.raises(IntegrityError, match="recipe 'int4'"):
        commit_with_manifest(partial, target, {"kind": "exported-model", **{
            k: v for k, v in read_manifest(MODELS / "rnn" / "rnn-int8.tflite").to_dict().items()
            if k not in ("kind", "schema_version")}, "recipe": "int4"})
    assert not target.exists() and not manifest_path(target).exists()


@pytest.mark.parametrize("verify", [[], ["--no-verify"]])
def test_validate_refuses_an_unknown_recipe_with_or_without_no_verify(tmp_path, verify):
    path = _copy(tmp_path, "rnn-fp32.tflite", recipe="int3")
    done = invoke_cli("validate", path, "--runtime", "litert", *verify)
    assert done.returncode == 1
    assert "recipe 'int3' is not a tflite recipe" in done.stdout + done.stderr


@pytest.mark.parametrize("verify", [[], ["--no-verify"]])
def test_a_kind_the_tensors_deny_is_refused(tmp_path, verify):
    """A whole-sequence file whose manifest says step-model (with a step section): validate and quant-debug
    both refuse it in one line."""
    step = json.loads(manifest_path(MODELS / "rnn" / "rnn-fp32-step.tflite").read_text())
    path = _copy(tmp_path, "rnn-fp32.tflite", kind="step-model", step=step["step"])
    done = invoke_cli("validate", path, "--runtime", "litert", *verify)
    assert done.returncode == 1 and "its manifest says it is a step model (step-model), its tensors say a" \
        " whole-sequence file" in done.stdout + done.stderr
    debug = invoke_cli("quant-debug", path, *verify)
    assert debug.returncode == 1 and "its tensors say a whole-sequence file" in debug.stderr
    assert "Traceback" not in debug.stderr


def test_every_field_is_in_exactly_one_section():
    from dataclasses import fields

    from edgeseq.core.manifest import SECTIONS

    named = [key for keys in SECTIONS.values() for key in keys]
    assert sorted(named) == sorted(f.name for f in fields(Manifest)) and len(named) == len(set(named))


def test_a_manifest_built_field_by_field_is_checked_when_written(tmp_path):
    """Export builds its Manifest field by field: the write path checks it as the read path will."""
    from edgeseq.core.manifest import commit_with_manifest

    partial, target = tmp_path / "partial.tflite", tmp_path / "rnn-int8.tflite"
    partial.write_bytes(b"bytes")
    built = read_manifest(MODELS / "rnn" / "rnn-int8.tflite").replace(sha256=None)
    with pytest.raises(IntegrityError, match="missing sha256"):
        commit_with_manifest(partial, target, built)
    assert not target.exists() and not manifest_path(target).exists()
