"""The single-thread fp32 GEMM peak (`measure_peak`), and its worker: `python -m edgeseq.gemm_peak`, spoken to
through `procs.run_worker` by `edgeseq.bench.bound.peak_in_worker`, which sets every BLAS thread variable to 1
in this process's environment (numpy's BLAS reads them when it loads). A foundation module, so that the worker
process imports little more than numpy.

    request: {size, reps, warmup}
    result:  {gflops, gflops_best, ms_median, size, reps, blas, blas_threads}
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

PEAK_SIZE, PEAK_REPS, PEAK_WARMUP = 512, 40, 5
# numpy's BLAS (OpenBLAS, MKL, BLIS, Accelerate) reads its thread count from these when it loads
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def measure_peak(size: int = PEAK_SIZE, reps: int = PEAK_REPS, warmup: int = PEAK_WARMUP) -> dict[str, float]:
    """float32 GEMM rate of this process's numpy: the median (and best) of `reps` timed size^3 products."""
    import numpy as np  # noqa: PLC0415  (the caller decides the BLAS threads before numpy loads)

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), np.float32)
    for _ in range(warmup):
        np.matmul(a, b, out=out)
    clock, times = time.perf_counter_ns, []
    for _ in range(reps):
        start = clock()
        np.matmul(a, b, out=out)
        times.append(clock() - start)
    flops = 2.0 * size ** 3
    median, best = statistics.median(times), min(times)
    return {"gflops": flops / median, "gflops_best": flops / best, "ms_median": median / 1e6, "size": size,
            "reps": reps}


def blas_name() -> str:
    """The BLAS numpy was built with ('scipy-openblas 0.3.29'), or '?'."""
    import numpy as np  # noqa: PLC0415

    try:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001  (numpy before 1.25 has no mode=)
        return "?"


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    return measure_peak(int(request["size"]), int(request["reps"]), int(request["warmup"])) | {
        "blas": blas_name(), "blas_threads": {k: os.environ[k] for k in THREAD_VARIABLES if k in os.environ}}


if __name__ == "__main__":
    from edgeseq.core.procs import serve  # noqa: PLC0415

    serve(handle)
