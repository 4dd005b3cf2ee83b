"""The one table of runtimes: what each loads, the libraries behind it, how to install them, whether it runs
step models, and how the portability table names it. Everything that varies between runtimes is read from here.

Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from edgeseq.environment import installed
from edgeseq.runtimes.node_env import JS_INSTALL, missing as node_missing


class RuntimeName(str, enum.Enum):
    KERAS = "keras"
    LITERT = "litert"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    LITERT_COMPILED = "litert-compiled"          # the app runtimes: asked for by name (--runtime), never by default
    LITERTJS = "litertjs"
    ONNXRUNTIME_NODE = "onnxruntime-node"
    ONNXRUNTIME_WEB = "onnxruntime-web"


class TFLiteBackend(str, enum.Enum):
    AUTO = "auto"                      # ai-edge-litert, else tflite-runtime, else tf.lite (the one used is reported)
    LITERT = "litert"
    TFLITE_RUNTIME = "tflite-runtime"
    TF = "tf"


@dataclass(frozen=True)
class Library:
    """One library that runs a runtime's files (LiteRT has three interchangeable ones)."""
    label: str                         # as the portability table and the manifests' `runs_on` name it
    module: str                        # importable when installed (checked without importing it)
    install_hint: str
    tflite_backend: TFLiteBackend | None = None     # the --tflite-backend value that forces it
    npm: str | None = None             # an npm package in js/node_modules, run by Node (edgeseq.runtimes.node_runtime)

    def installed(self) -> bool:
        return self.missing() is None

    def missing(self) -> str | None:
        """Why it cannot run here (what is not installed, and how to install it), or None."""
        if self.npm:
            return node_missing(self.npm)
        return None if installed(self.module) else f"{self.module} is not installed ({self.install_hint})"


@dataclass(frozen=True)
class RuntimeRow:
    name: RuntimeName
    suffixes: tuple[str, ...]
    module: str                        # the adapter: load(path, threads, **options), step_session, import_library
    libraries: tuple[Library, ...]     # in the order `auto` tries them
    needs: str | None                  # the module that must be installed to use it (before any file is loaded)
    isolated: bool = False             # can crash the process on a malformed file: validate runs it in a child
    optional: bool = False             # an optional extra: chosen by default only where `needs` is installed
    by_default: bool = True            # chosen when no runtime is named (False: only by --runtime NAME)
    runs_step_models: bool = False     # step models (one row and the state in, probabilities and state out)
    portable: bool = True              # a column of the portability table (the exported files' runtimes)
    in_node: bool = False              # runs in a Node process of its own: only `bench` times it (in Node)

    @property
    def install_hint(self) -> str:
        return self.libraries[0].install_hint

    def missing(self) -> str | None:
        """Why this runtime cannot run here (its library is not installed; with the install hint), or None."""
        if self.libraries[0].npm:
            return self.libraries[0].missing()
        return None if self.needs is None or installed(self.needs) else \
            f"{self.needs} is not installed ({self.install_hint})"


RUNTIME_INSTALL = "pip install 'edgeseq[runtime]'"
LITERT_LIBRARIES = (
    Library("LiteRT", "ai_edge_litert", RUNTIME_INSTALL, TFLiteBackend.LITERT),
    Library("tflite-runtime", "tflite_runtime",
            "pip install 'edgeseq[tflite-runtime]' (Python <= 3.11, numpy<2)", TFLiteBackend.TFLITE_RUNTIME),
    Library("tf.lite", "tensorflow", "pip install 'edgeseq[train]'", TFLiteBackend.TF),
)

RUNTIMES: dict[RuntimeName, RuntimeRow] = {
    # .keras: a zip (checked before loading) read by Keras in safe mode: no crash seen on 90 mutated files, and a
    # child would import TensorFlow again for every file
    RuntimeName.KERAS: RuntimeRow(
        RuntimeName.KERAS, (".keras",), "edgeseq.runtimes.keras_runtime",
        (Library("Keras", "tensorflow", "pip install 'edgeseq[train]'"),), needs="tensorflow", portable=False),
    # SIGSEGV/SIGABRT on mutated files that pass every structural check (optional-tensor markers on required
    # inputs, odd quantization scales), and memory corruption that makes the process crash on a later file
    RuntimeName.LITERT: RuntimeRow(
        RuntimeName.LITERT, (".tflite",), "edgeseq.runtimes.litert_runtime", LITERT_LIBRARIES, needs=None,
        isolated=True, runs_step_models=True),
    # no crash seen on ~3,000 mutated files; isolated anyway: a child costs the same as for TFLite
    RuntimeName.ONNXRUNTIME: RuntimeRow(
        RuntimeName.ONNXRUNTIME, (".onnx",), "edgeseq.runtimes.onnx_runtime",
        (Library("onnxruntime", "onnxruntime", RUNTIME_INSTALL),), needs="onnxruntime", isolated=True,
        runs_step_models=True),
    # a second opinion on the same .onnx files, where the extra is installed; isolated like onnxruntime
    RuntimeName.OPENVINO: RuntimeRow(
        RuntimeName.OPENVINO, (".onnx",), "edgeseq.runtimes.openvino_runtime",
        (Library("OpenVINO", "openvino", "pip install 'edgeseq[openvino]'"),), needs="openvino", isolated=True,
        optional=True, runs_step_models=True),
    # The app runtimes, each a column of the portability table and asked for by name (--runtime): LiteRT's
    # CompiledModel API in Python (isolated: a batch it mis-sizes corrupts the heap), and, through Node
    # (js/edgeseq-runner.mjs, its own process: the timing loop runs there), LiteRT.js and onnxruntime's JS packages
    RuntimeName.LITERT_COMPILED: RuntimeRow(
        RuntimeName.LITERT_COMPILED, (".tflite",), "edgeseq.runtimes.litert_compiled_runtime",
        (Library("LiteRT CompiledModel", "ai_edge_litert", RUNTIME_INSTALL),),
        needs="ai_edge_litert", isolated=True, optional=True, by_default=False, runs_step_models=True),
    RuntimeName.LITERTJS: RuntimeRow(
        RuntimeName.LITERTJS, (".tflite",), "edgeseq.runtimes.node_runtime",
        (Library("LiteRT.js", "", JS_INSTALL, npm="@litertjs/core"),), needs=None,
        optional=True, by_default=False, in_node=True),
    RuntimeName.ONNXRUNTIME_NODE: RuntimeRow(
        RuntimeName.ONNXRUNTIME_NODE, (".onnx",), "edgeseq.runtimes.node_runtime",
        (Library("onnxruntime-node", "", JS_INSTALL, npm="onnxruntime-node"),), needs=None,
        optional=True, by_default=False, in_node=True),
    RuntimeName.ONNXRUNTIME_WEB: RuntimeRow(
        RuntimeName.ONNXRUNTIME_WEB, (".onnx",), "edgeseq.runtimes.node_runtime",
        (Library("onnxruntime-web", "", JS_INSTALL, npm="onnxruntime-web"),), needs=None,
        optional=True, by_default=False, in_node=True),
}


def library(backend: TFLiteBackend) -> Library:
    """The TFLite library a --tflite-backend value forces (auto: the first one, LiteRT)."""
    return next((lib for lib in LITERT_LIBRARIES if lib.tflite_backend is backend), LITERT_LIBRARIES[0])


def portable_libraries() -> list[tuple[RuntimeRow, Library]]:
    """Every (runtime, library) pair that runs exported files: the portability table's backends."""
    return [(row, lib) for row in RUNTIMES.values() if row.portable for lib in row.libraries]


def step_runtime_for(path: Path) -> RuntimeName:
    """The runtime that runs a step file of this suffix by default (the first non-optional one)."""
    suffix = Path(path).suffix
    for row in RUNTIMES.values():
        if row.runs_step_models and row.by_default and not row.optional and suffix in row.suffixes:
            return row.name
    runs = sorted({s for row in RUNTIMES.values() if row.runs_step_models for s in row.suffixes})
    raise ValueError(f"no runtime runs step models in {suffix or 'this'} files (step models: {', '.join(runs)})")


IN_NODE_ONLY_BENCH = ("timed inside Node by `edgeseq bench` only (this mode times calls in a Python worker, which for"
                      " a Node runtime would time a process start per call)")
