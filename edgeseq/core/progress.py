"""Progress on stderr: what the library says while it works, and how a terminal shows it.

The library talks to a `Progress`:
    progress.log("a line")
    with progress.stage("validate", total=6, unit="files") as stage:
        stage.begin("models/rnn/rnn-fp32.tflite (litert)")   # the next unit of work starts
        stage.advance(detail="acc 0.9132 ...: ok")           # one unit done, and what came of it
        stage.describe("epoch 2/3")                          # what the bar shows, without a line

`PlainProgress` writes lines (`[k/N] item ...`, then the detail indented under it); `RichProgress` writes the
same lines above a bar with counts, elapsed time and ETA; `NullProgress` says nothing. `for_cli` picks the
bar only for a terminal and not with --json. `rich` is imported only by `RichProgress`: without it, the lines.
Library functions also accept a plain `callable(line)` (wrapped in a PlainProgress) or None (silence).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from typing import Any, Callable, ContextManager, Iterator, Protocol, TextIO, Union, runtime_checkable

HEARTBEAT_S = 15.0        # plain lines: a long stage without a line says how far it got this often
INDENT = "      "         # a detail line sits under its "[k/N] " line
PATH_DIRS = re.compile(r"(?:[^\s()/]*/)+(?=[^\s()/]+\.\w+)")   # the folders of a path to a file.ext


class Stage(Protocol):
    def begin(self, item: str) -> None:
        """The next unit of work starts (`[k/N] item ...`)."""

    def describe(self, text: str) -> None:
        """What the stage is doing now, shown on the bar (no line of its own)."""

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        """`n` units are done; `detail`, if given, is a line saying how the last one went."""


@runtime_checkable
class Progress(Protocol):
    def log(self, text: str) -> None: ...

    def stage(self, label: str, total: int | None = None, unit: str = "") -> ContextManager[Stage]: ...


ProgressLike = Union[Progress, Callable[[str], None], None]


def as_progress(progress: ProgressLike) -> Progress:
    """A Progress from what a library caller passed: a Progress, a `callable(line)`, or None for silence."""
    if progress is None:
        return NullProgress()
    if isinstance(progress, Progress):
        return progress
    if callable(progress):
        return PlainProgress(write=progress)
    raise TypeError(f"progress must be a Progress, a callable taking a line, or None,"
                    f" not {type(progress).__name__}")


class _Closing:
    """`with for_cli(...) as progress:` ends any display when the command ends, however it ends."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        pass


class _NullStage:
    def begin(self, item: str) -> None:
        pass

    def describe(self, text: str) -> None:
        pass

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        pass


class NullProgress(_Closing):
    """Silence, for library callers that want none."""

    def log(self, text: str) -> None:
        pass

    @contextlib.contextmanager
    def stage(self, label: str, total: int | None = None, unit: str = "") -> Iterator[Stage]:
        yield _NullStage()


class _Counter:
    """What every stage keeps: its label and total, units done, the current item, when it started."""

    def __init__(self, label: str, total: int | None, unit: str) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self.item = ""
        self.started = time.perf_counter()

    def number(self) -> str:
        """`[k/N]` for the unit that starts now."""
        return f"[{self.done + 1}/{self.total}]" if self.total is not None else f"[{self.done + 1}]"


class _PlainStage(_Counter):
    def __init__(self, out: "PlainProgress", label: str, total: int | None, unit: str) -> None:
        super().__init__(label, total, unit)
        self.out = out

    def begin(self, item: str) -> None:
        self.item = item
        self.out.log(f"{self.number()} {item} ...")

    def describe(self, text: str) -> None:
        self.item = text

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        self.done += n
        if detail:
            self.out.log(INDENT + detail)
        now = time.perf_counter()
        if now - self.out.last_line >= self.out.heartbeat_s:  # a long stage without a line says where it is
            of = f"/{self.total}" if self.total is not None else ""
            where = f"{self.item}, " if self.item else ""
            unit = f" {self.unit}" if self.unit else ""
            self.out.log(f"  {self.label}: {where}{self.done}{of}{unit} ({now - self.started:.0f} s)")


class PlainProgress(_Closing):
    """Lines: on `stream` (default: sys.stderr at the time of writing), or handed to `write(line)`."""

    def __init__(self, stream: TextIO | None = None, *, write: Callable[[str], None] | None = None,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self._stream, self._write = stream, write
        self.heartbeat_s = heartbeat_s
        self.last_line = time.perf_counter()

    def log(self, text: str) -> None:
        self.last_line = time.perf_counter()
        if self._write is not None:
            self._write(text)
        else:
            print(text, file=self._stream or sys.stderr, flush=True)

    @contextlib.contextmanager
    def stage(self, label: str, total: int | None = None, unit: str = "") -> Iterator[Stage]:
        yield _PlainStage(self, label, total, unit)


class _RichStage(_Counter):
    def __init__(self, out: "RichProgress", task: Any, label: str, total: int | None, unit: str) -> None:
        super().__init__(label, total, unit)
        self.out, self.task = out, task

    def begin(self, item: str) -> None:
        self.out.log(f"{self.number()} {item} ...")
        self.describe(item)

    def describe(self, text: str) -> None:
        self.item = text
        # the bar shows file names only: the line above it has the whole path
        self.out.bars.update(self.task, item=PATH_DIRS.sub("", text))

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        self.done += n
        if detail:
            self.out.log(INDENT + detail)
        self.out.bars.advance(self.task, n)


class RichProgress(_Closing):
    """The same lines as PlainProgress, printed above a live bar per open stage (label, bar, done/total, unit,
    elapsed, ETA, current item) on `console` (default: a rich Console on stderr). Raises ImportError without
    rich."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import (  # noqa: PLC0415
            BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn)
        from rich.progress import Progress as Bars  # noqa: PLC0415
        from rich.table import Column  # noqa: PLC0415

        self.console = console if console is not None else Console(stderr=True)
        self.bars = Bars(
            TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            TextColumn("{task.fields[item]}", markup=False,
                       table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=self.console, transient=True, expand=True)
        self._open = 0

    def log(self, text: str) -> None:
        if self._open:
            self.bars.refresh()  # the bar under the new line shows the counts as they are now
        self.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)

    @contextlib.contextmanager
    def stage(self, label: str, total: int | None = None, unit: str = "") -> Iterator[Stage]:
        if self._open == 0:
            self.bars.start()
        self._open += 1
        task = self.bars.add_task(label, total=total, unit=unit, item="")
        stage = _RichStage(self, task, label, total, unit)
        try:
            yield stage
        finally:
            self.bars.remove_task(task)
            self._open -= 1
            if self._open == 0:
                self.bars.stop()
        of = f"/{total}" if total is not None else ""
        self.console.print(f"{label}: {stage.done}{of} {unit} in {time.perf_counter() - stage.started:.1f} s",
                           markup=False, highlight=False, style="dim")

    def close(self) -> None:
        if self._open:
            self._open = 0
            self.bars.stop()


def rich_available() -> bool:
    try:
        import rich.progress  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def for_cli(json_mode: bool) -> Progress:
    """The display a command uses: a bar when stderr is a terminal (and rich is installed), else lines; lines
    with --json too (its output may be piped while stderr is still a terminal), and with TERM=dumb."""
    terminal = bool(getattr(sys.stderr, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"
    if terminal and not json_mode and rich_available():
        return RichProgress()
    return PlainProgress()
