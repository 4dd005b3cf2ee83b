"""Old spellings of options that named one thing twice, kept for one release: `--limit-test` (now `--limit`, as in
validate, quant-debug and drift), bench's `--device-name` (now `--device`, as in export --pick-from) and
validate's `--min-delta-pp` (now `--max-loss-pp`, as in export and run: `--min-delta-pp -1` is `--max-loss-pp 1`).

An old spelling still works, says on stderr that it is deprecated and what replaces it, and is hidden from --help;
giving both spellings of one option is a usage error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
OLD_SPELLING = "__old_spelling"      # the hidden parameter of an old spelling: <dest>__old_spelling


def deprecated(old: str, new: str, dest: str, convert: Callable[[Any], Any] | None = None,
               **option: Any) -> Callable[[F], F]:
    """A hidden option `old` for the parameter `dest` of the option `new` (put it below that option): its value,
    `convert`ed (validate's --min-delta-pp D is --max-loss-pp -D), is the command's `dest` when given, with a
    warning on stderr."""
    hidden = f"{dest}{OLD_SPELLING}"

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def merged(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(hidden)
            params = click.get_current_context().params      # what commands reading ctx.params see (bench)
            params.pop(hidden, None)
            if value is not None:
                if kwargs.get(dest) is not None:
                    raise click.UsageError(f"{old} and {new} are one option: give {new} only")
                click.echo(f"warning: {old} is deprecated and goes in the next release: use {new}", err=True)
                kwargs[dest] = params[dest] = convert(value) if convert else value
            return command(*args, **kwargs)
        return click.option(old, hidden, default=None, hidden=True, **option)(merged)  # type: ignore[return-value]
    return decorate
