"""The TFLite format's app code (formats.table.AppCode; formats.tflite's APP names this module): what `edgeseq pack`
writes that is TFLite's. The page and the example test run the file in LiteRT.js; Android in LiteRT's CompiledModel
where the file loads in it, else its Interpreter (by signature name); iOS in TensorFlowLiteSwift's Interpreter by
input index, in the file's own tensor order (read from the file: the step .tflite files' order is not the step
contract's), from an app folder with a Podfile (TensorFlowLiteSwift is published on CocoaPods only)."""

from __future__ import annotations

import json
from pathlib import Path

from edgeseq.appkit.code import class_name, describe, fill, identifier, js_body, template
from edgeseq.appkit.mobile import (
    I8,
    kt_container,
    kt_read,
    kt_step_loop,
    kt_values,
    sw_data,
    sw_step_loop,
    tensors_line,
)
from edgeseq.appkit.projects import PINS, IosProject
from edgeseq.appkit.spec import STEP, AppSpec

IOS_README = ("`ios/` is a Swift package for `EdgeseqCore` (Foundation only) and an `App/` folder:"
              " TensorFlowLiteSwift is published on CocoaPods only. Add `App/*.swift` and `App/Resources/*` to your"
              " app target, `pod install` with `ios/Podfile` (set your target's name), add `ios/` as a local package"
              " and link `EdgeseqCore`, and call `selfTest()` at start (empty: pass).")


# --- JavaScript: LiteRT.js -----------------------------------------------------------------------------------

def web_warnings(spec: AppSpec, sibling: Path | None) -> list[str]:
    """What LiteRT.js (@litertjs/core 2.5.3) was seen to refuse, as this file has it (TOOLCHAIN "In apps"), and the
    `-app` sibling beside it that it runs, when there is one."""
    found = []
    if any(t.dtype in ("int8", "int16") for t in (*spec.inputs, *spec.outputs)):
        found.append("LiteRT.js refuses int8/int16 input and output tensors ('Element type INT8 is not supported')")
    if spec.stateful:
        found.append("LiteRT.js refuses variable tensors (this file's fused recurrent op keeps its state in them)")
    if spec.dynamic_batch:
        found.append("this file's batch dimension is dynamic: LiteRT.js refused such files when tried (a tensor"
                     " [1, ...] does not match [-1, ...]); a batch-1 file loads")
    if found and sibling is not None:
        found.append(f"for LiteRT.js, pack {sibling.name} (beside this file: float32 input and output, batch 1)"
                     " instead")
    return found


def javascript(spec: AppSpec, warnings: list[str]) -> str:
    """The example test, with the pack's notes (what LiteRT.js refuses of this file) as comments."""
    notes = "\n".join(f"// NOTE: {w}" for w in warnings) or "// (none of these was found in this file)"
    return fill(template("example-litert.test.mjs"), FILE=spec.file, CLASSIFY=javascript_classify(spec),
                WARNINGS=notes)


def javascript_classify(spec: AppSpec) -> str:
    """classify() on LiteRT.js: by signature name, or by position in the file's order when it has no signature."""
    if spec.signature:
        run = [f"  const outputs = await model.run({json.dumps(spec.signature)}, feeds);"]
    else:       # no signature: by position, in the file's order
        run = ["  const inputs = [" + ", ".join(f"feeds[{json.dumps(t.name)}]" for t in spec.inputs) + "];",
               "  const list = await model.run(inputs);",
               "  const outputs = {" + ", ".join(f"{json.dumps(t.name)}: list[{t.index}]" for t in spec.outputs) + "};"]
    cleanup = ["  for (const t of [...Object.values(feeds), ...Object.values(outputs)]) t.delete();"]
    return js_body(spec, "new Tensor({data}, {shape})", run, "outputs[{name}].toTypedArray()", cleanup)


# --- Android: LiteRT ---------------------------------------------------------------------------------------

def unsupported(spec: AppSpec) -> str | None:
    """The TFLite runners feed every dtype the examples do (float32, int8, uint8)."""
    return None


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


def android_runtime(spec: AppSpec) -> str:
    why_not = compiled_model_why_not(spec)
    if why_not is None:
        return "LiteRT's `CompiledModel` (CPU)"
    return f"LiteRT's Interpreter API (not CompiledModel: {why_not})"


def kotlin(spec: AppSpec) -> str:
    """LiteRT's CompiledModel where the file loads in it, else its Interpreter."""
    name = class_name(spec.file)
    why_not = compiled_model_why_not(spec)
    if why_not is None:
        t, p = spec.input("pixels"), spec.output("probabilities")
        _, steps, features = t.app_shape
        return fill(template("Model-compiled.kt"), FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec),
                    INPUT=describe(t), OUTPUT=describe(p), STEPS=str(steps), FEATURES=str(features))
    return fill(template("Model-litert.kt"), FILE=spec.file, CLASS=name, TENSORS=tensors_line(spec),
                WHY=f"Not CompiledModel: {why_not}.", CLASSIFY=_kt_interpreter(spec))


def _kt_interpreter(spec: AppSpec) -> str:
    lines = [I8 + "interpreter.resetVariableTensors()   // the fused recurrent op keeps state in variable tensors"] \
        if spec.stateful else []
    p = spec.output("probabilities")
    if spec.kind == STEP:
        feeds = {t.name: f"arrayOf({kt_values(t, 'row' if t.role == 'row' else identifier(t.name))})"
                 for t in spec.inputs}
        lines += kt_step_loop(spec)
        lines += [f"{I8}    val out{identifier(o.name)[:1].upper() + identifier(o.name)[1:]} = {kt_container(o)}"
                  f"   // output {describe(o)}" for o in spec.outputs]
        outs = {o.name: "out" + identifier(o.name)[:1].upper() + identifier(o.name)[1:] for o in spec.outputs}
        lines += _kt_run(spec, feeds, outs, I8 + "    ")
        lines += [f"{I8}    {identifier(i.name)} = {kt_read(o, outs[o.name])}" for i, o in spec.states]
        lines += [f"{I8}    probabilities = {kt_read(p, outs[p.name])}", f"{I8}}}", f"{I8}return probabilities"]
        return "\n".join(lines)
    t = spec.input("pixels")
    value = "sequence" if not t.quantized else \
        f"Array(sequence.size) {{ {kt_values(t, 'sequence[it]')} }}"
    lines += [f"{I8}// input {describe(t)}; output {describe(p)}", f"{I8}val out = {kt_container(p)}"]
    lines += _kt_run(spec, {t.name: f"arrayOf({value})"}, {p.name: "out"}, I8)
    lines.append(f"{I8}return {kt_read(p, 'out')}")
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


# --- iOS: TensorFlowLiteSwift ------------------------------------------------------------------------------

def ios_project(spec: AppSpec) -> IosProject:
    """An App/ folder for the app target, and the Podfile that brings TensorFlowLiteSwift."""
    podfile = fill(template("ios/Podfile"), FILE=spec.file, TFLITE_SWIFT=PINS["tflite-swift"].version)
    return IosProject("ios/App", "Bundle.main", (("ios/Podfile", podfile),), IOS_README)


def swift(spec: AppSpec, bundle: str) -> str:
    stem, ext = spec.file.rsplit(".", 1)
    resize, body = _sw_interpreter(spec)
    return fill(template("Model-litert.swift"), RESIZE=resize, CLASSIFY=body, FILE=spec.file,
                CLASS=class_name(spec.file), TENSORS=tensors_line(spec), BUNDLE=bundle, STEM=stem, EXT=ext)


def _sw_interpreter(spec: AppSpec) -> tuple[str, str]:
    resize = [f"{I8}try interpreter.resizeInput(at: {t.index}, to: Tensor.Shape({list(t.app_shape)}))   // {t.name}"
              for t in spec.inputs if None in t.shape]
    lines = [I8 + "// the fused recurrent op keeps state in variable tensors and TensorFlowLiteSwift cannot reset them:",
             I8 + "// a fresh interpreter for every sequence",
             I8 + f"interpreter = try {class_name(spec.file)}.makeInterpreter(modelPath)"] if spec.stateful else []
    p = spec.output("probabilities")
    if spec.kind == STEP:
        lines += sw_step_loop(spec)
        for t in spec.inputs:
            values = "row" if t.role == "row" else identifier(t.name)
            lines.append(f"{I8}    try interpreter.copy({sw_data(t, values)}, toInputAt: {t.index})   // {describe(t)}")
        lines.append(f"{I8}    try interpreter.invoke()")
        by_output = {o.name: i for i, o in spec.states}
        for o in spec.outputs:
            target = "probabilities" if o.role == "probabilities" else identifier(by_output[o.name].name)
            lines.append(f"{I8}    {target} = floats(try interpreter.output(at: {o.index}))   // {describe(o)}")
        lines += [f"{I8}}}", f"{I8}return probabilities"]
    else:
        t = spec.input("pixels")
        lines += [f"{I8}try interpreter.copy({sw_data(t, 'sequence.flatMap { $0 }')}, toInputAt: 0)   // {describe(t)}",
                  f"{I8}try interpreter.invoke()",
                  f"{I8}return floats(try interpreter.output(at: 0))   // {describe(p)}"]
    return "\n".join(resize) or I8 + "// every input has a fixed shape", "\n".join(lines)
