"""`edgeseq drift`: per-timestep drift of a step model from its reference, and early answers.

Tiny untrained step models (SimpleRNN(40) and LSTM(16), seeded) are converted in a fixture with
edgeseq.export.step.convert, not the export pipeline: 28 rows, zero drift for an fp32 file (against itself and
against the other format's fp32), nonzero for a quantized one, JSON and PNG through the CLI, and one-line
errors for bad inputs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli

from edgeseq import data
from edgeseq.diagnostics.drift import DriftReport, drift, growth, rows_to_fraction

DIGITS = 60
COMMITTED_RNN = REPO / "models" / "rnn" / "rnn-fp32.tflite"      # a whole-sequence file, no step twin beside it
# until `drift` is registered in edgeseq/cli/__init__.py, the same command in its group, run the same way
_UNREGISTERED = ("from edgeseq.cli import EdgeseqGroup; from edgeseq.cli.stream import drift;"
                 " EdgeseqGroup(commands={'drift': drift})(prog_name='edgeseq')")


def edgeseq_drift(*args: object) -> subprocess.CompletedProcess:
    """`edgeseq drift ARGS` in a subprocess, as a user runs it."""
    from edgeseq.cli import cli

    if "drift" in cli.commands:
        return run_cli("drift", *args)
    return subprocess.run([sys.executable, "-c", _UNREGISTERED, "drift", *map(str, args)], capture_output=True,
                          text=True, check=False, timeout=600, cwd=REPO)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load("sample").limited(None, DIGITS)


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FOLDER/<arch>-<recipe>-step.<format> for rnn and lstm, recipes fp32 and dynamic, in both formats."""
    import keras

    from edgeseq.export.step import convert
    from edgeseq.recipes import recipe

    folder = tmp_path_factory.mktemp("steps")
    keras.utils.set_random_seed(0)
    # wide enough that TFLite's dynamic range quantization quantizes the kernels (> 1024 weights)
    layers = {"rnn": keras.layers.SimpleRNN(40, activation="relu"), "lstm": keras.layers.LSTM(16, activation="relu")}
    for arch, layer in layers.items():
        model = keras.Sequential([keras.Input((28, 28)), layer, keras.layers.Dense(10, activation="softmax")])
        for fmt in ("tflite", "onnx"):
            for quant in ("fp32", "dynamic"):
                convert(model, recipe(fmt, quant), None, folder / f"{arch}-{quant}-step.{fmt}")
    return folder


# --- the numbers, without any model -----------------------------------------------------------------

def test_rows_to_fraction() -> None:
    accuracy = np.array([0.1, 0.1, 0.5, 0.85, 0.95, 0.9])
    assert rows_to_fraction(accuracy) == 4            # 0.85 >= 0.9 * 0.9
    assert rows_to_fraction(np.array([0.2] * 28)) == 1
    assert rows_to_fraction(np.array([])) is None


def test_growth_verdicts() -> None:
    t = np.arange(1, 29, dtype=float)
    assert growth(np.zeros(28), "x").verdict == "none"
    assert growth(t * 1e-3, "x").verdict == "grows"
    assert growth(np.minimum(t, 18) * 1e-3, "x").verdict == "grows-then-levels"
    assert growth(np.full(28, 0.01), "x").verdict == "flat"
    assert growth(1 / t, "x").verdict == "shrinks"
    rising = growth(t * 1e-3, "x")
    assert rising.peak_row == 28 and rising.ratio is not None and rising.ratio > 1.5 and "grows" in rising.describe()


# --- bad inputs, without TensorFlow -----------------------------------------------------------------

def test_missing_file_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(edgeseq_drift(tmp_path / "rnn-int8-step.tflite"))
    assert "not found" in line


def test_not_a_model_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "rnn-int8-step.tflite").write_bytes(b"not a flatbuffer at all")
    assert ".tflite or .onnx" in one_line_error(edgeseq_drift(tmp_path / "notes.txt"))
    one_line_error(edgeseq_drift(tmp_path / "rnn-int8-step.tflite"))


def test_whole_sequence_file_without_step_twin(tmp_path: Path) -> None:
    whole = tmp_path / "rnn" / COMMITTED_RNN.name
    whole.parent.mkdir()
    shutil.copy(COMMITTED_RNN, whole)
    line = one_line_error(edgeseq_drift(whole))
    assert "whole-sequence" in line and "rnn-fp32-step.tflite" in line and "edgeseq export --graph step" in line


def test_unwritable_plot_fails_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = one_line_error(edgeseq_drift(tmp_path / "missing-step.tflite", "--plot", blocker / "drift.png"))
    assert "drift.png" in line or "not a folder" in line
    assert blocker.read_text() == "x"


# --- tiny step models (TensorFlow converts them) ------------------------------------------------------

@pytest.mark.slow
def test_fp32_against_itself_is_zero(steps: Path, digits: data.Dataset) -> None:
    report = drift(steps / "lstm-fp32-step.tflite", None, digits)
    assert report.same_file and report.reference.name == "lstm-fp32-step.tflite"
    assert len(report.rows) == 28 and [r.row for r in report.rows] == list(range(1, 29))
    assert report.max_state_drift == 0 and report.max_probability_drift == 0
    assert all(r.agreement == 1 and r.reference_accuracy == r.file_accuracy for r in report.rows)
    assert set(report.rows[0].states) == {"h1", "c1"}
    assert report.state_growth.verdict == "none" and report.file.rows_to_90 == report.reference.rows_to_90
    assert report.data["digits_used"] == DIGITS and report.data["name"] == "sample"


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["rnn", "lstm"])
def test_fp32_against_the_other_format_is_zero(steps: Path, digits: data.Dataset, arch: str) -> None:
    report = drift(steps / f"{arch}-fp32-step.onnx", steps / f"{arch}-fp32-step.tflite", digits)
    assert not report.same_file and len(report.rows) == 28
    assert report.file.runtime == "onnxruntime" and report.reference.runtime == "litert"
    assert report.max_state_drift < 1e-5 and report.max_probability_drift < 1e-5
    assert report.file.final_accuracy == report.reference.final_accuracy
    assert report.file.sha256 != report.reference.sha256 and len(report.file.sha256) == 64


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_quantized_file_drifts(steps: Path, digits: data.Dataset, fmt: str) -> None:
    report = drift(steps / f"rnn-dynamic-step.{fmt}", None, digits)
    assert report.reference.name == f"rnn-fp32-step.{fmt}" and report.file.recipe == "dynamic"
    assert len(report.rows) == 28 and report.max_state_drift > 1e-4
    assert all(r.state.max >= r.state.mean >= 0 for r in report.rows)
    assert report.rows[-1].states["h1"].max == report.rows[-1].state.max      # one state tensor: the overall one
    again = DriftReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.rows == report.rows and again.summary() == report.summary()


@pytest.mark.slow
def test_cli_json_and_plot(steps: Path, tmp_path: Path) -> None:
    png = tmp_path / "out" / "lstm-dynamic.png"
    png.parent.mkdir()
    done = edgeseq_drift(steps / "lstm-dynamic-step.onnx", "--limit", DIGITS, "--json", "--plot", png)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["rows"]) == 28 and result["rows"][-1]["row"] == 28
    assert result["reference"]["name"] == "lstm-fp32-step.onnx" and result["digits"] == DIGITS
    assert result["max_state_drift"] > 0 and set(result["rows"][0]["states"]) == {"h1", "c1"}
    assert result["file"]["rows_to_90"] is not None and "rows to 90 %" in result["summary"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in png.parent.iterdir()] == [png.name]                # no temporary file left


@pytest.mark.slow
def test_cli_table(steps: Path) -> None:
    done = edgeseq_drift(steps / "rnn-fp32-step.tflite", "--limit", DIGITS)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("t "))
    assert [line.split()[0] for line in lines[header + 2:header + 30]] == [str(t) for t in range(1, 29)]
    assert "rows to 90 % of final accuracy" in done.stdout and "is its own reference" in done.stdout


@pytest.mark.slow
def test_mismatched_contracts_are_one_line(steps: Path) -> None:
    line = one_line_error(edgeseq_drift(steps / "rnn-dynamic-step.tflite", "--reference",
                                        steps / "lstm-fp32-step.tflite", "--limit", 5))
    assert "same step contract" in line and "h1[40]" in line and "c1[16]" in line


@pytest.mark.slow
def test_whole_sequence_file_uses_its_step_twin(steps: Path, tmp_path: Path, digits: data.Dataset) -> None:
    shutil.copy(COMMITTED_RNN, tmp_path / "rnn-fp32.tflite")
    shutil.copy(steps / "rnn-fp32-step.tflite", tmp_path / "rnn-fp32-step.tflite")
    report = drift(tmp_path / "rnn-fp32.tflite", None, digits)
    assert report.file.name == "rnn-fp32-step.tflite" and report.file.twin_of == str(tmp_path / "rnn-fp32.tflite")
    assert any("whole-sequence" in note for note in report.notes) and len(report.rows) == 28


@pytest.mark.slow
def test_plot_many(steps: Path, digits: data.Dataset) -> None:
    from edgeseq.diagnostics.drift_plot import drift_figures, plot_many

    reports = [drift(steps / f"{arch}-dynamic-step.tflite", None, digits) for arch in ("rnn", "lstm")]
    assert plot_many(reports)[:4] == b"\x89PNG"
    figures, notes = drift_figures([steps / "rnn-dynamic-step.onnx", steps / "nothing-step.onnx"], digits)
    assert set(figures) == {"drift-rnn-dynamic-step.png"} and len(notes) == 1 and "nothing-step.onnx" in notes[0]
