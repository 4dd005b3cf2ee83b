"""Kotlin and Swift examples, rendered from a file's AppSpec into templates/Model-*.kt and Model-*.swift.

.tflite: Kotlin feeds LiteRT's Interpreter by signature name (runSignature); Swift feeds TensorFlowLiteSwift's
Interpreter by input index, in the file's own tensor order (read from the file: the step .tflite files' order is
not the step contract's). .onnx: ONNX Runtime for Android and onnxruntime-objc, by name (float32 tensors only).
Each runner implements the projects' SequenceModel (edgeseq.appkit.projects lays them out)."""

from __future__ import annotations

import json

from edgeseq.appkit.code import class_name, describe, fill, identifier, template
from edgeseq.appkit.spec import STEP, AppSpec, AppTensor

I8 = "        "


def tensors_line(spec: AppSpec) -> str:
    ins = "; ".join(f"input {t.index} {describe(t)}" for t in spec.inputs)
    outs = "; ".join(f"output {t.index} {describe(t)}" for t in spec.outputs)
    return f"\n//   {ins}\n//   {outs}"


def unsupported(spec: AppSpec) -> str | None:
    """Why the mobile examples cannot be generated for this file, or None."""
    tensors = (*spec.inputs, *spec.outputs)
    if spec.format == "onnx" and any(t.dtype != "float32" for t in tensors):
        return "the ONNX examples feed float32 tensors; this file has others"
    if any(len(t.app_shape) != (3 if t.role == "pixels" else 2) for t in tensors):
        return "a tensor of unexpected rank"
    return None


# --- Kotlin ------------------------------------------------------------------------------------------------

def _kt_container(t: AppTensor) -> str:
    *outer, last = t.app_shape
    text = f"{'ByteArray' if t.quantized else 'FloatArray'}({last})"
    for d in reversed(outer):
        text = f"Array({d}) {{ {text} }}"
    return text


def _kt_values(t: AppTensor, values: str) -> str:
    if not t.quantized:
        return values
    return f"quantize({values}, {t.scale!r}f, {t.zero_point}{', 0, 255' if t.dtype == 'uint8' else ''})"


def _kt_read(t: AppTensor, container: str) -> str:
    if not t.quantized:
        return f"{container}[0]"
    return f"dequantize({container}[0], {t.scale!r}f, {t.zero_point}{', true' if t.dtype == 'uint8' else ''})"


def _kt_litert(spec: AppSpec) -> str:
    lines = [I8 + "interpreter.resetVariableTensors()   // the fused recurrent op keeps state in variable tensors"] \
        if spec.stateful else []
    p = spec.output("probabilities")
    if spec.kind == STEP:
        feeds = {t.name: f"arrayOf({_kt_values(t, 'row' if t.role == 'row' else identifier(t.name))})"
                 for t in spec.inputs}
        lines += [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
                  *(f"{I8}var {identifier(i.name)} = FloatArray({i.size})   // {describe(i)}" for i, _ in spec.states),
                  f"{I8}var probabilities = FloatArray({p.size})", f"{I8}for (row in sequence) {{"]
        lines += [f"{I8}    val out{identifier(o.name)[:1].upper() + identifier(o.name)[1:]} = {_kt_container(o)}"
                  f"   // output {describe(o)}" for o in spec.outputs]
        outs = {o.name: "out" + identifier(o.name)[:1].upper() + identifier(o.name)[1:] for o in spec.outputs}
        lines += _kt_run(spec, feeds, outs, I8 + "    ")
        lines += [f"{I8}    {identifier(i.name)} = {_kt_read(o, outs[o.name])}" for i, o in spec.states]
        lines += [f"{I8}    probabilities = {_kt_read(p, outs[p.name])}", f"{I8}}}", f"{I8}return probabilities"]
        return "\n".join(lines)
    t = spec.input("pixels")
    value = "sequence" if not t.quantized else \
        f"Array(sequence.size) {{ {_kt_values(t, 'sequence[it]')} }}"
    lines += [f"{I8}// input {describe(t)}; output {describe(p)}", f"{I8}val out = {_kt_container(p)}"]
    lines += _kt_run(spec, {t.name: f"arrayOf({value})"}, {p.name: "out"}, I8)
    lines.append(f"{I8}return {_kt_read(p, 'out')}")
    return "\n".join(lines)


def _kt_run(spec: AppSpec, feeds: dict[str, str], outs: dict[str, str], indent: str) -> list[str]:
    if spec.signature:
        return [f"{indent}interpreter.runSignature(",
                f"{indent}    mapOf(" + ", ".join(f"{json.dumps(n)} to {v}" for n, v in feeds.items()) + "),",
                f"{indent}    mapOf(" + ", ".join(f"{json.dumps(n)} to {v}" for n, v in outs.items()) + "),",
                f"{indent}    {json.dumps(spec.signature)},", f"{indent})"]
    return [f"{indent}interpreter.runForMultipleInputsOutputs(",     # no signature: by index, in the file's order
            f"{indent}    arrayOf(" + ", ".join(feeds[t.name] for t in spec.inputs) + "),",
            f"{indent}    mapOf(" + ", ".join(f"{o.index} to {outs[o.name]}" for o in spec.outputs) + "),",
            f"{indent})"]


def _kt_onnx(spec: AppSpec) -> str:
    p = spec.output("probabilities")
    if spec.kind == STEP:
        lines = [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
                 *(f"{I8}var {identifier(i.name)} = FloatArray({i.size})   // {describe(i)}" for i, _ in spec.states),
                 f"{I8}var probabilities = FloatArray({p.size})", f"{I8}for (row in sequence) {{",
                 f"{I8}    val feeds = mapOf("]
        for t in spec.inputs:
            values = "row" if t.role == "row" else identifier(t.name)
            lines.append(f"{I8}        {json.dumps(t.name)} to tensor({values}, {', '.join(map(str, t.app_shape))}),")
        lines += [f"{I8}    )", f"{I8}    session.run(feeds).use {{ result ->"]
        lines += [f"{I8}        {identifier(i.name)} = floats(result, {json.dumps(o.name)})" for i, o in spec.states]
        lines += [f"{I8}        probabilities = floats(result, {json.dumps(p.name)})", f"{I8}    }}",
                  f"{I8}    feeds.values.forEach {{ it.close() }}", f"{I8}}}", f"{I8}return probabilities"]
        return "\n".join(lines)
    t = spec.input("pixels")
    _, steps, features = t.app_shape
    return "\n".join([
        f"{I8}// input {describe(t)}; output {describe(p)}",
        f"{I8}val pixels = FloatArray({steps * features}) {{ sequence[it / {features}][it % {features}] }}",
        f"{I8}tensor(pixels, {', '.join(map(str, t.app_shape))}).use {{ input ->",
        f"{I8}    session.run(mapOf({json.dumps(t.name)} to input)).use {{ result ->",
        f"{I8}        return floats(result, {json.dumps(p.name)})", f"{I8}    }}", f"{I8}}}"])


def compiled_model_why_not(spec: AppSpec) -> str | None:
    """Why LiteRT's CompiledModel is not used for this .tflite file (the Interpreter is), as a clause ("a step
    model: …"), or None: CompiledModel gets one float32 whole-sequence input and output without variable tensors
    (its buffers are written by position and it has no way to reset variable tensors), at batch 1."""
    if spec.kind == STEP:
        return "a step model: its state inputs are fed by signature name, which the Interpreter API does by name"
    if spec.stateful:
        return "the fused recurrent op keeps its state in variable tensors, which the Interpreter API resets"
    if any(t.quantized for t in (*spec.inputs, *spec.outputs)):
        return "its input or output is quantized, which the Interpreter API feeds as bytes"
    if len(spec.inputs) != 1 or len(spec.outputs) != 1:
        return "it has more than one input or output"
    return None


def kotlin(spec: AppSpec) -> str:
    """The Android runner: ONNX Runtime for .onnx; LiteRT's CompiledModel where the file loads in it, else its
    Interpreter. It implements SequenceModel (templates/android/Classifier.kt)."""
    name = class_name(spec.file)
    if spec.format == "onnx":
        return fill(template("Model-onnx.kt"), FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec),
                    CLASSIFY=_kt_onnx(spec))
    why_not = compiled_model_why_not(spec)
    if why_not is None:
        t, p = spec.input("pixels"), spec.output("probabilities")
        _, steps, features = t.app_shape
        return fill(template("Model-compiled.kt"), FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec),
                    INPUT=describe(t), OUTPUT=describe(p), STEPS=str(steps), FEATURES=str(features))
    return fill(template("Model-litert.kt"), FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec),
                WHY=f"Not CompiledModel: {why_not}.", CLASSIFY=_kt_litert(spec))


# --- Swift -------------------------------------------------------------------------------------------------

def _sw_data(t: AppTensor, values: str) -> str:
    if not t.quantized:
        return f"floatData({values})"
    return f"quantized({values}, scale: {t.scale!r}, zeroPoint: {t.zero_point}" \
           f"{', unsigned: true' if t.dtype == 'uint8' else ''})"


def _sw_litert(spec: AppSpec) -> tuple[str, str]:
    resize = [f"{I8}try interpreter.resizeInput(at: {t.index}, to: Tensor.Shape({list(t.app_shape)}))   // {t.name}"
              for t in spec.inputs if None in t.shape]
    lines = [I8 + "// the fused recurrent op keeps state in variable tensors and TensorFlowLiteSwift cannot reset them:",
             I8 + "// a fresh interpreter for every sequence",
             I8 + f"interpreter = try {class_name(spec.file)}.makeInterpreter(modelPath)"] if spec.stateful else []
    p = spec.output("probabilities")
    if spec.kind == STEP:
        lines += [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
                  *(f"{I8}var {identifier(i.name)} = [Float](repeating: 0, count: {i.size})" for i, _ in spec.states),
                  f"{I8}var probabilities: [Float] = []", f"{I8}for row in sequence {{"]
        for t in spec.inputs:
            values = "row" if t.role == "row" else identifier(t.name)
            lines.append(f"{I8}    try interpreter.copy({_sw_data(t, values)}, toInputAt: {t.index})   // {describe(t)}")
        lines.append(f"{I8}    try interpreter.invoke()")
        by_output = {o.name: i for i, o in spec.states}
        for o in spec.outputs:
            target = "probabilities" if o.role == "probabilities" else identifier(by_output[o.name].name)
            lines.append(f"{I8}    {target} = floats(try interpreter.output(at: {o.index}))   // {describe(o)}")
        lines += [f"{I8}}}", f"{I8}return probabilities"]
    else:
        t = spec.input("pixels")
        lines += [f"{I8}try interpreter.copy({_sw_data(t, 'sequence.flatMap { $0 }')}, toInputAt: 0)   // {describe(t)}",
                  f"{I8}try interpreter.invoke()",
                  f"{I8}return floats(try interpreter.output(at: 0))   // {describe(p)}"]
    return "\n".join(resize) or I8 + "// every input has a fixed shape", "\n".join(lines)


def _sw_onnx(spec: AppSpec) -> str:
    p = spec.output("probabilities")
    names = ", ".join(json.dumps(o.name) for o in spec.outputs)
    if spec.kind == STEP:
        lines = [I8 + "// the state: zeros at the start of every sequence; each output state is the next row's input",
                 *(f"{I8}var {identifier(i.name)} = [Float](repeating: 0, count: {i.size})" for i, _ in spec.states),
                 f"{I8}var probabilities: [Float] = []", f"{I8}for row in sequence {{",
                 f"{I8}    let outputs = try session.run(withInputs: ["]
        for t in spec.inputs:
            values = "row" if t.role == "row" else identifier(t.name)
            lines.append(f"{I8}        {json.dumps(t.name)}: try tensor({values}, {list(t.app_shape)}),")
        lines += [f"{I8}    ], outputNames: [{names}], runOptions: nil)"]
        lines += [f"{I8}    {identifier(i.name)} = try floats(outputs[{json.dumps(o.name)}])" for i, o in spec.states]
        lines += [f"{I8}    probabilities = try floats(outputs[{json.dumps(p.name)}])", f"{I8}}}",
                  f"{I8}return probabilities"]
        return "\n".join(lines)
    t = spec.input("pixels")
    return "\n".join([
        f"{I8}// input {describe(t)}; output {describe(p)}",
        (f"{I8}let outputs = try session.run(withInputs: [{json.dumps(t.name)}: try tensor(sequence.flatMap {{ $0 }},"
         f" {list(t.app_shape)})],"),
        f"{I8}                              outputNames: [{names}], runOptions: nil)",
        f"{I8}return try floats(outputs[{json.dumps(p.name)}])"])


def swift(spec: AppSpec, bundle: str) -> str:
    """The iOS runner, conforming to SequenceModel (templates/ios/Classifier.swift); `bundle` is where fromBundle()
    looks for the file (`Bundle.module` in a Swift package, `Bundle.main` in an app target)."""
    name = class_name(spec.file)
    stem, ext = spec.file.rsplit(".", 1)
    common = dict(FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec), BUNDLE=bundle, STEM=stem, EXT=ext)
    if spec.format == "onnx":
        return fill(template("Model-onnx.swift"), CLASSIFY=_sw_onnx(spec), **common)
    resize, body = _sw_litert(spec)
    return fill(template("Model-litert.swift"), RESIZE=resize, CLASSIFY=body, **common)
