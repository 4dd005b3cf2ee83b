"""Is one file more accurate than another? The difference in accuracy between two files, with its 95 % interval
and the test behind it.

Two files answered the same test sequences (the same data identity, the same count, both with validate's
per-sequence bits): the comparison is paired, like validate's gate (edgeseq.parity.compare): only the sequences
exactly one of them answered right count; the interval is Agresti and Min's and the exact McNemar p-value is
given beside it. Otherwise (results written before validate kept the bits, or different sequences) it falls back
to the unpaired interval of two independent proportions, wider, and says so.

A difference is real when its interval excludes zero. Only a real gain is "more accurate", and only a real gain
is priced in time and bytes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgeseq.parity.compare import Z95, bits_of, mcnemar_p, paired_interval_pp
from edgeseq.report.join import FileRow


@dataclass(frozen=True)
class Difference:
    """b's accuracy minus a's, in percentage points, over `n` sequences."""
    gain_pp: float
    low_pp: float
    high_pp: float
    n: int
    paired: bool
    p_value: float | None = None          # exact McNemar (paired only)
    only_a: int | None = None             # sequences only a answered right (paired only)
    only_b: int | None = None

    @property
    def real(self) -> bool:
        return self.low_pp > 0 or self.high_pp < 0

    def interval(self) -> str:
        how = "paired" if self.paired else "unpaired"
        p = f", McNemar p {_p(self.p_value)}" if self.p_value is not None else ""
        return f"95 % {how} interval [{self.low_pp:+.2f}, {self.high_pp:+.2f}] pp on {self.n:,} sequences{p}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"real": self.real}


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _bits(row: FileRow) -> np.ndarray | None:
    if not row.correct or not row.sequences:
        return None
    try:
        return bits_of(row.correct, row.sequences)
    except ValueError:
        return None


def difference(a: FileRow, b: FileRow, sequences: int | None = None) -> Difference | None:
    """b against a (None when either accuracy is unknown). `sequences`: the test count for the unpaired interval
    when the rows do not carry theirs."""
    if a.accuracy is None or b.accuracy is None:
        return None
    bits_a, bits_b = _bits(a), _bits(b)
    same = a.data_key is not None and a.data_key == b.data_key and a.sequences == b.sequences
    if bits_a is not None and bits_b is not None and same:
        only_a, only_b, n = int(np.sum(bits_a & ~bits_b)), int(np.sum(bits_b & ~bits_a)), len(bits_a)
        low, high = paired_interval_pp(only_a, only_b, n)
        gain = round((bits_b.mean() - bits_a.mean()) * 100, 4)
        return Difference(gain, low, high, n, True, round(mcnemar_p(only_a, only_b), 6), only_a, only_b)
    n_a, n_b = a.sequences or sequences, b.sequences or sequences
    if not n_a or not n_b:
        return None
    pa, pb = a.accuracy, b.accuracy
    half = Z95 * math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b) * 100
    gain = (pb - pa) * 100
    return Difference(round(gain, 4), round(gain - half, 3), round(gain + half, 3), min(n_a, n_b), False)

