"""The Raspberry Pi case: a virtual environment with only `edgeseq[runtime]` (no TensorFlow) runs
inspect, bench and validate (against fp32 references) on exported files."""

import json
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

from edgeseq import golden

pytestmark = pytest.mark.slow  # builds a virtual environment and installs edgeseq[runtime] into it


def run(python: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "edgeseq", *map(str, args)], capture_output=True, text=True, check=False,
                          cwd=Path(python).parent, timeout=900)


def test_tensorflow_is_not_installed(runtime_python):
    code = "import importlib.util as u; print([m for m in ('tensorflow', 'keras') if u.find_spec(m)])"
    done = subprocess.run([runtime_python, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_bench_validate_inspect_without_tensorflow(runtime_python, exported, tmp_path):
    folder, _ = exported
    bench = run(runtime_python, "bench", folder, "--warmup", "2", "--min-runs", "10", "--min-seconds", "0", "--json")
    assert bench.returncode == 0, bench.stderr
    rows = json.loads(bench.stdout)
    measured = [r for r in rows if r["status"] == "ok"]
    assert {r["runtime"] for r in measured} == {"litert", "onnxruntime"}
    keras_rows = [r for r in rows if r["runtime"] == "keras"]
    assert keras_rows and all(r["status"] == "unsupported" and "tensorflow is not installed" in r["reason"]
                              for r in keras_rows)
    validate = run(runtime_python, "validate", folder / "lstm" / "lstm-dynamic.tflite", folder / "rnn" / "rnn-fp16.tflite",
                   "--json")
    reports = json.loads(validate.stdout)
    assert [r["reference_kind"] for r in reports] == ["fp32 file", "fp32 file"]
    assert reports[0]["outcome"] != "fail" and reports[1]["passed"], reports   # fp16: an agreement limit
    inspect = run(runtime_python, "inspect", folder / "lstm" / "lstm-fp32.onnx")
    assert inspect.returncode == 0 and "LSTM x2" in inspect.stdout


def test_training_says_which_extra_to_install(runtime_python, tmp_path):
    done = run(runtime_python, "train", "--model", "rnn", "--out", tmp_path / "o")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "pip install 'edgeseq[train]'" in done.stderr
    assert not (tmp_path / "o" / "rnn").exists()


def test_file_alone_validates_against_its_golden_outputs(runtime_python, tmp_path):
    """A committed file copied alone with its manifest and golden sidecar: no model, no fp32 file, no
    TensorFlow."""
    import shutil

    from edgeseq.core import layout

    for source in (REPO / "models" / "lstm" / "lstm-int8.tflite", REPO / "models" / "rnn" / "rnn-dynamic.onnx"):
        device = tmp_path / source.stem
        device.mkdir()
        for path in (source, *layout.sidecars(source)):
            shutil.copy2(path, device / path.name)
        done = run(runtime_python, "validate", device / source.name, "--json")
        assert done.returncode == 0, done.stderr
        [row] = json.loads(done.stdout)
        assert row["reference_kind"] == "golden outputs" and row["passed"] and row["digits"] == golden.DIGITS
