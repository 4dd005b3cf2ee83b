"""The Android project's plain Kotlin (Preprocess.kt, Classifier.kt, Golden.kt), compiled with a real Kotlin compiler
(tests/kotlin_env.py) and run on the JVM: `prepare` computes exactly what edgeseq's Python computes on 100 raw inputs
of MNIST's contract and of a standardised, variable-length one; the golden self-test passes a model that answers the
expected probabilities and fails one that is off by more than the tolerance; Classifier names the expected label.
The runner and MainActivity need Android's SDK and the runtimes' AARs, which are not reachable here."""

import json
import os
import subprocess

import numpy as np
import pytest

from edgeseq.appkit import preprocess
from edgeseq.appkit.pack import pack
from edgeseq.appkit.projects import KOTLIN_DIR

from conftest import REPO
from kotlin_env import compile_kotlin
from test_preprocess import contract_and_raws

pytestmark = pytest.mark.slow          # a JVM and the Kotlin compiler: about 15 s a compile on 2 cores

HARNESS = """import edgeseq.app.*
import java.io.File

/** prepare RAW OUT: every raw sequence of RAW (a line each: L F then L*F values) through Preprocess.prepare.
 *  golden VECTORS NUDGE: the golden self-test on a model replaying the expected probabilities, then on one that adds
 *  NUDGE to the first probability; then Classifier on the first vector. */
fun main(args: Array<String>) {
    when (args[0]) {
        "prepare" -> File(args[2]).printWriter().use { out ->
            File(args[1]).readLines().filter { it.isNotBlank() }.forEach { line ->
                val numbers = line.trim().split(" ")
                val length = numbers[0].toInt()
                val features = numbers[1].toInt()
                val rows = Array(length) { t -> FloatArray(features) { f -> numbers[2 + t * features + f].toFloat() } }
                out.println(Preprocess.prepare(rows).joinToString(" "))
            }
        }
        "golden" -> {
            val golden = GoldenVectors.parse(File(args[1]).readText())
            val replay = SequenceModel { sequence ->
                golden.vectors.first { it.input.contentDeepEquals(sequence) }.expected.copyOf()
            }
            val nudge = args[2].toFloat()
            val nudged = SequenceModel { sequence -> replay.classify(sequence).also { it[0] += nudge } }
            println("replay failures: " + checkGolden(replay, golden).size)
            println("nudged failures: " + checkGolden(nudged, golden).size)
            val labels = File(args[3]).readLines().filter { it.isNotEmpty() }
            val answer = Classifier(replay, labels).classify(golden.vectors[0].input)
            println("first: " + answer.label + " " + golden.vectors[0].expectedClass + " " + answer.score)
        }
    }
}
"""


def _java(classpath, *args: str) -> str:
    done = subprocess.run(["java", "-cp", os.pathsep.join(map(str, classpath)), "HarnessKt", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    out = tmp_path_factory.mktemp("kotlin") / "pack"
    pack(REPO / "models" / "rnn" / "rnn-fp32-app.tflite", out)
    return out


@pytest.mark.parametrize("spec_name", ["mnist", "standardised", "japanese-vowels"])
def test_kotlin_prepare_computes_exactly_what_python_computes(tmp_path, spec_name, sample, packed):
    spec, raws = contract_and_raws(spec_name, sample)
    # Kotlin's rows are FloatArray: the raw values are float32 numbers, as an app reads them
    raws = [np.asarray(r, np.float32) for r in raws]
    core = packed / KOTLIN_DIR
    (tmp_path / "Preprocess.kt").write_text(preprocess.kotlin(spec))
    (tmp_path / "Harness.kt").write_text(HARNESS)
    classpath = compile_kotlin([tmp_path / "Preprocess.kt", core / "Classifier.kt", core / "Golden.kt",
                                tmp_path / "Harness.kt"], tmp_path / "classes")
    (tmp_path / "raw.txt").write_text("".join(
        f"{len(r)} {spec.features} " + " ".join(repr(float(v)) for v in r.ravel()) + "\n" for r in raws))
    _java(classpath, "prepare", str(tmp_path / "raw.txt"), str(tmp_path / "prepared.txt"))
    lines = (tmp_path / "prepared.txt").read_text().splitlines()
    got = np.asarray([[np.float32(v) for v in line.split()] for line in lines], np.float32)
    want = np.stack([preprocess.prepare(r, spec) for r in raws]).reshape(100, -1)
    assert got.shape == want.shape
    assert np.array_equal(got, want), float(np.abs(got - want).max())               # max diff 0 on all 100


def test_the_packed_kotlin_core_compiles_and_its_golden_check_can_fail(tmp_path, packed):
    core = packed / KOTLIN_DIR
    (tmp_path / "Harness.kt").write_text(HARNESS)
    classpath = compile_kotlin([core / "Preprocess.kt", core / "Classifier.kt", core / "Golden.kt",
                                tmp_path / "Harness.kt"], tmp_path / "classes")
    vectors = packed / "android" / "app" / "src" / "main" / "assets" / "vectors.json"
    count = len(json.loads(vectors.read_text())["vectors"])
    tolerance = json.loads(vectors.read_text())["check"]["max_abs_diff"]
    text = _java(classpath, "golden", str(vectors), str(tolerance * 10), str(packed / "labels.txt"))
    assert "replay failures: 0" in text
    assert f"nudged failures: {count}" in text            # every vector's first probability is off by 10x the tolerance
    label, expected_class, score = text.split("first: ")[1].split()
    labels = (packed / "labels.txt").read_text().split()
    assert label == labels[int(expected_class)] and 0 < float(score) <= 1


STUBS = REPO / "tests" / "kotlin_stubs"


@pytest.mark.parametrize("name", ["rnn/rnn-fp32-app.tflite", "lstm/lstm-fp32-step.tflite", "rnn/rnn-int8.tflite",
                                  "lstm/lstm-int8-step-app.tflite", "rnn/rnn-fp32-step.onnx", "lstm/lstm-fp32.onnx"])
def test_the_android_runner_and_activity_type_check_against_the_documented_apis(tmp_path, name):
    """The whole app module (runner, MainActivity, the core) compiles against stubs of the Android, LiteRT and ONNX
    Runtime APIs it calls (tests/kotlin_stubs: signatures as documented; the real SDK and AARs are not reachable
    here). It catches an error in the generated Kotlin (a step model's state, int8 feeds, the CompiledModel calls),
    not a difference between a stub and the real library."""
    out = tmp_path / "pack"
    pack(REPO / "models" / name, out)
    sources = sorted((out / KOTLIN_DIR).glob("*.kt"))
    assert {p.name for p in sources} >= {"MainActivity.kt", "Preprocess.kt", "Classifier.kt", "Golden.kt"}
    compile_kotlin([*sources, *sorted(STUBS.glob("*.kt"))], tmp_path / "classes")
    assert (tmp_path / "classes" / "edgeseq" / "app" / "MainActivity.class").is_file()
