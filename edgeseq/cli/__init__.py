"""The `edgeseq` command: thin Click wrappers over library functions.

Each command parses its options, calls one library function and renders the result: a table (render.py) or
JSON with --json on stdout; progress and logs on stderr (edgeseq.core.progress). Every EdgeseqError becomes one
line on stderr and exit 1, here; a bad option value is a usage error (exit 2). Commands live by stage:
build.py (train, export, run), check.py (validate, inspect), fuzz.py (fuzz), setup.py (setup js, setup metadata), measure.py (bench, report), quant.py
(quant-debug), stream.py (drift), sweep.py (sweep), app.py (pack, demo). Options shared by several commands are declared once in
options.py (a list option takes a comma list or repetition, through one parser), the paths a command writes in
outputs.py (checked when parsed, before any work), bench's modes (plain, --scaling, --profile) and their defaults
in bench_modes.py. Importing this package never imports TensorFlow.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from edgeseq.cli import app, build, check, fuzz, measure, quant, setup, stream, sweep
from edgeseq.core.errors import EdgeseqError, os_error_line, shown
from edgeseq.core.quiet import VERBOSE_ENV, quiet_native_logs

DEBUG_ENV = "EDGESEQ_DEBUG"


class EdgeseqGroup(click.Group):
    """Turns domain errors and the system's refusals of a path (OSError) into one line (control characters
    escaped: a path with a newline is still one line), and KeyboardInterrupt into exit 130, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EdgeseqError as err:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            raise click.ClickException(shown(str(err).strip()) or type(err).__name__) from err
        except OSError as err:      # a path the system refuses (a name too long, ...): its cause, in one line
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            raise click.ClickException(os_error_line(err)) from err
        except click.ClickException as err:     # a usage error quoting a path: on one line too
            err.message = shown(err.message)
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=EdgeseqGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgeseq")
@click.option("--verbose", is_flag=True, help="Show TensorFlow's and the runtimes' own log lines.")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(verbose: bool, debug: bool) -> None:
    """edgeseq: train, export, validate and benchmark small sequence classifiers (SimpleRNN, GRU, LSTM or your
    own Keras model) on any labelled sequence data; MNIST read row by row is the demo."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    if debug:
        os.environ[DEBUG_ENV] = "1"
    quiet_native_logs()


for _command in (*app.COMMANDS, *build.COMMANDS, *check.COMMANDS, *fuzz.COMMANDS, *measure.COMMANDS, *quant.COMMANDS, *setup.COMMANDS, *stream.COMMANDS, *sweep.COMMANDS):
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="edgeseq")
