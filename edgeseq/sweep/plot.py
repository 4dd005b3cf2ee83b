"""The sweep's figure: every file as a dot (accuracy against p50 latency, log x), coloured by cell, the seeds'
files ringed, and the Pareto frontier drawn and labelled (only its points: a grid has a hundred files)."""

from __future__ import annotations

from edgeseq.core.plotting import png, pyplot
from edgeseq.sweep.frontier import Point

CELL_COLOURS = {"rnn": "tab:blue", "gru": "tab:green", "lstm": "tab:red"}


def _cell(point: Point) -> str:
    return point.variant.split("-")[0]


def frontier_figure(found: list[Point], frontier: list[Point], thresholds: dict[str, Point | None]) -> bytes:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 6))
    for cell, colour in CELL_COLOURS.items():
        mine = [p for p in found if _cell(p) == cell]
        if mine:
            ax.scatter([p.p50_us for p in mine], [p.accuracy * 100 for p in mine], s=18, alpha=0.45, color=colour,
                       label=f"{cell} variants")
    seeds = [p for p in found if p.seed]
    ax.scatter([p.p50_us for p in seeds], [p.accuracy * 100 for p in seeds], s=70, facecolors="none",
               edgecolors="black", linewidths=1.2, label="seed models' files")
    ax.step([p.p50_us for p in frontier], [p.accuracy * 100 for p in frontier], where="post", color="black",
            linewidth=1, linestyle="--", label="Pareto frontier")
    for i, p in enumerate(frontier):
        ax.annotate(f"{p.label} ({p.runtime})", (p.p50_us, p.accuracy * 100), fontsize=7,
                    xytext=(6, -10 if i % 2 else 4), textcoords="offset points")
    for threshold in thresholds:
        ax.axhline(float(threshold) * 100, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    low = min((p.accuracy for p in frontier), default=0.9) * 100
    ax.set_ylim(max(low - 2, 0), 100)
    ax.set_xlabel("p50 latency at batch 1, one thread (µs, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Sweep: every variant and recipe; dotted lines: the accuracies asked about")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="lower right")
    return png(fig)
