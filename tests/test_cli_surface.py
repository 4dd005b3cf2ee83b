"""The CLI's surface, command by command: every list option takes a comma list and repetition alike (one
parser); an option several commands take is declared once; `bench --scaling` is a mode whose defaults are
one table; every path a command writes is checked before any work, and written atomically.

Everything here runs in this process (Click's CliRunner, or Click parsing alone): nothing is measured."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from edgeseq.cli import cli
from edgeseq.cli.bench_modes import MODES, NOT_HERE, resolve

from conftest import REPO, invoke_cli

MODELS = REPO / "models" / "rnn"


def parse(command: str, *args: object) -> click.Context:
    """What Click makes of a command line (every option's callback run), without running the command."""
    return cli.commands[command].make_context(command, [str(a) for a in args])


def refused(done, code: int, text: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and lines and lines[-1].startswith("Error"), done.stderr
    assert text in lines[-1], done.stderr
    return lines[-1]


# --- list options: a comma list, repetition, or both, one parser --------------------------------------------

LIST_OPTIONS = [  # (command, arguments before, option, parameter, two values, their parsed form)
    ("bench", [MODELS], "--runtime", "wanted", ("litert", "onnxruntime"), None),
    ("bench", [MODELS], "--threads", "threads", ("1", "2"), (1, 2)),
    ("bench", [MODELS], "--batch", "batches", ("1", "8"), (1, 8)),
    ("bench", [MODELS, "--scaling"], "--lengths", "lengths", ("28", "56"), (28, 56)),
    ("validate", [MODELS], "--runtime", "wanted", ("litert", "onnxruntime"), None),
    ("export", [], "--quant", "quants", ("int8", "fp16"), ("int8", "fp16")),
    ("sweep", [], "--quant", "quants", ("fp32", "dynamic"), ("fp32", "dynamic")),
    ("sweep", [], "--variants", "variants", ("rnn", "lstm-64x2-tanh"), ("rnn", "lstm-64x2-tanh")),
    ("sweep", [], "--min-accuracy", "min_accuracy", ("0.9", "0.97"), (0.9, 0.97)),
]


@pytest.mark.parametrize("command, before, option, name, values, parsed", LIST_OPTIONS,
                         ids=[f"{c[0]}{c[2]}" for c in LIST_OPTIONS])
def test_a_list_option_takes_a_comma_list_or_repetition(tmp_path, monkeypatch, command, before, option, name,
                                                         values, parsed):
    monkeypatch.chdir(tmp_path)                 # default outputs (models, runs/sweep) are checked, not created
    comma = parse(command, *before, option, ",".join(values)).params[name]
    repeated = parse(command, *before, option, values[0], option, values[1]).params[name]
    spaced = parse(command, *before, option, f" {values[0]} ,", option, values[1]).params[name]
    assert comma == repeated == spaced
    assert len(comma) == 2 and (parsed is None or comma == parsed)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["export", "--quant", "int8", "--quant", "int8"], "'int8' is given twice"),
    (["export", "--quant", "int8,fp16", "--quant", "fp16"], "'fp16' is given twice"),
    (["export", "--quant", "int8", "--quant", ","], "expected a value, got ','"),
    (["sweep", "--min-accuracy", "0.9", "--min-accuracy", "97"], "97.0 is not in the range 0<x<=1"),
    (["sweep", "--variants", "rnn", "--variants", "rnn"], "'rnn' is given twice"),
    (["bench", str(MODELS), "--threads", "1", "--threads", "1"], "'1' is given twice"),
    (["bench", str(MODELS), "--batch", "1", "--batch", "x"], "'x' is not a positive integer"),
    (["bench", str(MODELS), "--runtime", "litert", "--runtime", "tensorrt"], "unknown runtime 'tensorrt'"),
    (["export", "--format", "tflite", "--quant", "fp32", "--quant", "static"], "tflite: fp32, fp16"),
])
def test_a_bad_or_repeated_item_is_one_usage_error(tmp_path, args, message):
    done = invoke_cli(*args, "--out", tmp_path / "out", cwd=tmp_path)
    refused(done, 2, message)
    assert not list(tmp_path.iterdir())


def every_option():
    for name, command in cli.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                yield name, param


def test_every_list_option_uses_the_one_parser():
    lists = {(name, p.opts[0]) for name, p in every_option() if p.multiple}
    assert {(c[0], c[2]) for c in LIST_OPTIONS} <= lists
    for name, param in every_option():
        if param.multiple:
            assert param.callback.__qualname__.startswith("comma_list."), (name, param.opts)


# --- shared options: declared once ------------------------------------------------------------------------

# the same flag on two commands with a different meaning, and so a different declaration
DIFFERENT_MEANING = {"--threads": "several counts (bench) or one (validate, run, drift)",
                     "--min-accuracy": "a budget (report) or the accuracies a sweep answers for",
                     "--out": "a folder written into (most commands) or a whole new folder (pack, demo: new or empty)"}


def declaration(param: click.Option) -> tuple:
    callback = getattr(param.callback, "__qualname__", None)
    return repr(sorted(param.type.to_info_dict().items())), param.multiple, param.is_flag, param.name, callback


def test_an_option_several_commands_take_is_declared_once():
    seen: dict[str, dict[str, tuple]] = {}
    for name, param in every_option():
        seen.setdefault(param.opts[0], {})[name] = declaration(param)
    shared = {flag: commands for flag, commands in seen.items() if len(commands) > 1}
    for flag in ("--reference", "--plot", "--limit", "--limit-train", "--limit-test", "--calibration-size",
                 "--quant", "--out", "--max-loss-pp", "--runtime", "--data", "--json"):
        assert flag in shared, flag
    for flag, commands in shared.items():
        if flag in DIFFERENT_MEANING or flag == "--help":
            continue
        assert len(set(commands.values())) == 1, (flag, commands)


# --- bench --scaling: one table of the two modes' defaults --------------------------------------------------

def test_the_mode_table_holds_the_library_defaults():
    from edgeseq.bench import BenchConfig
    from edgeseq.bench.scaling import ScalingConfig

    plain, grid = BenchConfig(), ScalingConfig()
    for name in ("batches", "threads", "warmup", "min_runs", "min_seconds"):
        assert MODES[name].plain == getattr(plain, name), name
        assert MODES[name].scaling == getattr(grid, name), name
    assert MODES["lengths"].scaling == grid.lengths and MODES["lengths"].plain is NOT_HERE


def test_quant_debug_limit_is_the_library_default():
    from edgeseq.cli.quant import DEFAULT_LIMIT
    from edgeseq.diagnostics import quant_debug

    assert DEFAULT_LIMIT == quant_debug.DEFAULT_LIMIT


@pytest.mark.parametrize("scaling", [False, True])
def test_an_option_left_out_takes_its_modes_default(scaling):
    ctx = parse("bench", MODELS, *(["--scaling"] if scaling else []), "--warmup", "7")
    args = resolve(ctx, scaling)
    assert args.warmup == 7
    for name, row in MODES.items():
        if name != "warmup":
            expected = row.scaling if scaling else row.plain
            assert getattr(args, name) == (None if expected is NOT_HERE else expected), name


def test_bench_help_shows_both_defaults():
    text = " ".join(invoke_cli("bench", "--help").stdout.split())
    assert "[default: 50; with --scaling: 3; with --profile: 10]" in text
    assert "[default: 1; with --scaling: 1,2]" in text
    assert ("Defaults then: --batch 1,2,4,8,16,32,64,128,256 --threads 1,2 --warmup 3 --min-runs 10"
            " --min-seconds 0.5.") in text
    assert "[with --scaling only; default: 28,56,112,224,448]" in text


@pytest.mark.parametrize("args, message", [
    (["--scaling", "--host", "pi"], "--host does not go with --scaling"),
    (["--scaling", "--remote-python", "python3"], "--remote-python does not go with --scaling"),
    (["--lengths", "28", "--lengths", "56"], "--lengths goes with --scaling"),
])
def test_an_option_of_the_other_mode_is_a_usage_error(tmp_path, args, message):
    refused(invoke_cli("bench", MODELS, *args, cwd=tmp_path), 2, message)
    assert not list(tmp_path.iterdir())


# --- written files: the path checked before any work --------------------------------------------------------

WORK = {  # command -> the library function that does its work (patched to fail the test if reached)
    "quant-debug": ("edgeseq.diagnostics.quant_debug", "debug_file"),
    "drift": ("edgeseq.diagnostics.drift", "drift"),
    "bench": ("edgeseq.bench", "bench"),
    "bench --scaling": ("edgeseq.bench.scaling", "scaling"),
    "sweep": ("edgeseq.sweep.runner", "sweep"),
    "validate": ("edgeseq.parity.validate", "validate"),
}
WRITERS = [  # (work, arguments, the option that names a file)
    ("quant-debug", ["quant-debug", MODELS / "rnn-int8.tflite"], "--plot"),
    ("drift", ["drift", MODELS / "rnn-dynamic-step.tflite"], "--plot"),
    ("bench --scaling", ["bench", MODELS / "rnn-fp32.onnx", "--scaling"], "--plot"),
    ("bench", ["bench", MODELS / "rnn-fp32.onnx"], "--csv"),
    ("validate", ["validate", MODELS / "rnn-fp32.onnx"], "--junit-xml"),
]
SUFFIX = {"--plot": ".png", "--csv": ".csv", "--junit-xml": ".xml"}


@pytest.fixture
def no_work(monkeypatch):
    import importlib

    def forbid(*args, **kwargs):
        raise AssertionError("the work started before the output path was checked")
    for module, name in WORK.values():
        monkeypatch.setattr(importlib.import_module(module), name, forbid)


def bad_paths(tmp_path: Path, suffix: str) -> list[tuple[str, Path, int, str]]:
    """(case, path, exit code, what the error says): each is refused before any work, creating nothing."""
    (tmp_path / "file").write_text("x")
    (tmp_path / f"folder{suffix}").mkdir()
    return [("wrong-suffix", tmp_path / "out.txt", 2, f"does not end in {suffix}"),
            ("a-folder", tmp_path / f"folder{suffix}", 2, "is a directory"),
            ("under-a-file", tmp_path / "file" / f"out{suffix}", 1, "not a folder")]


@pytest.mark.parametrize("work, args, option", WRITERS, ids=[f"{w[0]}{w[2]}" for w in WRITERS])
def test_a_bad_output_file_is_refused_before_the_work(tmp_path, no_work, work, args, option):
    for case, path, code, text in bad_paths(tmp_path, SUFFIX[option]):
        before = sorted(tmp_path.rglob("*"))
        line = refused(invoke_cli(*args, option, path, cwd=tmp_path), code, text)
        assert option in line or str(path) in line or "not a folder" in line, (case, line)
        assert sorted(tmp_path.rglob("*")) == before, case


@pytest.mark.parametrize("args", [["bench", MODELS / "rnn-fp32.onnx"], ["bench", MODELS / "rnn-fp32.onnx", "--scaling"],
                                  ["sweep"]], ids=["bench", "bench-scaling", "sweep"])
def test_an_output_folder_under_a_file_is_refused_before_the_work(tmp_path, no_work, args):
    (tmp_path / "file").write_text("x")
    refused(invoke_cli(*args, "--out", tmp_path / "file" / "out", cwd=tmp_path), 1, "not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize("work, args, option", WRITERS, ids=[f"{w[0]}{w[2]}" for w in WRITERS])
def test_an_unwritable_folder_is_refused_before_the_work(tmp_path, monkeypatch, no_work, work, args, option):
    import edgeseq.core.fileio

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    real = os.access        # root may write anywhere: the folder is also unwritable as os.access sees it
    monkeypatch.setattr(edgeseq.core.fileio.os, "access",
                        lambda path, mode: False if Path(path) == locked else real(path, mode))
    try:
        refused(invoke_cli(*args, option, locked / f"out{SUFFIX[option]}", cwd=tmp_path), 1, "not writable")
        assert not list(locked.iterdir())
    finally:
        locked.chmod(0o700)


def test_quant_debug_writes_its_plot_atomically(tmp_path, monkeypatch):
    import edgeseq.core.fileio

    written = []
    real = edgeseq.core.fileio.write_bytes_atomic
    monkeypatch.setattr(edgeseq.core.fileio, "write_bytes_atomic", lambda path, data: written.append(path) or real(path, data))
    png = tmp_path / "plots" / "rnn-int8.png"
    png.parent.mkdir()
    done = invoke_cli("quant-debug", MODELS / "rnn-int8.tflite", "--limit", "5", "--layers-only", "--plot", png)
    assert done.returncode == 0, done.stderr
    assert written == [png] and png.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in png.parent.iterdir()] == [png.name]         # no temporary file left


# --- one name per thing: the old spellings, deprecated for one release ----------------------------------------

def test_an_old_spelling_still_works_says_it_is_deprecated_and_is_hidden():
    import json

    file = MODELS / "rnn-int8.tflite"
    done = invoke_cli("validate", file, "--limit", "50", "--runtime", "litert", "--min-delta-pp", "-5", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["tolerance"]["min_delta_accuracy_pp"] == -5.0            # --min-delta-pp -5 is --max-loss-pp 5
    assert "warning: --min-delta-pp is deprecated and goes in the next release: use --max-loss-pp" in done.stderr
    new = json.loads(invoke_cli("validate", file, "--limit", "50", "--runtime", "litert", "--max-loss-pp", "5",
                                "--json").stdout)
    assert new[0]["tolerance"] == row["tolerance"]
    for command, old in (("validate", "--min-delta-pp"), ("bench", "--device-name"), ("train", "--limit-test"),
                         ("sweep", "--limit-test")):
        assert old not in invoke_cli(command, "--help").stdout, (command, old)


@pytest.mark.parametrize("args, message", [
    (("train", "--limit-test", "5", "--limit", "5"), "--limit-test and --limit are one option: give --limit only"),
    (("validate", str(MODELS / "rnn-int8.tflite"), "--max-loss-pp", "1", "--min-delta-pp", "-1"),
     "--min-delta-pp and --max-loss-pp are one option: give --max-loss-pp only"),
    (("bench", str(MODELS / "rnn-int8.tflite"), "--device", "a", "--device-name", "b"),
     "--device-name and --device are one option: give --device only"),
])
def test_both_spellings_of_one_option_are_a_usage_error(args, message):
    refused(invoke_cli(*args), 2, message)
