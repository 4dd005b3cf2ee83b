"""Reading result rows back: `from_dict(ResultClass, row)` checks a JSON object against the frozen dataclass that
wrote it (its fields are the schema: no second, hand-kept list of keys) and builds the instance.

A required field that is missing, or a value of the wrong JSON type, is a one-line DataError naming the field.
Keys the dataclass does not know are ignored (results written by a newer edgeseq stay readable).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from functools import lru_cache
from typing import Any, TypeVar

from edgeseq.core.errors import DataError

T = TypeVar("T")


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _convert(value: Any, hint: Any, where: str) -> Any:
    """`value` as `hint` asks (None allowed only where the hint is Optional); DataError otherwise."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, where)
            except DataError as err:
                errors.append(err)
        raise errors[0]
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise DataError(f"{where} should be an object, found {_json_type(value)}")
        return from_dict(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise DataError(f"{where} should be true or false, found {value!r}")
        return value
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (hint is int and isinstance(value, float)
                                                                                and not value.is_integer()):
            raise DataError(f"{where} should be a number, found {value!r}")
        if not math.isfinite(value):        # NaN compares false with everything: it would pass every check
            raise DataError(f"{where} should be a finite number, found {value!r}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise DataError(f"{where} should be a string, found {_json_type(value)}")
        return value
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise DataError(f"{where} should be an object, found {_json_type(value)}")
        return value
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, list):
            raise DataError(f"{where} should be an array, found {_json_type(value)}")
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or hint) is tuple else items
    return value


def from_dict(cls: type[T], row: Any, where: str | None = None) -> T:
    """An instance of the dataclass `cls` from a JSON object, every field checked against its annotation."""
    where = where or cls.__name__
    if not isinstance(row, dict):
        raise DataError(f"{where} is a {_json_type(row)}, expected an object")
    hints = _hints(cls)
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in row:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DataError(f"{where} lacks {f.name}")
            continue
        values[f.name] = _convert(row[f.name], hints[f.name], f"{where}: {f.name}")
    return cls(**values)


# Figures a row holds and the range each must be in (every number is finite already: rows.from_dict).
FRACTIONS = ("accuracy", "reference_accuracy", "model_test_accuracy", "agreement")
NON_NEGATIVE = ("max_abs_diff", "mean_abs_diff", "p50_us", "p90_us", "p99_us", "mean_us", "std_us", "min_us",
                "step_p50_us", "step_p99_us", "throughput_dps", "import_ms", "load_ms", "first_inference_ms",
                "peak_rss_bytes", "rss_after_import_bytes", "file_memory_bytes", "size_bytes", "seconds", "digits",
                "flops", "bound_us", "bound_ratio")
POSITIVE = ("batch", "threads", "runs")


def out_of_range(row: Any) -> str | None:
    """The first figure of a results row outside its range (a negative latency, an accuracy above 1), or None."""
    for names, low, high, strict, words in ((FRACTIONS, 0.0, 1.0, False, "a fraction from 0 to 1"),
                                            (NON_NEGATIVE, 0.0, None, False, "at least 0"),
                                            (POSITIVE, 0.0, None, True, "positive"),
                                            (("delta_accuracy_pp",), -100.0, 100.0, False, "from -100 to 100 pp")):
        for name in names:
            value = getattr(row, name, None)
            if value is not None and (value < low or (strict and value == low)
                                      or (high is not None and value > high)):
                return f"{name} is {value!r}, not {words}"
    return None
