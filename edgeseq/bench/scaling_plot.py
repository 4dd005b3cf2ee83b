"""PNG of `edgeseq bench --scaling` results (matplotlib by edgeseq.core.plotting, imported only when drawing).

  plot(report)            p50 against sequence length (at the smallest batch), p50 against batch (at each file's
                          own length), both log-log, one line per file × runtime × thread count (a colour per
                          file × runtime, a line style per thread count), a dotted "linear" guide of slope 1 on
                          each; and, with two or more thread counts, the speed-up against batch
  scaling_figures(report) for the report: {png name: (bytes, caption)}
"""

from __future__ import annotations

import math
from typing import Any

from edgeseq.core.errors import EdgeseqError
from edgeseq.core.plotting import png, pyplot
from edgeseq.bench.scaling import ScalingReport
from edgeseq.bench.scaling_fit import SUPER_LINEAR, ScalingSummary

STYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _held(report: ScalingReport, summary: ScalingSummary, axis: str) -> int | None:
    """The batch a length line is drawn at (or the length a batch line is drawn at): the summary's."""
    held = summary.length_batch if axis == "length" else summary.batch_length
    if held is None and axis == "length":
        held = min((p.batch for p in report.points if p.path == summary.path and p.status == "ok"), default=None)
    return held


def _series(report: ScalingReport, summary: ScalingSummary, threads: int, axis: str) -> list[tuple[int, float]]:
    """(x, p50) of one file × runtime × thread count along `axis`, the other axis held at the summary's."""
    held = _held(report, summary, axis)
    found = [p for p in report.points if p.path == summary.path and p.runtime == summary.runtime
             and p.threads == threads and p.status == "ok" and p.p50_us
             and (p.batch if axis == "length" else p.length) == held]
    return sorted(((p.length if axis == "length" else p.batch), float(p.p50_us)) for p in found)


def _guide(ax: Any, xs: list[int], ys: list[float]) -> None:
    """A dotted line of slope 1 (cost proportional to x) from the smallest x, at the lines' geometric mean."""
    if len(set(xs)) < 2:
        return
    x0, x1 = min(xs), max(xs)
    starts = [y for x, y in zip(xs, ys) if x == x0]
    y0 = math.exp(sum(math.log(y) for y in starts) / len(starts))
    ax.plot([x0, x1], [y0, y0 * x1 / x0], ":", color="0.6", lw=1, zorder=1, label="linear (slope 1)")


def plot(report: ScalingReport, title: str | None = None) -> bytes:
    """PNG: p50 vs length, p50 vs batch (log-log), and the thread speed-up vs batch when several counts ran."""
    if not report.measured:
        raise EdgeseqError("nothing to plot: no scaling point was measured")
    plt = pyplot()
    threads = sorted({p.threads for p in report.points if p.status == "ok"})
    panels = 3 if len(threads) > 1 else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.2 * panels, 5.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    summaries = [s for s in report.summaries if s.measured]
    from matplotlib.lines import Line2D  # noqa: PLC0415

    handles: dict[str, Any] = {}
    any_flagged = False
    for axis, ax in (("length", axes[0]), ("batch", axes[1])):
        every_x: list[int] = []
        every_y: list[float] = []
        for k, summary in enumerate(summaries):
            colour, marker = colours[k % len(colours)], MARKERS[k % len(MARKERS)]
            for j, count in enumerate(threads):
                line = _series(report, summary, count, axis)
                if not line:
                    continue
                xs, ys = [x for x, _ in line], [y for _, y in line]
                every_x += xs
                every_y += ys
                held = _held(report, summary, axis)
                flagged = any(f.path == summary.path and f.runtime == summary.runtime and f.threads == count
                              and f.axis == axis and f.held == held and f.super_linear for f in report.fits)
                any_flagged = any_flagged or flagged
                label = f"{summary.label} ({summary.runtime}), {count} thread(s)"
                ax.plot(xs, ys, STYLES[j % len(STYLES)], marker=marker, color=colour, ms=4,
                        lw=3.0 if flagged else 1.4)
                handles.setdefault(label, Line2D([], [], ls=STYLES[j % len(STYLES)], marker=marker, color=colour,
                                                 ms=4, lw=1.4, label=label))
        _guide(ax, every_x, every_y)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.25)
        ax.set_ylabel("p50 latency (µs, log scale)")
    lengths_batch = sorted({s.length_batch for s in summaries if s.length_batch is not None})
    own = sorted({s.batch_length for s in summaries if s.batch_length is not None})
    axes[0].set_xlabel("sequence length (timesteps, log scale)")
    axes[0].set_title(f"p50 vs sequence length (batch {', '.join(map(str, lengths_batch)) or '1'})", fontsize=10)
    axes[1].set_xlabel("batch (sequences, log scale)")
    axes[1].set_title(f"p50 vs batch (length {', '.join(map(str, own)) or '-'})", fontsize=10)
    lengths = sorted({p.length for p in report.points})
    if lengths:
        axes[0].set_xticks(lengths, [str(v) for v in lengths])
    batches = sorted({p.batch for p in report.points})
    if batches:
        axes[1].set_xticks(batches, [str(v) for v in batches])
    if panels == 3:
        ax = axes[2]
        for k, summary in enumerate(summaries):
            colour, marker = colours[k % len(colours)], MARKERS[k % len(MARKERS)]
            for j, count in enumerate(threads[1:], start=1):
                line = sorted((s.batch, s.speedup) for s in report.speedups if s.path == summary.path
                              and s.runtime == summary.runtime and s.threads == count
                              and s.length == summary.batch_length)
                if line:
                    ax.plot([x for x, _ in line], [y for _, y in line], STYLES[j % len(STYLES)], marker=marker,
                            color=colour, ms=4, lw=1.4)
        ax.axhline(1.0, color="0.5", lw=1, ls=":")
        ax.set_xscale("log", base=2)
        if batches:
            ax.set_xticks(batches, [str(v) for v in batches])
        ax.set_xlabel("batch (sequences, log scale)")
        ax.set_ylabel(f"speed-up: p50 at {threads[0]} thread(s) / p50 at more")
        ax.set_title(f"thread speed-up vs batch (length {', '.join(map(str, own)) or '-'};"
                     " above 1: faster)", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    guide = next((h for h in axes[0].get_lines() + axes[1].get_lines() if h.get_label() == "linear (slope 1)"),
                 None)
    legend = list(handles.values()) + ([guide] if guide is not None else [])
    if any_flagged:
        legend.append(Line2D([], [], color="0.3", lw=3.0, label=f"thick: super-linear (log-log slope > {SUPER_LINEAR})"))
    device = report.environment.get("device") or "this machine"
    fig.suptitle(title or f"cost growth on {device}: p50 latency against sequence length, batch and threads",
                 fontsize=11)
    fig.tight_layout()
    fig.legend(handles=legend, loc="upper center", ncol=min(3, max(1, math.ceil(len(legend) / 8))), fontsize=7,
               bbox_to_anchor=(0.5, 0.0), frameon=False)      # below the panels: savefig's tight box takes it in
    return png(fig)


def scaling_figures(report: ScalingReport, name: str = "scaling.png") -> dict[str, tuple[bytes, str]]:
    """For the report: {png name: (bytes, caption)}, the caption one sentence per file × runtime."""
    if not report.measured:
        return {}
    caption = ("Cost growth (`edgeseq bench --scaling`): " + "; ".join(s.line() for s in report.summaries
                                                                      if s.measured))
    return {name: (plot(report), caption)}
