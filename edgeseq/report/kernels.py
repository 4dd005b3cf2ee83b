"""The report's "Where answers depend on the kernels": for each file validated under more than one TFLite kernel
setting (validate --tflite-kernels), each setting's row, with how far its answers are from the first setting's on
the same test sequences (validate's `vs_kernels`: sequences whose probabilities differ, top-1 answers that flip,
the largest |Δp|) and whether it passed its parity gate.
"""

from __future__ import annotations

from typing import Any

from edgeseq.report.join import FileRow
from edgeseq.report.units import pct


def _groups(rows: tuple[FileRow, ...]) -> list[list[FileRow]]:
    """The rows of each file × runtime validated under two kernel settings or more, in the report's order."""
    groups: dict[tuple[Any, ...], list[FileRow]] = {}
    for r in rows:
        if r.kernels is not None and r.passed is not None:
            groups.setdefault((r.sha256 or r.path, r.runtime), []).append(r)
    return [group for group in groups.values() if len({r.kernels for r in group}) > 1]


def _compared(r: FileRow) -> list[str]:
    vs = r.vs_kernels
    if not vs:
        return ["(the first setting)", "–", "–", "–"]
    return [vs["kernels"], f"{vs['differ']} of {vs['sequences']}", str(vs["flips"]), f"{vs['max_abs_diff']:.3g}"]


def kernel_blocks(rows: tuple[FileRow, ...]) -> list[tuple[Any, ...]]:
    """The section, or nothing when no file was validated under more than one kernel setting."""
    groups = _groups(rows)
    if not groups:
        return []
    body = [[r.label, r.runtime, r.kernels, *_compared(r), pct(r.accuracy), r.parity] for group in groups
            for r in group]
    flips = sum((r.vs_kernels or {}).get("flips", 0) for group in groups for r in group)
    return [("h", 2, "Where answers depend on the kernels"),
            ("p", "The same file in the same runtime library on different TFLite kernel settings (validate"
                  " --tflite-kernels: xnnpack, the Interpreter's default with the XNNPACK delegate; builtin, the"
                  " builtin kernels without delegates; reference, the reference kernels), each compared with the"
                  " file's first setting on the same test sequences: how many sequences' probabilities differ at"
                  " all, how many top-1 answers flip, and the largest difference in probability."
                  f" {flips} answer(s) flip in all." + (" A setting's parity is its own: a file that passes on one"
                                                       " setting may not on another." if flips else "")),
            ("table", ["file", "runtime", "kernels", "compared with", "sequences that differ", "top-1 flips",
                       "max |Δp|", "accuracy %", "parity"], body)]
