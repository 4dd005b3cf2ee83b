"""The report's "Files quantized per layer": every file the recipe search kept as a per-layer mix (export
--max-loss-pp: edgeseq.export.search), which layers are not int8, and what that cost against the recipe as
configured (the search's attempt 0): the change in accuracy, p50 and size, all from the search record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeseq.export.exporter import ExportResult

Block = Any


def _not_int8(attempt: dict[str, Any]) -> tuple[str, str] | None:
    """(the layers not int8, integer only or not) of a kept attempt, None for a whole-file remedy."""
    mix = attempt.get("mix")
    if mix:
        raised = ", ".join(f"{name} {p}" for name, p in mix.get("layers", {}).items()) or "none"
        base = f"every layer {mix.get('base')}" + ("" if raised == "none" else f" but {raised}")
        return base, "yes" if mix.get("integer_only") else "no"
    floats = (attempt.get("onnx_settings") or {}).get("float_layers")
    return (f"{', '.join(floats)} float", "no") if floats else None


def _ratio(kept: float | None, plain: float | None) -> str:
    return f"{kept / plain:.2f}×" if kept and plain else "n/a"


def rows(export: tuple[ExportResult, ...]) -> list[list[str]]:
    table = []
    for result in export:
        search = result.search or {}
        attempts = search.get("attempts") or []
        if search.get("kept") is None or not attempts:
            continue
        kept, plain = attempts[search["kept"]], attempts[0]
        described = _not_int8(kept)
        if described is None:
            continue
        layers, integer = described
        pp = lambda a: "n/a" if a.get("delta_accuracy_pp") is None else f"{a['delta_accuracy_pp']:+.2f}"  # noqa: E731
        table.append([Path(result.path or "").name or f"{result.model} {result.format}/{result.recipe} (rejected)",
                      layers, integer, f"{pp(plain)} → {pp(kept)}",
                      f"{plain.get('p50_us') or 0:.1f} → {kept.get('p50_us') or 0:.1f} ({_ratio(kept.get('p50_us'), plain.get('p50_us'))})",
                      f"{(plain.get('size_bytes') or 0) / 1024:.0f} → {(kept.get('size_bytes') or 0) / 1024:.0f}",
                      "yes" if search.get("met") else "no"])
    return table


def mix_blocks(export: tuple[ExportResult, ...]) -> list[Block]:
    found = rows(export)
    if not found:
        return []
    return [("h", 2, "Files quantized per layer"),
            ("p", "Recipes the accuracy-aware search (export --max-loss-pp) kept as a per-layer mix: the layers not"
                  " int8, whether the file is still integer-only, and what it cost against the recipe as configured"
                  " (the search's first attempt): change in accuracy (pp), p50 at batch 1 in µs and size in KB, as"
                  " the search measured them on this machine."),
            ("table", ["file", "layers", "integer only", "Δ pp (as configured → kept)", "p50 µs", "size KB",
                       "budget met"], found)]
