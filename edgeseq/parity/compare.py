"""Accuracy parity of one set of predictions against a reference: the figures, the tolerance check, and the
report row that validate writes.

The accuracy gate is paired and knows its sample size. Both models answer the same digits, so only the digits
where exactly one of them is right carry information: b (the reference right, the file wrong) and c (the other
way). The change in accuracy is (c - b) / n; its 95 % interval is Agresti and Min's (2005): a Wald interval
after adding 0.5 to each cell of the paired 2x2 table, which behaves on small counts where the plain Wald
interval does not. Against a tolerance T (e.g. -1 pp) a file
  - passes when the whole interval is at or above T,
  - fails when the whole interval is below T (significantly worse than the tolerance),
  - is inconclusive otherwise: the digits cannot tell, use more. Inconclusive is never a pass.
The exact McNemar p-value (two-sided, on b and c) is reported beside it: whether the file differs at all.
"""

from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgeseq.recipes import Tolerance
from edgeseq.core.rows import from_dict


@dataclass(frozen=True)
class ParityReport:
    """One file in one runtime against its reference. A report that could not be computed (the file did
    not load, no reference) has passed=False, a reason, and no figures."""
    path: str
    runtime: str
    passed: bool
    reason: str | None
    integrity: str
    model: str | None = None
    format: str | None = None
    recipe: str | None = None
    step: bool = False                             # a step model (streaming), checked against its whole-sequence file
    sha256: str | None = None
    backend: str | None = None
    reference: str | None = None
    reference_kind: str | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    model_test_accuracy: float | None = None       # the source Keras model on its full test split (its manifest)
    delta_accuracy_pp: float | None = None
    delta_ci_pp: list[float] | None = None             # [low, high]: 95 % paired interval of the change (module docstring)
    discordant: dict[str, int] | None = None           # {"reference_only": b, "candidate_only": c}
    mcnemar_p: float | None = None                     # exact, two-sided: does the file differ at all?
    outcome: str | None = None                         # pass | fail | inconclusive (None: not computed)
    agreement: float | None = None
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    per_class_delta_pp: dict[str, float] | None = None
    state_hygiene: bool | None = None
    tolerance: dict[str, Any] | None = None
    tolerance_source: str | None = None                # manifest | recipes table (why) | float parity (why); overrides named
    digits: int = 0
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    correct: str | None = None                         # which of the `digits` sequences it answered right (correct_bits)
    reference_correct: str | None = None               # the same for its reference
    kernels: str | None = None                         # LiteRT: the kernel setting it ran on (--tflite-kernels)
    vs_kernels: dict[str, Any] | None = None           # against the same file × runtime on another setting
    #                                                    (kernels_agreement), when validate ran more than one

    @property
    def inconclusive(self) -> bool:
        """The paired gate could not decide on these digits (not a pass, not a failure)."""
        return self.outcome == INCONCLUSIVE

    @property
    def failed(self) -> bool:
        """Not a pass, and not merely inconclusive: out of tolerance, unloadable, or not what its manifest says."""
        return not self.passed and not self.inconclusive

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "ParityReport":
        return from_dict(cls, row)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def per_class_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predicted = np.argmax(probabilities, axis=1)
    classes = probabilities.shape[1] if probabilities.ndim == 2 else 0
    return np.array([np.mean(predicted[labels == c] == c) if np.any(labels == c) else np.nan
                     for c in range(classes)])


def correct_bits(probabilities: np.ndarray, labels: np.ndarray) -> str:
    """Which sequences were answered right, one bit each in the data's order (np.packbits, base64): what the
    paired comparison of two files on the same sequences needs (edgeseq.report.paired)."""
    right = np.argmax(probabilities, axis=1) == labels
    return base64.b64encode(np.packbits(right).tobytes()).decode("ascii")


def bits_of(text: str, n: int) -> np.ndarray:
    """correct_bits' answer back as n booleans; ValueError when it does not hold n."""
    raw = np.frombuffer(base64.b64decode(text.encode("ascii"), validate=True), np.uint8)
    if len(raw) != (n + 7) // 8:
        raise ValueError(f"{len(raw) * 8} bits do not hold {n} sequences")
    return np.unpackbits(raw)[:n].astype(bool)


Z95 = 1.959963984540054
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def paired_interval_pp(reference_only: int, candidate_only: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Agresti-Min 95 % interval, in percentage points, of the paired change in accuracy (c - b) / n."""
    if n <= 0:
        return (-100.0, 100.0)
    b, c, m = reference_only + 0.5, candidate_only + 0.5, n + 2
    centre = (c - b) / m
    half = z * math.sqrt(max(b + c - (c - b) ** 2 / m, 0.0)) / m
    return (round(max(centre - half, -1.0) * 100, 3), round(min(centre + half, 1.0) * 100, 3))


def mcnemar_p(reference_only: int, candidate_only: int) -> float:
    """Exact two-sided McNemar p-value: the binomial test of b against b + c trials at 1/2."""
    k, trials = min(reference_only, candidate_only), reference_only + candidate_only
    if trials == 0:
        return 1.0
    tail = sum(math.comb(trials, i) for i in range(k + 1)) / 2 ** trials
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Judgement:
    outcome: str                 # pass | fail | inconclusive
    reason: str | None           # why not a pass

    @property
    def passed(self) -> bool:
        return self.outcome == PASS


def judge(tol: Tolerance, figures: dict[str, Any], unit: str = "digits") -> Judgement:
    """The figures `compare` gave against a tolerance: the first limit broken fails; the accuracy limit is
    judged on the paired interval (module docstring). `unit` names the samples in the reason ('sequences' for
    data other than MNIST)."""
    max_abs, agreement = figures["max_abs_diff"], figures["agreement"]
    if not np.isfinite(max_abs):
        return Judgement(FAIL, "outputs contain NaN or infinity")
    if tol.max_abs_diff is not None and max_abs > tol.max_abs_diff:
        return Judgement(FAIL, f"max_abs_diff {max_abs:.3g} > {tol.max_abs_diff:g}")
    if tol.min_agreement is not None and agreement < tol.min_agreement:
        return Judgement(FAIL, f"agreement {agreement:.4f} < {tol.min_agreement:g}")
    limit = tol.min_delta_accuracy_pp
    if limit is None:
        return Judgement(PASS, None)
    low, high = figures["delta_ci_pp"]
    shown = (f"delta {figures['delta_accuracy_pp']:+.2f} pp, 95 % CI [{low:+.2f}, {high:+.2f}] on"
             f" {figures['digits']} {unit}")
    if high < limit:
        return Judgement(FAIL, f"{shown}: significantly below the {limit:+g} pp tolerance")
    if low < limit:
        return Judgement(INCONCLUSIVE, f"inconclusive: {shown} straddles the {limit:+g} pp tolerance;"
                                       f" use more {unit}")
    return Judgement(PASS, None)


def check_tolerance(tol: Tolerance, figures: dict[str, Any]) -> str | None:
    """Why the figures are not a pass (fail or inconclusive), or None."""
    return judge(tol, figures).reason


def kernels_agreement(candidate: np.ndarray, other: np.ndarray, other_kernels: str) -> dict[str, Any]:
    """How far one kernel setting's probabilities are from another's on the same sequences: the sequences whose
    probabilities differ at all, the top-1 answers that flip, and the largest |Δp|."""
    diff = np.abs(candidate.astype(np.float64) - other.astype(np.float64))
    return {"kernels": other_kernels, "sequences": len(candidate),
            "differ": int(np.sum(np.any(diff > 0, axis=1))) if diff.size else 0,
            "flips": int(np.sum(np.argmax(candidate, 1) != np.argmax(other, 1))),
            "max_abs_diff": float(np.max(diff)) if diff.size else 0.0}


def compare(candidate: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    acc, ref_acc = accuracy(candidate, labels), accuracy(reference, labels)
    right, ref_right = np.argmax(candidate, 1) == labels, np.argmax(reference, 1) == labels
    b, c = int(np.sum(ref_right & ~right)), int(np.sum(right & ~ref_right))
    per_class = (per_class_accuracy(candidate, labels) - per_class_accuracy(reference, labels)) * 100
    return {
        "accuracy": acc, "reference_accuracy": ref_acc, "delta_accuracy_pp": round((acc - ref_acc) * 100, 4),
        "delta_ci_pp": list(paired_interval_pp(b, c, len(labels))), "digits": len(labels),
        "discordant": {"reference_only": b, "candidate_only": c}, "mcnemar_p": round(mcnemar_p(b, c), 6),
        "agreement": float(np.mean(np.argmax(candidate, 1) == np.argmax(reference, 1))),
        "max_abs_diff": float(np.max(diff)) if diff.size else 0.0,
        "mean_abs_diff": float(np.mean(diff)) if diff.size else 0.0,
        "per_class_delta_pp": {str(c): round(float(v), 3) for c, v in enumerate(per_class) if np.isfinite(v)},
    }
