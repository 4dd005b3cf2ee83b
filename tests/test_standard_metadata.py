"""Standard metadata (export.standard_metadata): TFLITE_METADATA read back with tflite-support's own reader
(MetadataDisplayer), ONNX's doc_string / model_version / metadata_props read back with onnxruntime's
get_modelmeta(); the labels file, the normalisation values, the `edgeseq` entry kept, and outputs unchanged.

tflite-support is not a dependency of edgeseq (its 0.4.4 wheel declares protobuf<4, see the module): it runs in the
metadata venv (tools/make-metadata-venv.sh). The TFLite tests skip where there is none, unless
EDGESEQ_REQUIRE_METADATA is set (CI sets it): then they fail."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgeseq import __version__
from edgeseq.artifacts import read_facts
from edgeseq.export.standard_metadata import (LABELS_FILE, describe, describe_file, has_tflite_metadata,
                                              read_tflite, strip_tflite, tflite_writer, write)
from edgeseq.export.tflite_metadata import ZIP_DATE
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest

from conftest import REPO, run_cli

MODELS = REPO / "models"
WRITER = tflite_writer()


@pytest.fixture
def tflite_support():
    """tflite-support's writer and reader (in the metadata venv or here), or a skip: a failure where
    EDGESEQ_REQUIRE_METADATA is set."""
    if isinstance(WRITER, str):
        if os.environ.get("EDGESEQ_REQUIRE_METADATA"):
            pytest.fail(f"EDGESEQ_REQUIRE_METADATA is set: {WRITER}")
        pytest.skip(WRITER)
    return WRITER


def _copy(tmp_path: Path, name: str) -> tuple[Path, dict]:
    source = next(MODELS.rglob(name))
    target = tmp_path / name
    shutil.copyfile(source, target)
    return target, read_manifest(source)


def _feeds(inputs: list[dict], rng: np.random.Generator) -> dict[str, np.ndarray]:
    def one(shape: list, dtype: type) -> np.ndarray:
        shape = [int(s) if isinstance(s, (int, np.integer)) and s > 0 else 1 for s in shape]   # ONNX: 'batch'
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            return rng.integers(info.min, info.max, shape, dtype=dtype)
        return rng.random(shape, dtype=np.float32)
    return {d["name"]: one(list(d["shape"]), d["dtype"]) for d in inputs}


def _tflite_outputs(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Through the signature runner (which must keep working), one fresh interpreter per call."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    details = runner.get_input_details()
    feeds = _feeds([{"name": k, "shape": list(v["shape"]), "dtype": v["dtype"]} for k, v in details.items()],
                   np.random.default_rng(seed))
    return runner(**feeds)


def _onnx_outputs(path: Path, seed: int = 0) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    types = {"tensor(float)": np.float32}
    feeds = _feeds([{"name": i.name, "shape": list(i.shape), "dtype": types[i.type]} for i in session.get_inputs()],
                   np.random.default_rng(seed))
    return session.run(None, feeds)


def _displayed(path: Path) -> tuple[dict, list[str], dict]:
    """What tflite-support's MetadataDisplayer reads: the metadata JSON, the labels file's lines, all of it."""
    shown = read_tflite(path)
    assert shown["reader"].startswith("tflite-support ") and shown["reader"].endswith("MetadataDisplayer")
    return shown["metadata"], shown["files"][LABELS_FILE].splitlines(), shown


def _norm(tensor: dict) -> dict | None:
    units = [u for u in tensor.get("process_units", []) if u["options_type"] == "NormalizationOptions"]
    return units[0]["options"] if units else None


# ------------------------------------------------------------------ fast: copies of the committed files

def test_describe_mnist_is_pixels_over_255():
    manifest = read_manifest(MODELS / "rnn" / "rnn-fp32.onnx")
    meta = describe(manifest, "0.1.0")
    assert (meta.mean, meta.std, meta.input_range) == ((0.0,), (255.0,), (0.0, 1.0))
    assert meta.labels == tuple(str(i) for i in range(10)) and meta.version_number == 1000
    assert meta.layout == "batch x 28 timesteps x 28 features" and meta.author == "edgeseq"
    assert [t.labels for t in meta.outputs] == [True] and [t.normalised for t in meta.inputs] == [True]


def test_describe_a_step_model_names_every_state():
    meta = describe(read_manifest(MODELS / "lstm" / "lstm-fp32-step.tflite"), "0.1.0")
    assert sorted(t.name for t in meta.inputs) == ["c1", "c2", "h1", "h2", "row"]
    assert sorted(t.name for t in meta.outputs) == ["next_c1", "next_c2", "next_h1", "next_h2", "probabilities"]
    assert [t.name for t in meta.inputs if t.normalised] == ["row"]
    assert [t.name for t in meta.outputs if t.labels] == ["probabilities"]
    assert "next_h1" in next(t.description for t in meta.inputs if t.name == "h1")


@pytest.mark.parametrize("name", ["rnn-fp32.onnx", "lstm-dynamic.onnx", "rnn-fp32-step.onnx"])
def test_onnx_metadata_reads_back_and_changes_no_output(tmp_path, name):
    import onnxruntime as ort

    path, manifest = _copy(tmp_path, name)
    before, embedded = _onnx_outputs(path), read_facts(path).embedded
    section = write(path, manifest, __version__)
    assert section["model_version"] == 1000
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    props = meta.custom_metadata_map
    assert meta.version == 1000 and "softmax probabilities" in meta.description
    assert props["author"] == "edgeseq" and props["license"].startswith("Apache-2.0")
    assert json.loads(props["labels"]) == [str(i) for i in range(10)]
    assert json.loads(props["normalisation"])["std"] == [255.0]
    assert props["input_layout"] == meta.graph_description
    assert json.loads(props["edgeseq"]) == embedded == read_facts(path).embedded    # our own entry stays
    assert all(np.array_equal(a, b) for a, b in zip(before, _onnx_outputs(path)))


@pytest.mark.parametrize("name", ["rnn-fp32.tflite", "rnn-int8.tflite", "lstm-dynamic.tflite",
                                  "lstm-int16x8.tflite", "lstm-fp32-step.tflite"])
def test_tflite_metadata_reads_back_and_changes_no_output(tmp_path, name, tflite_support):
    """lstm-int16x8: tflite-support's own schema copy would reset FullyConnectedOptions.quantized_bias_type;
    lstm-dynamic: the fused op, state in variable tensors; lstm-fp32-step: five inputs and outputs."""
    path, manifest = _copy(tmp_path, name)
    before, embedded = _tflite_outputs(path), read_facts(path).embedded
    section = write(path, manifest, __version__)
    assert section["tflite"] == "TFLITE_METADATA" and section["associated_files"] == [LABELS_FILE]
    shown, labels, everything = _displayed(path)
    assert labels == [str(i) for i in range(10)] and everything["packed_files"] == [LABELS_FILE]
    meta = describe_file(path, manifest, __version__)
    assert (shown["name"], shown["description"], shown["license"]) == (meta.name, meta.description, meta.licence)
    assert shown["author"] == "edgeseq" and shown["version"].startswith(f"edgeseq {__version__}")
    (graph,) = shown["subgraph_metadata"]
    facts = read_facts(path)
    # every tensor described, in the subgraph's order (the schema pairs them by position)
    for tensors, texts, details in ((graph["input_tensor_metadata"], meta.inputs, facts.inputs),
                                    (graph["output_tensor_metadata"], meta.outputs, facts.outputs)):
        by_tensor = {t.tensor: t for t in texts}
        assert [(t["name"], t["description"]) for t in tensors] == \
            [(by_tensor[d.name].name, by_tensor[d.name].description) for d in details]
    assert "probabilities" in [t["name"] for t in graph["output_tensor_metadata"]]     # the signature's names
    normalised = [t for t in graph["input_tensor_metadata"] if _norm(t)]
    assert len(normalised) == 1 and _norm(normalised[0]) == {"mean": [0.0], "std": [255.0]}
    out = [t for t in graph["output_tensor_metadata"] if t.get("associated_files")]
    assert [f["type"] for t in out for f in t["associated_files"]] == ["TENSOR_AXIS_LABELS"]
    assert facts.embedded == embedded and facts.signatures == ["serving_default"]   # our entry and signature stay
    after = _tflite_outputs(path)
    assert after.keys() == before.keys() and all(np.array_equal(before[k], after[k]) for k in before)


def test_tflite_metadata_is_byte_stable_and_written_again_in_place(tmp_path, tflite_support):
    """The labels zip entry carries no clock (ZIP_DATE); writing it again onto a file that has it gives the same
    bytes; stripped again, the file is the model it was written onto."""
    path, manifest = _copy(tmp_path, "rnn-dynamic-step.tflite")
    original = path.read_bytes()
    write(path, manifest, __version__)
    once = path.read_bytes()
    assert has_tflite_metadata(once) and [i.date_time for i in zipfile.ZipFile(path).infolist()] == [ZIP_DATE]
    write(path, manifest, __version__)
    assert path.read_bytes() == once
    assert strip_tflite(once) == strip_tflite(original) and not has_tflite_metadata(strip_tflite(once))


@pytest.mark.parametrize("path", sorted(MODELS.glob("*/*.tflite")), ids=lambda p: p.name)
def test_every_committed_tflite_carries_it(path):
    """Every committed file holds the entry and its manifest, which matches the file, says so; a file it was added to
    after its export (tools/add_standard_metadata.py) names the bytes it was added to."""
    manifest = read_manifest(path)
    assert has_tflite_metadata(path.read_bytes()) and manifest.sha256 == sha256_file(path)
    section = manifest.standard_metadata
    assert section["tflite"] == "TFLITE_METADATA" and section["associated_files"] == [LABELS_FILE]
    assert section.get("added_to") is None or section["added_to"]["sha256"] != manifest.sha256


def test_the_tool_adds_it_to_a_file_exported_before(tmp_path, tflite_support):
    """tools/add_standard_metadata.py on a whole-sequence file without the metadata (a committed one, stripped, its
    manifest and its step model's manifest made to say so): the file gets it, its manifest the new sha256 and
    `added_to`, the step manifest the new whole-sequence sha256; a second run writes the same bytes."""
    import subprocess
    import sys

    folder = tmp_path / "rnn"
    folder.mkdir()
    for name in ("rnn-fp32.tflite", "rnn-fp32-step.tflite"):
        shutil.copyfile(MODELS / "rnn" / name, folder / name)
    whole, step = folder / "rnn-fp32.tflite", folder / "rnn-fp32-step.tflite"
    whole.write_bytes(strip_tflite(whole.read_bytes()))
    bare = sha256_file(whole)
    manifest = read_manifest(MODELS / "rnn" / "rnn-fp32.tflite").replace(
        standard_metadata=None, sha256=bare, size_bytes=whole.stat().st_size)
    (folder / "rnn-fp32.tflite.json").write_text(json.dumps(manifest.to_dict()))
    step_manifest = read_manifest(MODELS / "rnn" / "rnn-fp32-step.tflite")
    step_manifest = step_manifest.replace(whole_sequence=step_manifest.whole_sequence | {"sha256": bare})
    (folder / "rnn-fp32-step.tflite.json").write_text(json.dumps(step_manifest.to_dict()))

    def run() -> str:
        done = subprocess.run([sys.executable, str(REPO / "tools" / "add_standard_metadata.py"), str(whole)],
                              capture_output=True, text=True, check=False, timeout=600)
        assert done.returncode == 0 and "written" in done.stdout, done.stdout + done.stderr
        return sha256_file(whole)

    first = run()
    written = read_manifest(whole)
    assert has_tflite_metadata(whole.read_bytes()) and written.sha256 == first != bare
    assert written.size_bytes == whole.stat().st_size and written.standard_metadata["added_to"]["sha256"] == bare
    assert read_manifest(step).whole_sequence["sha256"] == first
    assert _displayed(whole)[1] == [str(i) for i in range(10)]
    assert run() == first and read_manifest(whole).standard_metadata["added_to"]["sha256"] == bare


def test_a_named_metadata_python_that_is_not_there_is_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGESEQ_METADATA_PYTHON", str(tmp_path / "nope" / "python"))
    tflite_writer.cache_clear()
    try:
        path, manifest = _copy(tmp_path, "rnn-fp32.tflite")
        section = write(path, manifest, __version__)
    finally:
        monkeypatch.delenv("EDGESEQ_METADATA_PYTHON")
        tflite_writer.cache_clear()
    assert section["tflite"] is None and "EDGESEQ_METADATA_PYTHON=" in section["reason"]
    assert path.read_bytes() == (MODELS / "rnn" / "rnn-fp32.tflite").read_bytes()


# ------------------------------------------------------------------ slow: an export writes it, before the hash

T, F, K = 12, 3, 3


def _data(path: Path) -> Path:
    rng = np.random.default_rng(0)
    y = rng.integers(0, K, 200)
    t = np.arange(T)[None, :, None]
    x = 5.0 + 3.0 * np.sin((y[:, None, None] + 1) * 0.5 * t + np.arange(F)[None, None, :])
    x = (x + 0.1 * rng.normal(size=x.shape)).astype(np.float32)
    np.savez(path, x_train=x[:150], y_train=y[:150], x_test=x[150:], y_test=y[150:])
    return path


@pytest.fixture(scope="module")
def exported_own(tmp_path_factory) -> tuple[Path, Path]:
    import keras

    tmp = tmp_path_factory.mktemp("std-meta")
    data = _data(tmp / "d.npz")
    arrays = np.load(data)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((T, F)), keras.layers.SimpleRNN(4),
                              keras.layers.Dense(K, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(arrays["x_train"], arrays["y_train"], epochs=1, verbose=0)
    model.save(tmp / "tiny.keras")
    for fmt, quant in (("tflite", "fp32,dynamic,int8"), ("onnx", "fp32")):
        ran = run_cli("export", "--keras", tmp / "tiny.keras", "--data", data, "--format", fmt, "--quant", quant,
                      "--calibration-size", "50", "--out", tmp / "out")
        assert ran.returncode == 0, ran.stderr
    return tmp / "out" / "tiny", data


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny-fp32.tflite", "tiny-dynamic.tflite", "tiny-int8.tflite", "tiny-fp32.onnx"])
def test_an_export_writes_standard_metadata_before_the_hash(exported_own, name):
    folder, data = exported_own
    path = folder / name
    manifest = read_manifest(path)
    assert manifest.sha256 == sha256_file(path) and manifest.size_bytes == path.stat().st_size
    assert read_facts(path).embedded["data_spec"] == manifest.data_spec          # our entry stays
    norm = manifest.data_spec["normalisation"]
    if path.suffix == ".onnx":
        import onnxruntime as ort

        props = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
        assert json.loads(props["labels"]) == manifest.labels
        assert json.loads(props["normalisation"])["mean"] == pytest.approx(norm["mean"])
        assert manifest.standard_metadata["model_version"] == 1000
        return
    if isinstance(WRITER, str):
        assert manifest.standard_metadata == {"tflite": None, "reason": WRITER}
        if os.environ.get("EDGESEQ_REQUIRE_METADATA"):
            pytest.fail(f"EDGESEQ_REQUIRE_METADATA is set: {WRITER}")
        pytest.skip(WRITER)
    assert manifest.standard_metadata["tflite"] == "TFLITE_METADATA"
    shown, labels, _ = _displayed(path)
    assert labels == manifest.labels
    (tensor,) = shown["subgraph_metadata"][0]["input_tensor_metadata"]
    assert _norm(tensor)["mean"] == pytest.approx(norm["mean"]) and _norm(tensor)["std"] == pytest.approx(norm["std"])
    # the file with its metadata validates: integrity (size, sha256, structure, embedded facts), then parity (50
    # sequences: a quantized file may be inconclusive, none fails)
    checked = run_cli("validate", path, "--data", data, "--json")
    assert checked.returncode == 0, checked.stderr
    (report,) = json.loads(checked.stdout)
    assert report["integrity"] == "verified" and report["outcome"] != "fail", report


@pytest.mark.slow
def test_metadata_changes_no_output_of_an_export(exported_own, tmp_path, tflite_support):
    """The same file with the standard metadata stripped again (re-packed with LiteRT's schema, no TFLITE_METADATA
    entry or zip) gives bit-identical outputs."""
    for name in ("tiny-fp32.tflite", "tiny-dynamic.tflite", "tiny-int8.tflite"):
        path = exported_own[0] / name
        assert has_tflite_metadata(path.read_bytes())
        bare = tmp_path / name
        bare.write_bytes(strip_tflite(path.read_bytes()))
        a, b = _tflite_outputs(path), _tflite_outputs(bare)
        assert all(np.array_equal(a[k], b[k]) for k in a), name
