"""Property-based tests: the readers of untrusted bytes (manifests, TFLite and ONNX files) raise nothing but
EdgeseqError subclasses, whatever the bytes. Mutations start from the committed models (models/)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from edgeseq.artifacts import read_facts
from edgeseq.formats.tflite import tflite_facts
from edgeseq.core.keras_archive import check_keras_archive
from edgeseq.core.errors import EdgeseqError
from edgeseq.core.manifest import Manifest, read_manifest, verify_against_manifest
from edgeseq.core.layout import manifest_path

from conftest import REPO

MODELS = REPO / "models" / "rnn"
TFLITE = (MODELS / "rnn-fp32.tflite").read_bytes()
MANIFEST = (MODELS / "rnn-fp32.tflite.json").read_bytes()

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4), max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, original: bytes, keep: int = 0) -> bytes:
    """`original` truncated, with bytes overwritten or inserted (the first `keep` bytes left alone)."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "overwrite", "insert", "word"]))
        at = draw(st.integers(keep, max(keep, len(data) - 1)))
        if kind == "truncate":
            del data[max(at, keep):]
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[at:at + len(chunk)] = chunk
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:  # flatbuffer offsets and lengths are 32-bit words
            data[at:at + 4] = draw(st.sampled_from([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x00\x00\x00\x00",
                                                    b"\x01\x00\x00\x00", b"\xff\xff\xff\xff"]))
    return bytes(data)


def only_edgeseq_errors(call, *args):
    try:
        return call(*args)
    except EdgeseqError:
        return None


# --- manifests -----------------------------------------------------------------------------------------

def _manifest_roundtrip(manifest_bytes: bytes, artifact_bytes: bytes = b"artifact") -> None:
    with tempfile.TemporaryDirectory() as folder:
        artifact = Path(folder) / "file.tflite"
        artifact.write_bytes(artifact_bytes)
        manifest_path(artifact).write_bytes(manifest_bytes)
        manifest = only_edgeseq_errors(read_manifest, artifact)
        if manifest is not None:
            assert isinstance(manifest, Manifest)
            result = only_edgeseq_errors(verify_against_manifest, artifact, manifest)
            assert result in (None, "verified")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_manifest_reader_on_random_bytes(payload):
    _manifest_roundtrip(payload)


@settings(max_examples=300, deadline=None)
@given(mutated(MANIFEST))
def test_manifest_reader_on_mutated_manifests(payload):
    _manifest_roundtrip(payload, TFLITE)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_manifest_reader_on_any_json(value):
    _manifest_roundtrip(json.dumps(value).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["sha256", "size_bytes", "recipe", "format", "source_keras", "batch"]),
                       json_values, max_size=6))
def test_verify_against_any_manifest_dict(manifest):
    with tempfile.TemporaryDirectory() as folder:
        artifact = Path(folder) / "file.onnx"
        artifact.write_bytes(b"onnx")
        record = only_edgeseq_errors(Manifest.from_dict, manifest | {"kind": "exported-model"})
        if record is not None:
            assert only_edgeseq_errors(verify_against_manifest, artifact, record) in (None, "verified")


def test_deeply_nested_manifest_is_an_edgeseq_error(tmp_path):
    artifact = tmp_path / "file.tflite"
    artifact.write_bytes(TFLITE)
    manifest_path(artifact).write_text("[" * 100_000)
    with pytest.raises(EdgeseqError, match="not valid JSON"):
        read_manifest(artifact)


# --- TFLite and ONNX files ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_tflite_facts_on_random_bytes(payload):
    only_edgeseq_errors(tflite_facts, payload)
    only_edgeseq_errors(tflite_facts, payload[:4] + b"TFL3" + payload[8:])  # past the identifier check


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(TFLITE, keep=8))
def test_tflite_facts_on_mutated_files(payload):
    facts = only_edgeseq_errors(tflite_facts, payload)
    if facts is not None:
        assert facts.format == "tflite"


@pytest.fixture(scope="module")
def onnx_bytes() -> bytes:
    return (MODELS / "rnn-fp32.onnx").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_onnx_facts_on_mutated_files(onnx_bytes, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        path.write_bytes(data.draw(mutated(onnx_bytes)))
        only_edgeseq_errors(read_facts, path)


@settings(max_examples=100, deadline=None)
@given(mutated((MODELS / "rnn.keras").read_bytes()))
def test_keras_archive_check_on_mutated_archives(payload):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rnn.keras"
        path.write_bytes(payload)
        only_edgeseq_errors(check_keras_archive, path)


def test_onnx_op_name_that_is_not_utf8(tmp_path, onnx_bytes):
    """Found by fuzzing: protobuf hands back bytes for an undecodable string, which broke sorting the ops."""
    at = onnx_bytes.index(b"\x22\x06MatMul")  # field 4 (op_type), 6 bytes
    path = tmp_path / "model.onnx"
    path.write_bytes(onnx_bytes[:at + 2] + b"Mat\xfful" + onnx_bytes[at + 8:])
    with pytest.raises(EdgeseqError, match="corrupt ONNX model"):
        read_facts(path)


@pytest.mark.parametrize("method", [8, 12, 99])  # deflate over stored bytes, bzip2 over stored bytes, unknown
def test_keras_archive_with_a_wrong_compression_method(tmp_path, method):
    """zipfile raises zlib.error, OSError or NotImplementedError for these: each must be one ModelError."""
    archive = bytearray((MODELS / "rnn.keras").read_bytes())
    at = archive.find(b"PK\x01\x02")
    while at >= 0:  # every central directory entry
        archive[at + 10:at + 12] = method.to_bytes(2, "little")
        at = archive.find(b"PK\x01\x02", at + 4)
    path = tmp_path / "rnn.keras"
    path.write_bytes(bytes(archive))
    with pytest.raises(EdgeseqError, match="not a readable .keras archive"):
        check_keras_archive(path)
