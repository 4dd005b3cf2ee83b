"""The single-thread fp32 GEMM peak (edgeseq.bench.bound.measure_peak) in a fresh process, spoken to through
`procs.run_worker` by `bound.peak_in_worker`, which sets every BLAS thread variable to 1 in this process's
environment (numpy's BLAS reads them when it loads).

    request: {size, reps, warmup}
    result:  {gflops, gflops_best, ms_median, size, reps, blas, blas_threads}
"""

from __future__ import annotations

from typing import Any


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    import os  # noqa: PLC0415

    from edgeseq.bench.bound import THREAD_VARIABLES, blas_name, measure_peak  # noqa: PLC0415

    return measure_peak(int(request["size"]), int(request["reps"]), int(request["warmup"])) | {
        "blas": blas_name(), "blas_threads": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ}}


if __name__ == "__main__":
    from edgeseq.procs import serve  # noqa: PLC0415

    serve(handle)
