"""edgeseq demo: the static page in headless Chromium (Debian's chromium, driven by playwright-core from
js/node_modules through tools/demo_browser.mjs), served on 127.0.0.1 by a thread of this process: every test
sequence's final probabilities, read one row at a time in the browser, equal the golden outputs."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from app_env import chromium, js_package, node, node_env
from conftest import REPO, invoke_cli

MODELS = REPO / "models"
STEP_FILES = [MODELS / "rnn" / "rnn-fp32-step.onnx", MODELS / "lstm" / "lstm-fp32-step.onnx"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    js_package("onnxruntime-web")
    out = tmp_path_factory.mktemp("demo") / "page"
    done = invoke_cli("demo", *STEP_FILES, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def test_the_page_answers_as_the_golden_outputs_in_chromium(page):
    from edgeseq.appkit.serve import serve

    js_package("playwright-core")
    chromium()
    with serve(page) as url:
        done = subprocess.run([node(), str(REPO / "tools" / "demo_browser.mjs"), url, "--draw"], capture_output=True, text=True,
                              env=node_env(), cwd=REPO / "js", timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout)
    assert shown["errors"] == []
    sequences = json.loads((page / "sequences.json").read_text())
    tolerance = {m["spec"]["file"]: m["max_abs_diff"] for m in sequences["models"]}
    drawn = shown["results"].pop("drawn")              # a 7 drawn with the mouse on the pad, framed as MNIST is
    assert {file: int(np.argmax(r["probabilities"])) for file, r in drawn.items()} == {f.name: 7 for f in STEP_FILES}
    assert set(shown["results"]) == {f.name for f in STEP_FILES}
    for file, runs in shown["results"].items():
        assert [r["sample"] for r in runs] == [s["sample"] for s in sequences["sequences"]]
        for run, sequence in zip(runs, sequences["sequences"]):
            np.testing.assert_allclose(run["probabilities"], sequence["expected"][file], atol=tolerance[file], rtol=0)
            assert len(run["steps"]) == len(run["step_ms"]) == 28            # one answer and one time per row
            assert np.argmax(run["steps"][-1]) == np.argmax(sequence["expected"][file])
            assert all(t >= 0 for t in run["step_ms"])


def test_every_sample_shown_is_one_every_models_reference_answers_right(page):
    sequences = json.loads((page / "sequences.json").read_text())["sequences"]
    assert [s["label"] for s in sequences] == list(range(10))
    for sequence in sequences:
        assert {int(np.argmax(p)) for p in sequence["expected"].values()} == {sequence["label"]}, sequence["sample"]


def test_the_page_has_its_files(page):
    names = {str(p.relative_to(page)) for p in page.rglob("*") if p.is_file()}
    assert {"index.html", "demo.js", "sequences.json", "rnn-fp32-step.onnx", "lstm-fp32-step.onnx",
            "ort/ort.wasm.min.mjs", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm"} == names
    sequences = json.loads((page / "sequences.json").read_text())
    assert [s["label"] for s in sequences["sequences"]] == list(range(10))
    lstm = next(m for m in sequences["models"] if m["spec"]["file"] == "lstm-fp32-step.onnx")
    assert [s["input"] for s in lstm["spec"]["states"]] == ["h1", "c1", "h2", "c2"]


@pytest.mark.parametrize("files, expect", [
    ([MODELS / "rnn" / "rnn-fp32.onnx"], "is not a step model"),
    ([MODELS / "rnn" / "rnn-fp32-step.tflite"], "runs .onnx step models"),
    ([MODELS / "rnn" / "rnn-fp32-step.onnx", MODELS / "rnn" / "rnn-int8.tflite"], "runs .onnx step models"),
])
def test_demo_refuses_files_it_cannot_show(tmp_path, files, expect):
    done = invoke_cli("demo", *files, "--out", tmp_path / "page")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and expect in lines[0], done.stderr
    assert list(tmp_path.iterdir()) == []
