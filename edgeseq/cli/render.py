"""Rendering results for a terminal: tables whose columns are data, JSON, the one-line failure, and the library's
option errors as Click's usage errors.

A table is a tuple of `Column(header, cell)` specs; `cell(row)` gives the value. A value that explains
something (a failure reason) is a `Note`: the cell shows `text [n]` and the reason goes below the table as
`[n] reason`, so a long reason never stretches the table. Any other long cell wraps within its column.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import click

from edgeseq.core.errors import OptionError

CELL_WIDTH = 44           # a cell longer than this wraps onto more lines (paths break after a '/')


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Any], Any]
    width: int = CELL_WIDTH


@dataclass(frozen=True)
class Note:
    """A cell shown as `text [n]`, with `note` listed below the table as `[n] note` (equal notes share n)."""
    text: str
    note: str | None


def outcome(text: str, reason: str | None) -> Note:
    """A status cell with its reason as a note: `failed [1]`."""
    return Note(text, reason)


def noted(text: str | None, inline: int = 12) -> str | Note:
    """A free-text verdict: a short one stays in the cell, a longer one becomes a note (`FAIL: why` ->
    `FAIL [n]`)."""
    if not text or len(text) <= inline:
        return text or ""
    head, sep, rest = text.partition(": ")
    return Note(head, rest) if sep and len(head) <= inline else Note("", text)


def attr(name: str, fmt: str | None = None, scale: float = 1.0) -> Callable[[Any], str]:
    """A cell: the row's attribute `name` (or key, for dict rows), formatted with `fmt`; None stays empty."""
    def cell(row: Any) -> str:
        value = row.get(name) if isinstance(row, dict) else getattr(row, name)
        if value is None:
            return ""
        return format(value * scale, fmt) if fmt else str(value)
    return cell


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width`, broken after '/' or ' ' where possible."""
    if len(text) <= width:
        return [text]
    lines, current = [], ""
    for token in re.split(r"(?<=[/ ])", text):
        while len(token) > width:
            if current:
                lines.append(current.rstrip())
                current = ""
            lines.append(token[:width])
            token = token[width:]
        if len(current) + len(token) > width:
            lines.append(current.rstrip())
            current = ""
        current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def table(columns: Sequence[Column], rows: Iterable[Any]) -> str:
    """The rows as an aligned text table, then the numbered notes."""
    notes: dict[str, int] = {}

    def text(value: Any) -> str:
        if isinstance(value, Note):
            if not value.note:
                return value.text
            number = notes.setdefault(value.note, len(notes) + 1)
            return f"{value.text} [{number}]".strip()
        return "" if value is None else str(value)

    body = [[wrap(text(c.cell(row)), c.width) for c in columns] for row in rows]
    head = [[c.header] for c in columns]
    widths = [max(len(line) for cells in [head, *body] for line in cells[i]) for i in range(len(columns))]
    lines = []
    for number, cells in enumerate([head, *body]):
        for k in range(max(len(cell) for cell in cells)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(cells, widths)]
            lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    note_width = min(max(shutil.get_terminal_size((100, 24)).columns, 60), 120)
    for note, number in notes.items():
        lines.append(textwrap.fill(f"[{number}] {note}", note_width, subsequent_indent="    ",
                                   break_long_words=False, break_on_hyphens=False))
    return "\n".join(lines)


def echo_table(columns: Sequence[Column], rows: Iterable[Any]) -> None:
    click.echo(table(columns, rows))


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2))


def fail(message: str) -> None:
    """End a command that printed its results but failed: one 'Error: ...' line on stderr, exit 1."""
    raise click.ClickException(message)


@contextmanager
def usage_errors() -> Iterator[None]:
    """The library's OptionError as Click's usage error (exit 2): a bad value of the option it names, else
    options that do not go together."""
    try:
        yield
    except OptionError as err:
        if err.option:
            raise click.BadParameter(str(err), param_hint=err.option) from err
        raise click.UsageError(str(err)) from err
