"""TFLite files through ai-edge-litert (else tflite-runtime, else tf.lite; the one used is reported).

The adapter owns the file's int8 input quantization and output dequantization, runs batch-1 files
sequence by sequence, resizes dynamic-batch files, and resets variable tensors before every invoke for
files whose fused recurrent ops keep state between invokes.

A file tflite-runtime cannot load is one line naming the library and the cause: its last release (2.14)
lacks the newer op versions of dynamic-range files ("Didn't find op for builtin opcode 'FULLY_CONNECTED'
version '12'").
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.artifacts import read_facts
from edgeseq.core.errors import ModelError, RuntimeUnavailable, cause_line
from edgeseq.runtimes.table import KERNEL_RESOLVERS, LITERT_LIBRARIES, TFLiteBackend, TFLiteKernels, library
from edgeseq.core.quiet import native_stderr_silenced

# tflite-runtime's load errors that name their cause: (pattern, what it means for the user)
LOAD_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Didn't find op for builtin opcode '(?P<op>\w+)' version '(?P<version>\d+)'"),
     "op {op} version {version} is newer than its kernels"),
    (re.compile(r"Encountered unresolved custom op: (?P<op>\w+)"),
     "it has no kernel for custom op {op}"),
)


def _interpreter_class(backend: TFLiteBackend, device_only: bool = False) -> tuple[Any, str, Any]:
    """(Interpreter class, label, OpResolverType enum or None) for the requested backend (`device_only`: never
    tf.lite, which would import TensorFlow)."""
    order = [lib.tflite_backend for lib in LITERT_LIBRARIES] if backend is TFLiteBackend.AUTO else [backend]
    if device_only:
        order = [choice for choice in order if choice is not TFLiteBackend.TF]
    tried = []
    for choice in order:
        try:
            if choice is TFLiteBackend.LITERT:
                from ai_edge_litert import interpreter as mod  # noqa: PLC0415
                label = f"ai-edge-litert {metadata.version('ai-edge-litert')}"
            elif choice is TFLiteBackend.TFLITE_RUNTIME:
                from tflite_runtime import interpreter as mod  # noqa: PLC0415
                label = f"tflite-runtime {metadata.version('tflite-runtime')}"
            else:
                from edgeseq.core.tfsupport import import_tensorflow  # noqa: PLC0415
                mod = import_tensorflow().lite
                label = f"tf.lite {mod.__dict__.get('__version__', '') or metadata.version('tensorflow-cpu')}"
            resolvers = getattr(mod, "OpResolverType", None) or getattr(getattr(mod, "experimental", None),
                                                                        "OpResolverType", None)   # tf.lite's
            return mod.Interpreter, label, resolvers
        except (ImportError, metadata.PackageNotFoundError, RuntimeUnavailable):
            tried.append(choice.value)
    raise RuntimeUnavailable(f"no TFLite interpreter available (tried {', '.join(tried)});"
                             f" {library(backend).install_hint}")


def _resolver(resolvers: Any, kernels: TFLiteKernels, label: str) -> Any:
    """The library's OpResolverType member for a kernel setting; a library without it refuses in one line."""
    member = KERNEL_RESOLVERS[kernels]
    if resolvers is None or not hasattr(resolvers, member):
        raise RuntimeUnavailable(f"{label} cannot run the {kernels.value} kernels: its Interpreter has no"
                                 f" OpResolverType.{member} (experimental_op_resolver_type)")
    return getattr(resolvers, member)


def open_interpreter(path: Path, threads: int, backend: TFLiteBackend = TFLiteBackend.AUTO,
                     inspect: bool = False, kernels: TFLiteKernels = TFLiteKernels.XNNPACK) -> tuple[Any, str]:
    """The one place a TFLite interpreter is set up, for whole-sequence and step files and quant-debug alike:
    allocated, run once on zeros (delegates prepare lazily, so a refusal shows only at invoke), and, where
    XNNPACK refuses the graph (some quantized graphs), on the builtin kernels instead, which the label says.
    `inspect` (quant-debug): every intermediate tensor kept, on the builtin kernels, LiteRT or tflite-runtime.
    `kernels` (--tflite-kernels): xnnpack is the above; builtin and reference load the Interpreter with that
    experimental_op_resolver_type (no delegate, no fallback), which the label says.
    Returns (interpreter, backend label: library, delegate or kernels, threads)."""
    interpreter_cls, label, resolver = _interpreter_class(backend, device_only=inspect)
    if not inspect and kernels is not TFLiteKernels.XNNPACK:
        try:
            interpreter = _ready(interpreter_cls(model_path=str(path), num_threads=threads,
                                                 experimental_op_resolver_type=_resolver(resolver, kernels, label)))
        except (RuntimeError, ValueError) as err:
            raise _cannot_run(path, err, label) from err
        return interpreter, f"{label}, {kernels.value} kernels, {threads} thread(s)"
    if inspect:
        try:
            interpreter = _ready(interpreter_cls(
                model_path=str(path), num_threads=threads, experimental_preserve_all_tensors=True,
                experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
        except (RuntimeError, ValueError) as err:
            raise _cannot_run(path, err, label) from err
        return interpreter, f"{label}, builtin kernels, all tensors preserved, {threads} thread(s)"
    try:
        interpreter = _ready(interpreter_cls(model_path=str(path), num_threads=threads))
        delegate = "XNNPACK"
    except (RuntimeError, ValueError) as err:
        if resolver is None or "xnnpack" not in str(err).lower():  # "XNNPACK" or "TfLiteXNNPackDelegate"
            raise _cannot_run(path, err, label) from err
        try:
            interpreter = _ready(interpreter_cls(
                model_path=str(path), num_threads=threads,
                experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
        except (RuntimeError, ValueError) as again:
            raise _cannot_run(path, again, label) from again
        delegate = "builtin kernels (XNNPACK refused the graph)"
    return interpreter, f"{label}, {delegate}, {threads} thread(s)"


def _ready(interpreter: Any) -> Any:
    """Allocate and run every input at zero once, then reset any variable tensors."""
    with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate" and the like
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], dtype=detail["dtype"]))
        interpreter.invoke()
        interpreter.reset_all_variables()
    return interpreter


class LiteRTRuntime:
    name = "litert"

    def __init__(self, path: Path, threads: int, backend: TFLiteBackend = TFLiteBackend.AUTO,
                 kernels: TFLiteKernels = TFLiteKernels.XNNPACK) -> None:
        facts = read_facts(path)  # rejects non-TFLite bytes before the C++ loader
        if len(facts.inputs) != 1 or len(facts.outputs) != 1:
            raise ModelError(f"{path}: expected one input and one output, found {len(facts.inputs)}"
                             f" and {len(facts.outputs)}")
        for tensor in (*facts.inputs, *facts.outputs):  # this adapter scales integer inputs and outputs
            if tensor.dtype != "float32" and not (tensor.scale is not None and 0 < tensor.scale < float("inf")):
                raise ModelError(f"{path}: {tensor.dtype} tensor {tensor.name!r} has no usable quantization scale"
                                 f" ({tensor.scale})")
        self.stateful, self.path = facts.stateful, path
        self._interpreter, self.backend = open_interpreter(path, threads, backend, kernels=kernels)
        self._label = self.backend.split(",")[0]
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.batch_one_only = int(self._input["shape_signature"][0]) == 1
        self.input_name, self.output_name = self._input["name"], self._output["name"]
        self._batch = int(self._input["shape"][0])

    def _quantize(self, sequences: np.ndarray) -> np.ndarray:
        dtype = self._input["dtype"]
        if dtype == np.float32:
            return sequences.astype(np.float32, copy=False)
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(sequences / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, raw: np.ndarray) -> np.ndarray:
        if raw.dtype == np.float32:
            return raw.copy()
        scale, zero = self._output["quantization"]
        return ((raw.astype(np.float32) - zero) * scale).astype(np.float32)

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], list(batch.shape), strict=True)
            self._interpreter.allocate_tensors()
            self._batch = batch.shape[0]
        if self.stateful:
            self._interpreter.reset_all_variables()
        self._interpreter.set_tensor(self._input["index"], batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference on `sequences` (already a valid batch), with quantization and resizing done up front."""
        quantized = self._quantize(sequences)
        self._invoke(quantized)  # resizes and allocates if needed
        interpreter, input_index, output_index = self._interpreter, self._input["index"], self._output["index"]
        if self.stateful:
            def run() -> np.ndarray:
                interpreter.reset_all_variables()
                interpreter.set_tensor(input_index, quantized)
                interpreter.invoke()
                return interpreter.get_tensor(output_index)
        else:
            def run() -> np.ndarray:
                interpreter.set_tensor(input_index, quantized)
                interpreter.invoke()
                return interpreter.get_tensor(output_index)
        return run

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        quantized = self._quantize(sequences)
        try:
            if self.batch_one_only:
                return np.concatenate([self._dequantize(self._invoke(quantized[i:i + 1]))
                                       for i in range(len(sequences))])
            return self._dequantize(self._invoke(quantized))
        except (RuntimeError, ValueError) as err:
            raise _cannot_run(self.path, err, self._label) from err


def _cannot_run(path: Path, err: Exception, label: str) -> ModelError:
    """One line: for tflite-runtime it names the library and, where its message says, the op it lacks."""
    first = cause_line(err)
    if not label.startswith("tflite-runtime"):
        return ModelError(f"{path}: the TFLite interpreter cannot run it ({first})")
    for pattern, meaning in LOAD_ERRORS:
        if found := pattern.search(str(err)):
            return ModelError(f"{path}: {label} cannot run it: {meaning.format(**found.groupdict())}"
                              f" ({found.group(0)})")
    return ModelError(f"{path}: {label} cannot run it ({first})")


class LiteRTStepSession:
    """A step file's interpreter (open_interpreter's), fed and read by signature name; resized on a change of
    batch. A file whose batch is fixed to 1 (export --app) is run one sequence at a time instead."""

    def __init__(self, path: Path, threads: int, backend: TFLiteBackend = TFLiteBackend.AUTO,
                 kernels: TFLiteKernels = TFLiteKernels.XNNPACK) -> None:
        self._interpreter, self.label = open_interpreter(path, threads, backend, kernels=kernels)
        try:
            runner = self._interpreter.get_signature_runner()   # names -> tensor indices, then let go of it
            details = runner.get_input_details()
            self._inputs = {k: v["index"] for k, v in details.items()}
            self._widths = {k: [int(d) for d in v["shape"][1:]] for k, v in details.items()}
            self.batch_one_only = all(int(v["shape_signature"][0]) == 1 for v in details.values())
            self._outputs = {k: v["index"] for k, v in runner.get_output_details().items()}
            del runner
        except (RuntimeError, ValueError) as err:
            raise _cannot_run(path, err, self.label) from err
        self._path, self._batch = path, None

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            for name, index in self._inputs.items():
                self._interpreter.resize_tensor_input(index, [batch, *self._widths[name]], strict=True)
            self._interpreter.allocate_tensors()
            self._batch = batch

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        count = len(next(iter(feed.values())))
        if self.batch_one_only and count != 1:       # a fixed batch of 1: one sequence at a time
            outs = [self.run({name: array[i:i + 1] for name, array in feed.items()}) for i in range(count)]
            return {name: np.concatenate([o[name] for o in outs]) for name in self._outputs}
        try:
            self._resize(count)
            for name, array in feed.items():
                self._interpreter.set_tensor(self._inputs[name], array)
            self._interpreter.invoke()
            return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}
        except (RuntimeError, ValueError, KeyError) as err:
            raise _cannot_run(self._path, err, self.label) from err

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        self.run(feed)
        inputs = [(self._inputs[name], array) for name, array in feed.items()]
        wanted = [self._outputs[name] for name in outputs]
        set_tensor, invoke, get_tensor = (self._interpreter.set_tensor, self._interpreter.invoke,
                                          self._interpreter.get_tensor)

        def step() -> list[np.ndarray]:
            for index, array in inputs:
                set_tensor(index, array)
            invoke()
            return [get_tensor(index) for index in wanted]
        return step


def load(path: Path, threads: int = 1, tflite_backend: str = "auto", tflite_kernels: str | None = None,
         **_: Any) -> LiteRTRuntime:
    return LiteRTRuntime(path, threads, TFLiteBackend(tflite_backend), TFLiteKernels(tflite_kernels or "xnnpack"))


def step_session(path: Path, threads: int = 1, tflite_backend: str = "auto", tflite_kernels: str | None = None,
                 **_: Any) -> LiteRTStepSession:
    return LiteRTStepSession(path, threads, TFLiteBackend(tflite_backend), TFLiteKernels(tflite_kernels or "xnnpack"))


def import_library(tflite_backend: str = "auto", **_: Any) -> None:
    """Import the TFLite library `load` would use (bench measures a runtime's baseline memory after this)."""
    _interpreter_class(TFLiteBackend(tflite_backend))
