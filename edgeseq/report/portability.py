"""The portability table: exported file × runtime library (one column per library the runtimes table,
edgeseq.runtimes.table, makes one: LiteRT, tflite-runtime, onnxruntime, OpenVINO, then the app runtimes), each
cell pass, fail or can't load, with the reason.

A cell comes from the validate rows of this run where one ran the file in that library (the full test
digits), else from the export's measurement on the golden samples (the manifest's `portability`), else from
what is known without running (a missing kernel, a contrib op domain), else "not measured".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeseq.export.exporter import ExportResult
from edgeseq.parity.compare import ParityReport
from edgeseq.portability import TABLE_COLUMNS, Cell, cells_of, loads
from edgeseq.runtimes.table import column_names, off_default

# a validate row's backend string starts with its library's name (the runtimes table's `names`; the app runtimes'
# first: "onnxruntime-node ..." is not onnxruntime's, the CompiledModel's label names ai-edge-litert after
# "LiteRT CompiledModel")
LIBRARY_COLUMN = column_names()
STATUS_TEXT = {"pass": "pass", "fail": "fail", "inconclusive": "inconclusive", "cannot-load": "can't load"}


def column_of(backend: str | None) -> str | None:
    return next((column for prefix, column in LIBRARY_COLUMN if (backend or "").lower().startswith(prefix)), None)


def _from_validate(row: ParityReport) -> Cell:
    if row.accuracy is None:
        return Cell("", "cannot-load", True, reason=row.reason)
    return Cell("", "pass" if row.passed else row.outcome or "fail", True, reason=row.reason)


def _text(cell: Cell | None, where: str) -> str:
    if cell is None:
        return "not measured"
    text = STATUS_TEXT.get(cell.status, cell.status)
    text += f" ({where})" if cell.measured else " (known, not run)"
    return f"{text}: {cell.reason}" if cell.reason and cell.status != "pass" else text


def portability_rows(export: tuple[ExportResult, ...], validate: tuple[ParityReport, ...]) -> list[list[str]]:
    """One row per exported file: its name, then one cell per column of TABLE_COLUMNS."""
    measured: dict[tuple[str, str], Cell] = {}
    for row in validate:
        if off_default(row.runtime, row.kernels):    # a library's cell: on its default kernels
            continue
        column = column_of_row(row.backend, row.reason)
        if row.sha256 and column:
            measured[(row.sha256, column)] = _from_validate(row)
    rows = []
    for result in export:
        if result.status != "ok" or not result.sha256:
            continue
        recorded = cells_of(result.portability)
        suffix = Path(result.path or "").suffix
        cells = []
        for column in TABLE_COLUMNS:
            if not loads(column, suffix):
                cells.append("—")
            elif (cell := measured.get((result.sha256, column))) is not None:
                cells.append(_text(cell, "validate"))
            else:
                cells.append(_text(recorded.get(column), "export, golden samples"))
        rows.append([Path(result.path or "").name, *cells])
    return rows


def column_of_row(backend: str | None, reason: str | None) -> str | None:
    """A validate row's column: from its backend, else (a file that never loaded has no backend) from its
    reason, which names the library that refused it."""
    lowered = (reason or "").lower()
    return column_of(backend) or next((column for prefix, column in LIBRARY_COLUMN if prefix in lowered), None)


def table(export: tuple[ExportResult, ...], validate: tuple[ParityReport, ...]) -> tuple[Any, ...] | None:
    rows = portability_rows(export, validate)
    return ("table", ["file", *TABLE_COLUMNS], rows) if rows else None
