"""The numbers an option takes, checked once, at the edge: every float option is `Finite` (NaN and infinity
refused, then its range), every count is positive and at most a stated maximum. A bad value is a
click.BadParameter (exit 2) in one line. options.py declares the options with these types.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, ClassVar

import click

# Counts have stated maxima, enforced when parsed (a usage error above them):
MAX_THREADS = 256            # threads per runtime: onnxruntime starts one OS thread per requested thread
MAX_WORKERS = 256            # sweep --workers: processes at a time
MAX_BATCH = 4096             # a batch: bench --scaling's most (plain bench: SAMPLE_TEST_DIGITS)
SAMPLE_TEST_DIGITS = 1000    # the shipped sample's test digits, plain bench's: its largest batch
MAX_RUNS = 1_000_000         # --min-runs, --warmup
MAX_SECONDS = 86_400.0       # --min-seconds, --search-seconds, --bench-seconds: a day
MAX_COUNT = 10_000_000       # --limit, --limit-train/test, --calibration-size, --epochs, --batch-size
MAX_BUDGET_BYTES = 4 * 1024 ** 3   # --ram, --flash: a 32-bit microcontroller addresses at most 4 GiB


def positive_up_to(maximum: int) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for a count option: positive, at most `maximum`."""
    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and value <= 0:
            raise click.BadParameter("must be a positive number")
        if value is not None and value > maximum:
            raise click.BadParameter(f"{value} is more than {maximum:,}, the most edgeseq takes")
        return value
    return check


positive = positive_up_to(MAX_COUNT)


def counted(maximum: int, why: str) -> Callable[[str], int]:
    """An item parser for a list of counts: positive integers at most `maximum` (`why` says why that many)."""
    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            number = 0
        if number <= 0:
            raise ValueError(f"{text!r} is not a positive integer")
        if number > maximum:
            raise ValueError(f"{text!r} is more than {maximum}, {why}")
        return number
    return parse


positive_int = counted(MAX_COUNT, "the most edgeseq takes")
thread_count = counted(MAX_THREADS, "the most threads edgeseq asks a runtime for")
batch_size = counted(MAX_BATCH, "the largest batch edgeseq measures")


class Finite(click.FloatRange):
    """A float option: finite (NaN and infinity are refused: a NaN bound opens every gate, as no comparison
    with it is ever true) and within the range given, as click.FloatRange checks it. Every float option uses
    it."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return super().convert(number, param, ctx)


class ByteSize(click.ParamType):
    """A memory budget in bytes: a whole number, or one with K (1024) or M (1024 K): 256K, 1M, 1.5M, 512000.
    At most MAX_BUDGET_BYTES, and a whole number of bytes."""

    name = "bytes"
    UNITS: ClassVar[dict[str, int]] = {"": 1, "K": 1024, "M": 1024 ** 2}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        found = re.fullmatch(r"(\d+(?:\.\d+)?)([KkMm]?)", str(value).strip())
        size = float(found[1]) * self.UNITS[found[2].upper()] if found else 0.0
        if size <= 0 or size != int(size):
            self.fail(f"{value!r} is not a size in bytes: a positive number, or one with K (1024) or M (1024 K),"
                      " e.g. 256K, 1M, 512000", param, ctx)
        if size > MAX_BUDGET_BYTES:
            self.fail(f"{value!r} is more than {MAX_BUDGET_BYTES // 1024 ** 2:,}M, a 32-bit microcontroller's whole"
                      " address space", param, ctx)
        return int(size)


BYTES = ByteSize()
PERCENTAGE_POINTS = Finite(-100, 100)          # an accuracy change in pp
FRACTION = Finite(0, 1)                        # an accuracy or an agreement
SECONDS = Finite(0, MAX_SECONDS)
SEED = click.IntRange(0, 2**32 - 1)
TEXT_MAX = 100                                   # characters in a free-text value (a device name, an address)


def one_line_text(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A free-text option that ends up in results and reports (a device name, a Ray address): not empty, one
    printable line, at most TEXT_MAX characters; never silently taken as absent."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("must not be empty")
    if not value.isprintable():
        raise click.BadParameter(f"{value!r} holds a control character (a newline, a tab, ...)")
    if len(value) > TEXT_MAX:
        raise click.BadParameter(f"is longer than {TEXT_MAX} characters")
    return value              # what numpy's and TensorFlow's generators take
