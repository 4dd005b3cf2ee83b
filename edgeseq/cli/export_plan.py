"""`edgeseq export`'s plan: which options go together, and the specs they ask for (the recipes table's graph, a
forced graph, every candidate graph (--graph auto), the graphs a bench file picked (--pick-from), or the app-ready
variants (--app); with --streaming, the step models too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.errors import EdgeseqError
from edgeseq.recipes import Graph

AUTO = "auto"      # export --graph auto: every graph a recipe can be built with, as candidates


def check_export_options(graph_name: str | None, pick_from: Path | None, device: str | None,
                         max_loss_pp: float | None, streaming: bool, app_ready: bool) -> None:
    """The options that do not go together (usage errors, before any work)."""
    if pick_from is not None and graph_name is not None:
        raise click.UsageError("--pick-from and --graph do not go together: the bench file chooses the graph")
    if device is not None and pick_from is None:
        raise click.UsageError("--device goes with --pick-from")
    if graph_name == AUTO and (max_loss_pp is not None or streaming):
        raise click.UsageError("--graph auto writes graph candidates only: without --max-loss-pp and --streaming"
                               " (search or stream the graph --pick-from chooses)")
    if app_ready and (graph_name == AUTO or pick_from is not None or max_loss_pp is not None):
        raise click.UsageError("--app does not go with --graph auto, --pick-from or --max-loss-pp: it writes each"
                               " recipe's app-ready variant")


def plan_specs(archs: list[Any], chosen: list[Any], graph_name: str | None, pick_from: Path | None,
               device: str | None, calibration_size: int, calibration_seed: int, streaming: bool, named: bool,
               app_ready: bool) -> list[Any]:
    """The ExportSpecs the options ask for; a graph or pick that does not fit is a one-line usage error."""
    from edgeseq.export.exporter import plan, plan_app, plan_candidates, plan_picked, plan_streaming  # noqa: PLC0415

    if app_ready:
        try:
            return plan_app(archs, chosen, Graph(graph_name) if graph_name else None, streaming, calibration_size,
                            calibration_seed)
        except EdgeseqError as err:
            raise click.BadParameter(str(err), param_hint="--app") from err
    if graph_name == AUTO:
        specs = plan_candidates(archs, chosen, calibration_size, calibration_seed)
    elif pick_from is not None:
        from edgeseq.export.pick import pick  # noqa: PLC0415

        picks = pick(pick_from, [(a.value, r.format.value, r.name) for a in archs for r in chosen], device)
        specs = plan_picked(archs, chosen, picks, calibration_size, calibration_seed)
    else:
        try:
            specs = plan(archs, chosen, Graph(graph_name) if graph_name else None, calibration_size, calibration_seed)
        except EdgeseqError as err:
            raise click.BadParameter(str(err), param_hint="--graph") from err
    if streaming:
        specs += plan_streaming(archs, chosen, named, calibration_size, calibration_seed)
    return specs
