"""The RNN-vs-LSTM conclusion: what going from the smaller architecture's chosen file to the larger one's buys
in test accuracy, and what it costs in p50 latency and file size, as text and as figures.

The gain is tested (edgeseq.report.paired: a paired interval on the same test sequences): "more accurate" only
when its 95 % interval excludes zero, "no measurable difference on N sequences" otherwise; time and bytes are
priced per pp only for a real gain. A model whose training failed its health checks gets no verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from edgeseq.report.join import FileRow
from edgeseq.report.paired import Difference, difference
from edgeseq.report.units import KB, kb, pct, us
from edgeseq.report.verdict import ArchVerdict


@dataclass(frozen=True)
class Conclusion:
    text: str
    from_model: str | None = None
    to_model: str | None = None
    from_file: dict[str, Any] | None = None
    to_file: dict[str, Any] | None = None
    basis: dict[str, str] = field(default_factory=dict)     # model -> "recommended" | "most accurate"
    accuracy_gain_pp: float | None = None
    extra_latency_us: float | None = None
    extra_size_kb: float | None = None
    pp_per_us: float | None = None                           # None when the step costs no latency
    pp_per_kb: float | None = None
    latency_ratio: float | None = None
    size_ratio: float | None = None
    fastest: dict[str, Any] | None = None   # the same step between the two fastest passing files
    difference: dict[str, Any] | None = None   # the accuracy gain tested: edgeseq.report.paired.Difference
    real_gain: bool | None = None           # the gain's 95 % interval lies above zero

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _diff(b: float | None, a: float | None, scale: float = 1.0) -> float | None:
    return None if a is None or b is None else round((b - a) / scale, 6)


def _per(gain: float, extra: float | None, unit: str) -> tuple[float | None, str]:
    if extra is None:
        return None, f"no {unit} figure to divide by"
    if extra <= 0:
        return None, f"no extra {unit} to divide by"
    return gain / extra, f"{gain / extra:.4f} pp per extra {unit}"


def _describe(row: FileRow, basis: str) -> str:
    return (f"the {row.model.upper()}'s {basis} file, {row.label} ({pct(row.accuracy)} %,"
            f" p50 {us(row.p50_us)} µs at batch 1, {kb(row.size_bytes)} KB)")


def _accuracy_step(gain: float, found: Difference | None, large: str) -> str:
    """The tested accuracy step, in words."""
    if found is None:
        return f"{'gains' if gain >= 0 else 'loses'} {abs(gain):.2f} pp of test accuracy (untested: no sequence count)"
    if not found.real:
        return f"changes test accuracy by {gain:+.2f} pp, no measurable difference ({found.interval()})"
    return (f"{'gains' if gain > 0 else 'loses'} {abs(gain):.2f} pp of test accuracy, a real"
            f" {'gain' if gain > 0 else 'loss'} ({found.interval()})")


def _health_note(verdict: tuple[ArchVerdict, ...]) -> str:
    sick = [v for v in verdict if v.unhealthy]
    return " ".join(f"No verdict on the {v.model.upper()}: its training failed its health checks ({v.unhealthy});"
                    " its files measure a failed training, not the architecture." for v in sick)


def conclude(verdict: tuple[ArchVerdict, ...], parameters: dict[str, int],
             test_digits: int | None = None) -> Conclusion:
    """From the smaller architecture's recommended (else most accurate) file to the larger one's."""
    order = sorted(verdict, key=lambda v: (parameters.get(v.model, 0), v.model))
    if len(order) < 2:
        return Conclusion("No comparison: the results hold only one architecture.")
    small, large = order[0], order[-1]
    (a, basis_a), (b, basis_b) = ((v.recommended, "recommended") if v.recommended
                                  else (v.most_accurate, "most accurate") for v in (small, large))
    if a is None or b is None:
        missing = small.model if a is None else large.model
        return Conclusion(f"No comparison: no {missing} file passed parity.", small.model, large.model)
    gain = round((b.accuracy - a.accuracy) * 100, 6)
    found = difference(a, b, test_digits)
    real = found.real and gain > 0 if found is not None else None
    sick = _health_note(verdict)
    extra_us, extra_kb = _diff(b.p50_us, a.p50_us), _diff(b.size_bytes, a.size_bytes, KB)
    per_us, us_text = _per(gain, extra_us, "µs")
    per_kb, kb_text = _per(gain, extra_kb, "KB")
    lat_ratio = b.p50_us / a.p50_us if extra_us is not None and a.p50_us else None
    size_ratio = b.size_bytes / a.size_bytes if extra_kb is not None and a.size_bytes else None
    text = (f"Going from {_describe(a, basis_a)} to {_describe(b, basis_b)}"
            f" {_accuracy_step(gain, found, large.model)}, for"
            f" {'an unmeasured' if extra_us is None else f'{extra_us:+,.1f} µs of'} p50 latency"
            + (f" ({lat_ratio:.1f}× the time)" if lat_ratio else "")
            + f" and {'an unknown' if extra_kb is None else f'{extra_kb:+,.1f} KB of'} file size"
            + (f" ({size_ratio:.1f}× the bytes)" if size_ratio else "") + ".")
    if sick:
        text = f"{sick} {text}"
    elif real and per_us is not None and per_kb is not None:
        text += (f" The {large.model.upper()} is more accurate: {us_text} and {kb_text}; each pp it adds costs"
                 f" {1 / per_us:,.1f} µs and {1 / per_kb:,.1f} KB on this machine, for these files, these runtimes"
                 " and batch 1.")
    elif real:
        text += f" The {large.model.upper()} is more accurate, at no extra {'latency' if per_us is None else 'size'}."
    elif found is not None and found.real:
        text += f" The {large.model.upper()} is less accurate, not only larger."
    elif found is not None and extra_us is not None and extra_us > 0:
        text += (f" The {large.model.upper()} file is slower and larger without being measurably more accurate on"
                 f" {found.n:,} sequences; a larger test split could tell a smaller gain.")
    fa, fb = small.fastest, large.fastest
    fastest = None
    if fa and fb and (fa, fb) != (a, b):
        fastest = {"from_file": fa.summary(), "to_file": fb.summary(),
                   "accuracy_gain_pp": round((fb.accuracy - fa.accuracy) * 100, 6),
                   "extra_latency_us": _diff(fb.p50_us, fa.p50_us), "latency_ratio": fb.p50_us / fa.p50_us}
        step = difference(fa, fb, test_digits)
        tested = f", {'a real difference' if step.real else 'no measurable difference'}" if step else ""
        text += (f" Between the fastest passing files instead ({fa.label}: {us(fa.p50_us)} µs,"
                 f" {pct(fa.accuracy)} %; {fb.label}: {us(fb.p50_us)} µs, {pct(fb.accuracy)} %)"
                 " the step is"
                 f" {fastest['accuracy_gain_pp']:+.2f} pp{tested} for {fastest['extra_latency_us']:+,.1f} µs"
                 f" ({fastest['latency_ratio']:.1f}× the time).")
    priced = bool(real) and not sick
    return Conclusion(text, small.model, large.model, a.summary(), b.summary(),
                      {small.model: basis_a, large.model: basis_b}, gain, extra_us, extra_kb,
                      per_us if priced else None, per_kb if priced else None,
                      lat_ratio, size_ratio, fastest, found.to_dict() if found else None, real)
