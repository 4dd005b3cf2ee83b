"""The tflite-runtime device: a virtual environment with only `edgeseq[tflite-runtime]` (tflite-runtime 2.14,
numpy<2, onnxruntime; no ai-edge-litert, no TensorFlow) reads, validates and benchmarks the committed files.
Its last release cannot run dynamic-range TFLite files: that is one clear line naming the op and version."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, built_once, venv_with
from edgeseq.core.errors import ModelError
from edgeseq.core.manifest import read_manifest
from edgeseq.runtimes.litert_runtime import _cannot_run

MODELS = REPO / "models"
SUFFIXES = (".tflite", ".onnx")
# what a failed row says for a file whose op version tflite-runtime lacks
MISSING_KERNEL = re.compile(r"tflite-runtime 2\.14[.\d]* cannot run it:"
                            r" op [A-Z_0-9]+ version \d+ is newer than its kernels")
slow = pytest.mark.slow  # builds a virtual environment and installs edgeseq[tflite-runtime] into it


@pytest.fixture(scope="session")
def tflite_runtime_python(tmp_path_factory) -> str:
    """A fresh venv with `pip install .[tflite-runtime]` (EDGESEQ_TFLITE_RUNTIME_PYTHON reuses one made)."""
    given = os.environ.get("EDGESEQ_TFLITE_RUNTIME_PYTHON")
    if given:
        return given
    if sys.version_info >= (3, 12):
        pytest.skip("tflite-runtime 2.14 (its last release) has wheels for Python <= 3.11 only")
    return str(built_once(tmp_path_factory, "tflite-runtime-venv", venv_with("tflite-runtime")) / "bin" / "python")


def run(python: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "edgeseq", *map(str, args)], capture_output=True, text=True,
                          check=False, cwd=Path(python).parent, timeout=900)


def committed(suffixes: tuple[str, ...] = SUFFIXES) -> list[Path]:
    return sorted(p for p in MODELS.rglob("*") if p.suffix in suffixes and p.is_file())


def dynamic_range(path: Path) -> bool:
    """A dynamic-range file (its step model too): FULLY_CONNECTED v12, which tflite-runtime 2.14 lacks."""
    return path.suffix == ".tflite" and getattr(read_manifest(path), "recipe", None) == "dynamic"


@slow
def test_only_tflite_runtime_is_installed(tflite_runtime_python):
    code = ("import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'ai_edge_litert',"
            " 'tflite_runtime', 'tflite', 'onnxruntime') if u.find_spec(m)])")
    done = subprocess.run([tflite_runtime_python, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['tflite_runtime', 'tflite', 'onnxruntime']"


@slow
def test_inspect_reads_every_committed_file(tflite_runtime_python):
    files = committed()
    assert any(p.suffix == ".tflite" for p in files) and any(p.suffix == ".onnx" for p in files)
    for path in files:
        done = run(tflite_runtime_python, "inspect", path, "--json")
        assert done.returncode == 0 and "Traceback" not in done.stderr, f"{path.name}: {done.stderr}"
        facts = json.loads(done.stdout)
        if path.suffix == ".tflite":
            assert facts["op_versions"] and set(facts["op_versions"]) <= set(facts["ops"]), path.name
            assert facts["opsets"] == {} and facts["domains"] == []
        else:
            assert facts["opsets"].get("ai.onnx") and set(facts["domains"]) <= set(facts["opsets"]), path.name
    text = run(tflite_runtime_python, "inspect", next(p for p in files if dynamic_range(p)))
    assert text.returncode == 0, text.stderr
    assert re.search(r"op versions: .*FULLY_CONNECTED v\d+", text.stdout), text.stdout


@slow
def test_validate_runs_every_tflite_file_but_dynamic_range(tflite_runtime_python):
    files = committed((".tflite",))
    assert any(dynamic_range(p) for p in files) and not all(dynamic_range(p) for p in files)
    done = run(tflite_runtime_python, "validate", *files,     # 1,000 digits: enough for the paired gate
               "--tflite-backend", "tflite-runtime", "--json")
    assert "Traceback" not in done.stderr and done.stdout, done.stderr
    rows = {Path(r["path"]).name: r for r in json.loads(done.stdout)}
    assert set(rows) == {p.name for p in files}
    for path in files:
        row = rows[path.name]
        if dynamic_range(path):
            assert not row["passed"] and MISSING_KERNEL.search(row["reason"]), row
            assert "\n" not in row["reason"]
        else:
            # 1,000 digits: a pass or, for the small int8 RNN losses, inconclusive; never a fail
            assert row["outcome"] in ("pass", "inconclusive") and row["backend"].startswith("tflite-runtime 2.14"), row
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("Error: ")


@slow
def test_bench_with_tflite_runtime(tflite_runtime_python):
    fast = ("--min-runs", "5", "--min-seconds", "0", "--warmup", "2", "--json")
    runnable = next(p for p in committed((".tflite",)) if not dynamic_range(p))
    done = run(tflite_runtime_python, "bench", runnable, "--tflite-backend", "tflite-runtime", *fast)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["status"] == "ok" and row["backend"].startswith("tflite-runtime 2.14") and row["p50_us"] > 0
    # auto falls back to tflite-runtime where LiteRT is not installed, and says the same about a dynamic file
    dynamic = next(p for p in committed((".tflite",)) if dynamic_range(p))
    refused = run(tflite_runtime_python, "bench", dynamic, "--runtime", "litert", *fast)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert MISSING_KERNEL.search(refused.stderr.strip().splitlines()[-1]), refused.stderr


# --- the message, without tflite-runtime -------------------------------------------------------------------

TFLITE_RUNTIME_2_14 = ("Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older version of"
                       " this builtin might be supported. Are you using an old TFLite binary with a newer"
                       " model?\nRegistration failed.\n")


@pytest.mark.parametrize(("error", "label", "expected"), [
    (ValueError(TFLITE_RUNTIME_2_14), "tflite-runtime 2.14.0",
     ("m.tflite: tflite-runtime 2.14.0 cannot run it: op FULLY_CONNECTED version 12 is newer than its kernels"
      " (Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12')")),
    (ValueError("Encountered unresolved custom op: FlexTensorListReserve.\nSee instructions: ..."),
     "tflite-runtime 2.14.0", ("m.tflite: tflite-runtime 2.14.0 cannot run it: it has no kernel for custom"
                               " op FlexTensorListReserve (Encountered unresolved custom op:"
                               " FlexTensorListReserve)")),
    (RuntimeError("something else\nmore"), "tflite-runtime 2.14.0",
     "m.tflite: tflite-runtime 2.14.0 cannot run it (something else)"),
    (ValueError(TFLITE_RUNTIME_2_14), "ai-edge-litert 2.3.0",  # LiteRT's message is unchanged
     ("m.tflite: the TFLite interpreter cannot run it (Didn't find op for builtin opcode 'FULLY_CONNECTED'"
      " version '12'. An older version of this builtin might be supported. Are you using an old TFLite binary"
      " with a newer model?)")),
])
def test_a_file_the_interpreter_cannot_load_is_one_line(error, label, expected):
    message = _cannot_run(Path("m.tflite"), error, label)
    assert isinstance(message, ModelError) and str(message) == expected


def test_a_committed_file_alone_validates_on_its_golden_outputs(tflite_runtime_python, tmp_path):
    """The device case: one file, its manifest and its golden sidecar, in an empty folder."""
    import shutil

    from edgeseq.core import layout

    source = MODELS / "lstm" / "lstm-fp32.tflite"
    for path in (source, *layout.sidecars(source)):
        shutil.copy2(path, tmp_path / path.name)
    done = run(tflite_runtime_python, "validate", tmp_path / source.name, "--tflite-backend", "tflite-runtime",
               "--json")
    [row] = json.loads(done.stdout)
    assert row["reference_kind"] == "golden outputs" and row["backend"].startswith("tflite-runtime 2.14"), row
    assert row["passed"] and done.returncode == 0, row
