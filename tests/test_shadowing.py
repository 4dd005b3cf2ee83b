"""Issue 36: every child edgeseq starts imports the installed package whatever the current folder holds (a folder
with an `edgeseq/` in it: the one above a clone, a decoy); a worker that dies is a failure with its last line, not
"unsupported"; a runtime's refusal keeps the line that names its cause; and reasons name the file the user will
see, not the partial file being written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from edgeseq import __version__
from edgeseq.core.errors import ModelError, cause_line
from edgeseq.core.procs import WorkerError, WorkerSession, python_command, run_worker
from edgeseq.export.exporter import as_final, worker_verdict

DECOY_MESSAGE = "the decoy edgeseq in the current folder was imported"
COMMITTED_ONNX = REPO / "models" / "rnn" / "rnn-fp32.onnx"

# what OpenVINO 2026.4 says, word for word, when it reads the ONNX file edgeseq exports (fp32, loop graph) of a
# Keras Masking -> Bidirectional(LSTM(8)) -> Dense(10) model
OPENVINO_LOOP = (
    "Exception from src/inference/src/cpp/core.cpp:84:\n"
    "Check 'false' failed at src/frontends/common_translators/src/unconverted_ops_report.cpp:151:\n"
    "FrontEnd API failed with OpConversionFailure:\n"
    "Model wasn't fully converted. Failed operations detailed log:\n"
    "-- Loop-17 with a message:\n"
    "Check '(canonical_inputs.size() >= control_inputs_count && canonical_inputs.size() - control_inputs_count =="
    " loop_carried_dependencies.size())' failed at src/frontends/onnx/frontend/src/op/loop.cpp:310:\n"
    "While validating ONNX node '<Node(Loop): sequential_1/bidirectional_1/forward_lstm_1/while_loop:0>':\n"
    "The provided loop body graph canonical inputs size (12), does not match the sum of loop carried dependencies"
    " and two mandatory inputs (9)\n\nSummary:\n-- Conversion is failed for: Loop-17\n\n")
OPENVINO_CAUSE = ("Model wasn't fully converted: Loop-17: The provided loop body graph canonical inputs size (12),"
                  " does not match the sum of loop carried dependencies and two mandatory inputs (9)")


@pytest.fixture
def decoy(tmp_path: Path) -> Path:
    """A folder holding a package named edgeseq that fails on import, as a folder above a clone would."""
    folder = tmp_path / "decoy"
    (folder / "edgeseq").mkdir(parents=True)
    (folder / "edgeseq" / "__init__.py").write_text(f"raise ImportError({DECOY_MESSAGE!r})\n")
    (folder / "edgeseq" / "models.py").write_text(f"raise ImportError({DECOY_MESSAGE!r})\n")
    return folder


def console_script() -> Path:
    script = Path(sys.executable).parent / "edgeseq"
    if not script.is_file():
        pytest.skip(f"no installed `edgeseq` console script beside {sys.executable}")
    return script


def run_from(folder: Path, *args: object) -> subprocess.CompletedProcess:
    """The installed `edgeseq ARGS`, run with `folder` as the current folder."""
    return subprocess.run([str(console_script()), *map(str, args)], cwd=folder, capture_output=True, text=True,
                          check=False, timeout=1800)


# ---------------------------------------------------------------- A: children that cannot be shadowed

@pytest.mark.parametrize("safe_path_flag", [True, False], ids=["-P", "3.10"])
def test_the_child_command_imports_the_installed_package(decoy, safe_path_flag):
    naive = subprocess.run([sys.executable, "-m", "edgeseq", "--version"], cwd=decoy, capture_output=True,
                           text=True, check=False, timeout=120)
    assert naive.returncode != 0 and DECOY_MESSAGE in naive.stderr      # the decoy does shadow a plain `-m`
    command = python_command("edgeseq", "--version", safe_path_flag=safe_path_flag)
    done = subprocess.run(command, cwd=decoy, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout and DECOY_MESSAGE not in done.stderr


def test_workers_and_sessions_started_from_a_decoy_folder_import_edgeseq(decoy, monkeypatch, tmp_path):
    monkeypatch.chdir(decoy)
    request = {"size": 8, "reps": 1, "warmup": 0}
    answer = run_worker("edgeseq.gemm_peak", request, 120)
    assert not isinstance(answer, WorkerError), answer
    assert answer["size"] == 8
    (tmp_path / "work").mkdir()
    with WorkerSession("edgeseq.gemm_peak") as session:
        served = session.run(request, 120, tmp_path / "work")
    assert not isinstance(served, WorkerError), served
    assert served["reps"] == 1


def test_bench_from_a_decoy_folder_measures_in_its_worker(decoy, tmp_path):
    done = run_from(decoy, "bench", COMMITTED_ONNX, "--runtime", "onnxruntime", "--min-runs", "5",
                    "--min-seconds", "0", "--warmup", "1", "--out", tmp_path / "bench", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["status"] == "ok" and row["p50_us"] > 0
    assert (tmp_path / "bench" / "bench.json").is_file()


@pytest.mark.slow
def test_export_and_validate_from_a_decoy_folder(decoy, trained, tmp_path):
    out = tmp_path / "out"
    done = run_from(decoy, "export", "--model", "rnn", "--format", "onnx", "--quant", "fp32", "--from", trained,
                    "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["status"] == "ok", result
    written = out / "rnn" / "rnn-fp32.onnx"
    assert written.is_file() and Path(f"{written}.json").is_file()
    manifest = json.loads(Path(f"{written}.json").read_text())
    # the portability cells are measured in guard children, started from the decoy folder too
    assert "onnxruntime" in [cell["backend"] for cell in manifest["portability"]["runs_on"]]
    checked = run_from(decoy, "validate", written, "--runtime", "onnxruntime", "--json")
    assert checked.returncode == 0, checked.stderr
    assert DECOY_MESSAGE not in checked.stderr + done.stderr


# ---------------------------------------------------------------- A: a worker that dies is a failure

def test_a_worker_that_cannot_import_is_a_failure_with_its_last_line(tmp_path, monkeypatch):
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "broken_worker.py").write_text(textwrap.dedent("""
        from edgeseq.core.procs import serve
        raise ImportError("cannot import name 'Activation' from 'edgeseq.models' (unknown location)")
    """))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "mod"), os.environ.get("PYTHONPATH", "")]))
    error = run_worker("broken_worker", {}, 120)
    assert isinstance(error, WorkerError) and error.kind == "exited"
    status, reason = worker_verdict(error)
    assert status == "crashed"
    assert reason == ("converter exited with status 1 without an answer: ImportError: cannot import name"
                      " 'Activation' from 'edgeseq.models' (unknown location)")


@pytest.mark.parametrize(("error", "status", "reason"), [
    (WorkerError("crashed", "crashed (SIGSEGV)", signal="SIGSEGV", returncode=-11,
                 stderr_tail="Fatal Python error: Segmentation fault"),
     "crashed", "converter crashed (SIGSEGV): Fatal Python error: Segmentation fault"),
    (WorkerError("crashed", "crashed (SIGKILL)", signal="SIGKILL", returncode=-9), "crashed",
     "converter crashed (SIGKILL)"),
    (WorkerError("timeout", "timed out after 1200 s", timeout_s=1200), "crashed", "converter timed out after 1200 s"),
    (WorkerError("error", "ConverterError: 'tfl.while' op is neither a custom op nor a flex op",
                 error_type="ConverterError", returncode=0),
     "unsupported", "ConverterError: 'tfl.while' op is neither a custom op nor a flex op"),
    (WorkerError("error", "rnn.keras: not a Keras archive", error_type="ModelError", returncode=0),
     "failed", "rnn.keras: not a Keras archive"),
])
def test_only_the_converters_own_refusal_is_unsupported(error, status, reason):
    assert worker_verdict(error) == (status, reason)


# ---------------------------------------------------------------- B: whole causes

@pytest.mark.parametrize(("message", "expected"), [
    (OPENVINO_LOOP, OPENVINO_CAUSE),
    ("Exception from src/inference/src/cpp/core.cpp:84:\nModel can't be parsed\n", "Model can't be parsed"),
    ("Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older version of this builtin might be"
     " supported.\nRegistration failed.\n",
     "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older version of this builtin might be"
     " supported."),
    ("WARNING: something unrelated happened\nNode number 3 (LSTM) failed to prepare.\n",
     "Node number 3 (LSTM) failed to prepare."),
    ("Model wasn't fully converted. Failed operations detailed log:\n",
     "Model wasn't fully converted. Failed operations detailed log"),
    ("", "RuntimeError"),
])
def test_the_line_that_names_the_cause_is_kept(message, expected):
    assert cause_line(RuntimeError(message)) == expected


def test_a_long_cause_is_cut_to_one_readable_line():
    said = cause_line(RuntimeError("Failed to prepare:\n" + "x" * 500 + "\nmore"))
    assert len(said) == 200 and said.endswith("…") and "\n" not in said


def test_every_runtime_refusal_names_the_cause():
    from edgeseq.runtimes import litert_compiled_runtime, litert_runtime, onnx_runtime, openvino_runtime

    err = RuntimeError(OPENVINO_LOOP)
    said = str(openvino_runtime._cannot(Path("m.onnx"), "load", err))
    assert said == f"m.onnx: openvino cannot load it ({OPENVINO_CAUSE})"
    assert OPENVINO_CAUSE in str(onnx_runtime._cannot(Path("m.onnx"), "load", err))
    assert OPENVINO_CAUSE in str(litert_runtime._cannot_run(Path("m.tflite"), err, "ai-edge-litert 2.3.0"))
    compiled = litert_compiled_runtime.cannot(Path("m.tflite"), "load", RuntimeError(
        "CompiledModel error: code=3, message=Failed to load model\nFailed to build the compiled model:\n"))
    assert str(compiled).startswith("m.tflite: LiteRT CompiledModel cannot load it: its fused recurrent ops")
    assert isinstance(compiled, ModelError) and "(Failed to load model)" in str(compiled)


# ---------------------------------------------------------------- C: the names users see

def test_export_reasons_name_the_final_file(tmp_path):
    target = tmp_path / "rnn" / "rnn-fp32.tflite"
    partial = target.with_name(f".{target.name}.partial{target.suffix}")
    assert as_final(f"{partial}: LiteRT CompiledModel cannot load it", partial, target) == \
        f"{target}: LiteRT CompiledModel cannot load it"
    assert as_final(f"{partial.name}: nope", partial, target) == f"{target.name}: nope"
    assert as_final(None, partial, target) is None


def test_portability_names_a_partial_file_as_it_will_be_called(tmp_path):
    from edgeseq.portability import BACKENDS, measure
    from edgeseq.recipes import FLOAT_EXACT
    from edgeseq.runtimes import RuntimeName

    partial = tmp_path / ".rnn-fp32.onnx.partial.onnx"
    partial.write_bytes(COMMITTED_ONNX.read_bytes()[:3000])           # a file onnxruntime cannot load
    onnxruntime = tuple(b for b in BACKENDS if b.runtime is RuntimeName.ONNXRUNTIME and b.suffix == ".onnx")
    digits = np.zeros((2, 28, 28), np.float32)
    (cell,) = measure(partial, digits, np.zeros(2, int), np.full((2, 10), 0.1, np.float32), FLOAT_EXACT,
                      backends=onnxruntime, shown_as="rnn-fp32.onnx")
    assert cell.status == "cannot-load"
    assert cell.reason.startswith("rnn-fp32.onnx: onnxruntime cannot load it (") and ".partial" not in cell.reason
