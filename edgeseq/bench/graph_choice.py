"""The graph chosen where it runs: among the graph candidates of one recipe (`export --graph auto` writes
`<arch>-<recipe>@<graph>.<format>`, each with its parity in its manifest), the one bench measured fastest.

  annotate(rows)        each bench row's `graph` and `export_parity` (its manifest's `graph`, and the parity its
                        export measured in the library that ran it), read from the manifest beside the file
  choose(rows)          one GraphChoice per device × model × format × recipe × runtime × threads that has rows
                        of two graphs or more: the fastest at batch 1 (p50) among the graphs that passed parity at
                        export (or, where the table's own graph is inconclusive on the golden digits, no less
                        proven than it: `eligible`), each graph's p50, and the gain over the table's graph
  with_choices(rows)    annotate, then each choice on its rows (`graph_choice`): what bench.json records
  recorded(rows)        the choices bench.json recorded (report, and export --pick-from: edgeseq.export.pick)

Rows are any objects with BenchResult's fields (this module is imported by bench.runner, so it does not import
it). Local and remote (`bench --host`) bench both end in `with_choices`, on this machine's manifests.
Importing this module imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeseq.core import layout
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.manifest import Manifest, read_manifest
from edgeseq.portability import BACKENDS, cells_of
from edgeseq.recipes import Graph, recipe_for_file
from edgeseq.core.rows import from_dict
from edgeseq.runtimes.table import off_default

CHOICE_BATCH = 1
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"     # parity outcomes (edgeseq.parity.compare)


def device_of(row: Any) -> str:
    """The device a row was measured on: its `--device`, else its hostname, else its CPU."""
    return str(row.environment.get("device") or row.environment.get("cpu") or "unnamed device")


def table_graph(model: str, fmt: str, recipe: str) -> str | None:
    """The recipes table's graph for the model and recipe, or None (no working graph, an unknown model or recipe)."""
    row = recipe_for_file(fmt, recipe)
    if row is None:
        return None
    try:
        graph = row.graph_for(model)
    except ValueError:
        return None
    return graph.value if graph else None


# ---------------------------------------------------------------- each row's graph and export-time parity

def parity_at_export(manifest: Manifest | None, runtime: str, backend: str | None) -> str | None:
    """What the file's export measured (its manifest's `portability`) in the library that ran it in bench
    (`backend`, e.g. 'ai-edge-litert 2.3.0, XNNPACK, ...'), else in the libraries of the same runtime: pass,
    fail, inconclusive, cannot-load; None when the export measured it in none of them."""
    cells = [c for c in cells_of(manifest.portability if manifest else None).values() if c.measured]
    library = (backend or "").split(",")[0].split()[:1]
    same = [c for c in cells if library and (c.library or "").split()[:1] == library]
    if same:
        return same[0].status
    labels = {b.label for b in BACKENDS if b.runtime.value == runtime}
    statuses = {c.status for c in cells if c.backend in labels}
    if not statuses:
        return None
    return PASS if statuses == {PASS} else FAIL if FAIL in statuses else sorted(statuses - {PASS})[0]


def _file_facts(row: Any) -> dict[str, Any]:
    """`graph` and `export_parity` from the manifest beside the row's file, when that manifest is about the very
    bytes measured (its sha256 is the row's); nothing otherwise."""
    if f".{row.format}" not in layout.EXPORT_SUFFIXES:
        return {}
    path = Path(row.path)
    try:
        manifest = read_manifest(path) if path.is_file() else None
    except EdgeseqError:
        return {}
    if not manifest or not row.sha256 or manifest.sha256 != row.sha256:
        return {}
    graph = manifest.graph
    known = {g.value for g in Graph}
    return {"graph": graph if graph in known else None,
            "export_parity": parity_at_export(manifest, row.runtime, row.backend)}


def annotate(rows: list[Any]) -> list[Any]:
    """The rows with `graph` and `export_parity` read from their files' manifests (kept where none is readable)."""
    return [replace(r, **facts) if (facts := _file_facts(r)) else r for r in rows]


# ---------------------------------------------------------------- the choice

@dataclass(frozen=True)
class GraphChoice:
    """The graphs of one recipe measured on one device in one runtime at one thread count, batch 1."""
    device: str
    model: str
    format: str
    recipe: str
    runtime: str
    threads: int | None
    fastest: str | None                        # None: no graph passed parity and was measured at batch 1
    default_graph: str | None                  # the recipes table's graph (when bench ran)
    p50_us: tuple[tuple[str, float], ...]      # (graph, p50) of every graph that may be chosen, fastest first
    excluded: tuple[tuple[str, str], ...]      # (graph, why it may not be chosen)
    sha256: tuple[tuple[str, str], ...]        # (graph, the measured file's sha256), for the chosen p50s
    parity: tuple[tuple[str, str], ...] = ()   # (graph, its parity at export): pass, inconclusive, fail, ...
    batch: int = CHOICE_BATCH

    @property
    def key(self) -> tuple[str, str, str]:
        return self.model, self.format, self.recipe

    @property
    def label(self) -> str:
        return f"{self.model} {self.format}/{self.recipe}"

    @property
    def default_p50_us(self) -> float | None:
        return dict(self.p50_us).get(self.default_graph) if self.default_graph else None

    @property
    def gain_over_default(self) -> float | None:
        """How many times faster the chosen graph is than the table's (default p50 / chosen p50), or None when
        the table's graph was not a candidate here."""
        chosen, default = dict(self.p50_us).get(self.fastest or ""), self.default_p50_us
        return round(default / chosen, 3) if chosen and default else None

    def why_no_gain(self) -> str | None:
        if self.gain_over_default is not None or self.fastest is None:
            return None
        if not self.default_graph:
            return "the recipes table has no graph for it"
        return dict(self.excluded).get(self.default_graph, f"the table's {self.default_graph} graph was not measured")

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "model": self.model, "format": self.format, "recipe": self.recipe,
                "runtime": self.runtime, "threads": self.threads, "batch": self.batch, "fastest": self.fastest,
                "default_graph": self.default_graph, "default_p50_us": self.default_p50_us,
                "gain_over_default": self.gain_over_default, "p50_us": dict(self.p50_us),
                "excluded": dict(self.excluded), "sha256": dict(self.sha256), "parity": dict(self.parity)}

    @classmethod
    def from_dict(cls, data: Any) -> GraphChoice:
        """Back from `to_dict()` (a bench row's `graph_choice`); a one-line DataError for anything else."""
        row = from_dict(_ChoiceRow, data, "graph_choice")
        for name in ("p50_us", "excluded", "sha256", "parity"):
            values = getattr(row, name)
            kind = (int, float) if name == "p50_us" else str
            if any(not isinstance(v, kind) or isinstance(v, bool) for v in values.values()):
                raise DataError(f"graph_choice: {name} holds a value that is not a {kind}")
        return cls(row.device, row.model, row.format, row.recipe, row.runtime, row.threads, row.fastest,
                   row.default_graph, tuple((k, float(v)) for k, v in row.p50_us.items()),
                   tuple(row.excluded.items()), tuple(row.sha256.items()), tuple(row.parity.items()), row.batch)


@dataclass(frozen=True)
class _ChoiceRow:
    """The JSON shape of GraphChoice.to_dict(), checked field by field by rows.from_dict."""
    device: str
    model: str
    format: str
    recipe: str
    runtime: str
    threads: int | None
    fastest: str | None
    default_graph: str | None
    p50_us: dict[str, Any]
    excluded: dict[str, Any]
    sha256: dict[str, Any]
    parity: dict[str, Any] = field(default_factory=dict)
    batch: int = CHOICE_BATCH


def _group(row: Any) -> tuple[Any, ...] | None:
    """What a row is compared within, or None for a row that is no graph candidate (a Keras model, a step model,
    a file whose graph or recipe is not known)."""
    if row.step or not (row.model and row.recipe and row.graph) or row.format == layout.KERAS_FORMAT:
        return None
    if off_default(row.runtime, getattr(row, "kernels", None)):   # graphs are compared on the default kernels
        return None
    return device_of(row), row.model, row.format, row.recipe, row.runtime, row.threads


def _measured(rows: list[Any]) -> list[Any]:
    return [r for r in rows if r.status == "ok" and r.batch == CHOICE_BATCH and r.p50_us is not None]


def graph_parity(rows: list[Any]) -> str | None:
    """One graph's parity at export over its measured rows (pass only if every one passed), None if unknown."""
    parity = {r.export_parity for r in _measured(rows)}
    if not parity or parity == {None}:
        return None
    if parity == {PASS}:
        return PASS
    return FAIL if FAIL in parity else sorted(p for p in parity - {PASS} if p)[0]


def eligible(parity: str | None, table_parity: str | None) -> bool:
    """A graph may be chosen when it passed parity at export; when the golden digits could not tell
    (inconclusive), only if the table's own graph got no better verdict (the recipe's file ships with it
    anyway); a failure, a file that did not load, or an unknown parity never."""
    return parity == PASS or (parity == INCONCLUSIVE and table_parity == INCONCLUSIVE)


def _exclusion(rows: list[Any], parity: str | None, table_parity: str | None) -> str | None:
    """Why a graph may not be chosen, or None."""
    measured = _measured(rows)
    if not measured:
        bad = next((r for r in rows if r.status != "ok"), None)
        return f"bench {bad.status}: {bad.reason}" if bad else f"not measured at batch {CHOICE_BATCH}"
    if eligible(parity, table_parity):
        return None
    p50 = f"p50 {min(r.p50_us for r in measured):.1f} µs"
    if parity is None:
        return f"parity at export not known for this runtime (its manifest has none); {p50}"
    if parity == INCONCLUSIVE:
        return f"parity at export inconclusive, and the table's graph {table_parity or 'not measured'}; {p50}"
    return f"parity at export {parity}; {p50}"


def choose(rows: list[Any]) -> list[GraphChoice]:
    """One GraphChoice per group of rows (device, model, format, recipe, runtime, threads) that holds two graphs
    or more: the fastest eligible graph (`eligible`) at batch 1. Two files of one graph (a candidate and the
    recipe's own file): the faster one's p50 counts."""
    groups: dict[tuple[Any, ...], dict[str, list[Any]]] = {}
    for row in rows:
        if (key := _group(row)) is not None:
            groups.setdefault(key, {}).setdefault(str(row.graph), []).append(row)
    choices = []
    for (device, model, fmt, recipe, runtime, threads), by_graph in groups.items():
        if len(by_graph) < 2:
            continue
        default = table_graph(model, fmt, recipe)
        parity = {graph: graph_parity(graph_rows) for graph, graph_rows in by_graph.items()}
        timed, excluded, files = [], [], []
        for graph, graph_rows in by_graph.items():
            why = _exclusion(graph_rows, parity[graph], parity.get(default or ""))
            if why:
                excluded.append((graph, why))
                continue
            best = min(_measured(graph_rows), key=lambda r: r.p50_us)
            timed.append((graph, float(best.p50_us)))
            files.append((graph, best.sha256 or ""))
        timed.sort(key=lambda item: item[1])
        choices.append(GraphChoice(device, model, fmt, recipe, runtime, threads, timed[0][0] if timed else None,
                                   default, tuple(timed), tuple(sorted(excluded)), tuple(files),
                                   tuple(sorted((g, p or "not known") for g, p in parity.items()))))
    return choices


def with_choices(rows: list[Any]) -> list[Any]:
    """The rows annotated (graph, export parity), each row of a compared group carrying its group's choice (the
    others none: a choice another machine computed is computed again here)."""
    rows = annotate(rows)
    by_group = {(c.device, c.model, c.format, c.recipe, c.runtime, c.threads): c.to_dict() for c in choose(rows)}
    return [replace(r, graph_choice=by_group.get(_group(r))) for r in rows]


def recorded(rows: Any) -> list[GraphChoice]:
    """The choices bench recorded on the rows (`graph_choice`), each once, in the rows' order."""
    seen: dict[tuple[Any, ...], GraphChoice] = {}
    for row in rows:
        if row.graph_choice is not None:
            choice = GraphChoice.from_dict(row.graph_choice)
            seen.setdefault((choice.device, *choice.key, choice.runtime, choice.threads), choice)
    return list(seen.values())
