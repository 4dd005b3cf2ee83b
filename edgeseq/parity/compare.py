"""Accuracy parity of one set of predictions against a reference: the figures, the tolerance check, and the
report row that validate writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from edgeseq.recipes import Tolerance
from edgeseq.rows import from_dict


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
    sha256: str | None = None
    backend: str | None = None
    reference: str | None = None
    reference_kind: str | None = None
    accuracy: float | None = None
    reference_accuracy: float | None = None
    model_test_accuracy: float | None = None       # the source Keras model on its full test split (its manifest)
    delta_accuracy_pp: float | None = None
    agreement: float | None = None
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    per_class_delta_pp: dict[str, float] | None = None
    state_hygiene: bool | None = None
    tolerance: dict[str, Any] | None = None
    digits: int = 0
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "ParityReport":
        return from_dict(cls, row)


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def per_class_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    predicted = np.argmax(probabilities, axis=1)
    return np.array([np.mean(predicted[labels == c] == c) if np.any(labels == c) else np.nan for c in range(10)])


def check_tolerance(tol: Tolerance, delta_pp: float, agreement: float, max_abs: float) -> str | None:
    """The first figure outside its tolerance, as a sentence, or None."""
    if not np.isfinite(max_abs):
        return "outputs contain NaN or infinity"
    if tol.max_abs_diff is not None and max_abs > tol.max_abs_diff:
        return f"max_abs_diff {max_abs:.3g} > {tol.max_abs_diff:g}"
    if tol.min_agreement is not None and agreement < tol.min_agreement:
        return f"agreement {agreement:.4f} < {tol.min_agreement:g}"
    if tol.min_delta_accuracy_pp is not None and delta_pp < tol.min_delta_accuracy_pp:
        return f"delta_accuracy_pp {delta_pp:+.2f} < {tol.min_delta_accuracy_pp:+g}"
    return None


def compare(candidate: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    acc, ref_acc = accuracy(candidate, labels), accuracy(reference, labels)
    per_class = (per_class_accuracy(candidate, labels) - per_class_accuracy(reference, labels)) * 100
    return {
        "accuracy": acc, "reference_accuracy": ref_acc, "delta_accuracy_pp": round((acc - ref_acc) * 100, 4),
        "agreement": float(np.mean(np.argmax(candidate, 1) == np.argmax(reference, 1))),
        "max_abs_diff": float(np.max(diff)) if diff.size else 0.0,
        "mean_abs_diff": float(np.mean(diff)) if diff.size else 0.0,
        "per_class_delta_pp": {str(c): round(float(v), 3) for c, v in enumerate(per_class) if np.isfinite(v)},
    }
