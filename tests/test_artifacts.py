"""FileFacts read without any runtime: TFLite op versions, ONNX opsets and domains, and the edgeseq metadata a
file carries about itself (read back from a TFLite metadata entry and an ONNX metadata_props entry)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import REPO
from edgeseq.artifacts import read_facts
from edgeseq.formats.onnx import ONNX_DEFAULT_DOMAIN
from edgeseq.core.tflite_schema import tflite_schema
from edgeseq.core.errors import ModelError, RuntimeUnavailable

MODELS = REPO / "models"
NOT_JSON = "embedded edgeseq metadata is not valid JSON"


def committed(suffix: str) -> list[Path]:
    return sorted(MODELS.rglob(f"*{suffix}"))


# --- TFLite -----------------------------------------------------------------------------------------------

def test_tflite_op_versions():
    for path in committed(".tflite"):
        facts = read_facts(path)
        builtin = {op for op in facts.ops if not op.startswith(("CUSTOM:", "Flex"))}
        assert set(facts.op_versions) == builtin, path.name
        assert all(v == sorted(set(v)) and all(isinstance(i, int) and i >= 1 for i in v)
                   for v in facts.op_versions.values())
        assert facts.opsets == {} and facts.domains == []
        assert {"op_versions", "opsets", "domains", "embedded"} <= set(facts.to_dict())
    dynamic = read_facts(next(p for p in committed(".tflite") if p.name.endswith("-dynamic.tflite")))
    assert max(dynamic.op_versions["FULLY_CONNECTED"]) >= 12  # what tflite-runtime 2.14 lacks


def with_metadata(source: Path, target: Path, entries: dict[str, bytes | None]) -> Path:
    """A copy of `source` whose metadata entries named in `entries` hold these bytes (None: no such entry);
    the other entries are kept."""
    import flatbuffers

    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    model = schema.ModelT.InitFromPackedBuf(bytearray(source.read_bytes()), 0)
    kept = [m for m in (model.metadata or []) if (m.name.decode() if isinstance(m.name, bytes) else m.name)
            not in entries]
    for name, payload in ((k, v) for k, v in entries.items() if v is not None):
        buffer = schema.BufferT()
        buffer.data = list(payload)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        kept.append(entry)
    model.metadata = kept
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.write_bytes(bytes(builder.Output()))
    return target


def test_tflite_embedded_metadata(tmp_path):
    source = MODELS / "rnn" / "rnn-fp32.tflite"
    facts = {"producer": "edgeseq test", "architecture": "rnn", "labels": list(range(10))}
    written = with_metadata(source, tmp_path / "a.tflite", {"edgeseq": json.dumps(facts).encode()})
    read = read_facts(written)
    assert read.embedded == facts and read.to_dict()["embedded"] == facts
    assert read.ops == read_facts(source).ops
    model = tflite_schema().Model.GetRootAs(written.read_bytes(), 0)
    names = [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]
    assert "edgeseq" in names and "min_runtime_version" in names  # the converter's own entry is kept, ignored
    absent = with_metadata(source, tmp_path / "other.tflite", {"edgeseq": None, "something_else": b"{}"})
    assert read_facts(absent).embedded is None


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_tflite_malformed_embedded_metadata(tmp_path, payload):
    bad = with_metadata(MODELS / "rnn" / "rnn-fp32.tflite", tmp_path / "bad.tflite", {"edgeseq": payload})
    with pytest.raises(ModelError, match=NOT_JSON) as caught:
        read_facts(bad)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)


def test_schema_has_what_callers_use():
    schema = tflite_schema()
    assert schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM == 44
    assert schema.ActivationFunctionType.RELU == 1
    assert schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions
    assert callable(schema.Model.GetRootAs) and callable(schema.UnidirectionalSequenceLSTMOptions)


def test_fused_lstm_options_read_with_the_schema():
    from edgeseq.export.fused_lstm import lstm_options, rewrite_lstm_activation

    fused = [p for p in committed(".tflite") if "UNIDIRECTIONAL_SEQUENCE_LSTM" in read_facts(p).ops]
    if not fused:
        pytest.skip("no committed file has a fused LSTM")
    data = fused[0].read_bytes()
    options = lstm_options(data)
    assert options and all(o["activation"] == "RELU" and o["cell_clip"] == 0 for o in options)
    assert {o["activation"] for o in lstm_options(rewrite_lstm_activation(data, "TANH"))} == {"TANH"}
    assert rewrite_lstm_activation(data, "RELU") == data


def test_missing_tflite_package_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "tflite", None)  # import tflite -> ImportError
    with pytest.raises(RuntimeUnavailable, match=r"needs the tflite package: pip install 'tflite>=2\.18,<3'"):
        read_facts(MODELS / "rnn" / "rnn-fp32.tflite")


# --- ONNX -------------------------------------------------------------------------------------------------

def tiny_onnx(path: Path, props: dict[str, str]) -> Path:
    """Relu in the default domain; opsets imported for ai.onnx (as '') and com.microsoft (unused)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 28, 28])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 28, 28])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    helper.set_model_props(model, props)
    onnx.save(model, str(path))
    return path


def test_onnx_opsets_domains_and_embedded(tmp_path):
    facts = {"producer": "edgeseq test", "format": "onnx"}
    read = read_facts(tiny_onnx(tmp_path / "m.onnx", {"other": "x", "edgeseq": json.dumps(facts)}))
    assert read.opsets == {ONNX_DEFAULT_DOMAIN: 17, "com.microsoft": 1}
    assert read.domains == [ONNX_DEFAULT_DOMAIN]
    assert read.embedded == facts and read.op_versions == {}
    assert read.to_dict()["opsets"] == read.opsets
    assert read_facts(tiny_onnx(tmp_path / "plain.onnx", {"other": "{}"})).embedded is None


@pytest.mark.parametrize("value", ["{not json", "[1]", "42"])
def test_onnx_malformed_embedded_metadata(tmp_path, value):
    bad = tiny_onnx(tmp_path / "bad.onnx", {"edgeseq": value})
    with pytest.raises(ModelError, match=NOT_JSON):
        read_facts(bad)


def test_committed_onnx_domains():
    for path in committed(".onnx"):
        facts = read_facts(path)
        assert facts.opsets.get(ONNX_DEFAULT_DOMAIN) and set(facts.domains) <= set(facts.opsets), path.name
    dynamic_lstm = read_facts(MODELS / "lstm" / "lstm-dynamic.onnx")
    assert "com.microsoft" in dynamic_lstm.domains  # DynamicQuantizeLSTM is a contrib op


def test_inspect_shows_versions_and_opsets():
    from click.testing import CliRunner

    from edgeseq.cli import cli

    tflite = CliRunner().invoke(cli, ["inspect", str(MODELS / "lstm" / "lstm-dynamic.tflite"), "--no-verify"])
    assert tflite.exit_code == 0, tflite.output
    assert re.search(r"op versions: .*FULLY_CONNECTED v\d+", tflite.output), tflite.output
    onnx = CliRunner().invoke(cli, ["inspect", str(MODELS / "lstm" / "lstm-dynamic.onnx"), "--no-verify"])
    assert onnx.exit_code == 0, onnx.output
    assert re.search(r"opsets: ai\.onnx \d+", onnx.output) and "com.microsoft" in onnx.output
