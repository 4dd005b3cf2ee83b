"""The Kotlin and Swift helpers every format's runners share (formats.table.AppCode.kotlin and .swift, rendered into
templates/Model-*.kt and Model-*.swift): the tensors' comment line, Kotlin arrays and (de)quantization, Swift data.
Each runner implements the projects' SequenceModel (edgeseq.appkit.projects lays them out).

.tflite (code_tflite): Kotlin feeds LiteRT's Interpreter by signature name (runSignature); Swift feeds
TensorFlowLiteSwift's Interpreter by input index, in the file's own tensor order (read from the file: the step
.tflite files' order is not the step contract's). .onnx (code_onnx): ONNX Runtime for Android and onnxruntime-objc,
by name (float32 tensors only)."""

from __future__ import annotations

from edgeseq.appkit.code import app_code, describe, identifier
from edgeseq.appkit.spec import AppSpec, AppTensor

I8 = "        "


def tensors_line(spec: AppSpec) -> str:
    ins = "; ".join(f"input {t.index} {describe(t)}" for t in spec.inputs)
    outs = "; ".join(f"output {t.index} {describe(t)}" for t in spec.outputs)
    return f"\n//   {ins}\n//   {outs}"


def unsupported(spec: AppSpec) -> str | None:
    """Why the mobile examples cannot be generated for this file (its format's reason first), or None."""
    why_not = app_code(spec).unsupported(spec)
    if why_not:
        return why_not
    if any(len(t.app_shape) != (3 if t.role == "pixels" else 2) for t in (*spec.inputs, *spec.outputs)):
        return "a tensor of unexpected rank"
    return None


# --- Kotlin ------------------------------------------------------------------------------------------------

def kt_step_loop(spec: AppSpec) -> list[str]:
    """A step runner's start: the state's zeros, the probabilities, and the loop over the rows (left open)."""
    return [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
            *(f"{I8}var {identifier(i.name)} = FloatArray({i.size})   // {describe(i)}" for i, _ in spec.states),
            f"{I8}var probabilities = FloatArray({spec.output('probabilities').size})", f"{I8}for (row in sequence) {{"]


def kt_container(t: AppTensor) -> str:
    *outer, last = t.app_shape
    text = f"{'ByteArray' if t.quantized else 'FloatArray'}({last})"
    for d in reversed(outer):
        text = f"Array({d}) {{ {text} }}"
    return text


def kt_values(t: AppTensor, values: str) -> str:
    if not t.quantized:
        return values
    return f"quantize({values}, {t.scale!r}f, {t.zero_point}{', 0, 255' if t.dtype == 'uint8' else ''})"


def kt_read(t: AppTensor, container: str) -> str:
    if not t.quantized:
        return f"{container}[0]"
    return f"dequantize({container}[0], {t.scale!r}f, {t.zero_point}{', true' if t.dtype == 'uint8' else ''})"


# --- Swift -------------------------------------------------------------------------------------------------

def sw_step_loop(spec: AppSpec) -> list[str]:
    """A step runner's start: the state's zeros, the probabilities, and the loop over the rows (left open)."""
    return [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
            *(f"{I8}var {identifier(i.name)} = [Float](repeating: 0, count: {i.size})" for i, _ in spec.states),
            f"{I8}var probabilities: [Float] = []", f"{I8}for row in sequence {{"]


def sw_data(t: AppTensor, values: str) -> str:
    if not t.quantized:
        return f"floatData({values})"
    return f"quantized({values}, scale: {t.scale!r}, zeroPoint: {t.zero_point}" \
           f"{', unsigned: true' if t.dtype == 'uint8' else ''})"
