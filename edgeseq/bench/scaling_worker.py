"""One file × runtime × thread count of `bench --scaling` in a fresh process, spoken to through
`procs.run_worker` (edgeseq.bench.scaling):

    request: {path, runtime, threads, tflite_backend, points: [[length, batch], ...], warmup, min_runs,
              min_seconds}
    result:  {backend, batch_one_only, peak_rss_bytes, points: [{length, batch, status, reason, p50_us, ...}]}

Each point is a batch of `batch` sequences of `length` rows built from real digits (scaling.sequences), timed
as bench times a file (edgeseq.bench.worker.measure and summarise). A point the runtime refuses is a row with
status "failed" and the runtime's one-line reason; the others are still measured.
Never imports TensorFlow unless the runtime is keras (or tf.lite is forced).
"""

from __future__ import annotations

from typing import Any


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    from edgeseq import data, runtimes  # noqa: PLC0415
    from edgeseq.bench.worker import _rss_bytes, measure, summarise  # noqa: PLC0415
    from edgeseq.errors import first_line  # noqa: PLC0415
    from edgeseq.runtimes import RuntimeName  # noqa: PLC0415
    from edgeseq.bench.scaling import BATCH_ONE, sequences  # noqa: PLC0415

    digits = data.load("sample").x_test
    runtime = runtimes.load(request["path"], RuntimeName(request["runtime"]), threads=request["threads"],
                            tflite_backend=request["tflite_backend"])
    runtime.bind(digits[:1])()            # the first inference (allocation, lazy init) is not a scaling figure
    points = []
    for length, batch in request["points"]:
        row: dict[str, Any] = {"length": length, "batch": batch}
        if runtime.batch_one_only and batch != 1:
            points.append(row | {"status": "unsupported", "reason": BATCH_ONE})
            continue
        try:
            run = runtime.bind(sequences(digits, length, batch))
            stats = summarise(measure(run, request["warmup"], request["min_runs"], request["min_seconds"]))
        except Exception as err:  # noqa: BLE001  (a runtime's own exception types: one line for this point)
            points.append(row | {"status": "failed", "reason": first_line(err)[:300]})
            continue
        points.append(row | {"status": "ok", "reason": None, **stats})
    return {"backend": runtime.backend, "batch_one_only": runtime.batch_one_only, "peak_rss_bytes": _rss_bytes(),
            "points": points}


if __name__ == "__main__":
    from edgeseq.procs import serve  # noqa: PLC0415

    serve(handle)
