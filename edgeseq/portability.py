"""Where a file runs: measured, not guessed.

At export every runtime library installed where the file was built loads the file and runs it on the
golden sequences; the ones that pass the recipe's tolerance against the golden outputs are its `runs_on`,
the others its `does_not_run_on` with the reason. What is known without running (kernels a runtime
lacks, contrib op domains) is added with `measured: false`. No TensorFlow is imported here: the tf.lite
backend is tried in a child process, like every TFLite and ONNX runtime.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.artifacts import FileFacts
from edgeseq.core.environment import installed as is_installed
from edgeseq.core.errors import EdgeseqError
from edgeseq.parity.check import check
from edgeseq.recipes import Tolerance
from edgeseq.runtimes.table import RUNTIMES, RuntimeName, TFLiteBackend, portability_columns, portable_libraries
from edgeseq.runtimes.guard import Evaluator, SharedChild


@dataclass(frozen=True)
class Backend:
    """One library that runs files of one format, as the report's portability table names it."""
    label: str                       # its Library's label in the runtimes table (edgeseq.runtimes.table)
    suffix: str
    runtime: RuntimeName
    module: str                      # importable when installed
    tflite_backend: str = "auto"


# every library that runs exported files, from the runtimes table (edgeseq.runtimes.table), in its order
BACKENDS: tuple[Backend, ...] = tuple(
    Backend(lib.label, suffix, row.name, lib.module, (lib.tflite_backend or TFLiteBackend.AUTO).value)
    for row, lib in portable_libraries() for suffix in row.suffixes)
# the columns of the report's portability table, from the runtimes table (tf.lite is none: LiteRT's kernels)
TABLE_COLUMNS = portability_columns()

# Kernels a runtime is known to lack, as measured with it: (backend, its version, op, first op version it
# cannot run). tflite-runtime 2.14 is its last release; loading a dynamic-range file there says
# "Didn't find op for builtin opcode 'FULLY_CONNECTED' version '12'".
KNOWN_MISSING_KERNELS: tuple[tuple[str, str, str, int], ...] = (
    ("tflite-runtime", "2.14", "FULLY_CONNECTED", 12),
)


def loads(label: str, suffix: str) -> bool:
    """Whether the backend labelled `label` runs files with this suffix (from the BACKENDS table)."""
    return any(b.label == label and b.suffix == suffix for b in BACKENDS)


CONTRIB_DOMAINS = {"com.microsoft": "ONNX Runtime's contrib ops (com.microsoft domain)"}


@dataclass(frozen=True)
class Cell:
    """One file in one runtime library."""
    backend: str
    status: str                      # pass | fail | inconclusive | cannot-load
    measured: bool
    library: str | None = None       # name and version as the adapter reports it
    reason: str | None = None
    agreement: float | None = None
    delta_accuracy_pp: float | None = None
    max_abs_diff: float | None = None
    samples: int | None = None       # judged on the first `samples` only (its runtime's step budget), else all

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def budget(runtime: RuntimeName, sequences: np.ndarray) -> int:
    """How many of `sequences` (N, T, F) a runtime is judged on: all, or as many whole sequences as its
    `portability_steps` allow (at least one)."""
    steps = RUNTIMES[runtime].portability_steps
    if steps is None or sequences.ndim < 2:
        return len(sequences)
    return max(1, min(len(sequences), steps // max(int(sequences.shape[1]), 1)))


def installed(backend: Backend) -> bool:
    """Whether its library can run here (a Python module installed; Node and an npm package, for the app runtimes)."""
    library = next((lib for lib in RUNTIMES[backend.runtime].libraries if lib.label == backend.label), None)
    return library.installed() if library is not None else is_installed(backend.module)


def known_limits(facts: FileFacts) -> list[Cell]:
    """What is known without running the file: kernels a runtime lacks, contrib domains it needs."""
    cells = []
    for label, release, op, version in KNOWN_MISSING_KERNELS:
        used = [v for v in facts.op_versions.get(op, []) if v >= version]
        if used:
            cells.append(Cell(label, "cannot-load", False, library=f"{label} {release}",
                              reason=f"op {op} version {max(used)}: {label} {release} has no kernel for it"))
    for domain in facts.domains:
        if domain in CONTRIB_DOMAINS:
            cells.append(Cell("ONNX runtimes without contrib ops", "cannot-load", False,
                              reason=f"needs {CONTRIB_DOMAINS[domain]}"))
    return cells


def measure(path: Path, sequences: np.ndarray, labels: np.ndarray, reference: np.ndarray, tolerance: Tolerance,
            backends: tuple[Backend, ...] = BACKENDS, unit: str = "digits",
            shown_as: str | None = None, shared: SharedChild | None = None) -> list[Cell]:
    """Every installed backend for this file type runs it on `sequences`, judged against `reference`. A refusal
    names the file by its name, or as `shown_as` (export measures the partial file under its final name).
    `shared`: the guard child that export's files share (else a fresh child per file and backend)."""
    cells = []
    for backend in backends:
        if backend.suffix != Path(path).suffix or not installed(backend):
            continue
        used = budget(backend.runtime, sequences)
        with Evaluator(sequences[:used], 1, backend.tflite_backend, shared) as evaluator:
            try:
                checked = check(evaluator, Path(path), backend.runtime, reference, labels, tolerance, unit)
            except EdgeseqError as err:
                name = shown_as or Path(path).name
                reason = str(err).replace(str(path), name).replace(Path(path).name, name)
                cells.append(Cell(backend.label, "cannot-load", True, reason=reason))
                continue
        figures, judgement = checked.figures, checked.judgement
        reason = judgement.reason
        if used < len(sequences):
            said = f"judged on the first {used} of {len(sequences)} {unit} ({backend.runtime.value}'s step budget)"
            reason = f"{reason}; {said}" if reason else None
        cells.append(Cell(backend.label, judgement.outcome, True, _library(checked.outcome.backend), reason,
                          round(figures["agreement"], 4), figures["delta_accuracy_pp"],
                          float(f"{figures['max_abs_diff']:.3g}"), used if used < len(sequences) else None))
    return cells


def _library(backend: str) -> str:
    """'ai-edge-litert 2.3.0, XNNPACK, 1 thread(s)' -> 'ai-edge-litert 2.3.0'."""
    return backend.split(",")[0].strip()


def portability(facts: FileFacts, measured: list[Cell], sequences: str) -> dict[str, Any]:
    """The manifest's `portability` section."""
    measured_labels = {c.backend for c in measured}
    known = [c for c in known_limits(facts) if c.backend not in measured_labels]
    return {
        "measured_on": sequences,
        "runs_on": [c.to_dict() for c in measured if c.status == "pass"],
        "does_not_run_on": [c.to_dict() for c in measured if c.status != "pass"] + [c.to_dict() for c in known],
        "tflite_op_versions": facts.op_versions or None,
        "onnx_opsets": facts.opsets or None,
        "onnx_domains": facts.domains or None,
    }


def cells_of(section: dict[str, Any] | None) -> dict[str, Cell]:
    """A manifest's portability section as cells keyed by backend label."""
    section = section or {}
    cells = {}
    for row in [*section.get("runs_on", []), *section.get("does_not_run_on", [])]:
        if isinstance(row, dict) and isinstance(row.get("backend"), str) and isinstance(row.get("status"), str):
            cells[row["backend"]] = Cell(**{k: row.get(k) for k in Cell.__dataclass_fields__ if k in row})
    return cells
