"""One small runtime interface, one module per backend, one table of runtimes (table.py).

Each backend module (litert_runtime, onnx_runtime, openvino_runtime, keras_runtime) owns the one place its
library's session is set up, and serves from it both `load` (whole-sequence files) and `step_session` (step
models, which step.py's StepRunner feeds row by row). guard.py runs any of them in a child process.

Importing this package imports no backend library and never TensorFlow: each loader imports its
library when called. `load(path, runtime)` returns a Runtime whose `predict` takes float32 sequences
(N, T, F) as the file's manifest normalises them (MNIST: (N, 28, 28) in [0, 1]) and returns float32
probabilities (N, K).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from edgeseq.artifacts import is_step_file
from edgeseq.core.errors import DataError, RuntimeUnavailable
from edgeseq.core.layout import EXPORT_SUFFIXES
from edgeseq.runtimes.table import (  # noqa: F401  (the table's names, for the runtime side's callers)
    RUNTIMES, Library, RuntimeName, RuntimeRow, TFLiteBackend, portable_libraries, step_runtime_for)


class Runtime(Protocol):
    name: str
    backend: str                       # the library (and version/settings) that actually runs the file
    batch_one_only: bool
    input_name: str
    output_name: str

    def predict(self, sequences: np.ndarray) -> np.ndarray: ...

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """A zero-argument function running one inference on this batch (for benchmarks)."""


ARTIFACT_SUFFIXES = EXPORT_SUFFIXES


def available(runtime: RuntimeName) -> bool:
    """Whether the library this runtime needs is installed here (checked without importing it)."""
    return RUNTIMES[runtime].missing() is None


def default_runtimes() -> list[RuntimeName]:
    """The runtimes used when none is asked for: every one, except optional extras not installed here (the
    others say why they cannot run, e.g. keras without TensorFlow) and the app runtimes (only by name)."""
    return [r for r in RuntimeName if RUNTIMES[r].by_default and (not RUNTIMES[r].optional or available(r))]


def runtime_names(value: str | None) -> list[RuntimeName]:
    """'litert,onnxruntime' -> [RuntimeName...]; nothing -> default_runtimes(). An unknown name is a ValueError
    listing the valid ones; an optional runtime asked for where it is not installed, a RuntimeUnavailable
    naming the extra to install."""
    if not value:
        return default_runtimes()
    names = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        try:
            name = RuntimeName(part)
        except ValueError as err:
            raise ValueError(f"unknown runtime {part!r}; choose from {', '.join(r.value for r in RuntimeName)}") from err
        row = RUNTIMES[name]
        if row.optional and (missing := row.missing()) is not None:
            raise RuntimeUnavailable(f"runtime {name.value}: {missing}")
        names.append(name)
    return names


def runtimes_for(path: Path, wanted: list[RuntimeName] | None = None) -> list[RuntimeName]:
    """The runtimes (among `wanted`, else default_runtimes()) that can load a file with this suffix."""
    return [r for r in (wanted or default_runtimes()) if Path(path).suffix in RUNTIMES[r].suffixes]


def not_loadable(path: Path, wanted: list[RuntimeName] | None = None) -> str:
    """Why none of `wanted` runs `path`, in one line naming each runtime and what it loads."""
    chosen = wanted or default_runtimes()
    others = [r.value for r in default_runtimes() if Path(path).suffix in RUNTIMES[r].suffixes]
    named = ", ".join(f"{r.value} loads {'/'.join(RUNTIMES[r].suffixes)}" for r in chosen)
    return (f"no requested runtime loads {Path(path).suffix or 'this'} files ({named});"
            f" {', '.join(others) or 'none'} would")


def load(path: Path, runtime: RuntimeName, threads: int = 1, step: bool | None = None, **options: Any) -> Runtime:
    """Load `path` in this process. Files for an `isolated` runtime are loaded in a child process by the
    commands (edgeseq.runtimes.guard for validate, the bench and export workers). A step model is loaded as
    one (a StepRunner over the runtime's step session); `step`: whether it is one, when the caller knows (None:
    read the file)."""
    row = RUNTIMES[runtime]
    if Path(path).suffix not in row.suffixes:
        raise RuntimeUnavailable(f"runtime {runtime.value} cannot load {path} (it loads {', '.join(row.suffixes)})")
    module = importlib.import_module(row.module)
    if row.runs_step_models and (is_step_file(Path(path)) if step is None else step):   # fed row by row
        from edgeseq.runtimes.step import StepRunner  # noqa: PLC0415

        return StepRunner(Path(path), runtime.value, module.step_session(Path(path), threads=threads, **options))
    return module.load(Path(path), threads=threads, **(options | {"runtime": runtime.value}))


def predict_in_batches(runtime: Runtime, sequences: np.ndarray, batch: int = 256) -> np.ndarray:
    """Whole-array prediction at a fixed chunk size (quantized kernels can depend slightly on batch size); a
    runtime in another process (Node) is given the whole array at once and chunks it there."""
    if len(sequences) == 0:         # how many classes a file has shows only in its answers: none to give
        raise DataError("no sequences to predict")
    if getattr(runtime, "chunks_itself", False):
        return runtime.predict(sequences)
    size = 1 if runtime.batch_one_only else batch
    return np.concatenate([runtime.predict(sequences[i:i + size]) for i in range(0, len(sequences), size)], axis=0)


def state_hygiene(runtime: Runtime, sequences: np.ndarray) -> bool:
    """The same sequence twice, and again after a different sequence, gives identical output: no state leaks
    from one inference into the next (fused recurrent ops keep theirs in variable tensors)."""
    first, other = sequences[:1], sequences[1:2]
    once = runtime.predict(first)
    twice = runtime.predict(first)
    runtime.predict(other)
    after = runtime.predict(first)
    return bool(np.array_equal(once, twice) and np.array_equal(once, after))
