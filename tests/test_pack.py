"""edgeseq pack: the folder an app developer takes away, and its JavaScript unit test run under Node on the golden
vectors (onnxruntime-node, onnxruntime-web, LiteRT.js), on committed files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeseq.appkit.projects import KOTLIN_DIR

from app_env import NODE_MODULES, js_package, node, node_env
from conftest import REPO, invoke_cli

MODELS = REPO / "models"
RNN_ONNX = MODELS / "rnn" / "rnn-fp32.onnx"
RNN_STEP_ONNX = MODELS / "rnn" / "rnn-fp32-step.onnx"
LSTM_STEP_TFLITE = MODELS / "lstm" / "lstm-fp32-step.tflite"
# the one committed .tflite LiteRT.js loads as it is (TOOLCHAIN "In apps": the others have a dynamic batch,
# int8 tensors or variable tensors)
LITERT_JS_TFLITE = MODELS / "lstm" / "lstm-int16x8.tflite"


def packed(tmp_path: Path, source: Path) -> Path:
    out = tmp_path / source.stem
    done = invoke_cli("pack", source, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def run_js(out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (out / "js" / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)   # ESM ignores NODE_PATH
    return subprocess.run([node(), "example.test.mjs"], cwd=out / "js", capture_output=True, text=True,
                          env={**node_env(), **(env or {})}, timeout=300, check=False)


def test_pack_writes_the_file_its_labels_vectors_and_examples(tmp_path):
    out = packed(tmp_path, RNN_STEP_ONNX)
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"rnn-fp32-step.onnx", "rnn-fp32-step.onnx.json", "rnn.golden.npz", "labels.txt", "tensors.json",
            "README.md", "bundle.json", "golden/vectors.json", "golden/inputs.npy", "golden/expected.npy",
            "golden/labels.npy",
            "js/example.test.mjs", "js/package.json", "js/preprocess.mjs", "web/index.html", "web/app.mjs",
            *(f"android/{f}" for f in (
                "settings.gradle.kts", "build.gradle.kts", "gradle.properties", "gradle/wrapper/gradle-wrapper.properties",
                "app/build.gradle.kts", "app/src/main/AndroidManifest.xml",
                *(f"{KOTLIN_DIR.removeprefix('android/')}/{k}.kt" for k in ("Preprocess", "Classifier", "Golden",
                                                                      "RnnFp32StepModel", "MainActivity")),
                *(f"app/src/main/assets/{a}" for a in ("rnn-fp32-step.onnx", "vectors.json", "labels.txt")))),
            *(f"ios/{f}" for f in (
                "Package.swift", "Sources/EdgeseqCore/Preprocess.swift", "Sources/EdgeseqCore/Classifier.swift",
                "Sources/EdgeseqCore/Golden.swift", "Sources/EdgeseqModel/RnnFp32StepModel.swift",
                "Sources/EdgeseqModel/SelfTest.swift", "Tests/EdgeseqModelTests/GoldenTests.swift",
                *(f"Sources/EdgeseqModel/Resources/{a}" for a in ("rnn-fp32-step.onnx", "vectors.json",
                                                                   "labels.txt"))))} == names
    for copy in ("android/app/src/main/assets", "ios/Sources/EdgeseqModel/Resources"):     # the projects' own copies
        assert (out / copy / "rnn-fp32-step.onnx").read_bytes() == RNN_STEP_ONNX.read_bytes()
        assert (out / copy / "vectors.json").read_bytes() == (out / "golden" / "vectors.json").read_bytes()
    assert 'com.microsoft.onnxruntime:onnxruntime-android:' in (out / "android" / "app" / "build.gradle.kts").read_text()
    assert 'onnxruntime-swift-package-manager", exact: "' in (out / "ios" / "Package.swift").read_text()
    assert (out / "rnn-fp32-step.onnx").read_bytes() == RNN_STEP_ONNX.read_bytes()
    assert (out / "labels.txt").read_text().split() == [str(k) for k in range(10)]
    golden = json.loads((out / "golden" / "vectors.json").read_text())
    assert golden["check"]["max_abs_diff"] == 1e-4 and [v["label"] for v in golden["vectors"]] == list(range(10))
    first = golden["vectors"][0]
    assert np.asarray(first["input"]).shape == (28, 28) and len(first["expected"]) == 10
    np.testing.assert_array_equal(np.load(out / "golden" / "inputs.npy")[0], np.asarray(first["input"], np.float32))
    tensors = json.loads((out / "tensors.json").read_text())
    assert [t["name"] for t in tensors["inputs"]] == ["row", "h1"]          # the file's own order
    assert tensors["states"] == [{"input": "h1", "output": "next_h1"}]
    assert not list(tmp_path.glob(".*partial"))


def _swift_order(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """(what each input index is fed, which output index each variable reads) in a generated Swift example."""
    feeds = {m[1]: int(m[2]) for m in re.finditer(r"copy\(floatData\((\w+)\), toInputAt: (\d+)\)", text)}
    reads = {m[1]: int(m[2]) for m in re.finditer(r"(\w+) = floats\(try interpreter\.output\(at: (\d+)\)\)", text)}
    return feeds, reads


def test_swift_feeds_the_step_tflite_by_its_real_input_order(tmp_path):
    """The Swift example's indices, applied to LiteRT's Interpreter by position (as TensorFlowLiteSwift does),
    give the golden outputs: the file's own order is followed (the documented one, export.tensor_order: row, then
    each layer's h and c)."""
    from ai_edge_litert.interpreter import Interpreter

    out = packed(tmp_path, LSTM_STEP_TFLITE)
    feeds, reads = _swift_order((out / "ios" / "App" / "LstmFp32StepModel.swift").read_text())
    assert feeds == {"row": 0, "h1": 1, "c1": 2, "h2": 3, "c2": 4}
    golden = json.loads((out / "golden" / "vectors.json").read_text())
    interpreter = Interpreter(model_path=str(out / LSTM_STEP_TFLITE.name))
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    for t in inputs:
        interpreter.resize_tensor_input(t["index"], [1, *t["shape_signature"][1:]])
    interpreter.allocate_tensors()
    for vector in golden["vectors"][:3]:
        state = {name: np.zeros((1, 128), np.float32) for name in feeds if name != "row"}
        for row in np.asarray(vector["input"], np.float32):
            values = {**state, "row": row[None, :]}
            for name, index in feeds.items():
                interpreter.set_tensor(inputs[index]["index"], values[name])
            interpreter.invoke()
            got = {name: interpreter.get_tensor(outputs[index]["index"]) for name, index in reads.items()}
            state = {name: got[name] for name in state}
        np.testing.assert_allclose(got["probabilities"][0], vector["expected"], atol=golden["check"]["max_abs_diff"])


def test_kotlin_names_are_the_signature_names(tmp_path):
    from edgeseq.artifacts import read_facts

    out = packed(tmp_path, LSTM_STEP_TFLITE)
    text = (out / KOTLIN_DIR / "LstmFp32StepModel.kt").read_text()
    assert "org.tensorflow.lite.Interpreter" in text and "Not CompiledModel: a step model" in text
    facts = read_facts(LSTM_STEP_TFLITE)
    fed = re.findall(r'"(\w+)" to arrayOf', text)
    read = re.findall(r'"(\w+)" to out\w+', text)
    assert sorted(fed) == sorted(t.signature_name for t in facts.inputs)
    assert sorted(read) == sorted(t.signature_name for t in facts.outputs)
    assert '"serving_default"' in text


@pytest.mark.parametrize("source, package", [
    (RNN_ONNX, "onnxruntime-node"), (RNN_ONNX, "onnxruntime-web"), (RNN_STEP_ONNX, "onnxruntime-node"),
    (RNN_STEP_ONNX, "onnxruntime-web"), (LITERT_JS_TFLITE, "@litertjs/core"),
    (MODELS / "lstm" / "lstm-int8-app.tflite", "@litertjs/core"),          # class only: the file's own answers agree
    (MODELS / "rnn" / "rnn-fp32-step-app.tflite", "@litertjs/core")],
    ids=["rnn-onnx-node", "rnn-onnx-web", "rnn-step-onnx-node", "rnn-step-onnx-web", "lstm-int16x8-litertjs",
         "lstm-int8-app-litertjs", "rnn-step-app-litertjs"])
def test_the_javascript_example_passes_on_the_golden_vectors(tmp_path, source, package):
    js_package(package)
    out = packed(tmp_path, source)
    done = run_js(out, {"ORT_PACKAGE": package} if package.startswith("onnxruntime") else None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10 of 10 golden vectors passed" in done.stdout, done.stdout


def test_the_javascript_example_fails_on_a_mismatch(tmp_path):
    js_package("onnxruntime-node")
    out = packed(tmp_path, RNN_STEP_ONNX)
    vectors = out / "golden" / "vectors.json"
    golden = json.loads(vectors.read_text())
    golden["vectors"][2]["expected"][0] += 0.01                    # beyond max_abs_diff, same class
    vectors.write_text(json.dumps(golden))
    done = run_js(out)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "9 of 10 golden vectors passed" in done.stdout and "FAIL sample" in done.stdout


def test_the_litert_js_example_says_why_a_file_does_not_load(tmp_path):
    js_package("@litertjs/core")
    out = packed(tmp_path, LSTM_STEP_TFLITE)         # a dynamic batch: LiteRT.js refuses it
    assert "batch dimension is dynamic" in (out / "README.md").read_text()
    done = run_js(out)
    assert done.returncode == 1 and done.stdout.strip().splitlines()[-1].startswith("FAIL: "), done.stdout


def test_a_file_the_app_runtimes_refuse_names_its_app_sibling_and_shapes_read_in_any_language(tmp_path):
    from edgeseq.appkit.pack import pack

    done = pack(REPO / "models" / "rnn" / "rnn-int8.tflite", tmp_path / "int8")    # int8 I/O and a dynamic batch
    assert "for LiteRT.js, pack rnn-int8-app.tflite (beside this file: float32 input and output, batch 1) instead" \
        in done.warnings
    readme = (tmp_path / "int8" / "README.md").read_text()
    assert "rnn-int8-app.tflite" in readme and "[N, 28, 28]" in readme and "None" not in readme
    app = pack(REPO / "models" / "rnn" / "rnn-int8-app.tflite", tmp_path / "app")   # the file that works: no note
    assert not [w for w in app.warnings if "LiteRT.js" in w]


def test_a_recipes_description_says_the_input_and_output_the_file_really_has():
    from edgeseq.export.record import described_io

    int8 = "full integer: int8 weights and activations, int8 input/output"
    floats = [{"dtype": "float32"}]
    assert described_io(int8, floats, floats) == "full integer: int8 weights and activations, float32 input/output"
    assert described_io(int8, [{"dtype": "int8"}], [{"dtype": "int8"}]) == int8
    assert described_io("int16 activations, int8 weights, float32 input/output", [{"dtype": "int16"}], floats) == \
        "int16 activations, int8 weights, int16 input, float32 output"
    assert described_io("float16", floats, floats) == "float16"


@pytest.mark.parametrize("case", ["no-manifest", "changed-file", "no-golden", "not-empty", "keras"])
def test_pack_refuses_in_one_line_and_writes_nothing(tmp_path, case):
    source = tmp_path / "in"
    source.mkdir()
    for name in ("rnn-fp32-step.onnx", "rnn-fp32-step.onnx.json", "rnn.golden.npz"):
        shutil.copy(RNN_STEP_ONNX.parent / name, source / name)
    target = source / "rnn-fp32-step.onnx"
    out = tmp_path / "out"
    expect = {"no-manifest": "has no manifest", "changed-file": "does not match its manifest",
              "no-golden": "golden outputs rnn.golden.npz not found", "not-empty": "is not empty",
              "keras": "unknown file type"}[case]
    if case == "no-manifest":
        (source / "rnn-fp32-step.onnx.json").unlink()
    elif case == "changed-file":
        target.write_bytes(target.read_bytes() + b"\0")
    elif case == "no-golden":
        (source / "rnn.golden.npz").unlink()
    elif case == "not-empty":
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif case == "keras":
        target = source / "rnn.keras"
        target.write_bytes(b"PK")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = invoke_cli("pack", target, "--out", out)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert expect in lines[0], lines[0]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_pack_check_reverifies_hashes_and_vectors_where_the_bundle_lands(tmp_path):
    import json
    import shutil

    out = tmp_path / "app"
    made = invoke_cli("pack", REPO / "models" / "rnn" / "rnn-int8-app.tflite", "--out", out, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    described = json.loads((out / "bundle.json").read_text())
    assert described["accuracy"]["model_test_accuracy"] > 0.9 and described["data"]["mnist"]
    assert "CC" in described["data"]["licence"] or "Creative Commons" in described["data"]["licence"]
    assert "bundle.json" not in described["files"] and "golden/vectors.json" in described["files"]
    landed = tmp_path / "elsewhere"
    shutil.copytree(out, landed)
    ok = invoke_cli("pack", "--check", landed, "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    result = json.loads(ok.stdout)
    assert result["ok"] and result["passed"] == result["vectors"] == 10 and result["runtime"] == "litert"
    (landed / "labels.txt").write_text("tampered\n")
    shutil.copyfile(REPO / "models" / "rnn" / "rnn-fp32-app.tflite", landed / "rnn-int8-app.tflite")
    bad = invoke_cli("pack", "--check", landed, cwd=tmp_path)
    assert bad.returncode == 1
    assert "FAIL: labels.txt: changed" in bad.stdout and "FAIL: rnn-int8-app.tflite: changed" in bad.stdout
    for args, words in ((("--check", tmp_path / "nowhere"), "not a folder"),
                        (("--check", tmp_path), "not a packed bundle"),
                        (("--check", landed, REPO / "models" / "rnn" / "rnn-int8-app.tflite"), "neither FILE")):
        refused = invoke_cli("pack", *args, cwd=tmp_path)
        assert refused.returncode in (1, 2) and words in refused.stderr.strip().splitlines()[-1], refused.stderr


def test_pack_bench_puts_this_files_measured_p50_into_the_bundle(tmp_path):
    """bench --json on the device, then pack --bench: bundle.json and the README carry that run's p50 for this file;
    bench results about another file are refused in one line, and nothing is written."""
    app = REPO / "models" / "rnn" / "rnn-int8-app.tflite"
    bench = invoke_cli("bench", app, "--runtime", "litert", "--min-runs", "20", "--json", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    (tmp_path / "bench.json").write_text(bench.stdout)
    rows = json.loads(bench.stdout)
    made = invoke_cli("pack", app, "--out", tmp_path / "app", "--bench", tmp_path / "bench.json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    latency = json.loads((tmp_path / "app" / "bundle.json").read_text())["latency"]
    assert [(m["runtime"], m["setting"], m["p50_us"]) for m in latency] == \
        [(r["runtime"], r["kernels"], r["p50_us"]) for r in rows if r["status"] == "ok"]
    assert "| litert | xnnpack | 1 |" in (tmp_path / "app" / "README.md").read_text()
    other = invoke_cli("pack", REPO / "models" / "rnn" / "rnn-fp32-app.tflite", "--out", tmp_path / "other",
                       "--bench", tmp_path / "bench.json", cwd=tmp_path)
    lines = [line for line in other.stderr.splitlines() if line.strip()]
    assert other.returncode == 1 and len(lines) == 1 and "none of its 1 row(s) is about rnn-fp32-app.tflite" in lines[0]
    assert not (tmp_path / "other").exists()
    unmeasured = json.loads((REPO / "models" / "rnn" / "rnn-int8-app.tflite.json").read_text())
    assert "latency" not in unmeasured                     # the figure lives in the bundle, never in the manifest
