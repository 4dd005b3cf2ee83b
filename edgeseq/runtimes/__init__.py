"""One small runtime interface, one module per backend, one table of runtimes.

Importing this package imports no backend library and never TensorFlow: each loader imports its
library when called. `load(path, runtime)` returns a Runtime whose `predict` takes float32 digits
(N, 28, 28) in [0, 1] and returns float32 probabilities (N, 10).
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from edgeseq.artifacts import read_facts
from edgeseq.environment import installed
from edgeseq.errors import EdgeseqError, RuntimeUnavailable
from edgeseq.layout import EXPORT_SUFFIXES
from edgeseq.step_contract import is_step_facts


class RuntimeName(str, enum.Enum):
    KERAS = "keras"
    LITERT = "litert"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"


class TFLiteBackend(str, enum.Enum):
    AUTO = "auto"                      # ai-edge-litert, else tflite-runtime, else tf.lite (the one used is reported)
    LITERT = "litert"
    TFLITE_RUNTIME = "tflite-runtime"
    TF = "tf"


class Runtime(Protocol):
    name: str
    backend: str                       # the library (and version/settings) that actually runs the file
    batch_one_only: bool
    input_name: str
    output_name: str

    def predict(self, digits: np.ndarray) -> np.ndarray: ...

    def bind(self, digits: np.ndarray) -> Callable[[], np.ndarray]:
        """A zero-argument function running one inference on this batch (for benchmarks)."""


@dataclass(frozen=True)
class RuntimeRow:
    name: RuntimeName
    suffixes: tuple[str, ...]
    module: str
    install_hint: str
    needs: str | None                  # the module that must be installed to use it (before any file is loaded)
    isolated: bool = False             # can crash the process on a malformed file: validate runs it in a child
    optional: bool = False             # an optional extra: chosen by default only where `needs` is installed


RUNTIMES: dict[RuntimeName, RuntimeRow] = {
    # .keras: a zip (checked before loading) read by Keras in safe mode: no crash seen on 90 mutated files, and a
    # child would import TensorFlow again for every file
    RuntimeName.KERAS: RuntimeRow(RuntimeName.KERAS, (".keras",), "edgeseq.runtimes.keras_runtime",
                                  "pip install 'edgeseq[train]'", needs="tensorflow"),
    # SIGSEGV/SIGABRT on mutated files that pass every structural check (optional-tensor markers on required
    # inputs, odd quantization scales), and memory corruption that makes the process crash on a later file
    RuntimeName.LITERT: RuntimeRow(RuntimeName.LITERT, (".tflite",), "edgeseq.runtimes.litert_runtime",
                                   "pip install 'edgeseq[runtime]'", needs=None, isolated=True),
    # no crash seen on ~3,000 mutated files; isolated anyway: a child costs the same as for TFLite
    RuntimeName.ONNXRUNTIME: RuntimeRow(RuntimeName.ONNXRUNTIME, (".onnx",), "edgeseq.runtimes.onnx_runtime",
                                        "pip install 'edgeseq[runtime]'", needs="onnxruntime", isolated=True),
    # a second opinion on the same .onnx files, where the extra is installed; isolated like onnxruntime
    RuntimeName.OPENVINO: RuntimeRow(RuntimeName.OPENVINO, (".onnx",), "edgeseq.runtimes.openvino_runtime",
                                     "pip install 'edgeseq[openvino]'", needs="openvino", isolated=True,
                                     optional=True),
}
ARTIFACT_SUFFIXES = EXPORT_SUFFIXES
STEP_RUNTIMES = (RuntimeName.LITERT, RuntimeName.ONNXRUNTIME, RuntimeName.OPENVINO)   # run step models (streaming)
STEP_MODULE = "edgeseq.runtimes.step"     # their adapter, loaded like the table's modules


def available(runtime: RuntimeName) -> bool:
    """Whether the library this runtime needs is installed here (checked without importing it)."""
    needs = RUNTIMES[runtime].needs
    return needs is None or installed(needs)


def default_runtimes() -> list[RuntimeName]:
    """The runtimes used when none is asked for: every one, except optional extras not installed here (the
    others say why they cannot run, e.g. keras without TensorFlow)."""
    return [r for r in RuntimeName if not RUNTIMES[r].optional or available(r)]


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
        if row.optional and not available(name):
            raise RuntimeUnavailable(f"runtime {name.value}: {row.needs} is not installed ({row.install_hint})")
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
    one (edgeseq.runtimes.step); `step`: whether it is one, when the caller knows (None: read the file)."""
    row = RUNTIMES[runtime]
    if Path(path).suffix not in row.suffixes:
        raise RuntimeUnavailable(f"runtime {runtime.value} cannot load {path} (it loads {', '.join(row.suffixes)})")
    if runtime in STEP_RUNTIMES and (is_step_file(Path(path)) if step is None else step):   # fed row by row
        return importlib.import_module(STEP_MODULE).load_step(Path(path), runtime.value, threads,
                                                              options.get("tflite_backend", "auto"))
    module = importlib.import_module(row.module)
    return module.load(Path(path), threads=threads, **options)


def is_step_file(path: Path) -> bool:
    """A step model (edgeseq.streaming); a file edgeseq cannot read is left to its runtime's own loader, whose
    message names the runtime."""
    try:
        return is_step_facts(read_facts(path))
    except EdgeseqError:
        return False


def predict_in_batches(runtime: Runtime, digits: np.ndarray, batch: int = 256) -> np.ndarray:
    """Whole-array prediction at a fixed chunk size (quantized kernels can depend slightly on batch size)."""
    size = 1 if runtime.batch_one_only else batch
    parts = [runtime.predict(digits[i:i + size]) for i in range(0, len(digits), size)]
    return np.concatenate(parts, axis=0) if parts else np.zeros((0, 10), np.float32)


def state_hygiene(runtime: Runtime, digits: np.ndarray) -> bool:
    """The same digit twice, and again after a different digit, gives identical output: no state leaks
    from one inference into the next (fused recurrent ops keep theirs in variable tensors)."""
    first, other = digits[:1], digits[1:2]
    once = runtime.predict(first)
    twice = runtime.predict(first)
    runtime.predict(other)
    after = runtime.predict(first)
    return bool(np.array_equal(once, twice) and np.array_equal(once, after))
