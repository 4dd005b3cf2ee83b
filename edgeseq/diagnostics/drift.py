"""`edgeseq drift`: per-timestep drift of a (quantized) step model from its reference, and early answers.

`drift(path, reference, dataset, limit)` feeds the same test digits row by row through the step file and its
reference (default: the fp32 step model of the same architecture beside it, `<arch>-fp32-step.<format>`, else
the other format's), each in a child process (edgeseq.runtimes.trace_worker), and reports for every row t = 1..T:

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
must have the same step contract. Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import layout
from edgeseq.artifacts import read_facts
from edgeseq.data import Dataset
from edgeseq.errors import DataError, EdgeseqError, ModelError
from edgeseq.fileio import read_manifest, sha256_file
from edgeseq.progress import ProgressLike, as_progress
from edgeseq.step_contract import StepContract
from edgeseq.runtimes.step import contract_of, is_step_facts
from edgeseq.runtimes.trace_worker import trace_in_child

CHUNK = 2000            # digits per child run: bounds memory (LSTM: 4 states x 128 units x 28 rows x 4 B = 57 kB a digit)
FRACTION = 0.9          # "rows to 90 % of the final accuracy"
ZERO = 1e-6             # a max |diff| below this, at every row, is no drift
GROWS = 1.5             # second-half mean / first-half mean at or above this: the drift grows with time
RISING = 0.2            # a line fitted to the second half rising by this share of its mean: still growing at T
FLOAT_RECIPE = "fp32"
STEP_RUNTIMES = {"tflite": "litert", "onnx": "onnxruntime"}   # the runtime that runs a step file of a format
OTHER_FORMAT = {"tflite": "onnx", "onnx": "tflite"}


@dataclass(frozen=True)
class Diff:
    """mean and max of |file - reference| over every digit and element at one row."""
    mean: float
    max: float


@dataclass(frozen=True)
class DriftRow:
    row: int                        # rows seen (1-based timestep t)
    reference_accuracy: float
    file_accuracy: float
    agreement: float                # share of digits whose top-1 is the same in both
    probabilities: Diff
    state: Diff                     # all state tensors pooled
    states: dict[str, Diff]         # per state tensor (h1, c1, ...)


@dataclass(frozen=True)
class Growth:
    """Whether a drift series grows with time, told simply."""
    metric: str
    first_half: float               # mean of the series over rows 1..T/2
    second_half: float              # ... over rows T/2+1..T
    ratio: float | None             # second_half / first_half (None where the first half is zero)
    late_change: float              # a line fitted to the second half: its rise across it / its mean
    peak_row: int                   # the row where the series is largest
    verdict: str                    # none | grows | grows-then-levels | flat | shrinks | n/a

    def short(self) -> str:
        """A few words, for a plot title."""
        ratio = "" if self.ratio is None else f", {self.ratio:.1f}x second half vs first"
        words = {"none": "zero at every row", "grows": f"grows with time{ratio}, still rising at the end",
                 "grows-then-levels": f"grows{ratio}, then levels off", "flat": f"flat{ratio}",
                 "shrinks": f"shrinks{ratio}", "n/a": "too few rows"}
        return f"{self.metric}: {words[self.verdict]}"

    def describe(self) -> str:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}x"
        words = {
            "none": "is zero at every row",
            "grows": f"grows with time ({ratio or 'from zero'} from the first to the second half of the rows,"
                     f" still rising at the last row: {self.late_change * 100:+.0f} % over the second half)",
            "grows-then-levels": f"grows over the first rows ({ratio or 'from zero'} from the first to the second"
                                 f" half), then levels off ({self.late_change * 100:+.0f} % over the second half,"
                                 f" peak at row {self.peak_row})",
            "flat": f"does not grow with time ({ratio} from the first to the second half of the rows)",
            "shrinks": f"shrinks with time ({ratio} from the first to the second half of the rows)",
            "n/a": "too few rows to tell",
        }
        return f"{self.metric} {words[self.verdict]}"


@dataclass(frozen=True)
class DriftFile:
    """One side of the comparison."""
    path: str
    name: str
    sha256: str
    format: str
    model: str | None               # architecture, from the manifest or the name
    recipe: str | None
    runtime: str
    backend: str
    final_accuracy: float
    rows_to_90: int | None          # first row whose accuracy >= FRACTION x final accuracy
    twin_of: str | None = None      # the whole-sequence file that was named, when its step twin was used


@dataclass(frozen=True)
class DriftReport:
    file: DriftFile
    reference: DriftFile
    digits: int
    timesteps: int
    contract: dict[str, Any]
    rows: tuple[DriftRow, ...]
    state_growth: Growth
    probability_growth: Growth
    same_file: bool                 # FILE is its own reference: run once, drift zero by construction
    seconds: float
    data: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    fraction: float = FRACTION

    @property
    def model(self) -> str | None:
        return self.file.model or self.reference.model

    @property
    def max_state_drift(self) -> float:
        return max((r.state.max for r in self.rows), default=0.0)

    @property
    def max_probability_drift(self) -> float:
        return max((r.probabilities.max for r in self.rows), default=0.0)

    def summary(self) -> str:
        pct = f"{self.fraction * 100:.0f} %"
        return (f"final accuracy: reference {self.reference.final_accuracy * 100:.2f} %, file"
                f" {self.file.final_accuracy * 100:.2f} %; rows to {pct} of final accuracy: reference"
                f" {_rows(self.reference.rows_to_90)}, file {_rows(self.file.rows_to_90)} of {self.timesteps};"
                f" {self.state_growth.describe()}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"model": self.model, "summary": self.summary(),
                               "max_state_drift": self.max_state_drift,
                               "max_probability_drift": self.max_probability_drift}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """Back from `to_dict()` (e.g. a saved `edgeseq drift --json`), for plots and the report."""
        def diff(d: dict[str, Any]) -> Diff:
            return Diff(float(d["mean"]), float(d["max"]))
        try:
            rows = tuple(DriftRow(int(r["row"]), float(r["reference_accuracy"]), float(r["file_accuracy"]),
                                  float(r["agreement"]), diff(r["probabilities"]), diff(r["state"]),
                                  {k: diff(v) for k, v in r["states"].items()}) for r in data["rows"])
            fields = DriftFile.__dataclass_fields__
            return cls(DriftFile(**{k: v for k, v in data["file"].items() if k in fields}),
                       DriftFile(**{k: v for k, v in data["reference"].items() if k in fields}),
                       int(data["digits"]), int(data["timesteps"]), dict(data["contract"]), rows,
                       Growth(**data["state_growth"]), Growth(**data["probability_growth"]),
                       bool(data["same_file"]), float(data["seconds"]), dict(data.get("data") or {}),
                       tuple(data.get("notes") or ()), float(data.get("fraction", FRACTION)))
        except (KeyError, TypeError, ValueError) as err:
            raise EdgeseqError(f"not an `edgeseq drift --json` result ({type(err).__name__}: {err})") from err


def _rows(n: int | None) -> str:
    return "never" if n is None else str(n)


# --- what is compared ------------------------------------------------------------------------------

def step_model(path: Path, role: str = "file") -> tuple[Path, Path | None, layout.FileKey | None]:
    """(the step model to run, the whole-sequence file named instead of it or None, its key). A whole-sequence
    file is replaced by its step twin beside it; without one, a one-line error saying how to export it."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{role} {path} is a folder, not a step model file")
    if not path.is_file():
        raise ModelError(f"{role} not found: {path}")
    fmt = layout.format_of(path)
    if fmt not in STEP_RUNTIMES:
        raise ModelError(f"{path}: drift takes a step model (.tflite or .onnx), not a {path.suffix or 'suffix-less'} file")
    facts = read_facts(path)                        # one line for a corrupt file
    key = layout.key_of(path, read_manifest(path))
    if is_step_facts(facts):
        return path, None, key
    if key is None:
        raise EdgeseqError(f"{path} is a whole-sequence file, not a step model, and its name does not say which"
                           " step model is its twin: export step models with `edgeseq export --streaming`")
    twin = path.parent / layout.FileKey(key.model, fmt, key.recipe, step=True).filename
    if not twin.is_file():
        raise EdgeseqError(f"{path} is a whole-sequence file, not a step model, and its step model {twin.name} is"
                           f" not beside it: export it with `edgeseq export --graph step --model {key.model}"
                           f" --format {fmt} --quant {key.recipe}`")
    if not is_step_facts(read_facts(twin)):
        raise ModelError(f"{twin}: named like a step model but it is not one (no rank-2 'row' input beside state"
                         " inputs)")
    return twin, path, layout.key_of(twin, read_manifest(twin)) or key


def default_reference(path: Path, key: layout.FileKey | None) -> Path:
    """<arch>-fp32-step.<format> beside `path`, else the other format's fp32 step model."""
    if key is None:
        raise EdgeseqError(f"no reference for {path}: its name does not say its architecture and it has no"
                           " manifest; pass --reference")
    fmt = layout.format_of(path) or "tflite"
    candidates = [path.parent / layout.FileKey(key.model, f, FLOAT_RECIPE, step=True).filename
                  for f in (fmt, OTHER_FORMAT[fmt])]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise EdgeseqError(f"no reference for {path}: neither {candidates[0].name} nor {candidates[1].name} is"
                           f" beside it; export them with `edgeseq export --graph step --model {key.model} --quant fp32`, or"
                           " pass --reference")
    return found


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


def resolve(path: Path, reference: Path | None) -> tuple[tuple[Path, Path | None, layout.FileKey | None],
                                                          tuple[Path, Path | None, layout.FileKey | None]]:
    """((file step model, whole-sequence file named, key), (the same for the reference))."""
    mine = step_model(path, "file")
    ref_given = Path(reference) if reference is not None else default_reference(mine[0], mine[2])
    theirs = step_model(ref_given, "reference")
    if mine[2] is not None and theirs[2] is not None and mine[2].model != theirs[2].model:
        same_contract(mine[0], theirs[0])           # a different contract is the clearer error
        raise EdgeseqError(f"reference {theirs[0]} is the {theirs[2].model} model, {mine[0]} the {mine[2].model}"
                           " model")
    return mine, theirs


# --- the numbers -----------------------------------------------------------------------------------

def rows_to_fraction(accuracy: np.ndarray, fraction: float = FRACTION) -> int | None:
    """The first row (1-based) whose accuracy is at least `fraction` of the last row's; None for no rows."""
    accuracy = np.asarray(accuracy, np.float64)
    if accuracy.size == 0:
        return None
    hit = np.flatnonzero(accuracy >= fraction * accuracy[-1] - 1e-12)
    return int(hit[0]) + 1 if hit.size else None


def growth(series: np.ndarray, metric: str, maxima: np.ndarray | None = None) -> Growth:
    """Whether `series` (one value per row) grows with time: second half against first half, and the rise of a
    straight line fitted to the second half (is it still rising at the last row?)."""
    values = np.asarray(series, np.float64)
    top = np.asarray(maxima if maxima is not None else values, np.float64)
    steps = len(values)
    if steps < 2:
        return Growth(metric, float(values.mean()) if steps else 0.0, 0.0, None, 0.0, 1, "n/a")
    half = steps // 2
    first, second = float(values[:half].mean()), float(values[half:].mean())
    late = values[half:]
    slope = float(np.polyfit(np.arange(len(late), dtype=np.float64), late, 1)[0]) if len(late) > 1 else 0.0
    late_change = slope * (len(late) - 1) / second if second > 0 else 0.0
    ratio = second / first if first > 0 else None
    if float(top.max()) < ZERO:
        verdict = "none"
    elif ratio is None or ratio >= GROWS:
        verdict = "grows" if late_change >= RISING else "grows-then-levels"
    elif ratio <= 1 / GROWS:
        verdict = "shrinks"
    else:
        verdict = "flat"
    return Growth(metric, first, second, None if ratio is None else round(ratio, 4), round(late_change, 4),
                  int(np.argmax(values)) + 1, verdict)


class _Totals:
    """Running sums and maxima over the chunks of digits, per row."""

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


def _side(step: tuple[Path, Path | None, layout.FileKey | None], runtime: str, backend: str,
          accuracy: np.ndarray, fraction: float) -> DriftFile:
    path, given, key = step
    return DriftFile(str(path), path.name, sha256_file(path), layout.format_of(path) or "",
                     key.model if key else None, key.recipe if key else None, runtime, backend,
                     float(accuracy[-1]) if accuracy.size else 0.0, rows_to_fraction(accuracy, fraction),
                     str(given) if given is not None else None)


def drift(path: Path, reference: Path | None = None, dataset: Dataset | str = "sample", limit: int | None = None,
          threads: int = 1, tflite_backend: str = "auto", progress: ProgressLike = None) -> DriftReport:
    """Per-timestep drift of the step model `path` from `reference` on the first `limit` test digits of
    `dataset` (a Dataset, or 'sample' | 'mnist' | a path), and how early each answers (module docstring)."""
    started = time.perf_counter()
    progress = as_progress(progress)
    mine, theirs = resolve(Path(path), reference)
    contract = same_contract(mine[0], theirs[0])
    if isinstance(dataset, (str, Path)):
        from edgeseq import data  # noqa: PLC0415

        dataset = data.load(dataset)
    if limit is not None and limit <= 0:
        raise DataError(f"--limit must be a positive number of digits, not {limit}")
    digits, labels = dataset.x_test[:limit], np.asarray(dataset.y_test[:limit])
    if len(digits) == 0:
        raise DataError("no test digits to compare on")
    progress.log(f"data: {dataset.name}, {len(digits)} test digits")
    same = mine[0].resolve() == theirs[0].resolve()
    runtimes = {"file": STEP_RUNTIMES[layout.format_of(mine[0]) or ""],
                "reference": STEP_RUNTIMES[layout.format_of(theirs[0]) or ""]}
    names = [s.name for s in contract.states]
    totals = _Totals(int(digits.shape[1]), names)
    backends: dict[str, str] = {}
    chunks = range(0, len(digits), CHUNK)
    runs = [("reference", theirs[0])] + ([] if same else [("file", mine[0])])
    with tempfile.TemporaryDirectory(prefix="edgeseq-drift-") as tmp, \
            progress.stage("drift", total=len(chunks) * len(runs), unit="runs") as stage:
        for start in chunks:
            chunk = digits[start:start + CHUNK]
            outcomes = {}
            for role, file in runs:
                stage.begin(f"{file} ({role}, digits {start + 1}-{start + len(chunk)} of {len(digits)})")
                workdir = Path(tmp) / role
                workdir.mkdir(exist_ok=True)
                t0 = time.perf_counter()
                outcomes[role] = trace_in_child(file, runtimes[role], chunk, workdir, keep_states=True,
                                                threads=threads, tflite_backend=tflite_backend)
                backends[role] = outcomes[role].backend
                stage.advance(detail=f"{len(chunk)} digits x {chunk.shape[1]} rows in {time.perf_counter() - t0:.1f} s")
            if same:
                outcomes["file"] = outcomes["reference"]
                backends["file"] = backends["reference"]
            for role in ("reference", "file"):
                missing = [n for n in names if outcomes[role].states is None or n not in outcomes[role].states]
                if missing:
                    raise ModelError(f"{(theirs if role == 'reference' else mine)[0]}: no state output for"
                                     f" {', '.join(missing)}")
            totals.add(labels[start:start + len(chunk)], outcomes["reference"], outcomes["file"])
    rows = totals.rows()
    notes = []
    if same:
        notes.append(f"{mine[0].name} is its own reference: run once, the drift is zero by construction"
                     " (pass --reference to compare it with another file)")
    for role, side in (("file", mine), ("reference", theirs)):
        if side[1] is not None:
            notes.append(f"the {role} {side[1].name} is a whole-sequence file: its step model {side[0].name} was used")
    if theirs[2] is not None and theirs[2].recipe != FLOAT_RECIPE:
        notes.append(f"the reference {theirs[0].name} is not an fp32 file ({theirs[2].recipe})")
    if layout.format_of(mine[0]) != layout.format_of(theirs[0]):
        notes.append(f"the reference is a .{layout.format_of(theirs[0])} file, run in {runtimes['reference']};"
                     f" the file in {runtimes['file']}")
    acc = {role: np.array([getattr(r, f"{role}_accuracy") for r in rows]) for role in ("reference", "file")}
    return DriftReport(
        file=_side(mine, runtimes["file"], backends["file"], acc["file"], FRACTION),
        reference=_side(theirs, runtimes["reference"], backends["reference"], acc["reference"], FRACTION),
        digits=len(digits), timesteps=len(rows), contract=contract.to_dict(), rows=rows,
        state_growth=growth(np.array([r.state.mean for r in rows]), "state drift (mean |diff|)",
                            np.array([r.state.max for r in rows])),
        probability_growth=growth(np.array([r.probabilities.mean for r in rows]),
                                  "probability drift (mean |diff|)", np.array([r.probabilities.max for r in rows])),
        same_file=same, seconds=round(time.perf_counter() - started, 2),
        data=dataset.identity() | {"digits_used": len(digits)}, notes=tuple(notes))
