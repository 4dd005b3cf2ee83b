"""The paths a command writes (--out, --plot, --csv), declared once and checked when they are parsed: before
any work, creating nothing. A wrong suffix or an existing folder where a file goes is a usage error (exit 2);
a folder that cannot be created or written is an OutputError (exit 1), as edgeseq.core.fileio says it. The files
themselves are written with edgeseq.core.fileio's atomic writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
Callback = Callable[[click.Context, click.Parameter, Any], Any]


def output_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--out: a folder that exists and is writable, or can be created (nothing is created yet)."""
    if value is not None:
        from edgeseq.core.fileio import check_output_dir  # noqa: PLC0415

        check_output_dir(value)
    return value


def new_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """--out of a command that writes a whole folder (pack, demo): new or empty, and writable."""
    if value is not None:
        from edgeseq.core.fileio import check_new_folder  # noqa: PLC0415

        check_new_folder(value)
    return value


def output_file(suffix: str, draws: bool = False) -> Callback:
    """A file option the command writes: its name ends in `suffix`, its folder can be written (nothing is
    created yet); with `draws`, matplotlib must be installed."""
    def check(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.suffix.lower() != suffix:
            raise click.BadParameter(f"{str(value)!r} does not end in {suffix}")
        from edgeseq.core.fileio import check_output_file  # noqa: PLC0415

        check_output_file(value)
        if draws:
            from edgeseq.core.plotting import require_matplotlib  # noqa: PLC0415

            require_matplotlib()
        return value
    return check


def out_option(default: Path | None = Path("models"), help: str | None = None) -> Callable[[F], F]:
    """--out DIR: the folder a command writes into (a file there is an OutputError, as for any folder)."""
    return click.option("--out", type=click.Path(path_type=Path), default=default, show_default=default is not None,
                        callback=output_folder, help=help)


def new_folder_option(help: str, required: bool = True) -> Callable[[F], F]:
    """--out DIR of a command that writes a whole folder (pack, demo): new or empty; required unless the command
    has another mode (pack --check)."""
    return click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=required,
                        callback=new_folder, metavar="DIR", help=help)


def plot_option(help: str) -> Callable[[F], F]:
    """--plot FILE.png (needs matplotlib)."""
    return click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        metavar="FILE.png", callback=output_file(".png", draws=True), help=help)


def csv_option(help: str) -> Callable[[F], F]:
    return click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        metavar="FILE.csv", callback=output_file(".csv"), help=help)


def junit_xml_option(help: str) -> Callable[[F], F]:
    """--junit-xml FILE.xml: a JUnit XML report for CI systems."""
    return click.option("--junit-xml", "junit_xml", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        metavar="FILE.xml", callback=output_file(".xml"), help=help)
