"""`edgeseq fuzz`: inputs generated from the data contract, ddmin shrinking, and constructed cases that must be
found: a float file with one flipped weight bit (detected, shrunk, replayed), a file whose answers depend on the
TFLite kernels (gated with --min-pairwise-agreement), all without TensorFlow; JUnit and one-line errors."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from edgeseq.data.spec import DataSpec, Normalisation, NormKind
from edgeseq.fuzz.engine import beyond_tolerance, pairwise_disagree
from edgeseq.fuzz.inputs import FAMILIES, generate, input_range
from edgeseq.fuzz.shrink import shrink
from edgeseq.recipes import FLOAT_EXACT, QUANTIZED

from conftest import REPO, run_cli

MODELS = REPO / "models"
RNN_FP32 = MODELS / "rnn" / "rnn-fp32.tflite"
RNN_INT8 = MODELS / "rnn" / "rnn-int8.tflite"


# --- inputs ------------------------------------------------------------------------------------------------

def test_mnist_inputs_stay_in_the_pixel_range_cover_every_family_and_repeat_with_the_seed(sample):
    made = generate(sample.spec, 300, seed=3, samples=sample)
    assert made.x.shape == (300, 28, 28) and made.x.dtype == np.float32
    assert made.x.min() >= 0.0 and made.x.max() <= 1.0               # a uint8 pixel / 255 cannot leave [0, 1]
    counts = made.counts()
    assert set(counts) == set(FAMILIES) and all(counts.values()) and sum(counts.values()) == 300
    assert made.description[0] == "baseline everywhere (all zeros)" and not made.x[0].any()
    assert any("spike" in d for d in made.description) and any("shifted" in d for d in made.description)
    again = generate(sample.spec, 300, seed=3, samples=sample)
    assert np.array_equal(made.x, again.x) and made.description == again.description
    assert not np.array_equal(made.x, generate(sample.spec, 300, seed=4, samples=sample).x)


def test_without_samples_every_input_not_an_edge_case_is_random_and_the_note_says_so(sample):
    made = generate(sample.spec, 200)
    assert made.counts()["realistic"] == 0 and made.counts()["random"] == 200 - made.counts()["edge"]
    assert any("realistic family is empty" in n for n in made.notes)
    assert len(generate(sample.spec, 5).family) == 5                  # fewer inputs than edge cases: the first ones


def test_standardised_data_is_unbounded_so_spikes_leave_the_range():
    spec = DataSpec(12, 3, ("a", "b"), Normalisation(NormKind.STANDARDISE, (0.0,) * 3, (1.0,) * 3),
                    variable_length=True)
    limits = input_range(spec, None)
    assert not limits.bounded and np.allclose(limits.low, -3) and np.allclose(limits.high, 3)
    made = generate(spec, 100)
    spikes = [i for i, d in enumerate(made.description) if "spike of +6 std" in d]
    assert spikes and np.isclose(made.x[spikes[0]].max(), 6.0)


# --- shrinking ---------------------------------------------------------------------------------------------

def test_shrinking_keeps_only_the_cells_a_failure_needs():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 1, (28, 28)).astype(np.float32)
    shrunk = shrink(x, np.zeros(28, np.float32), lambda b: (b[:, 3, 4] > 0.1) & (b[:, 20, 7] > 0.1))
    assert shrunk.reproduced and shrunk.original_size == 784
    assert shrunk.size == 2 and set(map(tuple, np.argwhere(shrunk.x))) == {(3, 4), (20, 7)} and shrunk.steps == 2
    assert shrunk.rounded and np.isclose(shrunk.x[3, 4], round(float(x[3, 4]), 1))


def test_an_input_that_does_not_fail_again_is_returned_unshrunk():
    x = np.ones((4, 2), np.float32)
    shrunk = shrink(x, np.zeros(2, np.float32), lambda b: np.zeros(len(b), bool))
    assert not shrunk.reproduced and shrunk.size == shrunk.original_size == 8 and np.array_equal(shrunk.x, x)


# --- what counts as a disagreement -------------------------------------------------------------------------

def test_a_float_files_tie_breaking_flip_is_within_tolerance_a_quantized_files_flip_is_not():
    ref = np.array([[0.50002, 0.49998], [0.9, 0.1]], np.float32)
    tie = np.array([[0.49998, 0.50002], [0.9, 0.1]], np.float32)
    assert beyond_tolerance(tie, ref, FLOAT_EXACT).tolist() == [False, False]
    assert beyond_tolerance(tie, ref, QUANTIZED).tolist() == [True, False]
    nan = np.array([[np.nan, 0.5], [0.9, 0.1]], np.float32)
    assert beyond_tolerance(nan, ref, QUANTIZED).tolist() == [True, False]
    assert pairwise_disagree(nan, ref).tolist() == [True, False]


# --- constructed cases, from the command line, without TensorFlow ------------------------------------------

def _flip_a_weight_bit(source: Path, target: Path) -> None:
    """`source` with bit 30 (the exponent's top bit) of one weight of the Dense layer flipped."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(source))
    blob = bytearray(source.read_bytes())
    dense = next(d for d in interpreter.get_tensor_details()
                 if d["dtype"] == np.float32 and tuple(d["shape"]) in ((10, 32), (32, 10)))
    weights = interpreter.get_tensor(dense["index"])
    at = bytes(blob).find(weights.tobytes())
    assert at >= 0, "the Dense weights were not found in the file"
    blob[at + 3] ^= 0x40                  # little-endian float32: byte 3 holds the sign and the exponent's top bits
    target.write_bytes(bytes(blob))


def test_a_flipped_weight_bit_is_found_shrunk_and_replayed(tmp_path, without_tensorflow):
    broken = tmp_path / "rnn-fp32.tflite"
    _flip_a_weight_bit(RNN_FP32, broken)
    out = tmp_path / "repro"
    done = run_cli("fuzz", broken, "--reference", MODELS / "rnn" / "rnn-fp32.onnx", "--no-verify", "--count", "150",
                   "--shrink", "2", "--out", out, "--json", "--junit-xml", tmp_path / "fuzz.xml", cwd=tmp_path,
                   env=without_tensorflow)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    [case] = report["cases"]
    assert not case["passed"] and case["vs_reference"]["disagreements"] > 0
    assert case["reference"].endswith("rnn-fp32.onnx")
    assert "max |Δp|" in case["reason"] or "agreement" in case["reason"] or "NaN" in case["reason"]
    reproducers = case["vs_reference"]["reproducers"]
    assert len(reproducers) == 2
    for r in reproducers:
        assert Path(r["npz"]).is_file() and r["reproduced"] and 0 < r["size"] <= r["original_size"]
    assert min(r["size"] for r in reproducers) < max(r["original_size"] for r in reproducers)
    suite = ET.parse(tmp_path / "fuzz.xml").getroot()
    assert suite.get("tests") == "1" and suite.get("failures") == "1"
    assert "--replay" in suite.find(".//system-out").text
    replayed = run_cli("fuzz", broken, "--replay", reproducers[0]["npz"], "--reference",
                       MODELS / "rnn" / "rnn-fp32.onnx", cwd=tmp_path, env=without_tensorflow)
    assert replayed.returncode == 1 and "still disagrees" in replayed.stdout, replayed.stderr
    healthy = run_cli("fuzz", RNN_FP32, "--replay", reproducers[0]["npz"], "--reference",
                      MODELS / "rnn" / "rnn-fp32.onnx", cwd=tmp_path, env=without_tensorflow)
    assert healthy.returncode == 0 and "agrees now" in healthy.stdout, healthy.stderr
    assert "not the one the reproducer was found on" in healthy.stdout


def test_kernel_dependent_answers_are_found_and_gated(tmp_path, without_tensorflow):
    out = tmp_path / "repro"
    done = run_cli("fuzz", RNN_INT8, "--tflite-kernels", "xnnpack,builtin", "--count", "300", "--shrink", "1",
                   "--min-pairwise-agreement", "1", "--out", out, "--json", cwd=tmp_path, env=without_tensorflow)
    assert done.returncode == 1, done.stderr
    first, builtin = json.loads(done.stdout)["cases"]
    assert (first["kernels"], builtin["kernels"]) == ("xnnpack", "builtin") and first["vs_first"] is None
    assert first["passed"], first["reason"]                      # int8: no per-input limit against the reference
    vs = builtin["vs_first"]
    assert vs["against"] == "litert/xnnpack" and vs["flips"] > 0 and not builtin["passed"]
    assert "agreement with litert/xnnpack" in builtin["reason"]
    [r] = vs["reproducers"]
    assert r["reproduced"] and r["size"] < r["original_size"] and r["answers"]["file"] != r["answers"]["against"]
    again = run_cli("fuzz", RNN_INT8, "--replay", r["npz"], cwd=tmp_path, env=without_tensorflow)
    assert again.returncode == 1 and "(litert/builtin)" in again.stdout and "still disagrees" in again.stdout
    other = run_cli("fuzz", RNN_INT8, "--replay", r["npz"], "--tflite-kernels", "xnnpack", cwd=tmp_path,
                    env=without_tensorflow)
    assert other.returncode == 0 and "agrees now" in other.stdout          # the same kernels on both sides


def test_bad_inputs_are_one_line_errors(tmp_path, without_tensorflow):
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    cases = [(("fuzz", RNN_INT8, "--replay", junk), 1, "not an edgeseq fuzz reproducer"),
             (("fuzz", RNN_INT8, "--replay", tmp_path / "missing.npz"), 1, "reproducer not found"),
             (("fuzz", RNN_INT8, "--count", "0"), 2, "--count"),
             (("fuzz", RNN_INT8, RNN_FP32, "--replay", junk), 2, "exactly one FILE"),
             (("fuzz", tmp_path / "nothing.tflite"), 2, "nothing.tflite")]
    for args, code, words in cases:
        done = run_cli(*args, cwd=tmp_path, env=without_tensorflow)
        assert done.returncode == code and "Traceback" not in done.stderr, (args, done.stderr)
        error = done.stderr.strip().splitlines()[-1]                    # a usage error has click's usage lines first
        assert error.startswith("Error: ") and words in error, (args, done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz"]      # nothing written


@pytest.mark.slow
def test_every_runtime_of_an_onnx_file_is_compared_with_the_first(tmp_path, without_tensorflow):
    pytest.importorskip("openvino")
    done = run_cli("fuzz", MODELS / "rnn" / "rnn-fp32.onnx", "--runtime", "onnxruntime,openvino", "--count", "200",
                   "--out", tmp_path / "repro", "--json", cwd=tmp_path, env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    ort, ov = json.loads(done.stdout)["cases"]
    assert ort["reference"].endswith("rnn-fp32.tflite")                # no TensorFlow: the other format's fp32
    assert ov["vs_first"]["against"] == "onnxruntime/ort-optimized" and ov["vs_first"]["agreement"] >= 0.99
    assert ort["vs_reference"]["by_family"]["edge"]["inputs"] > 0

