"""The TFLite flatbuffer read without any runtime: the schema classes of the pure-Python `tflite` package, op
names, signature names, metadata entries, and the index and size checks that keep a corrupt file away from
the C++ loader (which trusts them). edgeseq.artifacts builds a file's facts on these."""

from __future__ import annotations

from typing import Any

import numpy as np

from edgeseq.core.errors import ModelError, RuntimeUnavailable

TFLITE_INSTALL_HINT = "pip install 'tflite>=2.18,<3'"
TFLITE_ITEM_BYTES = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8}


def tflite_schema() -> Any:
    """The TFLite flatbuffer schema classes (Model, BuiltinOperator, ActivationFunctionType, BuiltinOptions,
    UnidirectionalSequenceLSTMOptions, ...): the `tflite` package, which needs no runtime."""
    try:
        import tflite  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"reading .tflite files needs the tflite package: {TFLITE_INSTALL_HINT}") \
            from err
    return tflite


def enum_names(enum_class: type) -> dict[int, str]:
    """value -> name of a flatbuffers-generated enum class (BuiltinOperator, ActivationFunctionType, ...)."""
    return {value: name for name, value in vars(enum_class).items() if not name.startswith("_")}


def builtin_code(opcode: Any) -> int:
    """An OperatorCode's builtin code (schema v3a keeps small codes in the deprecated int8 field)."""
    return max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())


def tflite_operator_names(buf: bytes) -> list[str]:
    """The operator name of every op of every subgraph, in order ('CUSTOM:<code>' for custom and Flex ops)."""
    schema = tflite_schema()
    model = schema.Model.GetRootAs(buf, 0)
    codes = opcode_names(schema, model, buf)
    return [codes[graph.Operators(j).OpcodeIndex()]
            for graph in (model.Subgraphs(i) for i in range(count(model.SubgraphsLength(), buf)))
            for j in range(count(graph.OperatorsLength(), buf))]


def opcode_names(schema: Any, model: Any, buf: bytes) -> list[str]:
    names = enum_names(schema.BuiltinOperator)
    codes = []
    for i in range(count(model.OperatorCodesLength(), buf)):
        code = model.OperatorCodes(i)
        name = names.get(builtin_code(code), f"BUILTIN_{builtin_code(code)}")
        codes.append(("CUSTOM:" + code.CustomCode().decode()) if name == "CUSTOM" else name)
    return codes


def count(length: int, buf: bytes) -> int:
    """A flatbuffer vector length, refused when the file is too small to hold that many entries (a
    corrupt length would otherwise make the loops below run for a very long time)."""
    if not 0 <= length <= len(buf) // 4:
        raise ModelError(f"a vector length of {length} in a {len(buf)}-byte file")
    return length


def signature_names(model: Any, buf: bytes) -> dict[int, str]:
    """Tensor index -> its name in the first signature (the one edgeseq writes: serving_default)."""
    if not count(model.SignatureDefsLength(), buf):
        return {}
    signature = model.SignatureDefs(0)
    maps = [signature.Inputs(i) for i in range(count(signature.InputsLength(), buf))]
    maps += [signature.Outputs(i) for i in range(count(signature.OutputsLength(), buf))]
    return {int(m.TensorIndex()): m.Name().decode() for m in maps}


def tflite_metadata(model: Any, buf: bytes, name: str) -> bytes | None:
    """The bytes of the model's last metadata entry called `name` (None if it has none)."""
    found = None
    for i in range(count(model.MetadataLength(), buf)):
        entry = model.Metadata(i)
        if (entry.Name() or b"").decode("utf-8", "replace") == name:
            found = entry.Buffer()
    if found is None:
        return None
    if not 0 <= found < model.BuffersLength():
        raise ModelError(f"metadata {name!r} refers to buffer {found} of {model.BuffersLength()}")
    buffer = model.Buffers(found)
    if buffer.DataLength() == 0 and buffer.Offset() > 1:  # stored after the flatbuffer (files over 2 GB)
        return bytes(buf[buffer.Offset():buffer.Offset() + buffer.Size()])
    return buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""


def check_subgraph(model: Any, subgraph: Any, buf: bytes) -> None:
    """Indices in range and constant data as long as its shape says (quantization scales are not checked:
    valid files hold 0 and inf). The C++ runtime trusts these: mutated files that break them made it crash,
    or corrupt memory and crash later."""
    tensors, buffers = count(subgraph.TensorsLength(), buf), count(model.BuffersLength(), buf)
    for i in range(tensors):
        t = subgraph.Tensors(i)
        if not 0 <= t.Buffer() < buffers:
            raise ModelError(f"tensor {i} refers to buffer {t.Buffer()} of {buffers}")
        data, item = model.Buffers(t.Buffer()).DataLength(), TFLITE_ITEM_BYTES.get(t.Type())
        shape = t.ShapeAsNumpy() if t.ShapeLength() else np.zeros(0, np.int32)
        if data and item and (np.any(shape < 0) or data != item * int(np.prod(shape, dtype=np.int64))):
            raise ModelError(f"tensor {i} has {data} bytes of data for shape {shape.tolist()}")
    codes = model.OperatorCodesLength()
    for o in range(count(subgraph.OperatorsLength(), buf)):
        op = subgraph.Operators(o)
        if not 0 <= op.OpcodeIndex() < codes:
            raise ModelError(f"operator {o} refers to operator code {op.OpcodeIndex()} of {codes}")
        for kind, indices in (("input", op.InputsAsNumpy()), ("output", op.OutputsAsNumpy()),
                              ("intermediate", op.IntermediatesAsNumpy())):
            if isinstance(indices, np.ndarray) and np.any((indices < -1) | (indices >= tensors)):
                raise ModelError(f"operator {o} has an {kind} tensor index out of range 0..{tensors - 1}")
    for kind, indices in (("input", subgraph.InputsAsNumpy()), ("output", subgraph.OutputsAsNumpy())):
        if isinstance(indices, np.ndarray) and np.any((indices < 0) | (indices >= tensors)):
            raise ModelError(f"a subgraph {kind} tensor index is out of range 0..{tensors - 1}")


# --- ONNX --------------------------------------------------------------------------------------------
