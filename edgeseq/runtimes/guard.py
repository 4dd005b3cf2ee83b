"""Running a file on sequences where a runtime crash cannot take edgeseq down.

The TFLite runtime can crash the process that loads a malformed file (SIGSEGV or SIGABRT, measured on
mutated .tflite files that pass every structural check), or corrupt that process's memory so that it
crashes on a later file; no try/except catches either. For the runtimes marked `isolated` in the runtimes
table, `Evaluator.run` loads and runs the file in a child process (procs.run_worker on this module), and a
child that dies is one ModelError naming the file and the signal. The others run in this process.
`trace_in_child` runs a step file's trace (every row's probabilities and state, for drift) the same way.
`SharedChild` lets many Evaluators (an export's files, a validate run) share one child (procs.WorkerSession), its
imports (TensorFlow for the tf.lite backend) paid once: a child that dies there is asked again in a fresh child
before the file is blamed, since a crash may be a former file's doing.
`Predictor` answers many small batches of inputs for many files (fuzz and its shrinking): one child serves them
all (procs.WorkerSession) and keeps each file loaded; a crash costs the batch in flight, which fails as above.

The child speaks through `procs.run_worker`:
    evaluate: {path, runtime, threads, tflite_backend, tflite_kernels, sequences (.npy), hygiene}
              -> {probabilities: .npy (N, classes), state_hygiene, backend}
    predict:  {predict: true, path, runtime, threads, tflite_backend, tflite_kernels, sequences (.npy)}
              -> {probabilities: .npy (N, classes), backend}       (the loaded file kept for the next request)
    trace:    {trace: true, path, runtime, threads, tflite_backend, sequences (.npy of (N, T, features)), states}
              -> {probabilities: .npy (T, N, classes), states: {name: .npy (T, N, units)} or null, backend}
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import runtimes
from edgeseq.core.errors import ModelError
from edgeseq.core.layout import child
from edgeseq.core.procs import WorkerError, WorkerSession, run_worker, serve
from edgeseq.runtimes import RuntimeName, state_hygiene

CHILD_TIMEOUT_S = 3600
KEPT_LOADED = 4                  # files a Predictor keeps loaded (the two sides of a shrink, and the next)
WORKER = "edgeseq.runtimes.guard"


@dataclass(frozen=True)
class TraceOutcome:
    probabilities: np.ndarray                  # (T, N, classes)
    states: dict[str, np.ndarray] | None       # name -> (T, N, units)
    backend: str


@dataclass(frozen=True)
class Outcome:
    probabilities: np.ndarray          # (N, K) float32
    state_hygiene: bool | None         # None when not asked for
    backend: str


def evaluate(path: Path, runtime: RuntimeName, sequences: np.ndarray, threads: int = 1, tflite_backend: str = "auto",
             hygiene: bool = False, kernels: str | None = None) -> Outcome:
    """Load `path` in this process (LiteRT: on `kernels`, --tflite-kernels; None: its default) and predict `sequences`
    (and check state hygiene if asked)."""
    loaded = runtimes.load(path, runtime, threads=threads, tflite_backend=tflite_backend, tflite_kernels=kernels)
    probabilities = runtimes.predict_in_batches(loaded, sequences)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(sequences) or probabilities.shape[1] < 2:
        raise ModelError(f"{path}: output shape {probabilities.shape}, expected ({len(sequences)}, K classes)")
    return Outcome(probabilities, state_hygiene(loaded, sequences) if hygiene else None, loaded.backend)


class SharedChild:
    """One guard child that serves the evaluations of many files, one after another (procs.WorkerSession), so
    that what it imports is paid once. A file that crashes it, or ends it without an answer, is run again in a
    fresh child (procs.run_worker), and only that answer counts: a crash there is the file's own, while one in
    the shared child may have been prepared by a file before it (LiteRT can corrupt a process's memory so that
    a later file crashes). A timeout is not asked again. Use it as a context manager."""

    def __init__(self, module: str = WORKER, env: dict[str, str] | None = None) -> None:
        self.module, self.env = module, env
        self._session: WorkerSession | None = None
        self.confirmed = 0                     # answers asked again in a fresh child

    def __enter__(self) -> "SharedChild":
        self._session = WorkerSession(self.module, self.env)
        return self

    def __exit__(self, *_: Any) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def run(self, request: dict[str, Any], workdir: Path) -> dict[str, Any] | WorkerError:
        if self._session is None:
            return run_worker(self.module, request, CHILD_TIMEOUT_S, workdir, self.env)
        answer = self._session.run(request, CHILD_TIMEOUT_S, workdir)
        if isinstance(answer, WorkerError) and answer.kind in ("crashed", "exited"):
            self.confirmed += 1
            answer = run_worker(self.module, request, CHILD_TIMEOUT_S, workdir, self.env)
        return answer

    @property
    def started(self) -> int:
        """Shared children started so far (1 unless one died or hung)."""
        return self._session.started if self._session is not None else 0


class Evaluator:
    """`evaluate` for many files on the same sequences, in a child process for isolated runtimes: a fresh one
    per file, or `shared`'s.

    Use it as a context manager: the sequences are written once to a scratch folder the children read.
    """

    def __init__(self, sequences: np.ndarray, threads: int = 1, tflite_backend: str = "auto",
                 shared: SharedChild | None = None) -> None:
        self.sequences, self.threads, self.tflite_backend = sequences, threads, tflite_backend
        self.shared = shared
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> "Evaluator":
        self._scratch = tempfile.TemporaryDirectory(prefix="edgeseq-guard-")
        np.save(Path(self._scratch.name) / "sequences.npy", self.sequences, allow_pickle=False)
        return self

    def __exit__(self, *_: Any) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def run(self, path: Path, runtime: RuntimeName, hygiene: bool = False, kernels: str | None = None) -> Outcome:
        if not runtimes.RUNTIMES[runtime].isolated or self._scratch is None:
            return evaluate(path, runtime, self.sequences, self.threads, self.tflite_backend, hygiene, kernels)
        with tempfile.TemporaryDirectory(dir=self._scratch.name) as out:
            request = {"path": str(path), "runtime": runtime.value, "threads": self.threads, "hygiene": hygiene,
                       "tflite_backend": self.tflite_backend, "tflite_kernels": kernels,
                       "sequences": str(Path(self._scratch.name) / "sequences.npy")}
            answer = self.shared.run(request, Path(out)) if self.shared is not None \
                else run_worker(WORKER, request, CHILD_TIMEOUT_S, Path(out))
            if isinstance(answer, WorkerError):
                raise _failure(Path(path), runtime, answer, self.tflite_backend)
            probabilities = np.load(Path(out) / answer["probabilities"], allow_pickle=False)
        return Outcome(probabilities, answer["state_hygiene"], answer["backend"])


def trace_in_child(path: Path, runtime: RuntimeName, sequences: np.ndarray, workdir: Path, keep_states: bool = False,
                   threads: int = 1, tflite_backend: str = "auto") -> TraceOutcome:
    """`StepRunner.trace` of the step file `path` on `sequences`, in a child process; `workdir` holds the arrays."""
    workdir = Path(workdir)
    np.save(workdir / "sequences.npy", np.asarray(sequences, np.float32), allow_pickle=False)
    request = {"trace": True, "path": str(path), "runtime": RuntimeName(runtime).value, "threads": threads,
               "tflite_backend": tflite_backend, "sequences": str(workdir / "sequences.npy"), "states": keep_states}
    answer = run_worker(WORKER, request, CHILD_TIMEOUT_S, workdir)
    if isinstance(answer, WorkerError):
        raise _failure(Path(path), RuntimeName(runtime), answer, tflite_backend)
    states = {name: np.load(workdir / file, allow_pickle=False) for name, file in answer["states"].items()} \
        if answer["states"] is not None else None
    return TraceOutcome(np.load(workdir / answer["probabilities"], allow_pickle=False), states, answer["backend"])


class Predictor:
    """Probabilities of `path` on inputs, batch after batch, for many files: isolated runtimes in one child
    (procs.WorkerSession) that keeps every file it loaded, the others in this process, kept loaded too. Use it as
    a context manager."""

    def __init__(self, threads: int = 1, tflite_backend: str = "auto") -> None:
        self.threads, self.tflite_backend = threads, tflite_backend
        self._session: WorkerSession | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._loaded: dict[tuple[str, str, str | None], Any] = {}

    def __enter__(self) -> "Predictor":
        self._scratch = tempfile.TemporaryDirectory(prefix="edgeseq-predict-")
        self._session = WorkerSession(WORKER)
        return self

    def __exit__(self, *_: Any) -> None:
        if self._session is not None:
            self._session.close()
        if self._scratch is not None:
            self._scratch.cleanup()

    def predict(self, path: Path, runtime: RuntimeName, inputs: np.ndarray, kernels: str | None = None
                ) -> tuple[np.ndarray, str]:
        """(probabilities (N, K), backend); a ModelError naming the file when it fails or crashes its runtime."""
        inputs = np.asarray(inputs, np.float32)
        if not runtimes.RUNTIMES[runtime].isolated or self._session is None or self._scratch is None:
            loaded = _kept(self._loaded, path, runtime, self.threads, self.tflite_backend, kernels)
            return _probabilities(path, runtimes.predict_in_batches(loaded, inputs), len(inputs)), loaded.backend
        with tempfile.TemporaryDirectory(dir=self._scratch.name) as out:
            np.save(Path(out) / "sequences.npy", inputs, allow_pickle=False)
            request = {"predict": True, "path": str(path), "runtime": runtime.value, "threads": self.threads,
                       "tflite_backend": self.tflite_backend, "tflite_kernels": kernels,
                       "sequences": str(Path(out) / "sequences.npy")}
            answer = self._session.run(request, CHILD_TIMEOUT_S, Path(out))
            if isinstance(answer, WorkerError):
                raise _failure(Path(path), runtime, answer, self.tflite_backend)
            return np.load(Path(out) / answer["probabilities"], allow_pickle=False), answer["backend"]


_SESSION_LOADED: dict[tuple[str, str, str | None], Any] = {}       # a session child's loaded files (Predictor)


def _kept(cache: dict[tuple[str, str, str | None], Any], path: Path, runtime: RuntimeName, threads: int,
          tflite_backend: str, kernels: str | None) -> Any:
    key = (str(path), runtime.value, kernels)
    if key in cache:
        cache[key] = cache.pop(key)                 # the most recently used last
    else:
        while len(cache) >= KEPT_LOADED:            # a long fuzz run loads many files: keep a few
            cache.pop(next(iter(cache)))
        cache[key] = runtimes.load(path, runtime, threads=threads, tflite_backend=tflite_backend,
                                   tflite_kernels=kernels)
    return cache[key]


def _probabilities(path: Path, probabilities: np.ndarray, count: int) -> np.ndarray:
    if probabilities.ndim != 2 or probabilities.shape[0] != count or probabilities.shape[1] < 2:
        raise ModelError(f"{path}: output shape {probabilities.shape}, expected ({count}, K classes)")
    return probabilities


def _failure(path: Path, runtime: RuntimeName, error: WorkerError, tflite_backend: str = "auto") -> ModelError:
    forced = runtime is RuntimeName.LITERT and tflite_backend != "auto"   # name the interpreter that crashed
    message = error.describe(f"{path}: {tflite_backend if forced else runtime.value}", crashed="crashed running it")
    if error.kind == "crashed":
        message += ": the file is corrupt, or this build of the runtime cannot run it"
    # the child's own message names the file where edgeseq wrote it; else say which file
    return ModelError(message if str(path) in message else f"{path}: {message}")


def handle(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    if request.get("trace"):
        return _trace(request, workdir)
    if request.get("predict"):
        path, runtime = Path(request["path"]), RuntimeName(request["runtime"])
        loaded = _kept(_SESSION_LOADED, path, runtime, request["threads"], request["tflite_backend"],
                       request.get("tflite_kernels"))
        inputs = np.load(request["sequences"], allow_pickle=False)
        np.save(workdir / "probabilities.npy",
                _probabilities(path, runtimes.predict_in_batches(loaded, inputs), len(inputs)), allow_pickle=False)
        return {"probabilities": "probabilities.npy", "backend": loaded.backend}
    outcome = evaluate(Path(request["path"]), RuntimeName(request["runtime"]),
                       np.load(request["sequences"], allow_pickle=False), request["threads"],
                       request["tflite_backend"], request["hygiene"], request.get("tflite_kernels"))
    np.save(workdir / "probabilities.npy", outcome.probabilities, allow_pickle=False)
    return {"probabilities": "probabilities.npy", "state_hygiene": outcome.state_hygiene, "backend": outcome.backend}


def _trace(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    runner = runtimes.load(Path(request["path"]), RuntimeName(request["runtime"]), threads=request["threads"],
                           step=True, tflite_backend=request["tflite_backend"])
    trace = runner.trace(np.load(request["sequences"], allow_pickle=False), keep_states=request["states"])
    np.save(workdir / "probabilities.npy", trace.probabilities, allow_pickle=False)
    states = None
    if trace.states is not None:
        states = {}
        for name, values in trace.states.items():
            np.save(child(workdir, f"state-{name}.npy", "state name"), values, allow_pickle=False)
            states[name] = f"state-{name}.npy"
    return {"probabilities": "probabilities.npy", "states": states, "backend": runner.backend}


if __name__ == "__main__":
    serve(handle)
