"""The packed web page (edgeseq pack: DIR/web/) in headless Chromium, served on 127.0.0.1 by a thread of this
process with the pack's js/node_modules from this checkout's: its golden self-test passes on load for an ONNX step
model (onnxruntime-web), an -app TFLite and int8 -app files (LiteRT.js), and `window.edgeseq.classify` answers."""

from __future__ import annotations

import json
import subprocess

import pytest

from app_env import NODE_MODULES, chromium, js_package, node, node_env
from conftest import REPO

MODELS = REPO / "models"
FILES = [MODELS / "rnn" / "rnn-fp32-step.onnx", MODELS / "rnn" / "rnn-fp32-app.tflite",
         MODELS / "rnn" / "rnn-int8-app.tflite", MODELS / "lstm" / "lstm-int8-step-app.tflite"]


@pytest.mark.slow
@pytest.mark.parametrize("file", FILES, ids=lambda f: f.name)
def test_the_packed_page_passes_its_golden_self_test_in_chromium(tmp_path, file):
    from edgeseq.appkit.pack import pack
    from edgeseq.appkit.serve import serve

    for package in ("playwright-core", "onnxruntime-web" if file.suffix == ".onnx" else "@litertjs/core"):
        js_package(package)
    chromium()
    out = tmp_path / "pack"
    pack(file, out)
    (out / "js" / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)   # as `npm install` in js/ makes
    with serve(out) as url:
        done = subprocess.run([node(), str(REPO / "tools" / "pack_web_browser.mjs"), f"{url}web/"], capture_output=True,
                              text=True, env=node_env(), cwd=REPO / "js", timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)
    assert shown["ready"] == "pass", shown
    result = shown["result"]
    assert result["passed"] == result["total"] == 10 and all(r["ok"] for r in result["results"])
    assert shown["status"].startswith("self-test: 10 of 10 golden vectors pass")
    assert not [e for e in shown["errors"] if "404" in e], shown["errors"]        # every file the page asks for is there


def test_the_page_is_written_from_the_files_own_tensors(tmp_path):
    from edgeseq.appkit.pack import pack

    pack(MODELS / "rnn" / "rnn-int8-app.tflite", tmp_path / "int8")
    app = (tmp_path / "int8" / "web" / "app.mjs").read_text()
    page = (tmp_path / "int8" / "web" / "index.html").read_text()
    assert "loadLiteRt" in app and "fetch(here('../rnn-int8-app.tflite'))" in app and "@@" not in app + page
    assert json.loads(page.split('<script type="importmap">')[1].split("</script>")[0])["imports"] == {
        "@litertjs/core": "../js/node_modules/@litertjs/core/dist/index.js",
        "@litertjs/wasm-utils": "../js/node_modules/@litertjs/wasm-utils/dist/index.js"}
    pack(MODELS / "rnn" / "rnn-fp32-step.onnx", tmp_path / "onnx")
    onnx = (tmp_path / "onnx" / "web" / "app.mjs").read_text()
    assert "ort.env.wasm.wasmPaths" in onnx and "new ort.Tensor('float32'" in onnx
    readme = (tmp_path / "onnx" / "README.md").read_text()
    assert readme.index("In a browser") < readme.index("Tensors, in the file's own order")
