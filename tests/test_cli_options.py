"""The thin CLI: list options parsed once for every command, one-value options that say so, tables that stay
narrow, and a layout where each command module stays small."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from edgeseq.cli import cli
from edgeseq.cli.bench_table import BENCH_COLUMNS
from edgeseq.cli.options import batch_option, runtime_option, threads_option
from edgeseq.cli.render import Column, Note, noted, table, wrap

from conftest import REPO, run_cli

MODELS = REPO / "models" / "rnn"
FAST = ("--warmup", "0", "--min-runs", "5", "--min-seconds", "0")


@click.command()
@threads_option(several=True, help="")
@batch_option()
@runtime_option(None, "")
def echo_lists(threads, batches, wanted):
    click.echo(repr((threads, batches, [w.value for w in wanted] if wanted else None)))


@click.command(name="single")
@threads_option(several=False, help="")
def echo_single(threads):
    click.echo(repr(threads))


def invoke(command, *args):
    return CliRunner().invoke(command, list(args))


@pytest.mark.parametrize("args, expected", [
    ([], ((1,), (1,), None)),
    (["--threads", "1,2", "--batch", "1,8,32"], ((1, 2), (1, 8, 32), None)),
    (["--threads", " 2 , 4,", "--runtime", "litert, onnxruntime"], ((2, 4), (1,), ["litert", "onnxruntime"])),
])
def test_list_options_share_one_parser(args, expected):
    done = invoke(echo_lists, *args)
    assert done.exit_code == 0, done.output
    assert done.output.strip() == repr(expected)


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "'0' is not a positive integer"),
    (["--threads", "1,x"], "'x' is not a positive integer; expected positive integers separated by commas"),
    (["--batch", "a,b"], "integers"),
    (["--batch", ","], "expected positive integers"),
    (["--batch", "8,8"], "'8' is given twice"),
    (["--runtime", "litert,tensorrt"], "unknown runtime 'tensorrt'; choose from"),
])
def test_bad_list_values_are_one_line_usage_errors(args, message):
    done = invoke(echo_lists, *args)
    assert done.exit_code == 2
    last = done.output.strip().splitlines()[-1]
    assert last.startswith("Error: Invalid value for") and message in last, done.output


def test_a_one_value_option_says_so():
    assert invoke(echo_single, "--threads", "2").output.strip() == "2"
    done = invoke(echo_single, "--threads", "1,2")
    assert done.exit_code == 2
    assert done.output.strip().splitlines()[-1] == \
        "Error: Invalid value for '--threads': `single` uses one thread count, not several (1,2)"


@pytest.mark.parametrize("command", [["validate", str(MODELS)], ["run"]])
def test_validate_and_run_take_one_thread_count(tmp_path, command):
    out = tmp_path / "out"
    extra = ["--out", str(out)] if command == ["run"] else []
    done = CliRunner().invoke(cli, [*command, "--threads", "1,2", *extra])
    assert done.exit_code == 2
    assert f"`{command[0]}` uses one thread count, not several (1,2)" in done.stderr.splitlines()[-1]
    assert not out.exists()


def test_bench_measures_each_thread_count(tmp_path):
    done = run_cli("bench", MODELS / "rnn-fp32.onnx", "--runtime", "onnxruntime", "--threads", "1,2",
                   "--batch", "1,4", *FAST, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["threads"], r["batch"]) for r in rows] == [(1, 1), (1, 4), (2, 1), (2, 4)]
    assert all(r["status"] == "ok" and r["environment"]["threads"] == r["threads"] for r in rows)
    text = run_cli("bench", MODELS / "rnn-fp32.onnx", "--runtime", "onnxruntime", "--threads", "2,1", *FAST,
                   cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0].split()[:4] == ["file", "runtime", "threads", "batch"]
    assert "2, 1 thread(s)" in text.stdout.splitlines()[-1]


def test_a_graph_no_pair_can_take_is_a_usage_error_from_the_library_plan(tmp_path):
    from edgeseq.core.errors import EdgeseqError
    from edgeseq.export.exporter import plan
    from edgeseq.models import Arch
    from edgeseq.recipes import Graph, RECIPES

    with pytest.raises(EdgeseqError, match="valid for the chosen models and recipes: loop, unrolled"):
        plan([Arch.RNN], list(RECIPES.values()), Graph.FUSED)
    out = tmp_path / "o"
    done = CliRunner().invoke(cli, ["export", "--model", "rnn", "--graph", "fused", "--out", str(out)])
    assert done.exit_code == 2
    last = done.stderr.splitlines()[-1]
    assert last.startswith("Error: Invalid value for --graph: graph fused is not available for rnn")
    assert not out.exists()


def test_every_command_has_an_example_and_the_module_entry_point_works():
    for name in cli.commands:
        done = CliRunner().invoke(cli, [name, "--help"])
        assert done.exit_code == 0 and "Example: edgeseq " + name in " ".join(done.output.split()), name
    from edgeseq.cli import main  # the pyproject entry point
    assert callable(main)
    assert run_cli("--help").returncode == 0


def test_cli_modules_stay_small():
    for path in (REPO / "edgeseq" / "cli").glob("*.py"):
        assert len(path.read_text().splitlines()) <= 250, path


# --- tables ----------------------------------------------------------------------------------------------

LONG_REASON = "the runtime crashed the process (SIGSEGV) " * 8


def bench_row(path: str, status: str = "ok", reason: str | None = None):
    from edgeseq.bench import BenchResult

    figures = dict(batch=1, p50_us=8.1, p90_us=9.0, p99_us=9.9, throughput_dps=120000.0, load_ms=23.4,
                   first_inference_ms=0.01, peak_rss_bytes=62 * 2**20) if status == "ok" else {}
    return BenchResult(path=path, model="rnn", format="tflite", recipe="fp32", runtime="litert",
                       status=status, reason=reason, size_bytes=32196, threads=1, **figures)


def test_a_long_reason_goes_below_the_table_as_a_numbered_note():
    rows = [bench_row("models/rnn/rnn-fp32.tflite"),
            bench_row("models/rnn/rnn-int8.tflite", "failed", LONG_REASON),
            bench_row("models/lstm/lstm-int8.tflite", "failed", LONG_REASON),
            bench_row("models/lstm/lstm-fp16.tflite", "unsupported", "tensorflow is not installed")]
    text = table(BENCH_COLUMNS, rows)
    lines = text.splitlines()
    width = len(lines[1])  # the dashes under the header span the whole table
    assert width < 140
    assert all(len(line) <= max(width, 120) for line in lines)
    assert lines[3].endswith("failed [1]") and lines[4].endswith("failed [1]")  # equal reasons, one note
    assert lines[5].rstrip().endswith("unsupported [2]")
    notes = [line for line in lines if line.startswith("[")]
    assert notes[0].startswith("[1] the runtime crashed the process (SIGSEGV)") and notes[1] == \
        "[2] tensorflow is not installed"
    assert " ".join(text.split()).count(" ".join(LONG_REASON.split())) == 1


def test_a_long_path_wraps_within_its_column():
    deep = "/tmp/" + "/".join(f"folder-{k}" for k in range(12)) + "/rnn-fp32.tflite"
    text = table(BENCH_COLUMNS, [bench_row(deep)])
    lines = text.splitlines()
    assert len(lines) > 3 and max(len(line) for line in lines) < 160
    assert "".join(line.split("  ")[0] for line in lines[2:]).replace(" ", "") == deep


def test_wrap_and_notes_helpers():
    assert wrap("short", 10) == ["short"]
    assert wrap("a/bb/ccc/dddd", 5) == ["a/bb/", "ccc/", "dddd"]
    assert wrap("x" * 12, 5) == ["xxxxx", "xxxxx", "xx"]
    assert noted("pass") == "pass" and noted(None) == ""
    why = "accuracy change -3.00 pp < -1.0 pp"
    assert noted(f"FAIL: {why}") == Note("FAIL", why)
    assert table((Column("a", lambda r: Note("ok", None)),), [1]).splitlines() == ["a", "--", "ok"]


def test_the_committed_readme_bench_example_still_parses(tmp_path):
    """README: `edgeseq bench models/lstm --runtime litert,onnxruntime --threads 1 --batch 1,8,32 --json`."""
    done = CliRunner().invoke(cli, ["bench", str(tmp_path), "--runtime", "litert,onnxruntime", "--threads",
                                    "1", "--batch", "1,8,32", "--json"])
    assert done.exit_code == 2  # the options parsed; the folder is empty
    assert "no .tflite or .onnx or .keras files" in done.stderr
    assert Path(tmp_path).exists()
