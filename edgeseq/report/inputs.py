"""The report's inputs: RESULTS/{train,export,validate,bench}.json, what `edgeseq <step> --json` printed.

Every row is read back through the dataclass that wrote it (`TrainResult`, `ExportResult`, `ParityReport`,
`BenchResult`: their fields are the schema), so a missing field or a wrong type is a one-line DataError naming
the file and the row. The few checks a field's type cannot express are kept here (`SEMANTIC_CHECKS`).
Also here: the machine fingerprints and data identities the rows record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.bench.graph_choice import GraphChoice
from edgeseq.bench.runner import BenchResult
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.export.exporter import ExportResult
from edgeseq.core.fileio import read_json
from edgeseq.data import units_of
from edgeseq.core.rows import out_of_range
from edgeseq.core.layout import plain_name
from edgeseq.health import Health
from edgeseq.parity.compare import ParityReport
from edgeseq.train import TrainResult

NAME_FIELDS = ("model", "format", "recipe")          # a row's names: layout.plain_name's rule
INPUT_FILES = ("train.json", "export.json", "validate.json", "bench.json")
ROW_CLASSES: dict[str, Any] = {"train.json": TrainResult, "export.json": ExportResult,
                               "validate.json": ParityReport, "bench.json": BenchResult}


@dataclass(frozen=True)
class Inputs:
    folder: str
    train: tuple[TrainResult, ...]
    export: tuple[ExportResult, ...]
    validate: tuple[ParityReport, ...]
    bench: tuple[BenchResult, ...]


def _validate_row(row: ParityReport) -> str | None:
    return "passed without an accuracy" if row.passed and row.accuracy is None else out_of_range(row)


def _bench_row(row: BenchResult) -> str | None:
    if row.status == "ok" and (row.batch is None or row.p50_us is None):
        return "status ok without batch and p50_us"
    if row.status == "ok" and not row.p50_us:
        return "status ok with a p50_us of 0"
    return _graph_choice(row) or _footprint(row) or out_of_range(row)


def _footprint(row: BenchResult) -> str | None:
    """What is wrong with a row's footprint (TFLM's memory plan): the figures --ram and --flash judge are byte counts."""
    if row.footprint is None:
        return None
    figures = [row.footprint.get(k) for k in ("arena_bytes", "flash_bytes")]
    if any(isinstance(v, bool) or not isinstance(v, int) or v <= 0 for v in figures):
        return "footprint without positive integer arena_bytes and flash_bytes"
    return None


def _graph_choice(row: BenchResult) -> str | None:
    """What is wrong with a row's graph_choice (it must read back as bench wrote it; its names are names)."""
    if row.graph_choice is None:
        return None
    try:
        choice = GraphChoice.from_dict(row.graph_choice)
        for name in (choice.device, choice.model, choice.format, choice.recipe, choice.fastest, choice.runtime):
            if name is not None:
                plain_name(name, "graph_choice name")
    except EdgeseqError as err:
        return str(err)
    if any(p50 <= 0 for _, p50 in choice.p50_us):
        return "graph_choice holds a p50_us that is not positive"
    return None


def _export_row(row: ExportResult) -> str | None:
    return "status ok without a path" if row.status == "ok" and not row.path else out_of_range(row)


# What a row's field types cannot say: per input file, a check returning what is wrong (or None).
SEMANTIC_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "validate.json": _validate_row, "bench.json": _bench_row, "export.json": _export_row}


def _where(name: str, number: int, row: Any) -> str:
    """`validate.json row 3 (models/rnn/rnn-fp32.tflite)`: the file, the row and what the row is about."""
    about = (row.get("path") or row.get("model")) if isinstance(row, dict) else None
    return f"{name} row {number}" + (f" ({about})" if isinstance(about, str) else "")


def read_row(name: str, number: int, row: Any) -> Any:
    """Row `number` (from 1) of input file `name` as its result dataclass; else a one-line DataError."""
    cls = ROW_CLASSES[name]
    where = _where(name, number, row)
    try:
        result = cls.from_dict(row)
    except DataError as err:  # from_dict names the class where it does not know the file: say which row
        text = str(err)
        raise DataError(where + text[len(cls.__name__):] if text.startswith(cls.__name__)
                        else f"{where}: {text}") from err
    for field_name in NAME_FIELDS:          # names a file's key (and figure names) are built from, never paths
        if getattr(result, field_name, None) is not None:
            plain_name(getattr(result, field_name), field_name, where)
    check = SEMANTIC_CHECKS.get(name)
    problem = check(result) if check else None
    if problem:
        raise DataError(f"{where}: {problem}")
    return result


def _load(folder: Path, name: str) -> tuple[Any, ...]:
    try:
        rows = read_json(folder / name, name)
    except EdgeseqError as err:
        raise DataError(str(err)) from err
    if not isinstance(rows, list):
        raise DataError(f"{name} in {folder} is a JSON {type(rows).__name__}, expected the list that"
                        f" `edgeseq {name[:-5]} --json` prints")
    if not rows:
        raise DataError(f"{name} in {folder} has no rows")
    return tuple(read_row(name, number, row) for number, row in enumerate(rows, 1))


def read_inputs(results: Path) -> Inputs:
    """The four --json outputs in `results`, checked row by row (a one-line DataError naming the file)."""
    results = Path(results)
    if not results.is_dir():
        raise DataError(f"results folder not found: {results}")
    train, export, validate, bench = (_load(results, name) for name in INPUT_FILES)
    return Inputs(str(results), train, export, validate, bench)


def architectures(inputs: Inputs) -> list[str]:
    """The architectures the results are about: those trained, then any other that was exported."""
    return list(dict.fromkeys([r.model for r in inputs.train] + [r.model for r in inputs.export]))


def training_health(inputs: Inputs) -> dict[str, Health]:
    """Each trained (or adopted) model's training-health checks, where train.json recorded them."""
    return {r.model: r.checked_health for r in inputs.train if r.checked_health is not None}


def digits_measured(inputs: Inputs) -> int | None:
    """How many test sequences validate measured accuracy on (the most any row used)."""
    return max((r.digits for r in inputs.validate), default=0) or None


# ---------------------------------------------------------------- environment and data identity

def environments(inputs: Inputs) -> tuple[dict[str, Any], ...]:
    """The distinct machine fingerprints of the bench rows, with the thread count they were measured with."""
    seen: dict[str, dict[str, Any]] = {}
    for row in inputs.bench:
        env = dict(row.environment)
        env.setdefault("threads", row.threads)
        seen.setdefault(json.dumps(env, sort_keys=True), env)
    return tuple(seen.values())


def data_identities(inputs: Inputs) -> dict[str, Any]:
    """The data each model was trained on (train.json) and the distinct data validate measured on."""
    checked = {json.dumps(r.data, sort_keys=True): r.data for r in inputs.validate if r.data}
    return {"train": {r.model: r.data for r in inputs.train}, "validate": list(checked.values())}


def sequence_units(data: dict[str, Any]) -> str:
    """What the report calls the data's samples: 'digits' for MNIST (whose identities carry no shape), else
    'sequences'."""
    return units_of(*data["train"].values(), *data["validate"])


RUN_ONLY = "fp32_gemm_peak"


def input_warnings(envs: tuple[dict[str, Any], ...], data: dict[str, Any]) -> tuple[str, ...]:
    """What makes the figures of these results hard to compare with each other."""
    out = []
    machines = {json.dumps({k: v for k, v in env.items() if not k.startswith(RUN_ONLY)}, sort_keys=True)
                for env in envs}              # a run's own readings (its GEMM peak) do not make another machine
    if len(machines) > 1:
        out.append(f"bench.json rows come from {len(machines)} different environments: latencies may not compare")
    identities = [*data["train"].values(), *data["validate"]]
    if len({json.dumps(d.get("sha256"), sort_keys=True) for d in identities}) > 1:
        out.append("train.json and validate.json name different data (their sha256 differ)")
    counts = sorted({str(d.get("test_count")) for d in data["validate"]})
    if len(counts) > 1:
        out.append(f"validate.json rows used different numbers of test {sequence_units(data)} ({', '.join(counts)})")
    return tuple(out)
