"""Every command's --help, the --debug traceback, and the exit codes of bad inputs.

What every command must refuse (one 'Error...' line, nothing written) is test_bad_inputs.py's corpus; this file
adds what the corpus does not check: usage errors exit 2 and name the valid choices, errors in what the
arguments point to exit 1."""

import pytest

from conftest import run_cli
from test_bad_inputs import CASES

COMMANDS = ["train", "export", "validate", "bench", "inspect"]

# corpus case -> (exit code, what the last line must also say, or None)
EXIT_CODES = {
    # usage errors: click's exit code 2
    "train-unknown-model": (2, "unknown model 'gru'; expected <cell>-<units>x<layers>-<activation>"),
    "train-zero-epochs": (2, "'--epochs'"),
    "train-negative-batch": (2, "'--batch-size'"),
    "export-unknown-recipe": (2, None),
    "export-recipe-of-another-format": (2, None),
    "export-unknown-graph": (2, "'--graph'"),
    "bench-unknown-runtime": (2, None),
    "bench-zero-threads": (2, None),
    "bench-zero-batch": (2, None),
    "bench-batch-not-a-number": (2, None),
    "bench-empty-folder": (2, None),
    # errors in what the arguments point to: exit code 1
    "train-missing-data": (1, "data path not found"),
    "train-wrong-magic-idx": (1, None),
    "train-out-is-a-file": (1, "cannot create output folder"),
    "export-not-a-zip-keras": (1, None),
    "validate-sha256-mismatch-onnx": (1, None),
    "inspect-truncated-tflite": (1, None),
}


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command):
    done = run_cli(*([command] if command else []), "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout
    if command:
        assert "Example:" in done.stdout


@pytest.mark.parametrize("case", list(EXIT_CODES))
def test_exit_code_says_usage_or_input_error(tmp_path, case):
    (build, args), = [(b, a) for name, b, a, _ in CASES if name == case]
    code, text = EXIT_CODES[case]
    inputs, out = tmp_path / "in", tmp_path / "out"
    out.mkdir()
    build(inputs)
    done = run_cli(*[a.format(**{"in": inputs, "out": out, "ref": inputs / "ref" / "rnn-fp32.onnx"}) for a in args],
                   cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, done.stderr
    assert lines[-1].startswith("Error"), done.stderr
    if text is not None:
        assert text in lines[-1], done.stderr


def test_debug_shows_traceback(tmp_path):
    done = run_cli("--debug", "train", "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert "DataError" in done.stderr and not (tmp_path / "o").exists()
