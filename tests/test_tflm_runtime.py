"""TFLM (`--runtime tflm`, PyPI tflite-micro): the committed files it loads agree with LiteRT, whole-sequence and
step models, quantized input and output too; its arena is measured the same twice; each file it refuses is one
line naming the op and why; validate and bench run it (bench saying its times are the host's), without TensorFlow."""

import json
from pathlib import Path
import os
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tflite_micro", reason="tflite-micro is not installed (pip install 'edgeseq[mcu]', Linux x86_64)")

from edgeseq import data, runtimes  # noqa: E402
from edgeseq.core.errors import ModelError  # noqa: E402
from edgeseq.runtimes import RuntimeName  # noqa: E402
from edgeseq.runtimes.tflm_runtime import ALIGNMENT, footprint  # noqa: E402

from conftest import REPO, run_cli  # noqa: E402

MODELS = REPO / "models"
RNN_STEP = MODELS / "rnn" / "rnn-fp32-step.tflite"
FAST = ("--warmup", "2", "--min-runs", "5", "--min-seconds", "0")
# file -> (max abs difference from LiteRT on the digits), among the committed files TFLM loads
AGREES = {RNN_STEP: 1e-5, MODELS / "lstm" / "lstm-fp32-step.tflite": 1e-5,
          MODELS / "rnn" / "rnn-int16x8.tflite": 1e-2}     # int16 input and output, scaled by the adapter
# a machine without tflite-micro (and without TensorFlow: the import would be slow)
BLOCK_TFLM = """import sys
class _Block:
    def find_spec(self, name, *args):
        if name.split('.')[0] in ('tflite_micro', 'tensorflow', 'keras'):
            raise ImportError('blocked by the test')
        return None
sys.meta_path.insert(0, _Block())
"""
# one committed file per kind TFLM refuses: (the op it names, words of the reason)
REFUSED = {
    MODELS / "rnn" / "rnn-fp32.tflite": ("FILL", "shape is computed at run time"),
    MODELS / "rnn" / "rnn-dynamic-step.tflite": ("FULLY_CONNECTED", "hybrid (dynamic-range)"),
    MODELS / "rnn" / "rnn-fp16.tflite": ("DEQUANTIZE", "float16 weights"),
    MODELS / "lstm" / "lstm-fp32-app.tflite": ("CONCATENATION", "more than 10 inputs"),
}


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return data.load("sample").x_test[:20]


@pytest.mark.parametrize("path", list(AGREES), ids=lambda p: p.name)
def test_agrees_with_litert(path, digits):
    tflm = runtimes.load(path, RuntimeName.TFLM)
    ours = runtimes.predict_in_batches(tflm, digits)
    theirs = runtimes.predict_in_batches(runtimes.load(path, RuntimeName.LITERT), digits)
    assert ours.shape == (20, 10) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < AGREES[path]
    assert np.array_equal(ours.argmax(1), theirs.argmax(1))
    assert tflm.batch_one_only and tflm.backend.startswith("tflite-micro ")
    assert runtimes.state_hygiene(tflm, digits)


def test_relu_fused_lstm_is_refused_at_load():
    """TFLM's LSTM kernel applies only sigmoid and tanh (kernels/lstm_eval.h): a fused LSTM with a RELU cell activation
    would load and run without one (15 % agreement with LiteRT), so it is refused first, in one line naming the op.
    Its footprint is refused the same way; a tanh fused LSTM (the step files' are unrolled) is not affected."""
    from edgeseq.runtimes.tflm_runtime import uncomputed_activation

    path = MODELS / "lstm" / "lstm-fp32.tflite"
    with pytest.raises(ModelError) as caught:
        runtimes.load(path, RuntimeName.TFLM)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: TFLM cannot run it: op UNIDIRECTIONAL_SEQUENCE_LSTM")
    assert "RELU cell activation" in message and "only sigmoid and tanh" in message
    with pytest.raises(ModelError, match="RELU cell activation"):
        footprint(path, isolated=False)
    assert uncomputed_activation(RNN_STEP, RNN_STEP.read_bytes()) is None


def test_a_tanh_fused_lstm_passes_the_activation_check(tmp_path):
    """The same file with its LSTM options patched to TANH is not refused by the check (TFLM computes tanh)."""
    from edgeseq.export.fused_lstm import lstm_options, rewrite_lstm_activation
    from edgeseq.runtimes.tflm_runtime import uncomputed_activation

    relu = (MODELS / "lstm" / "lstm-fp32.tflite").read_bytes()
    tanh = rewrite_lstm_activation(relu, "TANH", cell_clip=0.0)
    assert {o["activation"] for o in lstm_options(tanh)} == {"TANH"}
    assert uncomputed_activation(tmp_path / "tanh.tflite", tanh) is None
    relu6 = rewrite_lstm_activation(relu, "RELU6", cell_clip=0.0)
    assert "RELU6 cell activation" in str(uncomputed_activation(tmp_path / "relu6.tflite", relu6))


def test_footprint_is_measured_and_repeatable():
    first, again = footprint(MODELS / "rnn" / "rnn-int16x8.tflite"), footprint(MODELS / "rnn" / "rnn-int16x8.tflite")
    assert first == again and first.arena_bytes > 0
    assert first.recorded_bytes == first.persistent_bytes + first.nonpersistent_bytes > 0
    assert first.arena_bytes > first.recorded_bytes          # allocating takes temporary memory the total leaves out
    size = (MODELS / "rnn" / "rnn-int16x8.tflite").stat().st_size
    assert first.file_bytes == size and first.flash_bytes % ALIGNMENT == 0 and 0 <= first.flash_bytes - size < 16
    assert first.ops["FULLY_CONNECTED"] > 0 and first.library.startswith("tflite-micro ")
    assert json.loads(json.dumps(first.to_dict()))["arena_bytes"] == first.arena_bytes


@pytest.mark.parametrize("path", list(REFUSED), ids=lambda p: p.name)
def test_refusal_is_one_line_naming_the_op(path):
    op, reason = REFUSED[path]
    with pytest.raises(ModelError) as caught:
        runtimes.load(path, RuntimeName.TFLM)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: TFLM cannot run it: op {op} (node ")
    assert reason in message and "(TFLM: " in message          # TFLM's own line, captured from its stderr


def test_a_corrupt_file_is_refused_before_tflm_reads_it(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(RNN_STEP.read_bytes()[:2000])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        runtimes.load(bad, RuntimeName.TFLM)


def test_the_table_row():
    row = runtimes.RUNTIMES[RuntimeName.TFLM]
    assert row.suffixes == (".tflite",) and row.isolated and row.optional and not row.by_default
    assert row.runs_step_models and row.profiler.source is None and row.profiler.unsupported
    assert "host time of TFLM's kernels" in row.timing
    assert RuntimeName.TFLM not in runtimes.default_runtimes()
    from edgeseq.portability import TABLE_COLUMNS
    assert TABLE_COLUMNS[-1] == "TFLM"


def test_importing_it_loads_neither_tflm_nor_tensorflow():
    code = ("import sys, edgeseq.runtimes.tflm_runtime;"
            "print([m for m in ('tensorflow', 'keras', 'tflite_micro') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_where_not_installed_asking_for_it_names_the_extra(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TFLM)
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}
    for command in (("bench", *FAST), ("validate", "--limit", "20")):
        asked = run_cli(command[0], RNN_STEP, "--runtime", "tflm", *command[1:], cwd=tmp_path, env=env)
        assert asked.returncode == 1
        assert asked.stderr.strip().splitlines() == [
            "Error: runtime tflm: tflite_micro is not installed (pip install 'edgeseq[mcu]'; Linux x86_64 only)"]


def test_validate_cli(without_tensorflow, tmp_path):
    done = run_cli("validate", RNN_STEP, "--runtime", "tflm", "--limit", "50", "--json", cwd=tmp_path,
                   env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert report["runtime"] == "tflm" and report["passed"] and report["state_hygiene"] is True
    assert report["backend"].startswith("tflite-micro ") and report["max_abs_diff"] < 1e-5
    refused = run_cli("validate", MODELS / "rnn" / "rnn-fp16.tflite", "--runtime", "tflm", "--limit", "20",
                      cwd=tmp_path, env=without_tensorflow)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    # the table's footnote wraps where the path's length puts it: read it with its whitespace folded
    assert "TFLM cannot run it: op DEQUANTIZE" in " ".join(refused.stdout.split())
    [error] = refused.stderr.strip().splitlines()[-1:]
    assert error.startswith("Error: 1 of 1 file(s) failed") and "TFLM cannot run it: op DEQUANTIZE" in error


def test_bench_cli_says_host_time_and_records_the_arena(tmp_path, without_tensorflow):
    done = run_cli("bench", RNN_STEP, "--runtime", "tflm", *FAST, "--json", cwd=tmp_path, env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert (row["runtime"], row["batch"], row["status"]) == ("tflm", 1, "ok") and row["step"]
    assert row["footprint"] == footprint(RNN_STEP).to_dict()
    shown = run_cli("bench", RNN_STEP, "--runtime", "tflm", *FAST, cwd=tmp_path, env=without_tensorflow)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"tflm \[\d\]", shown.stdout) and "tflm: host time of TFLM's kernels" in shown.stdout
    assert "arena B" in shown.stdout and f"{row['footprint']['arena_bytes']:,}" in shown.stdout


# the committed microcontroller files: full-integer step models (batch 1, float state I/O, one weight scale per
# layer), each within its parity gate in TFLM against its golden outputs (the manifest's)
MCU_FILES = [MODELS / "rnn" / "rnn-int8-step-app.tflite", MODELS / "rnn" / "rnn-int16x8-step-app.tflite",
             MODELS / "lstm" / "lstm-int8-step-app.tflite",
             MODELS / "lstm" / "lstm-int16x8-step-app.tflite"]


@pytest.mark.slow
def test_the_committed_microcontroller_files_pass_parity_in_tflm(tmp_path, without_tensorflow):
    done = run_cli("validate", *MCU_FILES, "--runtime", "tflm", "--json", cwd=tmp_path,   # the 1,000 sample digits
                   env=without_tensorflow)
    assert done.returncode == 0, done.stderr[-2000:]
    reports = json.loads(done.stdout)
    assert [Path(r["path"]).name for r in reports] == [p.name for p in MCU_FILES]
    assert all(r["passed"] and r["runtime"] == "tflm" and r["state_hygiene"] for r in reports), reports
    for path in MCU_FILES:
        recorded = json.loads(path.with_name(path.name + ".json").read_text())["portability"]
        assert any(c["backend"] == "TFLM" for c in recorded["runs_on"]), path.name
        figures = footprint(path)
        assert 0 < figures.arena_bytes and figures.flash_bytes >= path.stat().st_size


def test_every_committed_tflite_says_whether_tflm_runs_it():
    """The manifest of every committed .tflite has a TFLM cell: where it runs, or the one-line reason it does not
    (tools/add_tflm_portability.py)."""
    for path in sorted(MODELS.rglob("*.tflite")):
        recorded = json.loads(path.with_name(path.name + ".json").read_text())["portability"]
        cells = [c for key in ("runs_on", "does_not_run_on") for c in recorded[key] if c["backend"] == "TFLM"]
        assert len(cells) == 1, path.name
        assert cells[0]["status"] == "pass" or "\n" not in (cells[0].get("reason") or "x"), path.name


def test_exports_portability_check_judges_tflm_on_the_sequences_its_step_budget_allows():
    from edgeseq.portability import budget

    assert budget(RuntimeName.TFLM, np.zeros((1000, 28, 28), np.float32)) == 1000       # every MNIST golden digit
    assert budget(RuntimeName.TFLM, np.zeros((100, 1460, 1), np.float32)) == 19          # ACSF1's long sequences
    assert budget(RuntimeName.TFLM, np.zeros((3, 50_000, 1), np.float32)) == 1           # never none
    assert budget(RuntimeName.LITERT, np.zeros((100, 1460, 1), np.float32)) == 100      # no budget: all
