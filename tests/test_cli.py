"""Every command's --help, and the bad inputs every command must refuse in one line with nothing written."""

import pytest

from conftest import run_cli

COMMANDS = ["train", "export", "validate", "bench", "inspect"]


def assert_clean_error(done, code=None):
    assert done.returncode != 0
    if code is not None:
        assert done.returncode == code, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("Error"), done.stderr


def snapshot(folder):
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")} if folder.exists() else {}


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help(command):
    done = run_cli(*([command] if command else []), "--help")
    assert done.returncode == 0 and "Usage:" in done.stdout
    if command:
        assert "Example:" in done.stdout


def test_unknown_model_is_a_usage_error(tmp_path):
    done = run_cli("train", "--model", "gru", "--out", tmp_path / "out")
    assert_clean_error(done, 2)
    assert "'rnn', 'lstm', 'all'" in done.stderr or "rnn" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--batch-size", "-1"]])
def test_non_positive_numbers(tmp_path, args):
    assert_clean_error(run_cli("train", *args, "--out", tmp_path / "out"), 2)
    assert not (tmp_path / "out").exists()


def test_missing_data_path(tmp_path):
    done = run_cli("train", "--data", tmp_path / "nowhere", "--out", tmp_path / "out")
    assert_clean_error(done, 1)
    assert "data path not found" in done.stderr
    assert snapshot(tmp_path / "out") == {}


def test_corrupt_idx(tmp_path):
    from test_data import write_idx_folder

    folder = write_idx_folder(tmp_path / "idx", x_train=b"\x00\x00\x07\x03" + b"\x00" * 40)
    done = run_cli("train", "--data", folder, "--out", tmp_path / "out")
    assert_clean_error(done, 1)
    assert "wrong magic number" in done.stderr
    assert snapshot(tmp_path / "out") == {}


def test_out_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    done = run_cli("train", "--model", "rnn", "--out", target)
    assert_clean_error(done, 1)
    assert "cannot create output folder" in done.stderr
    assert target.read_text() == "x"


def test_debug_shows_traceback(tmp_path):
    done = run_cli("--debug", "train", "--data", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert done.returncode != 0 and "Traceback" in done.stderr
