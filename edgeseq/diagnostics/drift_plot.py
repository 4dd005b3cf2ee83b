"""PNG line plots of `edgeseq drift` results (matplotlib by edgeseq.core.plotting: only when drawing).

  plot(report)             one file: accuracy vs rows seen (reference and file, a marker at the row where each
                           reaches 90 % of its final accuracy), and below it the drift vs rows (state and
                           probabilities, mean and max |diff|, log y)
  plot_many(reports)       several results (e.g. the RNN's and the LSTM's) on one figure, one colour each: how
                           early each architecture answers, and whose drift grows with time
  drift_figures(files, ..) for the report: {png name: (bytes, caption)} for step files, and a note for each that
                           could not be measured
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgeseq.core.errors import EdgeseqError
from edgeseq.diagnostics.drift import DriftReport
from edgeseq.core.plotting import png, pyplot

FLOOR = 1e-9          # zero drift drawn on a log axis
DPI = 100


def _label(report: DriftReport) -> str:
    f = report.file
    return f"{f.model or Path(f.path).stem} {f.format}/{f.recipe}" if f.recipe else Path(f.path).stem


def _floor(values: list[float]) -> list[float]:
    return [max(v, FLOOR) for v in values]


def _accuracy(ax: Any, report: DriftReport, colour: str | None, label: str, both_styles: bool) -> None:
    rows = [r.row for r in report.rows]
    sides = (("reference", report.reference, "--", "o"), ("file", report.file, "-", "s"))
    for role, side, style, marker in sides:
        accuracy = [getattr(r, f"{role}_accuracy") * 100 for r in report.rows]
        name = f"{label}: {role} ({side.name})" if both_styles else f"{role}: {side.name}"
        line, = ax.plot(rows, accuracy, style, color=colour, label=name)
        if side.rows_to_90 is not None:
            t = side.rows_to_90
            ax.plot([t], [accuracy[t - 1]], marker, color=line.get_color(), markersize=7, markerfacecolor="none")
            if role == "reference" or t != report.reference.rows_to_90:     # one label where both are equal
                ax.annotate(f"{t}", (t, accuracy[t - 1]), textcoords="offset points",
                            xytext=(-14 if role == "reference" else 6, 6), fontsize=8, color=line.get_color())


def _drift(ax: Any, report: DriftReport) -> None:
    rows = [r.row for r in report.rows]
    series = (("state mean", [r.state.mean for r in report.rows], "-", "tab:blue"),
              ("state max", [r.state.max for r in report.rows], ":", "tab:blue"),
              ("probabilities mean", [r.probabilities.mean for r in report.rows], "-", "tab:orange"),
              ("probabilities max", [r.probabilities.max for r in report.rows], ":", "tab:orange"))
    if max(max(values, default=0.0) for _, values, _, _ in series) < FLOOR:       # nothing to put on a log axis
        for name, values, style, colour in series:
            ax.plot(rows, values, style, color=colour, label=name)
        ax.set_ylim(-0.05, 1)
        ax.text(0.5, 0.5, "no drift (identical outputs)", transform=ax.transAxes, ha="center")
        return
    for name, values, style, colour in series:
        ax.plot(rows, _floor(values), style, color=colour, label=name)
    ax.set_yscale("log")


def plot(report: DriftReport) -> bytes:
    """PNG: accuracy vs rows (top) and drift vs rows (bottom) for one drift result."""
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    top.tick_params(labelbottom=True)
    pct = f"{report.fraction * 100:.0f} %"
    _accuracy(top, report, None, _label(report), both_styles=False)
    top.set_ylabel("accuracy if the sequence stopped here (%)")
    top.set_ylim(0, 100)
    top.set_title(f"accuracy vs rows seen (markers: {pct} of the final accuracy; reference"
                  f" {report.reference.rows_to_90 or '-'}, file {report.file.rows_to_90 or '-'} rows)", fontsize=9)
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    _drift(bottom, report)
    bottom.set_xlabel("rows seen (timestep)")
    bottom.set_ylabel("|file - reference|" + (" (log)" if bottom.get_yscale() == "log" else ""))
    bottom.set_title(report.state_growth.short(), fontsize=9)
    bottom.legend(fontsize=8, loc="best")
    bottom.grid(alpha=0.3, which="both")
    fig.suptitle(f"{report.file.name} vs {report.reference.name} ({report.digits} test samples)", fontsize=11)
    fig.tight_layout()
    return png(fig, dpi=DPI, tight=False)


def plot_many(reports: Sequence[DriftReport], title: str | None = None) -> bytes:
    """PNG: several drift results on one figure (one colour each): accuracy vs rows (reference dashed, file
    solid, markers at 90 % of the final accuracy) and state drift vs rows (mean solid, max dotted)."""
    if not reports:
        raise EdgeseqError("nothing to plot: no drift results")
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 8), sharex=True)
    top.tick_params(labelbottom=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, report in enumerate(reports):
        colour, label = colours[k % len(colours)], _label(report)
        _accuracy(top, report, colour, label, both_styles=True)
        rows = [r.row for r in report.rows]
        bottom.plot(rows, _floor([r.state.mean for r in report.rows]), "-", color=colour,
                    label=f"{label}: state mean |diff|")
        bottom.plot(rows, _floor([r.state.max for r in report.rows]), ":", color=colour,
                    label=f"{label}: state max |diff|")
    bottom.set_yscale("log")
    top.set_ylabel("accuracy if the sequence stopped here (%)")
    top.set_ylim(0, 100)
    top.set_title(f"accuracy vs rows seen (reference dashed, file solid; markers: {reports[0].fraction * 100:.0f} %"
                  " of the final accuracy)", fontsize=9)
    top.legend(fontsize=7, loc="upper left")
    top.grid(alpha=0.3)
    bottom.set_xlabel("rows seen (timestep)")
    bottom.set_ylabel("state |file - reference| (log)")
    bottom.set_title("state drift vs rows seen", fontsize=9)
    bottom.legend(fontsize=7, loc="lower right")
    bottom.grid(alpha=0.3, which="both")
    counts = sorted({r.digits for r in reports})
    fig.suptitle(title or f"drift and early answers ({', '.join(map(str, counts))} test samples)", fontsize=11)
    fig.tight_layout()
    return png(fig, dpi=DPI, tight=False)


def drift_figures(files: Sequence[Path], dataset: Any = "sample", limit: int | None = None,
                  combined: str = "drift.png") -> tuple[dict[str, tuple[bytes, str]], list[str]]:
    """For the report: `edgeseq drift` on each step file (against its default reference), one PNG each
    (drift-<stem>.png) and, with two or more, all of them on one figure (`combined`); and a note for each file
    that could not be measured. Returns ({png name: (bytes, caption)}, notes)."""
    from edgeseq.diagnostics.drift import drift  # noqa: PLC0415

    if isinstance(dataset, (str, Path)):
        from edgeseq import data  # noqa: PLC0415

        dataset = data.load(dataset)
    figures: dict[str, tuple[bytes, str]] = {}
    notes: list[str] = []
    done: list[DriftReport] = []
    for path in files:
        try:
            report = drift(Path(path), None, dataset, limit)
        except EdgeseqError as err:
            notes.append(f"{Path(path).name}: drift could not run: {err}")
            continue
        done.append(report)
        figures[f"drift-{Path(report.file.path).stem}.png"] = (
            plot(report), (f"{report.file.name} against {report.reference.name}, {report.digits} test sequences"
                           f" ({report.data.get('name', '?')}): {report.summary()}"))
    if len(done) > 1:
        caption = "; ".join(f"{_label(r)}: {r.reference.rows_to_90 or '-'} rows (reference),"
                            f" {r.file.rows_to_90 or '-'} (file), {r.state_growth.verdict}" for r in done)
        figures[combined] = (plot_many(done), (f"Rows to {done[0].fraction * 100:.0f} % of the final accuracy"
                                               f" and state drift: {caption}"))
    return figures, notes
