"""One file × runtime × thread count of `bench --scaling` in a fresh process, spoken to through
`procs.run_worker` (edgeseq.bench.scaling):

    request: {path, runtime, threads, tflite_backend, points: [[length, batch], ...], warmup, min_runs,
              min_seconds}
    result:  {backend, batch_one_only, peak_rss_bytes, points: [{length, batch, status, reason, p50_us, ...}]}

The file is loaded as bench loads it (edgeseq.bench.worker.start: the first inference, allocation and lazy
init, is not a scaling figure). Each point is a batch of `batch` sequences of `length` rows built from real
digits (scaling.sequences), timed by bench's own loop (edgeseq.bench.worker.time_call). A point the runtime
refuses is a row with status "failed" and the runtime's one-line reason; the others are still measured.
Never imports TensorFlow unless the runtime is keras (or tf.lite is forced).
"""

from __future__ import annotations

from typing import Any


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    from edgeseq.bench.scaling import BATCH_ONE, sequences  # noqa: PLC0415
    from edgeseq.bench.worker import start, time_call  # noqa: PLC0415
    from edgeseq.core.errors import first_line  # noqa: PLC0415

    runtime, digits, _, probe = start(request)
    points = []
    for length, batch in request["points"]:
        row: dict[str, Any] = {"length": length, "batch": batch}
        if runtime.batch_one_only and batch != 1:
            points.append(row | {"status": "unsupported", "reason": BATCH_ONE})
            continue
        try:
            stats = time_call(runtime.bind(sequences(digits, length, batch)), request)
        except Exception as err:  # noqa: BLE001  (a runtime's own exception types: one line for this point)
            points.append(row | {"status": "failed", "reason": first_line(err)[:300]})
            continue
        points.append(row | {"status": "ok", "reason": None, **stats})
    return {"backend": runtime.backend, "batch_one_only": runtime.batch_one_only,
            "peak_rss_bytes": probe.result()["peak_rss_bytes"], "points": points}


if __name__ == "__main__":
    from edgeseq.core.procs import serve  # noqa: PLC0415

    serve(handle)
