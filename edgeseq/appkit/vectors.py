"""Golden test vectors for an app's own unit test: a few sequences from the file's golden sidecar
(edgeseq.golden: the reference model's probabilities on fixed test samples), one per class, with the recipe's
tolerance and one rule every platform's example applies the same way.

The vectors are the first sample of each class on which the reference model is right by a clear margin (its
top probability at least MARGIN above the second), so that a correct app gives the same class on every vector
whatever the recipe. The rule: the app's class equals the expected class on every vector and, when the recipe
has a per-output tolerance (float recipes: max_abs_diff), every probability is within it of the expected one.
Recipes judged on accuracy over many samples (fp16, quantized) have no per-output tolerance: their vectors check
the class only (`edgeseq validate` judges their accuracy), and are chosen among the samples on which the file
itself, run here in its first runtime (LiteRT or onnxruntime), gives the reference's class by the same margin: a
quantized file that gets a sample wrong would otherwise fail an app whose integration is right. What such a
vector tests is the app's integration (layout, normalisation, I/O types), not the recipe's accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import golden
from edgeseq.core.errors import IntegrityError
from edgeseq.core.layout import named_golden, shown

MARGIN = 0.5
RULE = ("for every vector: argmax(output) == expected_class; and when check.max_abs_diff is not null,"
        " |output[k] - expected[k]| <= check.max_abs_diff for every k")


@dataclass(frozen=True)
class Vectors:
    inputs: np.ndarray = field(repr=False)          # (N, T, F) float32, normalised as the model reads them
    expected: np.ndarray = field(repr=False)        # (N, K) float32: the reference model's probabilities
    labels: np.ndarray = field(repr=False)          # (N,) the samples' true classes
    indices: list[int]                              # their positions among the golden samples
    source: str                                     # which samples these are
    reference: dict[str, Any]                       # the reference model {name, sha256}
    tolerance: dict[str, Any]                       # the recipe's, from the manifest

    @property
    def max_abs_diff(self) -> float | None:
        value = self.tolerance.get("max_abs_diff")
        return float(value) if isinstance(value, (int, float)) else None

    def to_dict(self, file: str, label_names: list[str]) -> dict[str, Any]:
        """The JSON every platform's example reads: plain lists, no numpy."""
        return {
            "file": file, "samples": self.source, "reference": self.reference, "tolerance": self.tolerance,
            "check": {"max_abs_diff": self.max_abs_diff, "rule": RULE}, "labels": label_names,
            "input_layout": "each input is [timesteps][features] float32, normalised as the manifest says;"
                            " a step model reads it one row (timestep) at a time",
            "vectors": [{"sample": int(i), "label": int(y), "expected_class": int(np.argmax(p)),
                         "input": x.astype(np.float32).tolist(), "expected": p.astype(np.float32).tolist()}
                        for i, y, x, p in zip(self.indices, self.labels, self.inputs, self.expected)],
        }


def _right(probabilities: np.ndarray, labels: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(right, right by `margin`) per sample."""
    top2 = np.sort(probabilities, axis=1)[:, -2:]
    right = np.argmax(probabilities, axis=1) == labels
    return right, right & (top2[:, 1] - top2[:, 0] >= margin)


def pick(probabilities: np.ndarray, labels: np.ndarray, classes: int, margin: float = MARGIN,
         also: np.ndarray | list[np.ndarray] | None = None) -> list[int]:
    """The first sample of each class the reference gets right by `margin`, else right at all (classes with
    neither are left out), in class order; `also`: the probabilities of the file itself (or of several models:
    the demo's references), which must be right the same way."""
    right, clear = _right(probabilities, labels, margin)
    for other in ([] if also is None else also if isinstance(also, list) else [also]):
        other_right, other_clear = _right(other, labels, margin)
        right, clear = right & other_right, clear & other_clear
    chosen = []
    for k in range(classes):
        for mask in (clear, right):
            hits = np.flatnonzero(mask & (labels == k))
            if hits.size:
                chosen.append(int(hits[0]))
                break
    return chosen


def golden_vectors(path: Path, manifest: dict[str, Any]) -> Vectors:
    """The vectors of an exported file, from the golden sidecar its manifest names (checked against its sha256)."""
    sidecar = named_golden(path, manifest)
    if sidecar is None:
        raise IntegrityError(f"{shown(Path(path).name)}: its manifest names no golden outputs (golden.file);"
                             " re-export it with this edgeseq to pack it")
    recorded = manifest.golden
    stored = golden.read(sidecar, recorded.get("sha256"), recorded.get("count"))
    samples = stored.dataset()
    tolerance = dict(manifest.tolerance or {})
    own = None if isinstance(tolerance.get("max_abs_diff"), (int, float)) else _file_answers(path, samples.x_test)
    chosen = pick(stored.probabilities, stored.labels, stored.probabilities.shape[1], also=own)
    if not chosen:
        raise IntegrityError(f"{shown(sidecar.name)}: the reference model is right on none of its samples")
    return Vectors(np.asarray(samples.x_test[chosen], np.float32), stored.probabilities[chosen],
                   stored.labels[chosen], chosen, str(stored.info.get("digits") or samples.source),
                   dict(stored.info.get("reference") or {}), tolerance)


def _file_answers(path: Path, inputs: np.ndarray) -> np.ndarray:
    """The file's own probabilities on `inputs`, in its first runtime, in a child process (a malformed file cannot
    take pack down)."""
    from edgeseq.runtimes import runtimes_for  # noqa: PLC0415
    from edgeseq.runtimes.guard import Evaluator  # noqa: PLC0415

    with Evaluator(np.asarray(inputs, np.float32)) as evaluator:
        return evaluator.run(Path(path), runtimes_for(path)[0]).probabilities
