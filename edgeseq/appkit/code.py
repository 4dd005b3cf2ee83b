"""Example code per platform, rendered from a file's AppSpec (edgeseq.appkit.spec) into the templates beside this
module: every name, shape, dtype, scale and input index in the examples is the file's own.

What differs by format is its app code (formats.table.AppCode: code_tflite.py, code_onnx.py; `app_code` finds a
file's): JavaScript, a runnable unit test and the page's classify() (LiteRT.js for .tflite, onnxruntime-node/-web
for .onnx); Kotlin and Swift, the runners (edgeseq.appkit.mobile holds their shared helpers). Here: the templates,
the tensor descriptions, the JavaScript every runtime shares (js_body), the page and package.json.
"""

from __future__ import annotations

import json
import re
from importlib import resources

from edgeseq import formats
from edgeseq.appkit.spec import STEP, AppSpec, AppTensor
from edgeseq.core.errors import ModelError
from edgeseq.formats.table import AppCode

EXAMPLE_DTYPES = ("float32", "int8", "uint8")     # what the examples feed and read


def app_code(spec: AppSpec) -> AppCode:
    """The file's format's app code (formats.table.AppRuntime.code_module)."""
    return formats.by_name(spec.format).adapter().APP.code()


def template(name: str) -> str:
    return resources.files("edgeseq.appkit").joinpath("templates", name).read_text(encoding="utf-8")


def fill(text: str, **values: str) -> str:
    """The template with its @@KEY@@ placeholders filled; @@CODEC@@ is always the shared encode/decode (codec.mjs)."""
    values = {"CODEC": template("codec.mjs").split("\n", 1)[1].rstrip("\n"), **values}
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    if "@@" in text:
        raise ValueError(f"a template placeholder was left: {text[text.index('@@'):][:40]}")
    return text


def check_dtypes(spec: AppSpec) -> None:
    odd = sorted({t.dtype for t in (*spec.inputs, *spec.outputs)} - set(EXAMPLE_DTYPES))
    if odd:
        raise ModelError(f"{spec.file}: its tensors are {', '.join(odd)}; the examples feed and read"
                         f" {', '.join(EXAMPLE_DTYPES)} tensors")


def identifier(name: str, camel: bool = True) -> str:
    """A tensor name as a variable name: next_h1 -> nextH1 (camel) or next_h1."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    text = (parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])) if camel else "_".join(parts)
    text = text or "tensor"
    return f"t{text}" if text[0].isdigit() else text


def class_name(file: str) -> str:
    stem = file.split(".")[0]
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9A-Za-z]+", stem) if p) + "Model"


def describe(t: AppTensor) -> str:
    quant = f", scale {t.scale:g}, zero point {t.zero_point}" if t.quantized else ""
    return f"{t.name!r} {list(t.app_shape)} {t.dtype}{quant}"


def _quant_args(t: AppTensor) -> str:
    return f", {t.scale!r}, {t.zero_point}" if t.quantized else ""


# --- JavaScript ---------------------------------------------------------------------------------------------

def _js_state_init(spec: AppSpec) -> list[str]:
    return [f"    {json.dumps(i.name)}: new Float32Array({i.size}),   // {describe(i)}" for i, _ in spec.states]


def _js_feed(t: AppTensor, values: str, tensor: str) -> str:
    data = f"encode({values}, '{t.dtype}'{_quant_args(t)})"
    return f"    {json.dumps(t.name)}: {tensor.format(dtype=t.dtype, data=data, shape=list(t.app_shape))},"


def js_body(spec: AppSpec, tensor: str, run: list[str], read: str, cleanup: list[str]) -> str:
    """classify(model, sequence) for any format's JavaScript runtime (its app code says how): `tensor` builds a tensor
    ({dtype}, {data}, {shape}), `run` the lines running the feeds into `outputs`, `read` reads one output's values
    ({name})."""
    p = spec.output("probabilities")
    out = f"decode({read.format(name=json.dumps(p.name))}{_quant_args(p)})"
    lines = ["/** The probabilities (one per label) for one sequence: [timesteps][features] numbers, normalised as the",
             " * manifest says. */", "async function classify(model, sequence) {"]
    if spec.kind == STEP:
        lines += ["  // the state: zeros at the start of every sequence; each output state is the next row's input state",
                  "  let state = {", *_js_state_init(spec), "  };", "  let probabilities = null;",
                  "  for (const row of sequence) {", "    const feeds = {"]
        for t in spec.inputs:
            values = "row" if t.role == "row" else f"state[{json.dumps(t.name)}]"
            lines.append("  " + _js_feed(t, values, tensor) + f"   // input {t.index}")
        lines += ["    };", *("  " + line for line in run), "    state = {"]
        for i, o in spec.states:
            lines.append(f"      {json.dumps(i.name)}: decode({read.format(name=json.dumps(o.name))}{_quant_args(o)}),")
        lines += ["    };", f"    probabilities = {out};", *("  " + line for line in cleanup), "  }",
                  "  return Array.from(probabilities);", "}"]
    else:
        t = spec.input("pixels")
        lines += [f"  // input {describe(t)}; output {describe(p)}", "  const feeds = {",
                  _js_feed(t, "sequence.flat()", tensor).replace("    ", "    ", 1), "  };", *run,
                  f"  const probabilities = {out};", *cleanup, "  return Array.from(probabilities);", "}"]
    return "\n".join(lines)


def javascript(spec: AppSpec, warnings: list[str]) -> str:
    """The JavaScript unit test (example.test.mjs) for the file: its format's."""
    check_dtypes(spec)
    return app_code(spec).javascript(spec, warnings)


def web(spec: AppSpec, versions: dict[str, str]) -> dict[str, str]:
    """web/index.html and web/app.mjs: the file in the browser (onnxruntime-web for .onnx, LiteRT.js for .tflite,
    both WASM), its golden self-test on load, and `window.edgeseq.classify(sequence)`."""
    check_dtypes(spec)
    app = formats.by_name(spec.format).adapter().APP       # the page's runtime: the format's (formats.table.AppRuntime)
    runtime = app.web_runtime.format_map(versions)
    body = javascript_classify(spec)
    values = {"FILE": spec.file, "RUNTIME": runtime, "TIMESTEPS": str(spec.timesteps), "FEATURES": str(spec.features)}
    return {
        "web/index.html": fill(template("web/index.html"), **values,
                               IMPORTMAP=json.dumps({"imports": dict(app.import_map)}, indent=2)),
        "web/app.mjs": fill(template("web/app.mjs"), **values, SETUP=app.web_setup, CLASSIFY=body),
    }


def javascript_classify(spec: AppSpec) -> str:
    """classify(model, sequence) for the file's runtime in JavaScript (the Node test and the web page share it)."""
    return app_code(spec).javascript_classify(spec)


def package_json(spec: AppSpec, versions: dict[str, str]) -> str:
    deps = {package: versions[package] for package in formats.by_name(spec.format).adapter().APP.npm_packages}
    return json.dumps({"name": identifier(spec.file, camel=False).lower().replace("_", "-") + "-example",
                       "private": True, "type": "module", "scripts": {"test": "node example.test.mjs"},
                       "dependencies": deps}, indent=2) + "\n"
