"""A step file's trace in a child process (a runtime crash is one error, not a dead command), spoken to
through `procs.run_worker`:

    request: {path, runtime, threads, tflite_backend, digits (a .npy of (N, T, features)), states (bool)}
    result:  {probabilities: a .npy (T, N, classes) in the work folder, states: {name: .npy (T, N, units)} or
              null, backend}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.errors import ModelError
from edgeseq.procs import WorkerError, run_worker, serve

WORKER = "edgeseq.runtimes.trace_worker"
TIMEOUT_S = 3600


@dataclass(frozen=True)
class TraceOutcome:
    probabilities: np.ndarray                  # (T, N, classes)
    states: dict[str, np.ndarray] | None       # name -> (T, N, units)
    backend: str


def trace_in_child(path: Path, runtime: str, digits: np.ndarray, workdir: Path, keep_states: bool = False,
                   threads: int = 1, tflite_backend: str = "auto") -> TraceOutcome:
    """`StepRunner.trace` of `path` on `digits`, run in a child process; `workdir` holds the exchanged arrays."""
    workdir = Path(workdir)
    np.save(workdir / "digits.npy", np.asarray(digits, np.float32), allow_pickle=False)
    request = {"path": str(path), "runtime": runtime, "threads": threads, "tflite_backend": tflite_backend,
               "digits": str(workdir / "digits.npy"), "states": keep_states}
    answer = run_worker(WORKER, request, TIMEOUT_S, workdir)
    if isinstance(answer, WorkerError):
        message = answer.describe(f"{path}: {runtime}", crashed="crashed running it")
        raise ModelError(message if str(path) in message else f"{path}: {message}")
    states = {name: np.load(workdir / file, allow_pickle=False) for name, file in answer["states"].items()} \
        if answer["states"] is not None else None
    return TraceOutcome(np.load(workdir / answer["probabilities"], allow_pickle=False), states, answer["backend"])


def handle(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    from edgeseq.runtimes.step import load_step  # noqa: PLC0415

    runner = load_step(Path(request["path"]), request["runtime"], request["threads"], request["tflite_backend"])
    trace = runner.trace(np.load(request["digits"], allow_pickle=False), keep_states=request["states"])
    np.save(workdir / "probabilities.npy", trace.probabilities, allow_pickle=False)
    states = None
    if trace.states is not None:
        states = {}
        for name, values in trace.states.items():
            np.save(workdir / f"state-{name}.npy", values, allow_pickle=False)
            states[name] = f"state-{name}.npy"
    return {"probabilities": "probabilities.npy", "states": states, "backend": runner.backend}


if __name__ == "__main__":
    serve(handle)
