"""What `edgeseq drift` reports (edgeseq.diagnostics.drift measures it): per row, the accuracy of each file and
the drift between them (`DriftRow`, `Diff`); per file, its final accuracy and the rows it needs to reach FRACTION
of it (`DriftFile`, `rows_to_fraction`); whether a drift series grows with time (`Growth`, `growth`); and the
whole result (`DriftReport`), with `to_dict`/`from_dict` for `--json` and the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgeseq.core.errors import EdgeseqError

FRACTION = 0.9          # "rows to 90 % of the final accuracy"
ZERO = 1e-6             # a max |diff| below this, at every row, is no drift
GROWS = 1.5             # second-half mean / first-half mean at or above this: the drift grows with time
RISING = 0.2            # a line fitted to the second half rising by this share of its mean: still growing at T


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
