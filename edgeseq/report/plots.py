"""The report's three figures, drawn from plain figures (no JSON here) and returned as PNG bytes.

matplotlib is set up by edgeseq.core.plotting when a function draws, so importing this module is free.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.core.pareto import pareto
from edgeseq.core.plotting import png, pyplot
from edgeseq.runtimes.table import RUNTIMES

MODEL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b")
RUNTIME_MARKERS = {name.value: row.marker for name, row in RUNTIMES.items() if row.marker}   # the runtimes table's
OTHER_MARKER = "D"                     # every other runtime's
SMALL_MARKERS = frozenset({"*"})       # drawn larger in the legend
KB = 1024


@dataclass(frozen=True)
class Point:
    """One file × runtime on the accuracy-vs-latency plane."""
    label: str
    model: str
    runtime: str
    latency_us: float
    accuracy: float            # a fraction
    passed: bool               # parity passed (a Keras baseline counts as passed)
    baseline: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Bar:
    """One bar: a figure for (group, model), with a short note printed above it."""
    group: str
    model: str
    value: float | None
    note: str = ""
    failed: bool = False       # drawn hatched (e.g. the file failed parity)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """The points no other point beats on both latency (lower) and accuracy (higher), fastest first."""
    return pareto(points, lambda p: p.latency_us, lambda p: p.accuracy)


def colours(models: list[str]) -> dict[str, str]:
    return {m: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, m in enumerate(models)}


def _place_labels(ax: Any, fig: Any, items: list[tuple[float, float, str, float]]) -> None:
    """Annotate each (x, y, text, marker radius in points) at the nearest spot that overlaps no earlier label,
    no marker and stays inside the axes (greedy); far spots get a leader line."""
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    scale = fig.dpi / 72
    taken = []
    for x, y, _, radius in items:
        px, py = ax.transData.transform((x, y))
        r = radius * scale
        taken.append((px - r, py - r, px + r, py + r))
    offsets = sorted({(round(d * math.cos(a), 1), round(d * math.sin(a) * 0.8, 1))
                      for d in (8, 16, 26, 38, 52, 68) for a in (math.radians(t) for t in range(0, 360, 30))},
                     key=lambda o: (math.hypot(*o), -abs(o[0])))
    box_style = {"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85}

    def clear(box: tuple[float, float, float, float]) -> bool:
        inside = area.x0 <= box[0] and box[2] <= area.x1 and area.y0 <= box[1] and box[3] <= area.y1
        return inside and not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3]
                                  for t in taken)

    for x, y, text, radius in items:
        chosen = None
        for dx, dy in offsets:
            dx = dx + (radius if dx > 0 else -radius if dx < 0 else 0)
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
            style = {"xytext": (dx, dy), "textcoords": "offset points", "ha": ha, "va": va, "fontsize": 7,
                     "bbox": box_style, "zorder": 4}
            note = ax.annotate(text, (x, y), **style)
            box = note.get_window_extent(renderer)  # the text alone: a leader line may cross other things
            box_t = (box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1)
            if clear(box_t):
                chosen = box_t
                if math.hypot(dx, dy) > 12 + radius:
                    note.remove()
                    leader = {"arrowstyle": "-", "color": "0.55", "lw": 0.6, "shrinkA": 0,
                              "shrinkB": radius * 0.8}
                    ax.annotate(text, (x, y), **style, arrowprops=leader)
                break
            note.remove()
        if chosen is None:  # nowhere free: beside the point, accepting the overlap
            note = ax.annotate(text, (x, y), xytext=(radius + 4, 0), textcoords="offset points", va="center",
                               fontsize=7, zorder=4)
            b = note.get_window_extent(renderer)
            chosen = (b.x0, b.y0, b.x1, b.y1)
        taken.append(chosen)


def accuracy_vs_latency(points: list[Point], models: list[str], title: str) -> bytes:
    """Accuracy (%) against batch-1 p50 latency (µs, log x), one colour per model, one marker per runtime.

    The Pareto frontier is drawn over the points that passed parity (and the Keras baselines). Points that
    failed parity are hollow; those below the plotted accuracy range sit on its floor with their figure.
    """
    plt = pyplot()
    from matplotlib.lines import Line2D  # noqa: PLC0415

    palette = colours(models)
    fig, ax = plt.subplots(figsize=(10, 6.4))
    good = [p for p in points if p.passed]
    span = [p.accuracy * 100 for p in (good or points)]
    if not span:        # nothing was measured at batch 1: an empty plot that says so, not a crash
        ax.text(0.5, 0.5, "no file was measured at batch 1", ha="center", va="center", transform=ax.transAxes)
        span = [0.0, 100.0]
    low, high = min(span), max(span)
    pad = max(0.5, (high - low) * 0.15)
    floor = low - pad
    rest = floor + pad * 0.15              # where points below the range are drawn
    items = []
    for p in points:
        y = p.accuracy * 100
        clipped = y < floor
        marker = "v" if clipped else RUNTIME_MARKERS.get(p.runtime, OTHER_MARKER)
        size = 170 if p.baseline else 55
        face = palette.get(p.model, "0.4") if p.passed else "none"
        ax.scatter([p.latency_us], [rest if clipped else y], s=size, marker=marker, zorder=3,
                   facecolors=face, edgecolors=palette.get(p.model, "0.4"), linewidths=1.2)
        text = p.label + (" (Keras baseline)" if p.baseline else "")
        if not p.passed:
            text += f" — {y:.2f} %, failed parity"
        items.append((p.latency_us, rest if clipped else y, text, math.sqrt(size) / 2 + 1))
    frontier = pareto_frontier(good)
    if frontier:
        xs = [p.latency_us for p in frontier]
        ys = [p.accuracy * 100 for p in frontier]
        xmax = max(p.latency_us for p in points)
        ax.step(xs + [xmax * 1.3], ys + [ys[-1]], where="post", color="0.35", ls="--", lw=1.1, zorder=2)
    ax.set_xscale("log")
    xs_all = [p.latency_us for p in points]
    ax.set_xlim(min(xs_all) / 1.8, max(xs_all) * 2.2)
    ax.set_ylim(floor, high + max(pad, (high - floor) * 0.2))
    ax.set_xlabel("p50 latency at batch 1 (µs, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="both", alpha=0.25)
    fig.canvas.draw()
    _place_labels(ax, fig, sorted(items, key=lambda i: i[0]))
    handles = [Line2D([], [], ls="", marker="o", color=palette[m], label=m.upper()) for m in models]
    used = sorted({p.runtime for p in points})
    markers = {r: RUNTIME_MARKERS.get(r, OTHER_MARKER) for r in used}
    handles += [Line2D([], [], ls="", marker=markers[r], color="0.3", mfc="0.6",
                       ms=11 if markers[r] in SMALL_MARKERS else 7, label=f"runtime: {r}") for r in used]
    if any(not p.passed for p in points):
        handles.append(Line2D([], [], ls="", marker="o", color="0.3", mfc="none",
                              label="failed parity (hollow)"))
    if any(p.accuracy * 100 < floor for p in points):
        handles.append(Line2D([], [], ls="", marker="v", color="0.3", mfc="none",
                              label="below the axis (see label)"))
    if frontier:
        handles.append(Line2D([], [], ls="--", color="0.35", label="Pareto frontier (passing files)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    return png(fig)


def grouped_bars(bars: list[Bar], models: list[str], title: str, ylabel: str, unit: str) -> bytes:
    """Grouped bars (one group per category, one bar per model), log y, each bar labelled with its value."""
    plt = pyplot()
    from matplotlib.patches import Patch  # noqa: PLC0415

    palette = colours(models)
    groups = list(dict.fromkeys(b.group for b in bars))
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(6.5, 1.25 * len(groups) + 2), 5.2))
    values = [b.value for b in bars if b.value]
    bottom = min(values) / 3 if values else 1
    for b in bars:
        x = groups.index(b.group) - 0.4 + width * (models.index(b.model) + 0.5)
        if b.value is None:
            ax.text(x, bottom * 1.15, f"{b.model}: {b.note or 'n/a'}", rotation=90, ha="center", va="bottom",
                    fontsize=7, color="0.35")
            continue
        ax.bar(x, b.value, width * 0.92, color=palette[b.model], hatch="///" if b.failed else None,
               edgecolor="white" if not b.failed else "black", linewidth=0.5)
        label = f"{b.value:,.0f}" if b.value >= 100 else f"{b.value:,.1f}"
        ax.text(x, b.value * 1.06, label + (f"\n{b.note}" if b.note else ""), ha="center", va="bottom",
                fontsize=7)
    ax.set_yscale("log")
    if values:
        ax.set_ylim(bottom, max(values) * 4)
    ax.set_xticks(range(len(groups)))
    crowded = len(groups) > 4
    ax.set_xticklabels(groups, rotation=20 if crowded else 0, ha="right" if crowded else "center")
    ax.set_ylabel(f"{ylabel} ({unit}, log scale)")
    ax.set_title(title, fontsize=11)
    ax.grid(True, axis="y", which="both", alpha=0.25)
    handles = [Patch(color=palette[m], label=m.upper()) for m in models]
    if any(b.failed for b in bars):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="failed parity"))
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    return png(fig)
