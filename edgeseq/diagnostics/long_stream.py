"""`edgeseq drift FILE --stream STEPS`: a step model fed one long stream, test sequences back to back, beside its
fp32 step model (drift's reference), twice: with the reset the contract prescribes (all states zero at the start
of every sequence) and without any reset (the state runs on across sequences, as a device that never resets it).

For each mode it reports:
  answers     the accuracy at the sequence ends, of the file and the reference, their agreement there, the first
              step at which the two answers differ at all and the first sequence end at which they differ
  states      per state tensor: the range of values the file fed back, against the range its quantized input can
              hold (read from the QUANTIZE op on the state input of a TFLite file; float states have none), the
              saturation rate: the share of fed-back values at an end of that range (within half a step) or beyond
              it (clipped on the next step; an end at zero, where a relu state rests, is not counted), and the
              first step that fed back one
  over time   mean |file - reference| of the probabilities and of the states in WINDOWS equal slices of the stream
              (does the distance grow?)
and the reset rule the measurement supports: the state may run on when the file's accuracy at sequence ends
without reset is within RESET_BUDGET_PP of its accuracy with reset; otherwise it must be reset to zeros before
every sequence. Each file runs in a child process (long_stream_worker serves it), chunk after chunk, with its state
carried from chunk to chunk. Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core.errors import DataError, ModelError
from edgeseq.core.procs import WorkerError, WorkerSession
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.core.manifest import read_manifest
from edgeseq.data import Dataset
from edgeseq.diagnostics.drift import paired_step_models
from edgeseq.runtimes import RuntimeName, step_runtime_for

WORKER = "edgeseq.diagnostics.long_stream_worker"
CHUNK_SEQUENCES = 400          # sequences per child request: bounds memory (LSTM: 512 state values a step)
WINDOWS = 10
RESET_BUDGET_PP = 1.0
CHILD_TIMEOUT_S = 3600


@dataclass(frozen=True)
class StateStat:
    name: str
    units: int
    observed: tuple[float, float]                 # min, max of the values the file fed back
    quantized: tuple[float, float] | None         # what the state's quantized input holds (None: a float state)
    saturation: float | None                      # share of fed-back values at its ends or beyond (module docstring)
    first_saturated_step: int | None              # the first step (1-based) that fed back one
    mean_abs_diff: tuple[float, ...]              # per window, against the reference


@dataclass(frozen=True)
class StreamMode:
    reset: bool
    steps: int
    sequences: int
    file_accuracy: float                          # at the sequence ends
    reference_accuracy: float
    agreement: float                              # same answer at the sequence ends
    first_differing_step: int | None              # 1-based; None: never
    first_differing_end: int | None               # the step (1-based) of the first sequence end that differs
    file_overflow_step: int | None                # the first step (1-based) with a NaN or infinite state or output
    reference_overflow_step: int | None
    probability_diff: tuple[float, ...]           # mean |Δp| per window
    states: tuple[StateStat, ...]


@dataclass(frozen=True)
class LongStream:
    file: str
    reference: str
    runtime: str
    backend: str
    data: str
    modes: tuple[StreamMode, ...]
    rule: str
    may_run_on: bool
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """As JSON holds it: a non-finite figure (a state that overflowed) is null."""
        return _finite(asdict(self))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _saturated(values: np.ndarray, low: float, high: float, scale: float) -> np.ndarray:
    """Values the state's quantized input clips: within half a step of an end of its range, or beyond it. An end
    at zero is not counted: zero is exact, and a relu state rests there without being clipped."""
    half = scale / 2
    out = values >= high - half
    if low != 0.0:
        out |= values <= low + half
    return out


def _first_bad(steps: np.ndarray, p: np.ndarray, states: dict[str, np.ndarray]) -> int | None:
    bad = ~np.isfinite(p).all(axis=1)
    for values in states.values():
        bad |= ~np.isfinite(values).all(axis=1)
    hit = np.flatnonzero(bad)
    return int(steps[hit[0]] + 1) if hit.size else None


def _stream(dataset: Dataset, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Test sequences back to back, as many as reach `steps` (whole sequences): (sequences, T, F), labels."""
    per = dataset.x_test.shape[1]
    count = -(-steps // per)
    pick = np.arange(count) % len(dataset.x_test)
    return dataset.x_test[pick].astype(np.float32), np.asarray(dataset.y_test)[pick]


class _Stepper:
    """One file's stream in a WorkerSession's child, chunk by chunk, the state carried between chunks."""

    def __init__(self, session: WorkerSession, path: Path, runtime: RuntimeName, threads: int, backend: str,
                 folder: Path) -> None:
        self.session, self.path, self.runtime = session, path, runtime
        self.threads, self.tflite_backend, self.folder = threads, backend, folder
        self.state: dict[str, str] | None = None          # the last chunk's final state files
        self.backend = ""
        self.ranges: dict[str, list[float] | None] = {}

    def run(self, sequences: np.ndarray, reset: bool, tag: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        work = self.folder / tag
        work.mkdir(parents=True, exist_ok=True)
        np.save(work / "sequences.npy", sequences, allow_pickle=False)
        request = {"path": str(self.path), "runtime": self.runtime.value, "threads": self.threads,
                   "tflite_backend": self.tflite_backend, "sequences": str(work / "sequences.npy"), "reset": reset,
                   "state": self.state}
        answer = self.session.run(request, CHILD_TIMEOUT_S, work)
        if isinstance(answer, WorkerError):
            raise ModelError(f"{self.path}: {answer.describe(self.runtime.value, crashed='crashed on the stream')}")
        self.state = {name: str(work / file) for name, file in answer["final"].items()}
        self.backend, self.ranges = answer["backend"], answer["ranges"]
        states = {name: np.load(work / file, allow_pickle=False) for name, file in answer["states"].items()}
        return np.load(work / answer["probabilities"], allow_pickle=False), states


class _Mode:
    """Running figures of one mode over the chunks."""

    def __init__(self, names: list[str], total: int, per: int) -> None:
        self.names, self.total, self.per = names, total, per
        self.window = max(total // WINDOWS, 1)
        self.ends = {"file": [], "reference": [], "labels": []}
        self.first_step: int | None = None
        self.first_end: int | None = None
        self.overflow: dict[str, int | None] = {"file": None, "reference": None}
        self.diff = np.zeros(WINDOWS)
        self.state_diff = {n: np.zeros(WINDOWS) for n in names}
        self.counts = np.zeros(WINDOWS)
        self.low = {n: np.inf for n in names}
        self.high = {n: -np.inf for n in names}
        self.outside = {n: 0 for n in names}
        self.first_outside: dict[str, int | None] = {n: None for n in names}
        self.values = {n: 0 for n in names}
        self.done = 0

    def add(self, labels: np.ndarray, mine: tuple[np.ndarray, dict[str, np.ndarray]],
            ref: tuple[np.ndarray, dict[str, np.ndarray]], ranges: dict[str, list[float] | None]) -> None:
        p, q = mine[0], ref[0]
        steps = np.arange(self.done, self.done + len(p))
        for role, (probs, states) in (("file", mine), ("reference", ref)):
            if self.overflow[role] is None:
                self.overflow[role] = _first_bad(steps, probs, states)
        differ = np.flatnonzero(p.argmax(1) != q.argmax(1))
        if self.first_step is None and differ.size:
            self.first_step = int(steps[differ[0]] + 1)
        end_rows = np.arange(self.per - 1, len(p), self.per)
        ends_differ = np.flatnonzero(p[end_rows].argmax(1) != q[end_rows].argmax(1))
        if self.first_end is None and ends_differ.size:
            self.first_end = int(steps[end_rows[ends_differ[0]]] + 1)
        self.ends["file"].append(p[end_rows].argmax(1))
        self.ends["reference"].append(q[end_rows].argmax(1))
        self.ends["labels"].append(labels)
        slot = np.minimum(steps // self.window, WINDOWS - 1)
        with np.errstate(all="ignore"):                 # an overflowed state: inf and NaN, reported as such
            np.add.at(self.diff, slot, np.abs(p.astype(np.float64) - q).mean(axis=1))
        np.add.at(self.counts, slot, 1)
        for n in self.names:
            a, b = mine[1][n], ref[1][n]
            with np.errstate(all="ignore"):
                np.add.at(self.state_diff[n], slot, np.abs(a.astype(np.float64) - b).mean(axis=1))
            finite = a[np.isfinite(a)]
            if finite.size:
                self.low[n], self.high[n] = min(self.low[n], float(finite.min())), max(self.high[n], float(finite.max()))
            if ranges.get(n):
                at_end = _saturated(a, *ranges[n])
                outside = at_end.any(axis=1)
                self.outside[n] += int(at_end.sum())
                if self.first_outside[n] is None and outside.any():
                    self.first_outside[n] = int(steps[np.flatnonzero(outside)[0]] + 1)
            self.values[n] += a.size
        self.done += len(p)

    def result(self, reset: bool, units: dict[str, int], ranges: dict[str, list[float] | None]) -> StreamMode:
        file, ref, labels = (np.concatenate(self.ends[k]) for k in ("file", "reference", "labels"))
        counts = np.maximum(self.counts, 1)
        states = tuple(StateStat(n, units[n], (self.low[n], self.high[n]),
                                 tuple(ranges[n][:2]) if ranges.get(n) else None,
                                 self.outside[n] / max(self.values[n], 1) if ranges.get(n) else None,
                                 self.first_outside[n],
                                 tuple(float(v) for v in self.state_diff[n] / counts)) for n in self.names)
        return StreamMode(reset, self.done, len(labels), float((file == labels).mean()),
                          float((ref == labels).mean()), float((file == ref).mean()), self.first_step,
                          self.first_end, self.overflow["file"], self.overflow["reference"], tuple(float(v) for v in self.diff / counts), states)


def reset_rule(with_reset: StreamMode, without: StreamMode) -> tuple[str, bool]:
    """The rule the two modes support (module docstring), in words with its figures."""
    loss = (with_reset.file_accuracy - without.file_accuracy) * 100
    figures = (f"over {without.steps:,} steps ({without.sequences:,} sequences back to back), accuracy at the"
               f" sequence ends {without.file_accuracy * 100:.2f} % without reset vs {with_reset.file_accuracy * 100:.2f} %"
               " with it")
    if loss <= RESET_BUDGET_PP:
        return f"the state may run on across sequences: {figures}", True
    return f"reset every state to zeros before each sequence: {figures}", False


def long_stream(path: Path, steps: int, reference: Path | None = None, dataset: Dataset | str = "sample",
                threads: int = 1, tflite_backend: str = "auto", progress: ProgressLike = None,
                verify: bool = True) -> LongStream:
    """`path` (a step model, or a whole-sequence file with its step twin) against its reference on one stream of
    at least `steps` steps, with and without reset (module docstring)."""
    started = time.perf_counter()
    progress = as_progress(progress)
    if steps < 1:
        raise DataError(f"--stream must be a positive number of steps, not {steps}")
    mine, theirs, contract, dataset = paired_step_models(path, reference, dataset, verify)
    sequences, labels = _stream(dataset, steps)
    per = sequences.shape[1]
    names = [s.name for s in contract.states]
    units = {s.name: s.units for s in contract.states}
    chunks = range(0, len(sequences), CHUNK_SEQUENCES)
    modes = []
    runtime = step_runtime_for(mine.path)
    progress.log(f"stream: {len(sequences) * per:,} steps ({len(sequences):,} test {dataset.units} of {dataset.name}"
                 f" back to back), with and without reset; reference {theirs.path}")
    with tempfile.TemporaryDirectory(prefix="edgeseq-stream-") as tmp, WorkerSession(WORKER) as session, \
            progress.stage("stream", total=2 * len(chunks), unit="chunks") as stage:
        for reset in (True, False):
            sides = {role: _Stepper(session, file, step_runtime_for(file), threads, tflite_backend,
                                    Path(tmp) / role)
                     for role, file in (("file", mine.path), ("reference", theirs.path))}
            mode = _Mode(names, len(sequences) * per, per)
            for start in chunks:
                stage.begin(f"{'with' if reset else 'without'} reset, {dataset.units} {start + 1}-"
                            f"{min(start + CHUNK_SEQUENCES, len(sequences))}")
                part = sequences[start:start + CHUNK_SEQUENCES]
                ran = {role: side.run(part, reset, f"{int(reset)}-{start}") for role, side in sides.items()}
                mode.add(labels[start:start + CHUNK_SEQUENCES], ran["file"], ran["reference"], sides["file"].ranges)
                stage.advance()
            modes.append(mode.result(reset, units, sides["file"].ranges))
            backend = sides["file"].backend
    rule, may_run_on = reset_rule(modes[0], modes[1])
    notes = tuple(f"the {role} {side.named.name} is a whole-sequence file: its step model {side.path.name} was used"
                  for role, side in (("file", mine), ("reference", theirs)) if side.named is not None)
    return LongStream(str(mine.path), str(theirs.path), runtime.value, backend, dataset.name, tuple(modes), rule,
                      may_run_on, round(time.perf_counter() - started, 2), notes)


def record(result: LongStream) -> Path:
    """Write the rule and its figures into the step model's manifest (`step.reset_rule`; `drift --stream --record`),
    nothing else changed; the manifest's path. File names only: no machine path enters a manifest."""
    from edgeseq.core.fileio import write_json_atomic  # noqa: PLC0415
    from edgeseq.core.layout import manifest_path  # noqa: PLC0415

    path = Path(result.file)
    manifest = read_manifest(path)
    if manifest is None or manifest.step is None:
        raise DataError(f"{path} has no step model manifest to record the reset rule in")
    with_reset, without = result.modes
    entry = {"rule": result.rule, "may_run_on": result.may_run_on, "steps": without.steps, "data": result.data,
             "reference": Path(result.reference).name, "runtime": result.runtime,
             "accuracy_with_reset": round(with_reset.file_accuracy, 6),
             "accuracy_without_reset": round(without.file_accuracy, 6),
             "saturation_without_reset": {s.name: None if s.saturation is None else round(s.saturation, 6)
                                          for s in without.states},
             "measured_by": f"edgeseq drift {path.name} --stream {without.steps}"}
    target = manifest_path(path)
    write_json_atomic(target, manifest.replace(step={**manifest.step, "reset_rule": entry}).to_dict())
    return target
