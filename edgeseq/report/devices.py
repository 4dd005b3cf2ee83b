"""Bench results from other devices, merged with a run's parity results: one verdict per device.

A device's results are what `edgeseq bench --json` printed there (a bench.json, or a folder holding one).
Rows are grouped by the device name they carry (`bench --device`, else the hostname) and joined to the
run's files on sha256, never on file names. A row about a file the run did not build or train is an error:
its figures would be about something else; except a graph candidate's (a row bench compared graphs on: its
`graph_choice`), which goes to the report's graph section (report.graphs) only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeseq.bench.runner import BenchResult
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.layout import shown
from edgeseq.report.inputs import Inputs, read_row, training_health
from edgeseq.report.join import FileRow, file_rows
from edgeseq.report.verdict import ArchVerdict, Budgets, verdicts
from edgeseq.core.fileio import read_json


@dataclass(frozen=True)
class DeviceReport:
    device: str
    environment: dict[str, Any]
    rows: tuple[FileRow, ...]
    verdict: tuple[ArchVerdict, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "environment": self.environment,
                "verdict": [v.to_dict() for v in self.verdict], "files": [r.to_dict() for r in self.rows]}


def device_of(row: BenchResult) -> str:
    return str(row.environment.get("device") or row.environment.get("cpu") or "unnamed device")


def read_device_results(paths: list[Path]) -> tuple[BenchResult, ...]:
    """Every bench row in the given bench.json files (or folders holding one)."""
    rows: list[BenchResult] = []
    for path in paths:
        path = Path(path)
        source = path / "bench.json" if path.is_dir() else path
        payload = read_json(source, "device results")
        if not isinstance(payload, list) or not payload:
            raise DataError(f"device results {source}: expected the non-empty list `edgeseq bench --json` prints")
        try:
            rows += [read_row("bench.json", number, row) for number, row in enumerate(payload, 1)]
        except EdgeseqError as err:
            raise DataError(f"device results {shown(source)}: {err}") from err
    return tuple(rows)


def _known(inputs: Inputs) -> set[str]:
    return {r.sha256 for r in (*inputs.train, *inputs.export, *inputs.validate) if r.sha256}


def device_reports(inputs: Inputs, extra: tuple[BenchResult, ...], budgets: Budgets, models: list[str],
                   test_digits: int | None) -> tuple[DeviceReport, ...]:
    """The run's own bench rows and the extra ones, one report per device name."""
    known = _known(inputs)
    strangers = sorted({r.path for r in extra if r.sha256 not in known and r.graph_choice is None})
    if strangers:
        raise DataError(f"device results name {len(strangers)} file(s) this run did not build (no matching"
                        f" sha256), e.g. {strangers[0]}: benchmark the run's own files")
    by_device: dict[str, list[BenchResult]] = {}
    for row in (*inputs.bench, *(r for r in extra if r.sha256 in known)):   # graph candidates: report.graphs
        by_device.setdefault(device_of(row), []).append(row)
    reports = []
    for device, rows in by_device.items():
        device_inputs = replace(inputs, bench=tuple(rows))
        joined = file_rows(device_inputs)
        reports.append(DeviceReport(device, dict(rows[0].environment), joined,
                                    verdicts(joined, budgets, models, test_digits,
                                             training_health(inputs))))
    return tuple(reports)
