"""The one table of runtimes: everything that varies between runtimes is read from here. Each row says what the
runtime loads, the libraries behind it (how to install them, how their backend strings begin, whether each is a
column of the report's portability table), whether it runs step models, what its per-operator profiler is (or why
it has none) and its marker in the report's plots; the rows are in the order the report shows them.

Derived from this table, never listed elsewhere: the portability table's backends and columns
(edgeseq.portability.BACKENDS, TABLE_COLUMNS), the column of a validate row (edgeseq.report.portability), the
report's runtime order and markers (edgeseq.report.figures.RUNTIME_ORDER, edgeseq.report.plots.RUNTIME_MARKERS),
`bench --profile`'s profilers and collectors (edgeseq.bench.profile.PROFILERS, edgeseq.bench.profile_worker), the
modules a host needs for `bench --host` (edgeseq.bench.remote), and the runtime choices of every command.

Adding a runtime takes:
  1. its module, edgeseq/runtimes/<name>_runtime.py: `load(path, threads, **options)` returning a Runtime
     (edgeseq.runtimes.Runtime), `step_session(...)` if it runs step models, `import_library(**options)`; its
     library imported inside those functions, never at import time; and, if it has a per-operator profiler,
     the function that collects its node times (named by its row's `profiler.collector`);
  2. one row here: a RuntimeName member and its RuntimeRow in RUNTIMES, at the place the report should show it,
     with its Library (label, module, install hint, and `names`, how its backend strings begin, if it is a
     column of the portability table), its Profiler (what its figures are, or why there are none), its
     plot marker if it should not share the others' one, and the kernel settings (--tflite-kernels) it honours.
A new format, or a library whose version manifests should record (edgeseq.core.environment.TRACKED_DISTRIBUTIONS) and
the report's device table show (edgeseq.report.document.RUNTIME_LIBRARIES), is outside this table.
tests/test_runtime_table.py checks that each of the modules above derives its facts from here.

Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from edgeseq.core.environment import installed
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
    TFLM = "tflm"                                # TensorFlow Lite Micro on the host: only by name, too


class TFLiteBackend(str, enum.Enum):
    AUTO = "auto"                      # ai-edge-litert, else tflite-runtime, else tf.lite (the one used is reported)
    LITERT = "litert"
    TFLITE_RUNTIME = "tflite-runtime"
    TF = "tf"


class TFLiteKernels(str, enum.Enum):
    """The kernels a TFLite interpreter runs a file on (--tflite-kernels): the Interpreter's
    experimental_op_resolver_type, each library's OpResolverType member named by KERNEL_RESOLVERS."""
    XNNPACK = "xnnpack"                # AUTO: the builtin kernels with the default XNNPACK delegate (today's default)
    BUILTIN = "builtin"                # BUILTIN_WITHOUT_DEFAULT_DELEGATES: the optimized builtin kernels alone
    REFERENCE = "reference"            # BUILTIN_REF: the reference kernels (plain C++, slow)


class OrtGraph(str, enum.Enum):
    """onnxruntime's graph optimisation (--kernels): SessionOptions.graph_optimization_level."""
    OPTIMIZED = "ort-optimized"        # ORT_ENABLE_ALL: onnxruntime's default (fused and rewritten nodes)
    UNOPTIMIZED = "ort-unoptimized"    # ORT_DISABLE_ALL: every node as the file writes it


KERNEL_SETTINGS: tuple[TFLiteKernels | OrtGraph, ...] = (*TFLiteKernels, *OrtGraph)   # every --kernels value
KERNEL_RESOLVERS = {TFLiteKernels.XNNPACK: "AUTO", TFLiteKernels.BUILTIN: "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
                    TFLiteKernels.REFERENCE: "BUILTIN_REF"}
TENSORFLOW = "tensorflow"              # the module of the libraries that need TensorFlow (Keras, tf.lite)


@dataclass(frozen=True)
class Library:
    """One library that runs a runtime's files (LiteRT has three interchangeable ones)."""
    label: str                         # as the portability table and the manifests' `runs_on` name it
    module: str                        # importable when installed (checked without importing it)
    install_hint: str
    tflite_backend: TFLiteBackend | None = None     # the --tflite-backend value that forces it
    npm: str | None = None             # an npm package in js/node_modules, run by Node (edgeseq.runtimes.node_runtime)
    names: tuple[str, ...] = ()        # how its backend strings (and the reasons of files it refused) begin, lower
    #                                    case: what puts a validate row in its column of the portability table
    column: bool = True                # a column of the portability table, where its runtime is `portable`

    def installed(self) -> bool:
        return self.missing() is None

    def missing(self) -> str | None:
        """Why it cannot run here (what is not installed, and how to install it), or None."""
        if self.npm:
            return node_missing(self.npm)
        return None if installed(self.module) else f"{self.module} is not installed ({self.install_hint})"


@dataclass(frozen=True)
class Profiler:
    """What a runtime gives per operator in `bench --profile`: where its figures come from and the function that
    collects them, or why there are none."""
    source: str | None
    unsupported: str | None = None
    collector: str | None = None       # "module:function", called in the profile worker (edgeseq.bench.profile_worker)
    #                                    as function(request, one batch) -> {backend, walls_us, nodes, originals, ...}


@dataclass(frozen=True)
class RuntimeRow:
    name: RuntimeName
    suffixes: tuple[str, ...]
    module: str                        # the adapter: load(path, threads, **options), step_session, import_library
    libraries: tuple[Library, ...]     # in the order `auto` tries them
    needs: str | None                  # the module that must be installed to use it (before any file is loaded)
    profiler: Profiler                 # `bench --profile`: its per-operator figures, or why there are none
    isolated: bool = False             # can crash the process on a malformed file: validate runs it in a child
    optional: bool = False             # an optional extra: chosen by default only where `needs` is installed
    by_default: bool = True            # chosen when no runtime is named (False: only by --runtime NAME)
    runs_step_models: bool = False     # step models (one row and the state in, probabilities and state out)
    portable: bool = True              # a column of the portability table (the exported files' runtimes)
    in_node: bool = False              # runs in a Node process of its own: only `bench` times it (in Node)
    marker: str | None = None          # its matplotlib marker in the report's plots (None: the one the others share)
    timing: str | None = None          # what its bench times are, where not a device's own (a note on its rows)
    kernel_settings: tuple[TFLiteKernels | OrtGraph, ...] = ()   # --kernels it honours, its default first (a row each);
    #                                                   () : it ignores the option (its rows' `kernels` is None)
    portability_steps: int | None = None   # the most timesteps (samples x T) export's portability check runs it on:
    #                                        a slow host simulation is judged on the first samples that fit

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
    Library("LiteRT", "ai_edge_litert", RUNTIME_INSTALL, TFLiteBackend.LITERT, names=("ai-edge-litert",)),
    Library("tflite-runtime", "tflite_runtime",
            "pip install 'edgeseq[tflite-runtime]' (Python <= 3.11, numpy<2)", TFLiteBackend.TFLITE_RUNTIME,
            names=("tflite-runtime",)),
    # not a column of its own: tf.lite runs the same kernels as LiteRT
    Library("tf.lite", TENSORFLOW, "pip install 'edgeseq[train]'", TFLiteBackend.TF, column=False),
)
IN_NODE_ONLY_BENCH = ("timed inside Node by `edgeseq bench` only (this mode times calls in a Python worker, which for"
                      " a Node runtime would time a process start per call)")
NATIVE_OP_PROFILER = "the native tool has one: benchmark_model --graph=FILE --enable_op_profiling=true"


def _in_node(name: RuntimeName) -> Profiler:
    return Profiler(None, f"edgeseq does not profile per op in Node; {name.value} is {IN_NODE_ONLY_BENCH}")


RUNTIMES: dict[RuntimeName, RuntimeRow] = {
    # SIGSEGV/SIGABRT on mutated files that pass every structural check (optional-tensor markers on required
    # inputs, odd quantization scales), and memory corruption that makes the process crash on a later file
    RuntimeName.LITERT: RuntimeRow(
        RuntimeName.LITERT, (".tflite",), "edgeseq.runtimes.litert_runtime", LITERT_LIBRARIES, needs=None,
        profiler=Profiler(None, "LiteRT's Python API exposes no op profiler (ai-edge-litert's Interpreter and"
                                f" CompiledModel); {NATIVE_OP_PROFILER}"),
        isolated=True, runs_step_models=True, marker="o", kernel_settings=tuple(TFLiteKernels)),
    # no crash seen on ~3,000 mutated files; isolated anyway: a child costs the same as for TFLite
    RuntimeName.ONNXRUNTIME: RuntimeRow(
        RuntimeName.ONNXRUNTIME, (".onnx",), "edgeseq.runtimes.onnx_runtime",
        (Library("onnxruntime", "onnxruntime", RUNTIME_INSTALL, names=("onnxruntime",)),), needs="onnxruntime",
        profiler=Profiler(
            "onnxruntime's profiler (SessionOptions.enable_profiling): each node's kernel time, in whole µs",
            collector="edgeseq.bench.profile_worker:profile_onnxruntime"),
        isolated=True, runs_step_models=True, marker="s", kernel_settings=tuple(OrtGraph)),
    # a second opinion on the same .onnx files, where the extra is installed; isolated like onnxruntime
    RuntimeName.OPENVINO: RuntimeRow(
        RuntimeName.OPENVINO, (".onnx",), "edgeseq.runtimes.openvino_runtime",
        (Library("OpenVINO", "openvino", "pip install 'edgeseq[openvino]'", names=("openvino",)),), needs="openvino",
        profiler=Profiler(
            "OpenVINO's performance counters (PERF_COUNT, InferRequest.get_profiling_info): each node's mean real"
            " time since compile, floored to whole µs (a node under 1 µs reads 0); nodes the CPU plugin fused count"
            " as one", collector="edgeseq.bench.profile_worker:profile_openvino"),
        isolated=True, optional=True, runs_step_models=True, marker="P"),
    # .keras: a zip (checked before loading) read by Keras in safe mode: no crash seen on 90 mutated files, and a
    # child would import TensorFlow again for every file. The reference: after the exported files' runtimes in
    # the report (the commands run it first: RuntimeName's order)
    RuntimeName.KERAS: RuntimeRow(
        RuntimeName.KERAS, (".keras",), "edgeseq.runtimes.keras_runtime",
        (Library("Keras", TENSORFLOW, "pip install 'edgeseq[train]'"),), needs=TENSORFLOW,
        profiler=Profiler(None, "the Keras model is the reference: edgeseq does not profile TensorFlow per op"),
        portable=False, marker="*"),
    # The app runtimes, each a column of the portability table and asked for by name (--runtime): LiteRT's
    # CompiledModel API in Python (isolated: a batch it mis-sizes corrupts the heap), and, through Node
    # (js/edgeseq-runner.mjs, its own process: the timing loop runs there), LiteRT.js and onnxruntime's JS packages
    RuntimeName.LITERT_COMPILED: RuntimeRow(
        RuntimeName.LITERT_COMPILED, (".tflite",), "edgeseq.runtimes.litert_compiled_runtime",
        (Library("LiteRT CompiledModel", "ai_edge_litert", RUNTIME_INSTALL,
                 names=("litert compiledmodel", "litert-compiled")),),
        needs="ai_edge_litert",
        profiler=Profiler(None, f"LiteRT's Python API exposes no op profiler (CompiledModel); {NATIVE_OP_PROFILER}"),
        isolated=True, optional=True, by_default=False, runs_step_models=True),
    RuntimeName.LITERTJS: RuntimeRow(
        RuntimeName.LITERTJS, (".tflite",), "edgeseq.runtimes.node_runtime",
        (Library("LiteRT.js", "", JS_INSTALL, npm="@litertjs/core", names=("litert.js", "litertjs")),), needs=None,
        profiler=_in_node(RuntimeName.LITERTJS), optional=True, by_default=False, in_node=True),
    RuntimeName.ONNXRUNTIME_NODE: RuntimeRow(
        RuntimeName.ONNXRUNTIME_NODE, (".onnx",), "edgeseq.runtimes.node_runtime",
        (Library("onnxruntime-node", "", JS_INSTALL, npm="onnxruntime-node", names=("onnxruntime-node",)),),
        needs=None, profiler=_in_node(RuntimeName.ONNXRUNTIME_NODE), optional=True, by_default=False, in_node=True),
    RuntimeName.ONNXRUNTIME_WEB: RuntimeRow(
        RuntimeName.ONNXRUNTIME_WEB, (".onnx",), "edgeseq.runtimes.node_runtime",
        (Library("onnxruntime-web", "", JS_INSTALL, npm="onnxruntime-web", names=("onnxruntime-web",)),),
        needs=None, profiler=_in_node(RuntimeName.ONNXRUNTIME_WEB), optional=True, by_default=False, in_node=True),
    # TensorFlow Lite Micro's interpreter (PyPI tflite-micro: TFLM's kernels built for this host), batch 1, asked for
    # by name (it refuses most exported files). Isolated: its loader verifies nothing of the flatbuffer it is given
    RuntimeName.TFLM: RuntimeRow(
        RuntimeName.TFLM, (".tflite",), "edgeseq.runtimes.tflm_runtime",
        (Library("TFLM", "tflite_micro", "pip install 'edgeseq[mcu]'; Linux x86_64 only",
                 names=("tflite-micro", "tflm")),),
        needs="tflite_micro",
        profiler=Profiler(None, "tflite-micro's Python interpreter exposes no per-op timer (TFLM's MicroProfiler is"
                                " C++ only)"),
        # TFLM's reference kernels: ACSF1's LSTM loop graph (T = 1,460) ran over 6 CPU-minutes on 100 golden sequences;
        # 28,000 steps is every golden sequence of MNIST (1,000 x 28), 19 sequences of ACSF1
        portability_steps=28_000,
        isolated=True, optional=True, by_default=False, runs_step_models=True, marker="^",
        timing="host time of TFLM's kernels (built for this machine's CPU by tflite-micro), never a microcontroller's"
               " time; its memory is TFLM's own arena (edgeseq.runtimes.tflm_runtime.footprint)"),
}


def library(backend: TFLiteBackend) -> Library:
    """The TFLite library a --tflite-backend value forces (auto: the first one, LiteRT)."""
    return next((lib for lib in LITERT_LIBRARIES if lib.tflite_backend is backend), LITERT_LIBRARIES[0])


def kernel_settings(runtime: RuntimeName, wanted: tuple[str, ...] | None = None) -> list[str | None]:
    """The kernel settings a runtime runs a file under, a row each: those of `wanted` (--tflite-kernels; None: the
    default) it honours, in the table's order; [None] for a runtime that has none (it ignores the option)."""
    honoured = RUNTIMES[runtime].kernel_settings
    if not honoured:
        return [None]
    chosen = [k.value for k in honoured if k.value in (wanted or (honoured[0].value,))]
    return chosen or [honoured[0].value]


def kernels_value(text: str) -> str:
    """One --kernels value; an unknown one is a ValueError listing the valid ones."""
    if text in {k.value for k in KERNEL_SETTINGS}:
        return text
    raise ValueError(f"unknown kernel setting {text!r}; choose from {', '.join(k.value for k in KERNEL_SETTINGS)}")


def default_kernels(runtime: str) -> str | None:
    """The kernel setting a runtime's rows have when none was recorded (rows that predate --tflite-kernels)."""
    row = next((r for r in RUNTIMES.values() if r.name.value == runtime), None)
    return row.kernel_settings[0].value if row and row.kernel_settings else None


def setting_of(runtime: str, kernels: str | None) -> str | None:
    """The kernel setting a row ran on: its own where its runtime honours it, else the runtime's default (rows that
    predate a runtime's settings, or that recorded another runtime's value); None for a runtime without any."""
    row = next((r for r in RUNTIMES.values() if r.name.value == runtime), None)
    honoured = [k.value for k in row.kernel_settings] if row else []
    return (kernels if kernels in honoured else honoured[0]) if honoured else None


def off_default(runtime: str, kernels: str | None) -> bool:
    """Whether a row ran on a kernel setting other than its runtime's default (never for a runtime without any)."""
    default = default_kernels(runtime)
    return default is not None and kernels is not None and kernels != default


def portable_libraries() -> list[tuple[RuntimeRow, Library]]:
    """Every (runtime, library) pair that runs exported files: the portability table's backends."""
    return [(row, lib) for row in RUNTIMES.values() if row.portable for lib in row.libraries]


def portability_columns() -> tuple[str, ...]:
    """The columns of the report's portability table: the libraries that are one, in the table's order."""
    return tuple(lib.label for _, lib in portable_libraries() if lib.column)


def column_names() -> tuple[tuple[str, str], ...]:
    """(how a backend string begins, lower case; its column), the runtimes asked for by name first: their
    strings begin with or name the default runtimes' libraries ("onnxruntime-node ...", "LiteRT CompiledModel
    (ai-edge-litert ...)"), so they are matched before them."""
    pairs = sorted(portable_libraries(), key=lambda pair: pair[0].by_default)     # stable: the table's order
    return tuple((name, lib.label) for _, lib in pairs if lib.column for name in lib.names)


def host_modules() -> tuple[str, ...]:
    """The modules of the libraries that run the default runtimes without TensorFlow: one of them is what a host
    needs for the runtime-only `edgeseq bench` (bench --host)."""
    return tuple(dict.fromkeys(lib.module for row in RUNTIMES.values() if row.by_default and not row.optional
                               for lib in row.libraries if lib.module not in ("", TENSORFLOW)))


def step_runtime_for(path: Path) -> RuntimeName:
    """The runtime that runs a step file of this suffix by default (the first non-optional one)."""
    suffix = Path(path).suffix
    for row in RUNTIMES.values():
        if row.runs_step_models and row.by_default and not row.optional and suffix in row.suffixes:
            return row.name
    runs = sorted({s for row in RUNTIMES.values() if row.runs_step_models for s in row.suffixes})
    raise ValueError(f"no runtime runs step models in {suffix or 'this'} files (step models: {', '.join(runs)})")
