"""`edgeseq drift`: per-timestep drift of a (quantized) step model from its reference, and early answers.

`drift(path, reference, dataset, limit)` feeds the same test digits row by row through the step file and its
reference (default: the fp32 step model of the same architecture beside it, `<arch>-fp32-step.<format>`, else
the other format's, as edgeseq.parity.reference resolves it), each in a child process (edgeseq.runtimes.guard),
and reports for every row t = 1..T:

  probabilities   mean and max |file - reference| of the class probabilities after row t
  state           mean and max |file - reference| of the recurrent state after row t, per state tensor (h1,
                  c1, ...: matched by name) and over all of them (pooled)
  accuracy        the accuracy of the argmax after row t (the answer if the sequence stopped there), for the
                  reference and the file, and their agreement (same top-1)

and in summary: each file's final accuracy, the first row at which its accuracy reaches 90 % of its final
accuracy ("rows to 90 %"), and whether the drift grows with time (`Growth`: the mean over the second half of the
rows against the first half, and a straight line fitted to the second half).

FILE may be a whole-sequence file: its step twin beside it (`<arch>-<recipe>-step.<format>`) is used, and the
result says so. The reference may be of the other format (an ONNX step file against the TFLite fp32 one); both
must have the same step contract. The result's dataclasses and the growth test are in drift_report.py.
Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core import layout
from edgeseq.data import Dataset, spec_of_manifest
from edgeseq.diagnostics.drift_report import (
    FRACTION, Diff, DriftFile, DriftReport, DriftRow, Growth, growth, rows_to_fraction)
from edgeseq.core.errors import DataError, EdgeseqError, ModelError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest
from edgeseq.integrity import check as check_integrity
from edgeseq.parity.reference import DRIFT, Resolved, is_float, resolve_reference, step_model
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.runtimes import step_runtime_for
from edgeseq.runtimes.guard import trace_in_child
from edgeseq.runtimes.step import contract_of
from edgeseq.step_contract import StepContract

__all__ = ["Diff", "DriftFile", "DriftReport", "DriftRow", "Growth", "drift", "growth", "rows_to_fraction",
           "same_contract"]

CHUNK = 2000            # sequences per child run: bounds memory (LSTM: 4 states x 128 units x 28 rows x 4 B = 57 kB one)


def _describe(contract: StepContract) -> str:
    states = ", ".join(f"{s.name}[{s.units}]" for s in contract.states)
    return f"row[{contract.features}] + {states} -> {contract.classes} classes"


def same_contract(path: Path, reference: Path) -> StepContract:
    """The contract both files share (states matched by name and width), or a one-line error."""
    mine, theirs = contract_of(path), contract_of(reference)

    def shape(c: StepContract) -> tuple[Any, ...]:
        return c.features, c.classes, tuple((s.name, s.units) for s in c.states)
    if shape(mine) != shape(theirs):
        raise EdgeseqError(f"{path} and its reference {reference} do not have the same step contract"
                           f" ({_describe(mine)} vs {_describe(theirs)}): not the same model")
    return mine


class _Totals:
    """Running sums and maxima over the chunks of sequences, per row."""

    def __init__(self, steps: int, names: list[str]) -> None:
        self.digits = 0
        self.correct = {"reference": np.zeros(steps), "file": np.zeros(steps)}
        self.agree = np.zeros(steps)
        self.sums = {name: np.zeros(steps) for name in ["probabilities", *names]}
        self.counts = {name: 0 for name in ["probabilities", *names]}
        self.maxima = {name: np.zeros(steps) for name in ["probabilities", *names]}
        self.names = names

    def add(self, labels: np.ndarray, ref: Any, mine: Any) -> None:
        self.digits += len(labels)
        ref_top, my_top = ref.probabilities.argmax(-1), mine.probabilities.argmax(-1)     # (T, N)
        self.correct["reference"] += (ref_top == labels[None, :]).sum(axis=1)
        self.correct["file"] += (my_top == labels[None, :]).sum(axis=1)
        self.agree += (ref_top == my_top).sum(axis=1)
        pairs = {"probabilities": (ref.probabilities, mine.probabilities)}
        pairs |= {name: (ref.states[name], mine.states[name]) for name in self.names}
        for name, (a, b) in pairs.items():
            diff = np.abs(b.astype(np.float64) - a.astype(np.float64)).reshape(a.shape[0], -1)   # (T, N*units)
            self.sums[name] += diff.sum(axis=1)
            self.counts[name] += diff.shape[1]
            self.maxima[name] = np.maximum(self.maxima[name], diff.max(axis=1, initial=0.0))

    def rows(self) -> tuple[DriftRow, ...]:
        n = max(self.digits, 1)
        state_count = sum(self.counts[s] for s in self.names)
        state_sum = sum((self.sums[s] for s in self.names), np.zeros_like(self.agree))
        state_max = np.max([self.maxima[s] for s in self.names], axis=0) if self.names else np.zeros_like(self.agree)
        out = []
        for t in range(len(self.agree)):
            states = {s: Diff(float(self.sums[s][t] / max(self.counts[s], 1)), float(self.maxima[s][t]))
                      for s in self.names}
            out.append(DriftRow(
                t + 1, float(self.correct["reference"][t] / n), float(self.correct["file"][t] / n),
                float(self.agree[t] / n),
                Diff(float(self.sums["probabilities"][t] / max(self.counts["probabilities"], 1)),
                     float(self.maxima["probabilities"][t])),
                Diff(float(state_sum[t] / max(state_count, 1)), float(state_max[t])), states))
        return tuple(out)


def _side(side: Resolved, runtime: str, backend: str, accuracy: np.ndarray, fraction: float) -> DriftFile:
    path, key = side.path, side.key
    return DriftFile(str(path), path.name, sha256_file(path), layout.format_of(path) or "",
                     key.model if key else None, key.recipe if key else None, runtime, backend,
                     float(accuracy[-1]) if accuracy.size else 0.0, rows_to_fraction(accuracy, fraction),
                     str(side.named) if side.named is not None else None)


def paired_step_models(path: Path, reference: Path | None, dataset: Dataset | str, verify: bool
                       ) -> tuple[Resolved, Resolved, StepContract, Dataset]:
    """The step model run for `path` (itself or its step twin) and its reference, each checked against its manifest
    (not with `verify` off), their shared contract, and the data (loaded if named), which must fit the file."""
    mine = step_model(Path(path), "file", DRIFT)
    for file in dict.fromkeys((Path(path), mine.path)):     # the file named, and the step twin run for it
        check_integrity(file, verify)
    theirs = resolve_reference(mine.path, reference, DRIFT, compatible=same_contract)
    if theirs.path.resolve() != mine.path.resolve():
        check_integrity(theirs.path, verify)
    contract = same_contract(mine.path, theirs.path)
    if isinstance(dataset, (str, Path)):
        from edgeseq import data  # noqa: PLC0415

        dataset = data.load(dataset)
    manifest = read_manifest(mine.path)
    if manifest is not None:
        spec_of_manifest(manifest).require(dataset.spec, f"{mine.path.name} cannot be fed {dataset.name}")
    return mine, theirs, contract, dataset


def drift(path: Path, reference: Path | None = None, dataset: Dataset | str = "sample", limit: int | None = None,
          threads: int = 1, tflite_backend: str = "auto", progress: ProgressLike = None,
          verify: bool = True) -> DriftReport:
    """Per-timestep drift of the step model `path` from `reference` on the first `limit` test digits of
    `dataset` (a Dataset, or 'sample' | 'mnist' | a path), and how early each answers (module docstring). Each
    file run is checked against its manifest first, as validate checks it (edgeseq.integrity; not with
    `verify` off)."""
    started = time.perf_counter()
    progress = as_progress(progress)
    mine, theirs, contract, dataset = paired_step_models(path, reference, dataset, verify)
    if limit is not None and limit <= 0:
        raise DataError(f"--limit must be a positive number of test sequences, not {limit}")
    sequences, labels = dataset.x_test[:limit], np.asarray(dataset.y_test[:limit])
    if len(sequences) == 0:
        raise DataError(f"no test {dataset.units} to compare on")
    progress.log(f"data: {dataset.name}, {len(sequences)} test {dataset.units}")
    same = mine.path.resolve() == theirs.path.resolve()
    runtimes = {"file": step_runtime_for(mine.path).value, "reference": step_runtime_for(theirs.path).value}
    names = [s.name for s in contract.states]
    totals = _Totals(int(sequences.shape[1]), names)
    backends: dict[str, str] = {}
    chunks = range(0, len(sequences), CHUNK)
    runs = [("reference", theirs.path)] + ([] if same else [("file", mine.path)])
    with tempfile.TemporaryDirectory(prefix="edgeseq-drift-") as tmp, \
            progress.stage("drift", total=len(chunks) * len(runs), unit="runs") as stage:
        for start in chunks:
            chunk = sequences[start:start + CHUNK]
            outcomes = {}
            for role, file in runs:
                stage.begin(f"{file} ({role}, {dataset.units} {start + 1}-{start + len(chunk)} of {len(sequences)})")
                workdir = Path(tmp) / role
                workdir.mkdir(exist_ok=True)
                t0 = time.perf_counter()
                outcomes[role] = trace_in_child(file, runtimes[role], chunk, workdir, keep_states=True,
                                                threads=threads, tflite_backend=tflite_backend)
                backends[role] = outcomes[role].backend
                stage.advance(detail=f"{len(chunk)} {dataset.units} x {chunk.shape[1]} rows in {time.perf_counter() - t0:.1f} s")
            if same:
                outcomes["file"] = outcomes["reference"]
                backends["file"] = backends["reference"]
            for role in ("reference", "file"):
                missing = [n for n in names if outcomes[role].states is None or n not in outcomes[role].states]
                if missing:
                    raise ModelError(f"{(theirs if role == 'reference' else mine).path}: no state output for"
                                     f" {', '.join(missing)}")
            totals.add(labels[start:start + len(chunk)], outcomes["reference"], outcomes["file"])
    rows = totals.rows()
    notes = []
    if same:
        notes.append(f"{mine.path.name} is its own reference: run once, the drift is zero by construction"
                     " (pass --reference to compare it with another file)")
    for role, side in (("file", mine), ("reference", theirs)):
        if side.named is not None:
            notes.append(f"the {role} {side.named.name} is a whole-sequence file: its step model {side.path.name} was used")
    if theirs.key is not None and not is_float(theirs.key.recipe):
        notes.append(f"the reference {theirs.path.name} is not an fp32 file ({theirs.key.recipe})")
    if layout.format_of(mine.path) != layout.format_of(theirs.path):
        notes.append(f"the reference is a .{layout.format_of(theirs.path)} file, run in {runtimes['reference']};"
                     f" the file in {runtimes['file']}")
    acc = {role: np.array([getattr(r, f"{role}_accuracy") for r in rows]) for role in ("reference", "file")}
    return DriftReport(
        file=_side(mine, runtimes["file"], backends["file"], acc["file"], FRACTION),
        reference=_side(theirs, runtimes["reference"], backends["reference"], acc["reference"], FRACTION),
        digits=len(sequences), timesteps=len(rows), contract=contract.to_dict(), rows=rows,
        state_growth=growth(np.array([r.state.mean for r in rows]), "state drift (mean |diff|)",
                            np.array([r.state.max for r in rows])),
        probability_growth=growth(np.array([r.probabilities.mean for r in rows]),
                                  "probability drift (mean |diff|)", np.array([r.probabilities.max for r in rows])),
        same_file=same, seconds=round(time.perf_counter() - started, 2),
        data=dataset.identity() | {"digits_used": len(sequences)}, notes=tuple(notes))
