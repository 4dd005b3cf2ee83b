"""The one check: a file, run in one runtime on samples, against a reference's probabilities on them, judged
by a tolerance. validate, export's portability runs and the recipe search all go through `check`; what differs
between them is where the reference comes from and what they record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.parity.compare import Judgement, compare, judge
from edgeseq.recipes import Tolerance
from edgeseq.runtimes.guard import Evaluator, Outcome
from edgeseq.runtimes.table import RuntimeName


@dataclass(frozen=True)
class Checked:
    """One file in one runtime: what it answered, the figures against the reference, and the verdict."""
    outcome: Outcome
    figures: dict[str, Any]                  # parity.compare's figures
    judgement: Judgement


def check(evaluator: Evaluator, path: Path, runtime: RuntimeName, reference: np.ndarray, labels: np.ndarray,
          tolerance: Tolerance, unit: str, hygiene: bool = False, kernels: str | None = None) -> Checked:
    """Run `path` on the evaluator's samples (an EdgeseqError when it cannot: a ModelError for a crash) and judge
    its probabilities against `reference` and `labels` (the first as many rows as the evaluator ran)."""
    outcome = evaluator.run(Path(path), runtime, hygiene=hygiene, kernels=kernels)
    count = len(outcome.probabilities)
    figures = compare(outcome.probabilities, reference[:count], labels[:count])
    return Checked(outcome, figures, judge(tolerance, figures, unit))
