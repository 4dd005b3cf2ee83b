"""Shrinking a failing input to a small one that still fails: delta debugging (Zeller and Hildebrandt's ddmin)
over the input's cells (timestep, feature) that differ from the baseline, then rounding what is left.

An input is kept at its failing value on a set S of cells and at the baseline elsewhere; ddmin looks for a set
no single cell of which can be dropped (1-minimal) by trying, at each granularity n, the n chunks of S and
their complements, all at once: `fails` gets one batch per round (a runtime answers a batch in one call), and
the first failing candidate is kept. Then every kept value is rounded to one decimal, if the input still fails.
The size of a reproducer is the number of cells that differ from the baseline.

Property-testing libraries (Hypothesis) shrink the inputs they generate themselves, from their own choice
sequence; they have no public way to start from an input found elsewhere, which is what this does.

`fails(batch (B, T, F)) -> (B,) bool` must be deterministic for the result to mean anything: the shrinker
checks first that the original input fails (`Shrunk.reproduced`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Fails = Callable[[np.ndarray], np.ndarray]
MAX_ROUNDS = 400            # each round is one call of `fails`: ddmin on n cells takes O(n log n) at worst
MAX_BATCH = 512             # candidates per call at the finest granularity (larger sets are tried in chunks)


@dataclass(frozen=True)
class Shrunk:
    x: np.ndarray = field(repr=False)       # (T, F) the smallest failing input found (the original if none)
    original_size: int                      # cells that differ from the baseline, before
    size: int                               # and after
    rounds: int                             # calls of `fails`
    reproduced: bool                        # the original input failed when checked again
    rounded: bool                           # the kept values were rounded to one decimal

    @property
    def steps(self) -> int:
        """Timesteps with at least one cell off the baseline."""
        return int(self.x.any(axis=1).sum()) if self.size else 0


def _compose(x: np.ndarray, baseline: np.ndarray, cells: np.ndarray) -> np.ndarray:
    out = np.broadcast_to(baseline, x.shape).astype(np.float32).copy()
    if len(cells):
        out[cells[:, 0], cells[:, 1]] = x[cells[:, 0], cells[:, 1]]
    return out


def shrink(x: np.ndarray, baseline: np.ndarray, fails: Fails, max_rounds: int = MAX_ROUNDS) -> Shrunk:
    """The 1-minimal (within `max_rounds`) set of `x`'s off-baseline cells that still fails (module docstring)."""
    x = np.asarray(x, np.float32)
    baseline = np.asarray(baseline, np.float32)
    cells = np.argwhere(x != baseline)
    original = len(cells)
    rounds = 1
    if not bool(fails(x[None])[0]):
        return Shrunk(x, original, original, rounds, reproduced=False, rounded=False)
    chunks = 2
    while len(cells) >= 1 and rounds < max_rounds:
        if len(cells) == 1:                              # the empty input: is a single cell needed at all?
            rounds += 1
            if bool(fails(_compose(x, baseline, cells[:0])[None])[0]):
                cells = cells[:0]
            break
        parts = np.array_split(cells, min(chunks, len(cells)))
        candidates = parts + [np.concatenate(parts[:i] + parts[i + 1:]) for i in range(len(parts))] \
            if len(parts) > 2 else parts
        found = None
        for start in range(0, len(candidates), MAX_BATCH):
            group = candidates[start:start + MAX_BATCH]
            rounds += 1
            answers = fails(np.stack([_compose(x, baseline, c) for c in group]))
            hit = np.flatnonzero(answers)
            if hit.size:
                found = start + int(hit[0])
                break
            if rounds >= max_rounds:
                break
        if found is not None:
            subset = found < len(parts)
            cells = candidates[found]
            chunks = 2 if subset else max(chunks - 1, 2)
        elif chunks >= len(cells):
            break
        else:
            chunks = min(chunks * 2, len(cells))
    kept = _compose(x, baseline, cells)
    rounded = kept.copy()
    rounded[cells[:, 0], cells[:, 1]] = np.round(rounded[cells[:, 0], cells[:, 1]], 1) if len(cells) else 0
    was_rounded = False
    if len(cells) and not np.array_equal(rounded, kept):
        rounds += 1
        if bool(fails(rounded[None])[0]):
            kept, was_rounded = rounded, True
    size = int((kept != baseline).sum())
    return Shrunk(kept, original, size, rounds, reproduced=True, rounded=was_rounded)
