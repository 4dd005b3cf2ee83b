"""Options more than one command takes, declared once, and the one comma-list parser every list option uses.

Choices come from the library's enums. A bad value is a click.BadParameter (exit 2) in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from edgeseq.errors import EdgeseqError
from edgeseq import models
from edgeseq.runtimes import TFLiteBackend

F = TypeVar("F", bound=Callable[..., Any])
Callback = Callable[[click.Context, click.Parameter, Any], Any]

DATA_HELP = ("'sample' (shipped, offline), 'mnist' (Keras download/cache), or a folder of IDX files /"
             " mnist.npz.")


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, in the order written."""
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


# --- values --------------------------------------------------------------------------------------------

def positive(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value <= 0:
        raise click.BadParameter("must be a positive number")
    return value


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number <= 0:
        raise ValueError(f"{text!r} is not a positive integer")
    return number


def runtime_name(text: str) -> Any:
    from edgeseq.runtimes import runtime_names  # noqa: PLC0415

    return runtime_names(text)[0]       # an unknown name: ValueError listing the valid ones


def comma_list(item: Callable[[str], Any], expected: str | None = None, one: str | None = None) -> Callback:
    """A callback parsing 'a,b,c' with `item` (ValueError: a bad item) into a tuple of distinct values.

    `expected` ends an item's error (e.g. "positive integers separated by commas, e.g. 1,8,32"). With `one`
    (a noun, e.g. "thread count") the command can use only one value: it returns that value, and several are
    a usage error naming the command."""
    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        if not parts:
            raise click.BadParameter(f"expected {expected or 'a value'}, got {value!r}")
        try:
            values = tuple(item(part) for part in parts)
        except ValueError as err:
            raise click.BadParameter(f"{err}; expected {expected}" if expected else str(err)) from err
        twice = next((part for k, part in enumerate(parts) if values[k] in values[:k]), None)
        if twice is not None:
            raise click.BadParameter(f"{twice!r} is given twice")
        if one is None:
            return values
        if len(values) > 1:
            raise click.BadParameter(f"`{ctx.info_name}` uses one {one}, not several ({value})")
        return values[0]
    return parse


def files_under(*suffixes: str) -> Callback:
    """An argument callback: PATHS must name files or folders holding files with these suffixes; an empty
    or missing folder is a usage error."""
    def check(ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]) -> tuple[Path, ...]:
        from edgeseq.artifacts import collect_files  # noqa: PLC0415

        try:
            collect_files(list(value) or [Path("models")], suffixes)
        except EdgeseqError as err:
            raise click.BadParameter(str(err), param=param) from err
        return value
    return check


# --- shared options ------------------------------------------------------------------------------------

def json_option(help: str = "Print results as JSON on stdout.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def data_option(help: str = DATA_HELP) -> Callable[[F], F]:
    return click.option("--data", "data_spec", default="sample", show_default=True, help=help)


def out_option(default: Path | None = Path("models"), help: str | None = None) -> Callable[[F], F]:
    return click.option("--out", type=click.Path(path_type=Path), default=default,
                        show_default=default is not None, help=help)


def model_name(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """'all' (the two seeds) or one model of the variant space; anything else is a one-line usage error."""
    if value is None or value == "all":
        return value
    try:
        return models.variant(value).name
    except ValueError as err:
        raise click.BadParameter(str(err)) from err


def model_option() -> Callable[[F], F]:
    return click.option("--model", "model_name", default="all", show_default=True, callback=model_name,
                        metavar="all|rnn|lstm|<cell>-<units>x<layers>-<activation>",
                        help="'all' (the two seed models), a seed (rnn, lstm), or a variant such as lstm-64x2-tanh:"
                             f" cell {'|'.join(c.value for c in models.Cell)}, units"
                             f" {'|'.join(map(str, models.UNITS))}, layers {'|'.join(map(str, models.LAYERS))},"
                             f" activation {'|'.join(a.value for a in models.Activation)}.")


def no_verify_option(help: str = "Skip the sha256 check against each file's manifest.") -> Callable[[F], F]:
    return click.option("--no-verify", is_flag=True, help=help)


def paths_argument(*suffixes: str) -> Callable[[F], F]:
    return click.argument("paths", nargs=-1, type=click.Path(path_type=Path), callback=files_under(*suffixes))


def epochs_seed_options() -> Callable[[F], F]:
    return compose(click.option("--epochs", type=int, default=3, show_default=True, callback=positive),
                   click.option("--seed", type=int, default=0, show_default=True))


# --- runtime options -----------------------------------------------------------------------------------

INTEGERS = "positive integers separated by commas, e.g. 1,8,32"


def runtime_option(default: str | None, help: str) -> Callable[[F], F]:
    return click.option("--runtime", "wanted", default=default, show_default=default is not None,
                        callback=comma_list(runtime_name), help=help)


def tflite_backend_option() -> Callable[[F], F]:
    return click.option("--tflite-backend", type=click.Choice([b.value for b in TFLiteBackend]),
                        default="auto", show_default=True,
                        help="Force a TFLite interpreter (auto: LiteRT, else tflite-runtime, else tf).")


def threads_option(several: bool, help: str) -> Callable[[F], F]:
    """--threads: a comma list where the command measures each count, else exactly one count (an int)."""
    parse = comma_list(positive_int, INTEGERS, one=None if several else "thread count")
    return click.option("--threads", default="1", show_default=True, metavar="N[,N...]" if several else "N",
                        callback=parse, help=help)


def batch_option() -> Callable[[F], F]:
    return click.option("--batch", "batches", default="1", show_default=True, metavar="N[,N...]",
                        callback=comma_list(positive_int, INTEGERS),
                        help="Comma-separated batch sizes, e.g. 1,8,32.")


def runtime_options(runtimes: str | None, runtimes_help: str, several_threads: bool,
                    threads_help: str) -> Callable[[F], F]:
    """--runtime, --tflite-backend and --threads, as validate and bench take them."""
    return compose(runtime_option(runtimes, runtimes_help), tflite_backend_option(),
                   threads_option(several_threads, threads_help))
