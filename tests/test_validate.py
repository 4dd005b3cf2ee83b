"""Parity: exported files against their reference; the gate fails on drift; works without TensorFlow."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeseq.parity import check_tolerance, compare
from edgeseq.parity.compare import judge, mcnemar_p, paired_interval_pp
from edgeseq.recipes import Tolerance

from conftest import run_cli


def test_validate_every_exported_file(exported, quick_run):
    """Every exported file against its Keras model: the quick run's validate step (what `edgeseq validate FOLDER`
    does, on the sample's 1,000 test digits), then the command itself on two of the files."""
    folder, results = exported
    reports = json.loads((quick_run[0] / "validate.json").read_text())
    exported_paths = {r["path"] for r in results if r["status"] == "ok"}
    assert {r["path"] for r in reports} == exported_paths
    for r in reports:
        assert set(r) >= {"path", "model", "format", "recipe", "runtime", "accuracy", "reference_accuracy",
                          "delta_accuracy_pp", "agreement", "max_abs_diff", "state_hygiene", "passed", "reason"}
        assert r["reference_kind"] == "keras model" and r["integrity"] == "verified"
        assert r["state_hygiene"] is True, r
    by_name = {Path(r["path"]).name: r for r in reports}
    for name in ("rnn-fp32.tflite", "lstm-fp32.tflite", "rnn-fp32.onnx", "lstm-fp32.onnx"):
        assert by_name[name]["passed"] and by_name[name]["max_abs_diff"] <= 1e-4, by_name[name]
    assert by_name["lstm-dynamic.tflite"]["outcome"] in ("pass", "inconclusive"), by_name["lstm-dynamic.tflite"]
    assert all(r["passed"] == (r["outcome"] == "pass") for r in reports)
    for name in ("lstm-dynamic.onnx", "rnn-dynamic.onnx", "rnn-int8.tflite", "lstm-int8.tflite", "lstm-int16x8.tflite"):
        # half-trained tiny models have unconfident outputs: quantization flips a few top-1 answers
        assert by_name[name]["agreement"] >= 0.85, by_name[name]
    # the command: 200 digits cannot show a quantized file within -1 pp (the paired gate): not a fail, and never a
    # silent pass; inconclusive alone exits 0 (1 with --strict)
    files = [folder / "lstm" / "lstm-dynamic.tflite", folder / "rnn" / "rnn-fp32.onnx"]
    done = run_cli("validate", *files, "--limit", "200", "--json")
    rows = json.loads(done.stdout)
    assert {r["path"] for r in rows} == {str(f) for f in files}
    assert all(r["reference_kind"] == "keras model" and r["digits"] == 200 for r in rows), rows
    assert all(r["outcome"] in ("pass", "inconclusive") if r["recipe"] == "dynamic" else r["passed"] for r in rows), rows
    failed = [r for r in rows if not r["passed"] and r["outcome"] != "inconclusive"]
    assert done.returncode == (1 if failed else 0), done.stderr
    if any(r["outcome"] == "inconclusive" for r in rows) and not failed:
        assert "inconclusive:" in done.stderr and "--strict" in done.stderr


def test_saturated_int16x8_rnn_fails_the_gate(trained, tmp_path):
    """The int16x8 SimpleRNN on the unrolled graph (TOOLCHAIN.md) converts and runs but answers ~10 %: only parity
    catches it. The recipes table exports the hoisted graph instead (measured accurate on full MNIST); the
    unrolled one is made only when the graph is forced."""
    done = run_cli("export", "--model", "rnn", "--format", "tflite", "--quant", "int16x8", "--from", trained,
                   "--out", tmp_path / "table", "--calibration-size", "100", "--json")
    (default,) = json.loads(done.stdout)
    assert done.returncode == 0 and default["status"] == "ok" and default["graph"] == "hoisted", done.stderr
    forced = run_cli("export", "--model", "rnn", "--format", "tflite", "--quant", "int16x8", "--graph", "unrolled",
                     "--from", trained, "--out", tmp_path, "--calibration-size", "100")
    assert forced.returncode == 0, forced.stderr
    shutil.copy(trained / "rnn" / "rnn.keras", tmp_path / "rnn")
    done = run_cli("validate", tmp_path / "rnn" / "rnn-int16x8.tflite", "--limit", "200", "--json")
    (report,) = json.loads(done.stdout)
    assert done.returncode == 1 and not report["passed"] and report["outcome"] == "fail", report
    assert "significantly below the -1 pp tolerance" in report["reason"], report["reason"]


def test_perturbed_weights_fail_the_gate(exported, tmp_path):
    """A file whose weights were changed after export (and re-hashed, so integrity passes) must fail parity."""
    folder, _ = exported
    work = tmp_path / "rnn"
    work.mkdir()
    shutil.copy(folder / "rnn" / "rnn.keras", work)
    onnx_path = work / "rnn-fp32.onnx"
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / "rnn" / "rnn-fp32.onnx"))
    biggest = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    weights = numpy_helper.to_array(biggest).copy()
    weights += np.random.default_rng(0).normal(0, 0.5, weights.shape).astype(weights.dtype)
    biggest.CopyFrom(numpy_helper.from_array(weights, biggest.name))
    onnx.save(model, str(onnx_path))
    done = run_cli("validate", onnx_path, "--runtime", "onnxruntime", "--limit", "200", "--no-verify", "--json")
    assert done.returncode == 1
    (report,) = json.loads(done.stdout)
    assert not report["passed"] and "max_abs_diff" in report["reason"]
    assert report["integrity"].startswith("skipped")
    assert "rnn-fp32.onnx" in done.stderr


def test_tampered_file_fails_integrity(exported, tmp_path):
    folder, _ = exported
    work = tmp_path / "rnn"
    shutil.copytree(folder / "rnn", work)
    target = work / "rnn-fp32.onnx"
    target.write_bytes(target.read_bytes() + b"\0")
    done = run_cli("validate", target, "--runtime", "onnxruntime", "--limit", "50", "--json")
    assert done.returncode == 1
    (report,) = json.loads(done.stdout)
    assert not report["passed"] and "does not match its manifest" in report["reason"]


def test_unloadable_file_is_a_failure_not_a_crash(tmp_path):
    bad = tmp_path / "rnn-fp32.tflite"
    bad.write_bytes(b"\x00" * 64)
    done = run_cli("validate", bad, "--reference", bad, "--limit", "10", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (report,) = json.loads(done.stdout)
    assert not report["passed"] and "not a TFLite flatbuffer" in report["reason"]


def test_validate_without_tensorflow_uses_fp32_files(exported, without_tensorflow):
    """TensorFlow made unimportable: the reference becomes the fp32 file of the same architecture."""
    folder, _ = exported
    done = run_cli("validate", folder / "lstm" / "lstm-dynamic.tflite", folder / "rnn" / "rnn-dynamic.onnx",
                   "--runtime", "litert,onnxruntime", "--json", env=without_tensorflow)
    reports = json.loads(done.stdout)
    assert [r["reference_kind"] for r in reports] == ["fp32 file", "fp32 file"]
    assert reports[0]["reference"].endswith("lstm-fp32.tflite")
    assert reports[1]["reference"].endswith("rnn-fp32.onnx")
    assert all(r["outcome"] != "fail" and r["digits"] == 1000 for r in reports), reports


def test_tolerance_checks():
    figures = compare(np.eye(10)[[1, 2, 3]], np.eye(10)[[1, 2, 4]], np.array([1, 2, 3]))
    assert figures["agreement"] == pytest.approx(2 / 3) and figures["delta_accuracy_pp"] == pytest.approx(33.3333)
    assert figures["discordant"] == {"reference_only": 0, "candidate_only": 1} and figures["digits"] == 3
    exact = dict(figures, max_abs_diff=0.5, agreement=1.0)
    assert check_tolerance(Tolerance(max_abs_diff=1e-4), exact) == "max_abs_diff 0.5 > 0.0001"
    assert check_tolerance(Tolerance(min_agreement=0.99), dict(exact, agreement=0.5)).startswith("agreement 0.5000")
    assert check_tolerance(Tolerance(), dict(exact, max_abs_diff=float("nan"))) == "outputs contain NaN or infinity"
    assert check_tolerance(Tolerance(max_abs_diff=1e-4, min_agreement=0.999), dict(exact, max_abs_diff=1e-6)) is None


def paired(n: int, reference_only: int, candidate_only: int, noise: float = 0.0) -> dict:
    """compare() on n digits where the reference alone is right on `reference_only` of them, the candidate alone
    on `candidate_only`, and both on the rest; `noise` is added to the candidate's probabilities."""
    labels = np.arange(n) % 10
    reference, candidate = np.eye(10)[labels], np.eye(10)[labels]
    wrong = (labels + 1) % 10
    candidate[:reference_only] = np.eye(10)[wrong[:reference_only]]
    spot = slice(reference_only, reference_only + candidate_only)
    reference[spot] = np.eye(10)[wrong[spot]]
    return compare(candidate + noise, reference, labels)


QUANTIZED_GATE = Tolerance(min_delta_accuracy_pp=-1.0)


def test_the_gate_fails_a_large_loss_on_many_digits():
    figures = paired(10_000, 300, 100)                    # -2 pp on 10,000 digits
    low, high = figures["delta_ci_pp"]
    assert figures["delta_accuracy_pp"] == pytest.approx(-2.0) and low < -2.0 < high < -1.0
    judgement = judge(QUANTIZED_GATE, figures)
    assert judgement.outcome == "fail" and not judgement.passed
    assert f"95 % CI [{low:+.2f}, {high:+.2f}] on 10000 digits" in judgement.reason
    assert "significantly below the -1 pp tolerance" in judgement.reason
    assert figures["mcnemar_p"] < 1e-9


def test_the_gate_is_inconclusive_on_a_small_loss_over_few_digits():
    figures = paired(300, 4, 1)                           # -1 pp on 300 digits: noise
    judgement = judge(QUANTIZED_GATE, figures)
    assert judgement.outcome == "inconclusive" and not judgement.passed
    assert judgement.reason.startswith("inconclusive: delta -1.00 pp, 95 % CI [") and "use more digits" in judgement.reason
    # a -1.67 pp loss: inconclusive on 300 digits, a fail on 100 times as many (the interval shrinks tenfold)
    few, many = paired(300, 5, 0), paired(30_000, 500, 0)
    assert judge(QUANTIZED_GATE, few).outcome == "inconclusive" and judge(QUANTIZED_GATE, many).outcome == "fail"
    width = [f["delta_ci_pp"][1] - f["delta_ci_pp"][0] for f in (few, many)]
    assert width[1] < width[0] / 5, width


def test_the_gate_passes_a_small_change_on_enough_digits():
    figures = paired(10_000, 20, 15)
    assert judge(QUANTIZED_GATE, figures).outcome == "pass" and figures["delta_ci_pp"][0] >= -1.0
    # even a perfect match on 100 digits cannot show a loss above -1 pp (rule of three: 3 % unseen)
    assert judge(QUANTIZED_GATE, paired(100, 0, 0)).outcome == "inconclusive"


def test_mcnemar_exact_p_values():
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(0, 5) == pytest.approx(2 / 32) and mcnemar_p(5, 0) == pytest.approx(2 / 32)
    assert mcnemar_p(3, 3) == 1.0
    assert paired_interval_pp(0, 0, 0) == (-100.0, 100.0)


def test_override_tolerance_on_command_line(exported):
    folder, _ = exported
    done = run_cli("validate", folder / "rnn" / "rnn-fp32.tflite", "--limit", "50", "--max-abs-diff", "0")
    assert done.returncode == 1 and "max_abs_diff" in done.stderr
