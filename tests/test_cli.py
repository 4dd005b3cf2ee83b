"""Every command's --help and the --debug traceback.

What every command must refuse (one 'Error...' line, nothing written) and with which exit code (usage errors 2
naming the valid choices, errors in what the arguments point to 1) is test_bad_inputs.py's corpus."""

import pytest

from conftest import invoke_cli, run_cli

COMMANDS = ["train", "export", "validate", "bench", "inspect"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command):
    done = invoke_cli(*([command] if command else []), "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout
    if command:
        assert "Example:" in done.stdout


def test_debug_shows_traceback(tmp_path):
    done = run_cli("--debug", "train", "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert "DataError" in done.stderr and not (tmp_path / "o").exists()
