"""`edgeseq export`'s modes, as library policy: which options go together (`Modes.check`), the ExportSpecs they
ask for (`Modes.specs`: the recipes table's graph, a forced graph, every candidate graph (--graph auto), the
graphs a bench file picked (--pick-from), or the app-ready variants (--app); with --streaming, the step models
too), and which results make the command fail (`not_exported`: the rule its --help states). A conflict or a
value that does not fit is an OptionError, which the CLI turns into a usage error."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edgeseq.core.errors import EdgeseqError, OptionError
from edgeseq.recipes import Graph

if TYPE_CHECKING:     # the CLI imports this module for its options: the exporter only when specs are made
    from edgeseq.export.exporter import ExportResult, ExportSpec
    from edgeseq.models import Variant
    from edgeseq.recipes import Recipe

AUTO = "auto"      # export --graph auto: every graph a recipe can be built with, as candidates


@dataclass(frozen=True)
class Modes:
    """What export's options ask for beside the models and recipes."""
    graph: str | None = None           # a Graph value, AUTO (every candidate graph) or None (the table's)
    pick_from: Path | None = None      # a bench.json whose measurements choose each recipe's graph
    device: str | None = None          # with pick_from: the device whose measurements choose
    max_loss_pp: float | None = None   # the accuracy-aware recipe search (export.search)
    streaming: bool = False            # the step models too
    app: bool = False                  # the app-ready variants instead of the default files
    named: tuple[str, ...] = ()        # the recipes the user named (--quant); (): every recipe, none named

    @property
    def candidates(self) -> bool:
        return self.graph == AUTO

    def check(self) -> None:
        """The options that do not go together: an OptionError naming them, before any work."""
        if self.pick_from is not None and self.graph is not None:
            raise OptionError("--pick-from and --graph do not go together: the bench file chooses the graph")
        if self.device is not None and self.pick_from is None:
            raise OptionError("--device goes with --pick-from")
        if self.candidates and (self.max_loss_pp is not None or self.streaming):
            raise OptionError("--graph auto writes graph candidates only: without --max-loss-pp and --streaming"
                              " (search or stream the graph --pick-from chooses)")
        if self.app and (self.candidates or self.pick_from is not None or self.max_loss_pp is not None):
            raise OptionError("--app does not go with --graph auto, --pick-from or --max-loss-pp: it writes each"
                              " recipe's app-ready variant")

    def specs(self, archs: list[Variant], chosen: list[Recipe], calibration_size: int = 500,
              calibration_seed: int = 0) -> list[ExportSpec]:
        """The ExportSpecs the modes ask for; a graph that does not fit is an OptionError naming its option, a
        bench file that chose none (or a graph the table does not allow) an EdgeseqError."""
        from edgeseq.export import exporter  # noqa: PLC0415  (numpy and the converters' plumbing: not for --help)

        forced = Graph(self.graph) if self.graph and not self.candidates else None
        if self.app:
            try:
                return exporter.plan_app(archs, chosen, forced, self.streaming, calibration_size, calibration_seed)
            except EdgeseqError as err:
                raise OptionError(str(err), "--app") from err
        if self.candidates:
            specs = exporter.plan_candidates(archs, chosen, calibration_size, calibration_seed)
        elif self.pick_from is not None:
            from edgeseq.export.pick import pick  # noqa: PLC0415  (reads bench results: only when asked)

            picks = pick(self.pick_from, [(a.value, r.format.value, r.name) for a in archs for r in chosen],
                         self.device)
            specs = exporter.plan_picked(archs, chosen, picks, calibration_size, calibration_seed)
        else:
            try:
                specs = exporter.plan(archs, chosen, forced, calibration_size, calibration_seed)
            except EdgeseqError as err:
                raise OptionError(str(err), "--graph") from err
        if self.streaming:
            specs += exporter.plan_streaming(archs, chosen, bool(self.named), calibration_size, calibration_seed)
        return specs

    def not_exported(self, results: list[ExportResult]) -> tuple[list[ExportResult], list[ExportResult]]:
        return not_exported(results, self.named)


def _file_of(result: ExportResult) -> tuple[str, str, str, bool]:
    """What one file of the plan is: model, format, recipe, and whether it is the step model (the candidates of
    --graph auto are graphs of one file)."""
    return result.model, result.format, result.recipe, result.graph == Graph.STEP.value


def not_exported(results: list[ExportResult], named: Collection[str] = ()) -> tuple[list[ExportResult],
                                                                                    list[ExportResult]]:
    """The results that did not export, as (failures, notes): the one rule for export's exit status.
    A failure: any real failure (status `failed`: a structural check, a source that cannot be read, a search
    that missed its budget); and a recipe the user `named` that no graph of exported (unsupported). A note: a
    recipe not named that the converter or the table cannot make for the model, and a candidate graph (--graph
    auto) that cannot be built when another graph of its recipe exported, whether the converter refused it or
    crashed on it (status `crashed`, with its last line); a candidate that `failed` a check always fails."""
    exported = {_file_of(r) for r in results if r.status == "ok"}
    failures, notes = [], []
    for result in results:
        if result.status == "ok":
            continue
        refused = result.status == "unsupported"
        beside = _file_of(result) in exported     # another graph of the same file exported (--graph auto)
        if (refused and (result.recipe not in named or beside)) or (result.status == "crashed" and beside):
            notes.append(result)
        else:
            failures.append(result)
    return failures, notes
