"""The graph chosen where it runs: per device, the recommended graph of each recipe whose graph candidates
(`export --graph auto`) were measured there, and its gain over the recipes table's graph.

The choices are the ones bench recorded on its rows (`graph_choice`, edgeseq.bench.graph_choice), from the run's
bench.json and every device's; candidate files need not be files the run built (they are joined to nothing).
"""

from __future__ import annotations

from typing import Any

from edgeseq.bench.graph_choice import GraphChoice, recorded
from edgeseq.report.units import us

Block = tuple[Any, ...]


def graph_choices(rows: Any) -> list[GraphChoice]:
    """Every choice recorded on the rows, each once, sorted by device, model, format, recipe, runtime, threads."""
    return sorted(recorded(rows), key=lambda c: (c.device, *c.key, c.runtime, c.threads or 0))


def _gain(choice: GraphChoice) -> str:
    if choice.gain_over_default is not None:
        return f"{choice.gain_over_default:.2f}x"
    return f"– ({choice.why_no_gain()})" if choice.why_no_gain() else "–"


def _recommended(choice: GraphChoice) -> str:
    if choice.fastest is None:
        return "none (no graph passed parity)"
    parity = dict(choice.parity).get(choice.fastest, "pass")
    return choice.fastest if parity == "pass" else f"{choice.fastest} (parity {parity}, as the table's graph)"


def _others(choice: GraphChoice) -> str:
    parity = dict(choice.parity)
    shown = [f"{g} {us(p50)}" + ("" if parity.get(g, "pass") == "pass" else f" ({parity[g]})")
             for g, p50 in choice.p50_us if g != choice.fastest]
    return ", ".join(shown) or "–"


def graph_blocks(choices: list[GraphChoice]) -> list[Block]:
    """The report's section: one row per device × recipe × runtime × thread count."""
    if not choices:
        return []
    rows = [[c.device, c.model.upper(), f"{c.format}/{c.recipe}", c.runtime, c.threads if c.threads else "–",
             _recommended(c),
             us(dict(c.p50_us).get(c.fastest)) if c.fastest else "–",
             c.default_graph or "none", us(c.default_p50_us), _gain(c), _others(c),
             "; ".join(f"{g}: {why}" for g, why in c.excluded) or "–"] for c in choices]
    return [
        ("h", 2, "Graph per device"),
        ("p", "Where the graph candidates of a recipe (`edgeseq export --graph auto`) were measured: the fastest at"
              " batch 1 (p50) on each device among the graphs that passed parity at export (or were inconclusive"
              " on the golden samples where the table's own graph was too), and its gain over the recipes table's"
              " graph (the table's p50 / the recommended p50). `edgeseq export --pick-from BENCH.json` exports"
              " the recommended graph."),
        ("table", ["device", "architecture", "recipe", "runtime", "threads", "recommended graph", "p50 µs",
                   "table's graph", "its p50 µs", "gain", "other graphs (p50 µs)", "not chosen"], rows),
    ]
