"""`bench`'s modes in one table: plain `bench` measures one point per file, runtime and thread count;
`bench --scaling` a grid of sequence lengths × batches × threads; `bench --profile` the time per operator at
batch 1. Each option whose default differs between them, or that goes with some modes only, is a row with each
mode's default. The options' help, the mode flags' help and what a command line that leaves an option out gets
are all read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from edgeseq.cli.aliases import OLD_SPELLING


class _NotHere:
    def __repr__(self) -> str:
        return "NOT_HERE"


NOT_HERE: Any = _NotHere()        # the option does not go with this mode


MODE_NAMES = ("plain", "scaling", "profile")     # plain `bench`, `bench --scaling`, `bench --profile`


@dataclass(frozen=True)
class ModeDefault:
    flag: str
    plain: Any          # without a mode flag
    scaling: Any        # with --scaling
    profile: Any = NOT_HERE     # with --profile

    def of(self, mode: str) -> Any:
        return getattr(self, mode)


MODES: dict[str, ModeDefault] = {      # bench's parameter name -> its defaults in each mode
    "batches": ModeDefault("--batch", (1,), (1, 2, 4, 8, 16, 32, 64, 128, 256)),
    "threads": ModeDefault("--threads", (1,), (1, 2), (1,)),
    "warmup": ModeDefault("--warmup", 50, 3, 10),
    "min_runs": ModeDefault("--min-runs", 300, 10, 100),
    "min_seconds": ModeDefault("--min-seconds", 2.0, 0.5),
    "lengths": ModeDefault("--lengths", NOT_HERE, (28, 56, 112, 224, 448)),
    "plot_path": ModeDefault("--plot", NOT_HERE, None),
    "csv_path": ModeDefault("--csv", None, NOT_HERE),
    "host": ModeDefault("--host", None, NOT_HERE),
    "ssh_config": ModeDefault("--ssh-config", None, NOT_HERE),
    "remote_python": ModeDefault("--remote-python", "python3", NOT_HERE),
    "tflite_kernels": ModeDefault("--kernels", ("xnnpack",), NOT_HERE),
}


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _flags(modes: list[str]) -> str:
    return " or ".join(f"--{mode}" for mode in modes)


def mode_help(name: str) -> str:
    """The end of an option's help: its default in each mode, or the modes it goes with."""
    row = MODES[name]
    others = [mode for mode in MODE_NAMES[1:] if row.of(mode) is not NOT_HERE]
    if row.plain is NOT_HERE:
        shown = {_show(row.of(mode)) for mode in others if row.of(mode) is not None}
        return f"[with {_flags(others)} only" + (f"; default: {shown.pop()}]" if len(shown) == 1 else "]")
    parts = [f"default: {_show(row.plain)}"] if row.plain is not None else []
    parts += [f"with --{mode}: {_show(row.of(mode))}" for mode in others if row.of(mode) != row.plain]
    missing = [mode for mode in MODE_NAMES[1:] if mode not in others]
    parts += [f"not with {_flags(missing)}"] if missing else []
    return f"[{'; '.join(parts)}]"


def mode_defaults(mode: str) -> str:
    """The defaults a mode changes, as options: '--batch 1,2,... --threads 1,2 ...'."""
    return " ".join(f"{row.flag} {_show(row.of(mode))}" for row in MODES.values()
                    if NOT_HERE not in (row.plain, row.of(mode)) and row.plain != row.of(mode))


def scaling_defaults() -> str:
    return mode_defaults("scaling")


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
    device: str | None
    out: Path | None
    csv_path: Path | None
    host: str | None
    remote_python: str | None
    ssh_config: Path | None
    lengths: tuple[int, ...] | None
    plot_path: Path | None
    tflite_kernels: tuple[str, ...] | None = None     # LiteRT's kernel settings (plain bench only)

    @property
    def files(self) -> list[Path]:
        return list(self.paths) or [Path("models")]


def resolve(ctx: click.Context, scaling: bool, profile: bool = False) -> BenchArgs:
    """The command's values in its mode: an option left out takes the mode's default; an option of other modes
    only is a usage error (exit 2), and so are two mode flags at once."""
    from click.core import ParameterSource  # noqa: PLC0415

    if scaling and profile:
        raise click.UsageError("--profile does not go with --scaling: one mode at a time")
    mode = "profile" if profile else "scaling" if scaling else "plain"
    values = {name: value for name, value in ctx.params.items()          # (an old spelling: merged when run)
              if name not in MODE_NAMES and not name.endswith(OLD_SPELLING)}
    for name, row in MODES.items():
        default = row.of(mode)
        if ctx.get_parameter_source(name) is ParameterSource.DEFAULT:
            values[name] = None if default is NOT_HERE else default
        elif default is NOT_HERE:
            raise click.UsageError(f"{row.flag} does not go with --{mode}" if mode != "plain" else
                                   f"{row.flag} goes with "
                                   f"{_flags([m for m in MODE_NAMES[1:] if row.of(m) is not NOT_HERE])}")
    return BenchArgs(**values)
