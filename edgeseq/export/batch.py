"""`export_all`: every (architecture, recipe) spec in turn, a progress step each, each through `export_one` or,
with a loss budget, through the accuracy-aware recipe search (edgeseq.export.search)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from edgeseq.data import Dataset
from edgeseq.core.errors import EdgeseqError
from edgeseq.export.exporter import WORKER, ExportResult, ExportSpec, export_one, source_model, unavailable_graph
from edgeseq.export.search import Judge, search
from edgeseq.core.fileio import ensure_dir, work_folder
from edgeseq.core.procs import WorkerSession
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.runtimes.guard import SharedChild


def parity_outcome(portability: dict[str, Any] | None) -> tuple[str, str | None]:
    """A file's parity at export from its manifest's portability section, in a few words, and the first reason
    it is not a pass: ('pass (LiteRT, tf.lite)', None), ('inconclusive (LiteRT, tf.lite)', 'inconclusive: delta
    ...'), ('fail (LiteRT)', ...), ('not measured', None)."""
    section = portability or {}
    cells = [c for c in (*section.get("runs_on", []), *section.get("does_not_run_on", [])) if c.get("measured")]
    if not cells:
        return "not measured", None
    by_status: dict[str, list[str]] = {}
    for cell in cells:
        by_status.setdefault(cell["status"], []).append(cell["backend"])
    text = "; ".join(f"{status} ({', '.join(backends)})" for status, backends in by_status.items())
    return text, next((c.get("reason") for c in cells if c["status"] != "pass" and c.get("reason")), None)


def parity_summary(portability: dict[str, Any] | None) -> str:
    """parity_outcome as one line: 'parity pass (LiteRT, tf.lite)', 'parity fail (LiteRT): agreement ...'."""
    text, reason = parity_outcome(portability)
    return f"parity {text}" + (f": {reason}" if reason else "")


def export_all(specs: list[ExportSpec], source_root: Path, out: Path, dataset: Dataset | None,
               progress: ProgressLike = None, max_loss_pp: float | None = None,
               search_seconds: float = 900.0) -> list[ExportResult]:
    """Export every spec (sources checked first); conversions run one after another, a progress step each.
    With `max_loss_pp`, each quantized recipe goes through the accuracy-aware search (export.search)."""
    progress = as_progress(progress)
    sources = {spec.arch: source_model(source_root, spec.arch) for spec in specs}
    ensure_dir(out)
    judge_file = None
    if max_loss_pp is not None:
        if dataset is None:
            raise EdgeseqError("the recipe search needs test sequences to judge on (--data)")
        judge_file = Judge(dataset, max_loss_pp)
    results = []
    # one converter process for the whole call (TensorFlow imported once in it; each request loads its model
    # afresh) and one guard child for every file's portability runs; a crash or a hang costs its recipe only, and
    # the next recipe starts a fresh process (procs.WorkerSession, guard.SharedChild)
    with progress.stage("export", total=len(specs), unit="recipes") as stage, contextlib.ExitStack() as stack:
        shared = stack.enter_context(SharedChild())
        converter = stack.enter_context(WorkerSession(WORKER))
        for spec in specs:
            graph = f"{spec.graph.value} graph" if spec.graph else "no graph"
            stage.begin(f"{spec.arch.value} {spec.recipe.key} ({graph})")
            with work_folder(out, ".edgeseq-export-") as workdir:
                if judge_file is not None and spec.recipe.tolerance.min_delta_accuracy_pp is not None \
                        and spec.graph is not None and not spec.step and unavailable_graph(spec) is None:
                    outcome = search(spec, sources[spec.arch], out, dataset, max_loss_pp, search_seconds,
                                     judge_file, progress, converter, shared)
                else:
                    outcome = export_one(spec, sources[spec.arch], out, dataset, workdir, converter, shared)
            detail = f"{outcome.size_bytes:,} bytes" if outcome.status == "ok" else outcome.reason
            if spec.candidate and outcome.status == "ok":
                detail += f", {parity_summary(outcome.portability)}"
            stage.advance(detail=f"{outcome.status}: {detail} ({outcome.seconds:.1f} s)")
            results.append(outcome)
    return results
