"""`bench`'s two modes in one table: plain `bench` measures one point per file, runtime and thread count;
`bench --scaling` a grid of sequence lengths × batches × threads. Each option whose default differs between
them, or that goes with one mode only, is a row with both defaults. The options' help, the --scaling flag's
help and what a command line that leaves an option out gets are all read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click


class _NotHere:
    def __repr__(self) -> str:
        return "NOT_HERE"


NOT_HERE: Any = _NotHere()        # the option does not go with this mode


@dataclass(frozen=True)
class ModeDefault:
    flag: str
    plain: Any          # without --scaling
    scaling: Any        # with --scaling


MODES: dict[str, ModeDefault] = {      # bench's parameter name -> its defaults in each mode
    "batches": ModeDefault("--batch", (1,), (1, 2, 4, 8, 16, 32, 64, 128, 256)),
    "threads": ModeDefault("--threads", (1,), (1, 2)),
    "warmup": ModeDefault("--warmup", 50, 3),
    "min_runs": ModeDefault("--min-runs", 300, 10),
    "min_seconds": ModeDefault("--min-seconds", 2.0, 0.5),
    "lengths": ModeDefault("--lengths", NOT_HERE, (28, 56, 112, 224, 448)),
    "plot_path": ModeDefault("--plot", NOT_HERE, None),
    "csv_path": ModeDefault("--csv", None, NOT_HERE),
    "host": ModeDefault("--host", None, NOT_HERE),
    "ssh_config": ModeDefault("--ssh-config", None, NOT_HERE),
    "remote_python": ModeDefault("--remote-python", "python3", NOT_HERE),
}


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def mode_help(name: str) -> str:
    """The end of an option's help: its default in each mode, or the mode it goes with."""
    row = MODES[name]
    if row.plain is NOT_HERE:
        return "[with --scaling only" + ("]" if row.scaling is None else f"; default: {_show(row.scaling)}]")
    if row.scaling is NOT_HERE:
        return "[not with --scaling]" if row.plain is None else f"[default: {_show(row.plain)}; not with --scaling]"
    return f"[default: {_show(row.plain)}; with --scaling: {_show(row.scaling)}]"


def scaling_defaults() -> str:
    """The defaults --scaling changes, as options: '--batch 1,2,... --threads 1,2 ...'."""
    return " ".join(f"{row.flag} {_show(row.scaling)}" for row in MODES.values()
                    if NOT_HERE not in (row.plain, row.scaling) and row.plain != row.scaling)


@dataclass(frozen=True)
class BenchArgs:
    """What `bench` was asked, every option the command line left out at its mode's default (None: not in
    this mode)."""
    paths: tuple[Path, ...]
    wanted: tuple[Any, ...] | None          # RuntimeName values; None: every runtime that loads the file
    tflite_backend: str
    threads: tuple[int, ...]
    batches: tuple[int, ...]
    warmup: int
    min_runs: int
    min_seconds: float
    no_verify: bool
    as_json: bool
    device_name: str | None
    out: Path | None
    csv_path: Path | None
    host: str | None
    remote_python: str | None
    ssh_config: Path | None
    lengths: tuple[int, ...] | None
    plot_path: Path | None

    @property
    def files(self) -> list[Path]:
        return list(self.paths) or [Path("models")]


def resolve(ctx: click.Context, scaling: bool) -> BenchArgs:
    """The command's values in its mode: an option left out takes the mode's default; an option of the other
    mode only is a usage error (exit 2)."""
    from click.core import ParameterSource  # noqa: PLC0415

    values = {name: value for name, value in ctx.params.items() if name != "scaling"}
    for name, row in MODES.items():
        default = row.scaling if scaling else row.plain
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT:
            values[name] = None if default is NOT_HERE else default
        elif default is NOT_HERE:
            raise click.UsageError(f"{row.flag} does not go with --scaling" if scaling else
                                   f"{row.flag} goes with --scaling")
    return BenchArgs(**values)
