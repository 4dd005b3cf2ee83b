"""`setup`: what edgeseq needs beyond Python, installed where edgeseq is installed (edgeseq.runtimes.node_setup,
edgeseq.export.metadata_setup). Each writes only the folder it names, says what it does on stderr, and fails in
one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def _say(text: str) -> None:
    click.echo(text, err=True)


@click.group()
def setup() -> None:
    """Install what edgeseq needs beyond Python: the app runtimes under Node (js), the metadata venv (metadata).

    Example: edgeseq setup js
    """


@setup.command("js")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Where to install (default: edgeseq/js under $XDG_DATA_HOME, else ~/.local/share). Set"
                   " EDGESEQ_JS_DIR to it when it is not the default.")
def setup_js(folder: Path | None) -> None:
    """The app runtimes under Node (onnxruntime-node, onnxruntime-web, LiteRT.js; playwright-core for browser
    tests): edgeseq's bridge and its pinned npm lock copied into the folder, then `npm ci` there (no install
    scripts). Needs Node 20+ and npm.

    Example: edgeseq setup js && edgeseq validate models --runtime onnxruntime-node,litertjs
    """
    from edgeseq.runtimes.node_setup import setup_js as install  # noqa: PLC0415

    done = install(folder, _say)
    click.echo(f"the app runtimes are in {done}"
               + ("" if folder is None else f" (set EDGESEQ_JS_DIR={done} where it is not the default)"))


@setup.command("metadata")
@click.option("--venv", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DIR",
              help="Where to make the venv (default: edgeseq/metadata-venv under $XDG_DATA_HOME, else"
                   " ~/.local/share). Set EDGESEQ_METADATA_PYTHON to DIR/bin/python when it is not the default.")
def setup_metadata(venv: Path | None) -> None:
    """The metadata venv: tflite-support 0.4.4 (TFLITE_METADATA's writer and reader) in a Python 3.10/3.11 venv
    of its own, from the pins edgeseq ships; export then writes standard metadata into .tflite files.

    Example: edgeseq setup metadata
    """
    from edgeseq.export.metadata_setup import setup_metadata as make  # noqa: PLC0415

    python, version = make(venv, _say)
    click.echo(f"the metadata venv is ready: {python} ({version})")


COMMANDS: tuple[Any, ...] = (setup,)
