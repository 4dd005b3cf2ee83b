"""The report's time-per-operator section: for each architecture's recommended file, its `edgeseq bench
--profile` rows (RESULTS/profile.json) in every runtime profiled: the top operators, the layers, the recurrent
split, and what the profiler accounts for. Rows are joined to the recommended file on sha256 (else on model,
format and recipe, for rows without one); a runtime with no profiler says so."""

from __future__ import annotations

from typing import Any

from edgeseq.bench.profile import TOP, ProfileResult
from edgeseq.bench.profile_groups import PARTS
from edgeseq.report.join import FileRow
from edgeseq.report.units import us

Block = tuple[Any, ...]


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def _same_file(row: ProfileResult, file: FileRow) -> bool:
    if row.sha256 and file.sha256:
        return row.sha256 == file.sha256
    return (row.model, row.format, row.recipe) == (file.model, file.format, file.recipe)


def recommended_profiles(verdict: tuple[Any, ...], profiles: list[ProfileResult]) -> list[ProfileResult]:
    """The profile rows about the recommended files, in the verdict's order."""
    picked = [v.recommended for v in verdict if v.recommended is not None]
    return [row for file in picked for row in profiles if _same_file(row, file)]


def _one(row: ProfileResult) -> list[Block]:
    head = ("h", 3, f"{row.label} in {row.runtime}, {row.threads} thread(s)")
    if row.status != "ok":
        return [head, ("p", f"Not profiled ({row.status}): {row.reason}")]
    parts = [p for p in PARTS if any(p in layer.parts for layer in row.layers)]
    return [
        head,
        ("p", f"{len(row.nodes)} nodes, {us(row.node_sum_us)} µs in all: {_share(row.coverage)} % of the"
              f" profiled mean wall time ({us(row.wall_mean_us)} µs; p50 {us(row.wall_p50_us)} µs against"
              f" {us(row.plain_p50_us)} µs unprofiled, ×{row.overhead:.2f} for profiling). Recurrent layers:"
              f" {row.split}. Source: {row.profiler}; {row.backend}."
              + (f" Warning: {row.warning}." if row.warning else "")),
        ("table", ["op", "node", "layer", "part", "mean µs", "share %"],
         [[n.op, n.name, n.layer, n.part or "", us(n.mean_us), _share(n.share)] for n in row.top(TOP)]),
        ("table", ["layer", "kind", "mean µs", "share %", *(f"{p.replace('_', ' ')} %" for p in parts)],
         [[layer.layer, layer.kind, us(layer.mean_us), _share(layer.share),
           *(_share(layer.parts.get(p)) if layer.kind == "recurrent" else "" for p in parts)]
          for layer in row.layers]),
    ]


def profile_blocks(verdict: tuple[Any, ...], profiles: list[ProfileResult]) -> list[Block]:
    """The section, when the results hold profile rows."""
    if not profiles:
        return []
    shown = recommended_profiles(verdict, profiles)
    blocks: list[Block] = [
        ("h", 2, "Time per operator (recommended files)"),
        ("p", "`edgeseq bench --profile` at batch 1: each node's mean time over the profiled inferences and its"
              " share of the summed node time, grouped into the model's layers. In a recurrent layer, the"
              " input projection (x·W + b) and the recurrence (h·U, gates, state update) are told apart where"
              " the runtime runs them as separate nodes; a node that runs the whole layer is \"fused: not"
              " separable\". Coverage is the node sum against the wall time of the same calls; the profiled"
              " p50 against the unprofiled one is what profiling costs."),
    ]
    if not shown:
        profiled = sorted({f"{r.label} ({r.runtime})" for r in profiles})
        return blocks + [("p", "profile.json holds no profile of a recommended file (it profiled: "
                               + ", ".join(profiled) + ").")]
    for row in shown:
        blocks += _one(row)
    return blocks
