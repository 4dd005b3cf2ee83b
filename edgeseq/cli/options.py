"""Options more than one command takes, declared once, and the one parser every list option uses.

Choices come from the library's enums; numbers are parsed by the types of numbers.py (finite, in range, counts
under stated maxima). A bad value is a click.BadParameter (exit 2) in one line. A list option takes a comma list,
the option repeated, or both (`--quant int8,fp16`). The paths a command writes are options of outputs.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from edgeseq.core.errors import EdgeseqError
from edgeseq import models, recipes
from edgeseq.cli.aliases import deprecated
from edgeseq.cli.numbers import (  # noqa: F401  (the value types every option uses, re-exported)
    FRACTION, MAX_BATCH, MAX_COUNT, MAX_RUNS, MAX_SECONDS, MAX_THREADS, MAX_WORKERS, PERCENTAGE_POINTS,
    SAMPLE_TEST_DIGITS, SECONDS, SEED, Finite, batch_size, counted, one_line_text, positive, positive_int,
    positive_up_to, thread_count)
from edgeseq.runtimes import TFLiteBackend
from edgeseq.runtimes.table import kernels_value

F = TypeVar("F", bound=Callable[..., Any])
Callback = Callable[[click.Context, click.Parameter, Any], Any]
Item = Callable[[str], Any] | click.ParamType

DATA_HELP = ("'sample' (shipped MNIST sample, offline), 'mnist' (Keras download/cache), 'uea:NAME' (a UEA/UCR set"
             " the `ts` extra ships, e.g. uea:BasicMotions), a folder of MNIST IDX files / mnist.npz, your own"
             " labelled sequences as .npz (x_train, y_train, x_test, y_test; optional labels, lengths_train,"
             " lengths_test), or a UEA/UCR NAME_TRAIN.ts / NAME_TEST.ts pair.")
INTEGERS = "positive integers separated by commas, e.g. 1,8,32"


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, in the order written."""
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


# --- values --------------------------------------------------------------------------------------------

def runtime_name(text: str) -> Any:
    from edgeseq.runtimes import runtime_names  # noqa: PLC0415

    return runtime_names(text)[0]       # an unknown name: ValueError listing the valid ones


def comma_list(item: Item, expected: str | None = None, one: str | None = None) -> Callback:
    """A callback parsing a list option into a tuple of distinct values, or None when it is not given.

    Each value given ('a,b,c'; a `multiple` option may be given several times) is split at commas, and every
    item parsed with `item`: a function (ValueError: a bad item) or a click type. `expected` ends an item's
    error (e.g. "positive integers separated by commas, e.g. 1,8,32"). With `one` (a noun, e.g. "thread
    count") the command can use only one value: it returns that value, and several are a usage error naming
    the command."""
    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        texts = [value] if isinstance(value, str) else [str(v) for v in value or ()]
        if not texts:
            return None
        parts = []
        for text in texts:
            found = [part.strip() for part in text.split(",") if part.strip()]
            if not found:
                raise click.BadParameter(f"expected {expected or 'a value'}, got {text!r}")
            parts += found
        try:
            values = tuple(item.convert(part, param, ctx) if isinstance(item, click.ParamType) else item(part)
                           for part in parts)
        except ValueError as err:
            raise click.BadParameter(f"{err}; expected {expected}" if expected else str(err)) from err
        twice = next((part for k, part in enumerate(parts) if values[k] in values[:k]), None)
        if twice is not None:
            raise click.BadParameter(f"{twice!r} is given twice")
        if one is None:
            return values
        if len(values) > 1:
            raise click.BadParameter(f"`{ctx.info_name}` uses one {one}, not several ({','.join(texts)})")
        return values[0]
    return parse


def list_option(*decls: str, item: Item = str, expected: str | None = None, default: str | None = None,
                metavar: str = "X[,X...]", help: str = "", tail: str = "") -> Callable[[F], F]:
    """A list option: a comma list, repeatable; the value is a tuple of distinct items, or None when not given
    and without a `default` (itself a comma list, e.g. "1"). `tail` ends the help (e.g. a mode's defaults)."""
    return click.option(*decls, multiple=True, default=(default,) if default is not None else (),
                        show_default=default is not None, metavar=metavar, callback=comma_list(item, expected),
                        help=" ".join(filter(None, (help, "Repeatable.", tail))))


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


def limit_option(default: int | None = None) -> Callable[[F], F]:
    """--limit N: the first N test samples (validate, quant-debug, drift, train, sweep)."""
    return click.option("--limit", type=int, default=default, show_default=default is not None, callback=positive,
                        metavar="N", help="Use only the first N test samples" + ("." if default else " (default: all)."))


def limit_split_options() -> Callable[[F], F]:
    """--limit-train N and --limit N (the test samples, as in validate; --limit-test is its old spelling) for
    train and sweep."""
    return compose(click.option("--limit-train", type=int, default=None, callback=positive, metavar="N",
                                help="Use only the first N training samples."),
                   limit_option(),
                   deprecated("--limit-test", "--limit", "limit", type=int, metavar="N", callback=positive))


def reference_option(help: str) -> Callable[[F], F]:
    """--reference FILE: what a file is compared with (validate, quant-debug, drift)."""
    return click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                        help=help)


def quant_option(help: str) -> Callable[[F], F]:
    """--quant: recipe names, checked against the chosen formats by `chosen_recipes`."""
    names = "; ".join(f"{f.value}: {', '.join(recipes.recipe_names(f))}" for f in recipes.Format)
    return list_option("--quant", "quants", metavar="RECIPE[,RECIPE...]",
                       help=f"{help}, e.g. int8,fp16 ({names}). Default: every recipe.")


def chosen_recipes(formats: list[recipes.Format], quants: tuple[str, ...] | None) -> list[recipes.Recipe]:
    """The recipes --quant names for `formats` (all without --quant); an unknown one is a usage error."""
    try:
        return recipes.select(formats, list(quants or ()))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--quant") from err


def calibration_size_option() -> Callable[[F], F]:
    return click.option("--calibration-size", type=int, default=500, show_default=True, callback=positive,
                        metavar="N", help="Training samples that calibrate the int8, int16x8 and static recipes.")


def device_option(help: str) -> Callable[[F], F]:
    """--device NAME: a device's name in results (bench: this machine's; export --pick-from: whose measurements)."""
    return click.option("--device", "device", default=None, callback=one_line_text, help=help)


def max_loss_pp_option(help: str) -> Callable[[F], F]:
    return click.option("--max-loss-pp", type=Finite(0, 100), default=None, metavar="PP", help=help)


def streaming_option(help: str) -> Callable[[F], F]:
    return click.option("--streaming", is_flag=True, help=help)


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


def seed_option(help: str | None = None) -> Callable[[F], F]:
    return click.option("--seed", type=SEED, default=0, show_default=True, help=help)


def epochs_seed_options() -> Callable[[F], F]:
    return compose(click.option("--epochs", type=int, default=3, show_default=True, callback=positive), seed_option())


# --- runtime options -----------------------------------------------------------------------------------

def runtime_option(default: str | None, help: str) -> Callable[[F], F]:
    return list_option("--runtime", "wanted", item=runtime_name, default=default, metavar="NAME[,NAME...]",
                       help=help)


def tflite_backend_option() -> Callable[[F], F]:
    return click.option("--tflite-backend", type=click.Choice([b.value for b in TFLiteBackend]),
                        default="auto", show_default=True,
                        help="Force a TFLite interpreter (auto: LiteRT, else tflite-runtime, else tf).")


def tflite_kernels_option(default: str | None = "xnnpack", tail: str = "") -> Callable[[F], F]:
    """--kernels (also --tflite-kernels): the kernel settings each runtime runs a file on (validate, bench, fuzz)."""
    return list_option("--kernels", "--tflite-kernels", "tflite_kernels", item=kernels_value, default=default,
                       metavar="SETTING[,SETTING...]", expected="xnnpack, builtin, reference, ort-optimized or"
                       " ort-unoptimized, separated by commas", tail=tail, help="Kernel settings, a row each:"
                       " LiteRT's xnnpack (its default), builtin (no delegate), reference; onnxruntime's ort-optimized"
                       " (its default) and ort-unoptimized (no graph optimisation). E.g. xnnpack,builtin,reference."
                       " Each runtime takes its own. --tflite-kernels is the same option.")


def threads_option(several: bool, help: str, default: str | None = "1", tail: str = "") -> Callable[[F], F]:
    """--threads: a list where the command measures each count, else exactly one count (an int)."""
    if several:
        return list_option("--threads", item=thread_count, expected=INTEGERS, default=default, metavar="N[,N...]",
                           help=help, tail=tail)
    return click.option("--threads", default=default, show_default=default is not None, metavar="N",
                        callback=comma_list(thread_count, INTEGERS, one="thread count"), help=help)


def batch_option(default: str | None = "1", tail: str = "") -> Callable[[F], F]:
    return list_option("--batch", "batches", item=batch_size, expected=INTEGERS, default=default,
                       metavar="N[,N...]", help="Batch sizes, e.g. 1,8,32.", tail=tail)


def runtime_options(runtimes: str | None, runtimes_help: str, several_threads: bool,
                    threads_help: str) -> Callable[[F], F]:
    """--runtime, --tflite-backend and --threads, as validate takes them."""
    return compose(runtime_option(runtimes, runtimes_help), tflite_backend_option(),
                   threads_option(several_threads, threads_help))
