"""`edgeseq pack FILE --target tflm`: the C/C++ bundle for a TensorFlow Lite Micro project, for a committed step file
and a committed whole-sequence file. What the bundle says is checked against the file (its bytes, its ops, its
tensors' order and quantization, the state's order), its golden vectors are run through TFLM here, and the parts
that need no TFLM are compiled for a Cortex-M4 with Debian's arm-none-eabi-gcc (skipped where it is absent, unless
EDGESEQ_REQUIRE_ARM_GCC=1: CI installs gcc-arm-none-eabi). TFLM's own C++ is on no package registry: main.cc and
op_resolver.h are not compiled here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite_micro", reason="tflite-micro is not installed (pip install 'edgeseq[mcu]', Linux x86_64)")

from edgeseq.appkit.spec import app_spec  # noqa: E402
from edgeseq.appkit.tflm import ARENA_MARGIN_MIN_BYTES, arena_margin, pack_tflm  # noqa: E402
from edgeseq.appkit.tflm_code import model_settings  # noqa: E402
from edgeseq.appkit.tflm_ops import BUILTIN_METHODS, resolver_methods  # noqa: E402
from edgeseq.artifacts import read_facts  # noqa: E402
from edgeseq.core.errors import ModelError  # noqa: E402
from edgeseq.core.manifest import read_manifest  # noqa: E402

from conftest import REPO, invoke_cli  # noqa: E402

MODELS = REPO / "models"
STEP = MODELS / "rnn" / "rnn-fp32-step-app.tflite"          # float32, row + h1 in, probabilities + next_h1 out
SEQUENCE = MODELS / "rnn" / "rnn-int16x8.tflite"            # whole sequence, quantized inside, float32 edges
LSTM_STEP = MODELS / "lstm" / "lstm-fp32-step-app.tflite"   # four states: h1, c1, h2, c2
INT8_STEP = MODELS / "rnn" / "rnn-int8-step-app.tflite"     # quantized inside (QUANTIZE, DEQUANTIZE), float state
FILES = {"README.md", "model_data.h", "model_data.cc", "model_settings.h", "op_resolver.h", "golden_vectors.h",
         "golden_vectors.cc", "main.cc", "manifest.json"}
CORTEX_M4 = ["-mcpu=cortex-m4", "-mthumb", "-Os", "-Wall", "-Wextra", "-Werror", "-nostdinc"]
SETTINGS_C = """#include "model_settings.h"
int edgeseq_settings_check(int k) {
  return EDGESEQ_TENSOR_ARENA_SIZE + EDGESEQ_TIMESTEPS * EDGESEQ_FEATURES + kInputSize[k % EDGESEQ_NUM_INPUTS]
         + (int)EdgeseqNormalise(255.0f, k % EDGESEQ_FEATURES) + kLabels[k % EDGESEQ_CLASSES][0];
}
"""


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, tuple[Path, object]]:
    root = tmp_path_factory.mktemp("tflm")
    return {path: (root / path.stem, pack_tflm(path, root / path.stem)) for path in (STEP, SEQUENCE, INT8_STEP)}


def arm_gcc() -> str:
    found = shutil.which("arm-none-eabi-gcc")
    if found is None:
        message = "arm-none-eabi-gcc is not installed (apt-get install gcc-arm-none-eabi)"
        if os.environ.get("EDGESEQ_REQUIRE_ARM_GCC") == "1":
            pytest.fail(f"{message} (EDGESEQ_REQUIRE_ARM_GCC=1)")
        pytest.skip(message)
    return found


def defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (\w+) (.+?)(?:\s+/\*.*)?$", text, re.M))


def table(text: str, name: str) -> list[str]:
    found = re.search(rf"{name}\[\w+\] = \{{(.*?)\}};", text, re.S)
    assert found, name
    return [re.sub(r"/\*.*?\*/", "", item).strip() for item in found.group(1).split(",") if item.strip()]


@pytest.mark.parametrize("path", [STEP, SEQUENCE, INT8_STEP], ids=["step", "sequence", "int8-step"])
def test_the_bundle_is_the_file_its_ops_and_its_measured_arena(bundles, path):
    out, bundle = bundles[path]
    assert {p.name for p in out.iterdir()} == FILES == set(bundle.files)
    model = bytes(int(b, 16) for b in re.findall(r"0x([0-9a-f]{2})", (out / "model_data.cc").read_text()))
    assert model == path.read_bytes() and f"g_model_data_len = {len(model)};" in (out / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model_data[]" in (out / "model_data.cc").read_text()
    ops = read_facts(path).ops
    resolver = (out / "op_resolver.h").read_text()
    assert sorted(re.findall(r"resolver\.(Add\w+)\(\)", resolver)) == sorted(BUILTIN_METHODS[op] for op in ops)
    assert "MicroMutableOpResolver<kEdgeseqOpCount>" in resolver and f"kEdgeseqOpCount = {len(ops)};" in resolver
    settings = (out / "model_settings.h").read_text()
    values = defines(settings)
    assert int(values["EDGESEQ_ARENA_MEASURED_BYTES"]) == bundle.arena_measured_bytes > 0
    assert int(values["EDGESEQ_ARENA_MARGIN_BYTES"]) == bundle.arena_margin_bytes == arena_margin(
        bundle.arena_measured_bytes) >= ARENA_MARGIN_MIN_BYTES
    assert bundle.arena_bytes % 16 == 0
    assert bundle.arena_bytes >= bundle.arena_measured_bytes + bundle.arena_margin_bytes
    assert "CMSIS-NN" in settings and "bisected" in settings             # the margin and the measure, explained
    assert (values["EDGESEQ_TIMESTEPS"], values["EDGESEQ_FEATURES"], values["EDGESEQ_CLASSES"]) == ("28", "28", "10")
    assert table(settings, "kLabels") == [f'"{k}"' for k in range(10)] and values["EDGESEQ_NORMALISE_PIXELS"] == "1"
    assert json.loads((out / "manifest.json").read_text()) == read_manifest(path).to_dict()


def test_a_step_bundle_feeds_the_state_back_in_the_manifests_order(bundles):
    out, bundle = bundles[STEP]
    settings = (out / "model_settings.h").read_text()
    assert defines(settings)["EDGESEQ_STEP_MODEL"] == "1" and defines(settings)["EDGESEQ_INPUT_ROW"] == "0"
    assert table(settings, "kInputNames") == ['"row"', '"h1"'] and table(settings, "kOutputNames") == [
        '"probabilities"', '"next_h1"']
    assert table(settings, "kStateInput") == ["1"] and table(settings, "kStateOutput") == ["1"]
    assert "feed the row and the states" in read_manifest(STEP).usage_note and bundle.kind == "step"
    main = (out / "main.cc").read_text()
    assert "#if EDGESEQ_STEP_MODEL" in main and "interpreter.Invoke()" in main and "@@" not in main


def test_the_state_order_of_a_two_layer_lstm():
    """Four states, h before c, layer by layer, each input fed by its next_ output (model_settings.h alone: no
    arena is measured for this)."""
    manifest = read_manifest(LSTM_STEP)
    spec = app_spec(LSTM_STEP, read_facts(LSTM_STEP), 28)
    text = model_settings(spec, manifest, {"measured": 1, "margin": 1024, "measured_how": "", "margin_why": ""},
                          manifest.labels)
    inputs, outputs = table(text, "kInputNames"), table(text, "kOutputNames")
    pairs = [(inputs[int(i)], outputs[int(o)]) for i, o in zip(table(text, "kStateInput"), table(text, "kStateOutput"))]
    assert pairs == [('"h1"', '"next_h1"'), ('"c1"', '"next_c1"'), ('"h2"', '"next_h2"'), ('"c2"', '"next_c2"')]
    assert [p[0].strip('"') for p in pairs] == manifest.tensor_order["inputs"][1:]
    assert defines(text)["EDGESEQ_STATE_VALUES"] == str(4 * 128)


def test_the_golden_vectors_pass_in_tflm_here(bundles):
    for path, (out, bundle) in bundles.items():
        assert bundle.host_passed == bundle.vectors == 10, (path.name, bundle.host_check)
        header = defines((out / "golden_vectors.h").read_text())
        assert header["EDGESEQ_GOLDEN_VECTORS"] == "10" and not bundle.warnings
        source = (out / "golden_vectors.cc").read_text()
        assert source.count("/* vector ") == 10
        classes = re.search(r"g_golden_expected_class\[\w+\] = \{(.*?)\};", source).group(1)
        assert [int(c) for c in classes.split(",")] == [v["expected_class"] for v in bundle.host_check]
    # float32 is judged per probability, int16x8 and int8 on the class (the recipe's tolerance)
    for path, checks in ((STEP, "1"), (SEQUENCE, "0"), (INT8_STEP, "0")):
        header = defines((bundles[path][0] / "golden_vectors.h").read_text())
        assert header["EDGESEQ_GOLDEN_CHECKS_PROBABILITIES"] == checks
    assert max(v["max_abs_diff"] for v in bundles[STEP][1].host_check) <= bundles[STEP][1].max_abs_diff


def test_a_whole_sequence_bundle_reads_its_quantized_file_at_float_edges(bundles):
    out, bundle = bundles[SEQUENCE]
    settings = (out / "model_settings.h").read_text()
    assert defines(settings)["EDGESEQ_STEP_MODEL"] == "0" and "EDGESEQ_NUM_STATES" not in settings
    spec = bundle.spec
    assert table(settings, "kInputSize") == [str(28 * 28)] and table(settings, "kOutputSize") == ["10"]
    assert table(settings, "kInputType") == [str({"float32": 1, "int16": 7, "int8": 9}[spec.inputs[0].dtype])]


@pytest.mark.parametrize("path", [STEP, SEQUENCE, INT8_STEP], ids=["step", "sequence", "int8-step"])
def test_the_parts_without_tflm_compile_for_a_cortex_m4(bundles, path, tmp_path):
    gcc = arm_gcc()
    out, bundle = bundles[path]
    (tmp_path / "settings_check.c").write_text(SETTINGS_C)
    jobs = [(out / "model_data.cc", []), (out / "golden_vectors.cc", []),
            (tmp_path / "settings_check.c", ["-std=c99", "-pedantic", f"-I{out}"])]
    objects = []
    for source, extra in jobs:
        target = tmp_path / (source.stem + ".o")
        done = subprocess.run([gcc, *CORTEX_M4, *extra, "-c", str(source), "-o", str(target)], capture_output=True,
                              text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr
        objects.append(target)
    size = subprocess.run([gcc.replace("-gcc", "-size"), *map(str, objects)], capture_output=True, text=True,
                          check=True, timeout=60).stdout.splitlines()
    text = {Path(line.split()[-1]).stem: int(line.split()[0]) for line in size[1:]}
    assert bundle.model_bytes <= text["model_data"] <= bundle.model_flash_bytes + 16    # the array, in flash
    assert text["golden_vectors"] >= 4 * 10 * (28 * 28 + 10)                            # the vectors' floats


@pytest.mark.skipif(shutil.which("g++") is None, reason="no host g++")
def test_the_parts_without_tflm_are_clean_cpp_and_c_on_the_host(bundles, tmp_path):
    out, _ = bundles[STEP]
    (tmp_path / "settings_check.c").write_text(SETTINGS_C)
    for command in (["g++", "-std=c++17", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic",
                     str(out / "model_data.cc"), str(out / "golden_vectors.cc")],
                    ["gcc", "-std=c99", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{out}",
                     str(tmp_path / "settings_check.c")]):
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("source, words", [
    ("models/rnn/rnn-fp32-step.onnx", "is an ONNX file: TFLM runs TFLite flatbuffers (.tflite)"),
    ("models/rnn/rnn-fp32.tflite", "TFLM cannot run it: op FILL (node 5) failed to prepare"),
    ("models/rnn/rnn-dynamic-step.tflite", "TFLM cannot run it: op FULLY_CONNECTED"),
], ids=["onnx", "fill-refused", "hybrid-refused"])
def test_a_file_tflm_cannot_take_is_one_line_and_writes_nothing(tmp_path, source, words):
    out = tmp_path / "bundle"
    done = invoke_cli("pack", REPO / source, "--target", "tflm", "--out", out)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert words in line
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_op_without_a_tflm_kernel_is_named():
    with pytest.raises(ModelError) as caught:
        resolver_methods({"FULLY_CONNECTED": 2, "RFFT2D": 1, "CUSTOM:FlexErf": 1}, "x.tflite")
    assert str(caught.value).startswith("x.tflite: TFLM has no kernel to register for op CUSTOM:FlexErf, RFFT2D")
    assert resolver_methods({"SOFTMAX": 1, "CUSTOM:ethos-u": 1}, "x") == {"CUSTOM:ethos-u": "AddEthosU",
                                                                          "SOFTMAX": "AddSoftmax"}


def test_the_cli_prints_the_figures_or_json(tmp_path):
    done = invoke_cli("pack", STEP, "--target", "tflm", "--out", tmp_path / "b", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["target"] == "tflm" and payload["kind"] == "step" and payload["arena_bytes"] % 16 == 0
    assert payload["resolver"] == {"CONCATENATION": "AddConcatenation", "FULLY_CONNECTED": "AddFullyConnected",
                                   "SOFTMAX": "AddSoftmax"}
    assert np.all([v["passed"] for v in payload["host_check"]])
    bad = invoke_cli("pack", STEP, "--target", "zephyr", "--out", tmp_path / "c")
    assert bad.returncode == 2 and "'zephyr' is not one of 'app', 'tflm'" in bad.stderr
