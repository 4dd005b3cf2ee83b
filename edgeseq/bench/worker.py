"""One benchmark in a fresh process (so that peak memory belongs to this file and runtime alone), spoken to
through `procs.run_worker`:

    request: {path, runtime, threads, tflite_backend, tflite_kernels (LiteRT; None: its default), batches, warmup, min_runs, min_seconds; golden: the sidecar
              whose stored samples a file made for data other than MNIST is fed (absent: the sample's digits)}
    result:  load and first-inference times, per-batch latency summaries (for a step model, of a whole sequence
             fed row by row, and of one step: step_p50_us, step_p99_us), and memory (edgeseq.bench.memory):
             the RSS after the runtime's import, the peak after load and inference, their difference; and where the
             runtime's module measures its own memory plan (tflm_runtime.footprint: TFLM's arena), that plan

`start(request)` (the file loaded in its runtime, and the cost of getting there) and `time_call(run, request)`
(the timing loop: warm-up, then single calls until both min_runs and min_seconds are met, summarised in
percentiles) serve every bench mode's worker (edgeseq.bench.scaling_worker too). The memory figures are the
worker's own (VmHWM, restarted after the import), never the parent's: see edgeseq.bench.memory.

Never imports TensorFlow unless the runtime is keras (or tf.lite is forced).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from edgeseq.bench.memory import MemoryProbe


def summarise(samples_ns: list[int]) -> dict[str, float]:
    us = np.asarray(samples_ns, dtype=np.float64) / 1000.0
    p50, p90, p99 = np.percentile(us, [50, 90, 99])
    return {"p50_us": float(p50), "p90_us": float(p90), "p99_us": float(p99), "mean_us": float(us.mean()),
            "std_us": float(us.std()), "min_us": float(us.min()), "max_us": float(us.max()), "runs": int(us.size)}


def measure(run: Any, warmup: int, min_runs: int, min_seconds: float,
            after: Callable[[], None] | None = None) -> list[int]:
    """edgeseq's one timing loop (bench, and profile's wall times): warm up, then time single calls (ns each) until
    both min_runs and min_seconds are reached; `after`, when given, runs after each timed call, untimed."""
    for _ in range(warmup):
        run()
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    deadline = clock() + int(min_seconds * 1e9)
    while len(samples) < min_runs or clock() < deadline:
        start = clock()
        run()
        append(clock() - start)
        if after is not None:
            after()
    return samples


def time_call(run: Any, request: dict[str, Any]) -> dict[str, float]:
    """`run` timed with the request's warmup, min_runs and min_seconds, summarised."""
    return summarise(measure(run, request["warmup"], request["min_runs"], request["min_seconds"]))


def _inputs(request: dict[str, Any], data: Any) -> np.ndarray:
    """What the file is fed: the shipped sample's test digits (MNIST files), or the samples stored in the golden
    sidecar beside a file made for other data (request["golden"]), repeated to fill the largest batch."""
    if not request.get("golden"):
        return data.load("sample").x_test
    from edgeseq import golden  # noqa: PLC0415

    stored = golden.read(Path(request["golden"])).dataset().x_test
    need = max([1, *request.get("batches", [1])])
    return np.resize(stored, (max(need, len(stored)), *stored.shape[1:])).astype(np.float32)


def start(request: dict[str, Any]) -> tuple[Any, np.ndarray, dict[str, Any], MemoryProbe]:
    """(the request's file loaded in its runtime, first inference run; the inputs it is fed (`_inputs`); the
    cost of getting there: import_ms, load_ms, first_inference_ms; the memory probe, restarted after the
    runtime's import: its `result()` after the timing gives the file's memory)."""
    from edgeseq import data, runtimes  # noqa: PLC0415
    from edgeseq.artifacts import is_step_file  # noqa: PLC0415
    from edgeseq.runtimes import RuntimeName  # noqa: PLC0415

    digits = _inputs(request, data)
    name = RuntimeName(request["runtime"])
    probe = MemoryProbe.start()
    started = time.perf_counter_ns()
    importlib.import_module(runtimes.RUNTIMES[name].module).import_library(tflite_backend=request["tflite_backend"])
    import_ms = (time.perf_counter_ns() - started) / 1e6
    probe.imported()
    step = is_step_file(request["path"]) if runtimes.RUNTIMES[name].runs_step_models else False   # not in load_ms
    started = time.perf_counter_ns()
    runtime = runtimes.load(request["path"], name, threads=request["threads"], step=step,
                            tflite_backend=request["tflite_backend"], tflite_kernels=request.get("tflite_kernels"))
    load_ms = (time.perf_counter_ns() - started) / 1e6
    first = runtime.bind(digits[:1])
    started = time.perf_counter_ns()
    first()
    first_ms = (time.perf_counter_ns() - started) / 1e6
    return runtime, digits, {"import_ms": import_ms, "load_ms": load_ms, "first_inference_ms": first_ms}, probe


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    from edgeseq import data, runtimes  # noqa: PLC0415

    module = importlib.import_module(runtimes.RUNTIMES[runtimes.RuntimeName(request["runtime"])].module)
    if hasattr(module, "measure"):   # a runtime in its own process (Node): timed and its memory read there
        return module.measure(request, _inputs(request, data), summarise)
    runtime, digits, cost, probe = start(request)
    batches = []
    for batch in request["batches"]:
        if runtime.batch_one_only and batch != 1:
            continue
        stats = time_call(runtime.bind(digits[:batch]), request)
        row = {"batch": batch, **stats, "throughput_dps": batch * 1e6 / stats["p50_us"]}
        if hasattr(runtime, "bind_step"):  # a step model: one row with the state fed back, as an app streams
            step = time_call(runtime.bind_step(batch), request)
            row |= {"step_p50_us": step["p50_us"], "step_p99_us": step["p99_us"]}
        batches.append(row)
    memory = probe.result()             # before a runtime's own memory plan is measured (it allocates more)
    plan = module.footprint(Path(request["path"]), isolated=False).to_dict() if hasattr(module, "footprint") else None
    return {"backend": runtime.backend, "batch_one_only": runtime.batch_one_only, **cost, **memory,
            "tensorflow_imported": "tensorflow" in sys.modules,
            "batches": batches, "footprint": plan}


if __name__ == "__main__":
    from edgeseq.core.procs import serve  # noqa: PLC0415

    serve(handle)
