"""Progress: plain lines off a terminal (and with --json), a rich bar with counts on one; the same library
calls for both."""

from __future__ import annotations

import io
import sys

import pytest

from edgeseq.core import progress as progress_module
from edgeseq.core.progress import NullProgress, PlainProgress, RichProgress, as_progress, for_cli

from conftest import REPO, run_cli

ANSI_ESCAPE = "\x1b["


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_number_each_unit_and_indent_its_detail():
    stream = io.StringIO()
    out = PlainProgress(stream)
    out.log("data: sample")
    with out.stage("export", total=2, unit="recipes") as stage:
        stage.begin("rnn tflite/fp32 (unrolled graph)")
        stage.advance(detail="ok: 32,196 bytes (3.1 s)")
        stage.begin("rnn onnx/fp32 (unrolled graph)")
        stage.advance()
    assert stream.getvalue().splitlines() == [
        "data: sample",
        "[1/2] rnn tflite/fp32 (unrolled graph) ...",
        "      ok: 32,196 bytes (3.1 s)",
        "[2/2] rnn onnx/fp32 (unrolled graph) ...",
    ]


def test_plain_heartbeat_says_how_far_a_long_stage_got():
    stream = io.StringIO()
    out = PlainProgress(stream, heartbeat_s=0)     # every step is "long enough": no clock in the assertion
    with out.stage("train rnn", total=4, unit="steps") as stage:
        stage.describe("epoch 1/2")
        stage.advance()
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("  train rnn: epoch 1/2, 1/4 steps (")


def test_library_callers_pass_a_callable_a_progress_or_none():
    lines: list[str] = []
    wrapped = as_progress(lines.append)
    with wrapped.stage("validate", total=1) as stage:
        stage.begin("a.tflite (litert)")
        stage.advance(detail="ok")
    assert lines == ["[1/1] a.tflite (litert) ...", "      ok"]
    plain = PlainProgress(io.StringIO())
    assert as_progress(plain) is plain
    assert isinstance(as_progress(None), NullProgress)
    with as_progress(None).stage("x", 3) as stage:   # silent, and the same calls work
        stage.begin("y")
        stage.advance(detail="z")
    with pytest.raises(TypeError):
        as_progress(42)  # type: ignore[arg-type]


def rich_console(buffer: io.StringIO):
    from rich.console import Console

    return Console(file=buffer, force_terminal=True, width=100)


def test_rich_bar_shows_counts_with_the_lines_above_it():
    buffer = io.StringIO()
    out = RichProgress(rich_console(buffer))
    with out.stage("validate", total=5, unit="files") as stage:
        for k in range(3):
            stage.begin(f"models/rnn/file{k}.tflite (litert)")
            stage.advance(detail="acc 0.9 ok")
        out.log("a line above the bar")
    text = buffer.getvalue()
    live_part = text.split("validate: 3/5")[0]   # before the summary line printed when the stage ends
    assert "3/5" in live_part and "files" in live_part and "eta" in live_part
    assert "[3/5] models/rnn/file2.tflite (litert) ..." in text and "a line above the bar" in text
    assert ANSI_ESCAPE in text                  # a live display, not plain lines
    assert not out.bars.live.is_started         # the bar is gone once the stage ends


def test_rich_display_stops_when_the_work_fails():
    out = RichProgress(rich_console(io.StringIO()))
    with pytest.raises(KeyboardInterrupt):
        with out.stage("bench", total=2) as stage:
            stage.begin("a.onnx")
            raise KeyboardInterrupt
    assert not out.bars.live.is_started


def test_for_cli_uses_the_bar_only_on_a_terminal_without_json(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(for_cli(json_mode=False), PlainProgress)
    monkeypatch.setattr(sys, "stderr", TerminalStream())
    assert isinstance(for_cli(json_mode=False), RichProgress)
    assert isinstance(for_cli(json_mode=True), PlainProgress)
    monkeypatch.setenv("TERM", "dumb")
    assert isinstance(for_cli(json_mode=False), PlainProgress)


def test_without_rich_a_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(sys, "stderr", TerminalStream())
    monkeypatch.setitem(sys.modules, "rich.progress", None)    # import rich.progress -> ImportError
    assert not progress_module.rich_available()
    assert isinstance(for_cli(json_mode=False), PlainProgress)


def test_a_real_command_writes_plain_lines_to_a_pipe(tmp_path):
    model = REPO / "models" / "rnn" / "rnn-fp32.tflite"
    done = run_cli("bench", model, "--runtime", "litert", "--threads", "1,2", "--warmup", "0",
                   "--min-runs", "5", "--min-seconds", "0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert f"[1/2] {model} (litert, 1 thread(s)) ..." in lines
    assert f"[2/2] {model} (litert, 2 thread(s)) ..." in lines
    assert ANSI_ESCAPE not in done.stderr and ANSI_ESCAPE not in done.stdout
    assert "[1/2]" not in done.stdout           # results on stdout, progress on stderr


class Recorder:
    """A Progress that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def log(self, text: str) -> None:
        self.calls.append(("log", text))

    def stage(self, label: str, total: int | None = None, unit: str = ""):
        recorder = self

        class Stage:
            def begin(self, item: str) -> None:
                recorder.calls.append(("begin", item))

            def describe(self, text: str) -> None:
                recorder.calls.append(("describe", text))

            def advance(self, n: int = 1, detail: str | None = None) -> None:
                recorder.calls.append(("advance", n))

            def __enter__(self):
                recorder.calls.append(("stage", label, total, unit))
                return self

            def __exit__(self, *_):
                recorder.calls.append(("end", label))

        return Stage()


def test_training_advances_the_bar_per_batch_and_logs_each_epoch(sample, tmp_path):
    from edgeseq.models import Arch
    from edgeseq.train import TrainConfig, train

    recorder = Recorder()
    train(TrainConfig(Arch.RNN, epochs=2, batch_size=32), sample.limited(64, 32), tmp_path, progress=recorder)
    calls = recorder.calls
    assert ("stage", "train rnn", 4, "steps") in calls             # 2 epochs x 2 batches of 32
    assert [c for c in calls if c[0] == "advance"] == [("advance", 1)] * 4
    assert [c[1] for c in calls if c[0] == "describe"] == ["epoch 1/2", "epoch 2/2"]
    epochs = [c[1] for c in calls if c[0] == "log" and " epoch " in c[1]]
    assert len(epochs) == 2 and epochs[0].startswith("rnn epoch 1/2: loss ")
    end = calls.index(("end", "train rnn"))              # then, after the bar, the training's health (one line)
    assert [c[0] for c in calls[end + 1:]] == ["log"] and calls[-1][1].startswith("training health: RNN: ")


def test_rich_bar_names_the_current_file_and_keeps_fractions():
    buffer = io.StringIO()
    out = RichProgress(rich_console(buffer))
    with out.stage("train rnn", total=4, unit="steps") as stage:
        stage.describe("epoch 1/2")
        stage.advance()
        out.log("x")
    with out.stage("bench", total=1, unit="runs") as stage:
        stage.begin("/tmp/some/folder/rnn-fp32.tflite (litert, 1 thread(s))")
        out.log("y")
    bars = [line for line in buffer.getvalue().split("\n") if "eta" in line]
    assert any("1/4" in line and "epoch 1/2" in line for line in bars)
    assert any("rnn-fp32.tflite (litert, 1 thread(s))" in line and "/tmp/some" not in line for line in bars)
