"""The comparison itself: capture each file's layers, match them by kind and order, and compute the figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq import formats
from edgeseq.diagnostics import capture as cap
from edgeseq.diagnostics.graph import KIND_ORDER, RECURRENT, Layer, Probe, find_layers, untraced_loops


@dataclass(frozen=True)
class QuantDebugRow:
    layer: str                        # Keras layer name where the tensor names carry it, else "<kind> <n>"
    kind: str                         # recurrent | dense | output
    op: str                           # the quantized file's op (the reference's after a slash when it differs)
    timestep: int | None              # None: the whole layer
    rmse: float | None
    relative_rmse: float | None       # rmse / (max - min) of the float values
    clipping: float | None            # fraction of float values outside the quantized range; None: float tensor
    max_abs_error: float | None
    float_range: tuple[float, float] | None
    shape: list[int] | None           # of one digit's value (both files agree, or the row is unmatched)
    tensor: str | None                # the quantized file's tensor
    reference_tensor: str | None
    note: str | None = None           # why a row has no figures (unmatched), or what it pools

    @property
    def matched(self) -> bool:
        return self.rmse is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

Capture = Callable[..., cap.Captured]
CAPTURES: dict[str, Capture] = {"tflite": cap.capture_tflite, "onnx": cap.capture_onnx}
GRAPHS = {"tflite": lambda p: cap.tflite_graph(p)[0], "onnx": lambda p: cap.onnx_graph(p)[0]}


def capture_layers(path: Path, capture: Capture, digits: np.ndarray, timesteps: int,
                   tick: Callable[[int], None]) -> tuple[cap.Captured, list[Layer], list[str]]:
    """The file's layers and the values of every tensor they need, on `digits`."""
    graph = GRAPHS[formats.by_suffix(path).name](path)
    layers = find_layers(graph, timesteps)
    notes = [f"{path.name}: a {op} op is not traced (its steps are inside a loop body)" for op in untraced_loops(graph)]
    tensors = {p.tensor for layer in layers for p in layer.probes if p is not None}
    return capture(path, tensors, digits, tick), layers, notes


def _value(captured: cap.Captured, probe: Probe) -> np.ndarray | None:
    value = captured.values.get(probe.tensor)
    if value is None:
        return None
    if probe.timestep is not None:
        if value.ndim < 3 or probe.timestep >= value.shape[1]:
            return None
        return value[:, probe.timestep]
    return value.reshape(len(value), -1) if value.ndim > 2 else value


def _name(captured: cap.Captured, probe: Probe | None) -> str | None:
    if probe is None:
        return None
    name = captured.graph.names.get(probe.tensor, probe.tensor)
    return f"{name}[:, {probe.timestep}]" if probe.timestep is not None else name


def _figures(q: np.ndarray, f: np.ndarray, rng: cap.QuantRange | None) -> dict[str, float | None]:
    diff = q.astype(np.float64) - f.astype(np.float64)
    rmse = float(np.sqrt(np.mean(diff ** 2)))
    span = float(f.max() - f.min())
    clipped = None
    if rng is not None:
        low, high = rng.bounds
        clipped = int(np.count_nonzero((f < low) | (f > high)))
    return {"rmse": rmse, "span": span, "low": float(f.min()), "high": float(f.max()), "clipped": clipped,
            "count": int(f.size), "max_abs": float(np.max(np.abs(diff))) if diff.size else 0.0}


def _row(label: str, kind: str, op: str, timestep: int | None, figs: list[dict], shape: list[int] | None,
         tensor: str | None, ref_tensor: str | None, note: str | None = None) -> QuantDebugRow:
    if not figs:
        return QuantDebugRow(label, kind, op, timestep, None, None, None, None, None, shape, tensor, ref_tensor, note)
    count = sum(f["count"] for f in figs)
    rmse = float(np.sqrt(sum(f["rmse"] ** 2 * f["count"] for f in figs) / count))
    low, high = min(f["low"] for f in figs), max(f["high"] for f in figs)
    clip = None if any(f["clipped"] is None for f in figs) else sum(f["clipped"] for f in figs) / count
    return QuantDebugRow(label, kind, op, timestep, rmse, rmse / (high - low) if high > low else None, clip,
                         max(f["max_abs"] for f in figs), (low, high), shape, tensor, ref_tensor, note)


def compare_layers(quantized: tuple[cap.Captured, list[Layer], list[str]],
                   reference: tuple[cap.Captured, list[Layer], list[str]]) -> tuple[list[QuantDebugRow], list[str]]:
    (qcap, qlayers, qnotes), (fcap, flayers, fnotes) = quantized, reference
    rows: list[QuantDebugRow] = []
    notes = [*fnotes, *qnotes]
    for kind in KIND_ORDER:
        qs, fs = [x for x in qlayers if x.kind == kind], [x for x in flayers if x.kind == kind]
        for k in range(max(len(qs), len(fs))):
            q, f = (qs[k] if k < len(qs) else None), (fs[k] if k < len(fs) else None)
            label = (q and q.label) or (f and f.label) or f"{kind} {k + 1}"
            if q is None or f is None:
                where = "the reference" if q is not None else "the quantized file"
                rows.append(_row(label, kind, (q or f).op, None, [], None, None, None,  # type: ignore[union-attr]
                                 f"unmatched: {where} has no {kind} layer {k + 1}"))
                continue
            op = q.op if q.op == f.op else f"{q.op} / {f.op}"
            rows.extend(_compare_layer(label, kind, op, q, f, qcap, fcap))
            if q.note or f.note:
                notes.append(f"{label}: {q.note or f.note}")
    if any(x.kind == RECURRENT and len(x.probes) > 1 for x in flayers + qlayers):
        notes.append("recurrent layers: h_t (the hidden state) per timestep; cell states are not compared")
    return rows, notes


def _compare_layer(label: str, kind: str, op: str, q: Layer, f: Layer, qcap: cap.Captured,
                   fcap: cap.Captured) -> list[QuantDebugRow]:
    per_step = kind == RECURRENT and len(q.probes) == len(f.probes) and len(q.probes) > 1
    pairs = list(zip(q.probes, f.probes)) if len(q.probes) == len(f.probes) else []
    steps: list[QuantDebugRow] = []
    pooled: list[dict] = []
    unmatched = 0
    shape = None
    for t, (qp, fp) in enumerate(pairs):
        qv = _value(qcap, qp) if qp else None
        fv = _value(fcap, fp) if fp else None
        timestep = t if per_step else None
        if qv is None or fv is None or qv.shape != fv.shape:
            unmatched += 1
            why = "not found in the graph" if qp is None or fp is None else \
                "not captured" if qv is None or fv is None else f"shapes differ: {list(qv.shape[1:])} vs {list(fv.shape[1:])}"
            steps.append(_row(label, kind, op, timestep, [], None, _name(qcap, qp), _name(fcap, fp), f"unmatched: {why}"))
            continue
        shape = list(qv.shape[1:])
        figs = _figures(qv, fv, qcap.ranges.get(qp.tensor))  # type: ignore[union-attr]
        pooled.append(figs)
        steps.append(_row(label, kind, op, timestep, [figs], shape, _name(qcap, qp), _name(fcap, fp)))
    if not pairs:
        return [_row(label, kind, op, None, [], None, None, None,
                     f"unmatched: {len(q.probes)} values in the quantized file, {len(f.probes)} in the reference")]
    if not per_step:
        return steps
    note = f"{len(pooled)} timesteps pooled" + (f"; {unmatched} unmatched" if unmatched else "")
    layer = _row(label, kind, op, None, pooled, shape, _name(qcap, q.probes[-1]), _name(fcap, f.probes[-1]), note)
    return [layer, *steps]
