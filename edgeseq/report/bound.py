"""How the report writes the compute bound beside a latency (edgeseq.bench.bound): each file's FLOPs at batch 1
at the single-thread fp32 GEMM peak its bench run measured, the p50 as a multiple of it, the peak and the
device it was measured on, and why a file has no bound."""

from __future__ import annotations

from typing import Any

from edgeseq.report.join import FileRow
from edgeseq.report.units import times, us

Block = tuple[Any, ...]


def bound_cell(row: FileRow) -> str:
    """A measured row's bound in µs at batch 1, or why it has none."""
    if not row.measured:
        return "–"
    if row.bound_us is not None:
        return us(row.bound_us)
    if row.flops_source is None:
        return "not measured"             # bench.json from an edgeseq that measured no bound
    return "no peak" if row.flops else "FLOPs unknown"


def ratio_cell(row: FileRow) -> str:
    return times(row.bound_ratio) if row.measured else "–"


def peak_of(env: dict[str, Any]) -> str:
    """The peak a bench run measured ('142.6 GFLOP/s (141.5, 143.7)'), or why there is none."""
    gflops = env.get("fp32_gemm_peak_gflops")
    if gflops is None:
        return f"not measured ({env['fp32_gemm_peak_error']})" if env.get("fp32_gemm_peak_error") else "not measured"
    readings = ", ".join(f"{g:.1f}" for g in env.get("fp32_gemm_peak_readings_gflops") or [])
    return f"{gflops:.1f} GFLOP/s" + (f" ({readings})" if readings else "")


def bound_blocks(rows: tuple[FileRow, ...], envs: tuple[dict[str, Any], ...]) -> list[Block]:
    """What the bound columns mean, the peak each device measured, and why some files have no bound."""
    peaks = [f"{env.get('device') or env.get('cpu') or 'unnamed device'}, {env.get('threads', '?')} thread(s)"
             f" run: {peak_of(env)}" for env in envs]
    method = next((env["fp32_gemm_peak_method"] for env in envs if env.get("fp32_gemm_peak_method")), None)
    blocks: list[Block] = [
        ("p", "bound µs: the file's FLOPs at batch 1 (2 × the multiply-adds of its recurrent and dense layers,"
              " counted from the Keras model it was exported from, else from its ONNX graph) divided by the"
              " single-thread fp32 GEMM peak its bench run measured on the device, before and after the files"
              + (f" ({method}; the median of the readings)" if method else "")
              + ". p50/bound below 1 runs faster than a perfectly efficient fp32 GEMM would compute the same"
                " arithmetic (int8 files can); the bound is single-thread even for rows measured with more"
                " threads. The peak used:"),
        ("ul", peaks or ["no bench results"]),
    ]
    unknown = [f"{r.label} ({r.runtime}): {r.flops_source}" for r in rows
               if r.measured and r.flops is None and r.flops_source]
    if unknown:
        blocks += [("p", "Files without a bound:"), ("ul", unknown)]
    return blocks
