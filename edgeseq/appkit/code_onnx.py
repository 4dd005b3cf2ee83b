"""The ONNX format's app code (formats.table.AppCode; formats.onnx's APP names this module): what `edgeseq pack`
writes that is ONNX's. The example test runs the file in onnxruntime-node, the page in onnxruntime-web; Android in
ONNX Runtime for Android and iOS in onnxruntime-objc (ONNX Runtime's Swift package, a target of ios/Package.swift
with the golden vectors as an XCTest), both by name and on float32 tensors only."""

from __future__ import annotations

import json
from pathlib import Path

from edgeseq.appkit.code import class_name, describe, fill, identifier, js_body, template
from edgeseq.appkit.mobile import I8, kt_step_loop, sw_step_loop, tensors_line
from edgeseq.appkit.projects import PINS, SWIFT_CORE_TARGET, IosProject
from edgeseq.appkit.spec import STEP, AppSpec

IOS_README = ("`ios/` is a Swift package: `EdgeseqCore` (Foundation only) and `EdgeseqModel` (the file on ONNX"
              " Runtime's Swift package, the file in its resources); `swift test` on a Mac runs the golden vectors"
              " (`Tests/EdgeseqModelTests`). In an app: add the folder as a local package, link `EdgeseqModel`, call"
              " `selfTest()` at start.")


# --- JavaScript: onnxruntime-node and onnxruntime-web --------------------------------------------------------

def web_warnings(spec: AppSpec, sibling: Path | None) -> list[str]:
    """None: every committed ONNX file loaded and ran in onnxruntime-web (export.app)."""
    return []


def javascript(spec: AppSpec, warnings: list[str]) -> str:
    """The example test on onnxruntime-node (the pack's notes are in its README, not in the test)."""
    return fill(template("example-onnx.test.mjs"), FILE=spec.file, CLASSIFY=javascript_classify(spec))


def javascript_classify(spec: AppSpec) -> str:
    return js_body(spec, "new ort.Tensor('{dtype}', {data}, {shape})", ["  const outputs = await model.run(feeds);"],
                   "outputs[{name}].data", [])


# --- Android: ONNX Runtime for Android ---------------------------------------------------------------------

def unsupported(spec: AppSpec) -> str | None:
    """The ONNX runners feed and read float32 tensors only."""
    if any(t.dtype != "float32" for t in (*spec.inputs, *spec.outputs)):
        return "the ONNX examples feed float32 tensors; this file has others"
    return None


def android_runtime(spec: AppSpec) -> str:
    return "ONNX Runtime for Android"


def kotlin(spec: AppSpec) -> str:
    return fill(template("Model-onnx.kt"), FILE=spec.file, CLASS=class_name(spec.file), TENSORS=tensors_line(spec),
                CLASSIFY=_kt_session(spec))


def _kt_session(spec: AppSpec) -> str:
    p = spec.output("probabilities")
    if spec.kind == STEP:
        lines = [*kt_step_loop(spec), f"{I8}    val feeds = mapOf("]
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


# --- iOS: ONNX Runtime's Swift package ---------------------------------------------------------------------

def ios_project(spec: AppSpec) -> IosProject:
    """A package target EdgeseqModel beside EdgeseqCore (ios/Package.swift with ONNX Runtime's package pinned), and
    the golden vectors as its XCTest."""
    tests = fill(template("ios/GoldenTests.swift"), FILE=spec.file)
    return IosProject("ios/Sources/EdgeseqModel", "Bundle.module",
                      (("ios/Package.swift", _package_swift()), ("ios/Tests/EdgeseqModelTests/GoldenTests.swift", tests)),
                      IOS_README)


def _package_swift() -> str:
    ort = PINS["onnxruntime-swift"]
    return "\n".join([
        "// swift-tools-version:5.9",
        "// EdgeseqCore (Preprocess, Classifier, the golden self-test) and EdgeseqModel (the file on ONNX Runtime), with",
        "// the golden vectors as an XCTest (`swift test` on a Mac). Versions pinned by edgeseq pack.",
        "import PackageDescription", "", "let package = Package(", '    name: "EdgeseqModel",',
        "    platforms: [.iOS(.v15), .macOS(.v13)],",
        '    products: [.library(name: "EdgeseqModel", targets: ["EdgeseqModel", "EdgeseqCore"])],',
        "    dependencies: [",
        f'        .package(url: "{ort.coordinate}", exact: "{ort.version}"),', "    ],",
        "    targets: [", SWIFT_CORE_TARGET,
        '        .target(name: "EdgeseqModel",',
        '                dependencies: ["EdgeseqCore", .product(name: "onnxruntime",'
        ' package: "onnxruntime-swift-package-manager")],',
        '                path: "Sources/EdgeseqModel", resources: [.process("Resources")]),',
        '        .testTarget(name: "EdgeseqModelTests", dependencies: ["EdgeseqModel", "EdgeseqCore"],',
        '                    path: "Tests/EdgeseqModelTests"),', "    ]", ")", ""])


def swift(spec: AppSpec, bundle: str) -> str:
    stem, ext = spec.file.rsplit(".", 1)
    return fill(template("Model-onnx.swift"), CLASSIFY=_sw_session(spec), FILE=spec.file, CLASS=class_name(spec.file),
                TENSORS=tensors_line(spec), BUNDLE=bundle, STEM=stem, EXT=ext)


def _sw_session(spec: AppSpec) -> str:
    p = spec.output("probabilities")
    names = ", ".join(json.dumps(o.name) for o in spec.outputs)
    if spec.kind == STEP:
        lines = [*sw_step_loop(spec), f"{I8}    let outputs = try session.run(withInputs: ["]
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
