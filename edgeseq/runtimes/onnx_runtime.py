"""ONNX files through onnxruntime's CPU execution provider, with an explicit thread count."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.core.errors import ModelError, RuntimeUnavailable, cause_line
from edgeseq.runtimes.table import RUNTIMES, OrtGraph, RuntimeName


def open_session(path: Path, threads: int, profile_prefix: str | None = None, kernels: str | None = None
                 ) -> tuple[Any, str]:
    """The one place an onnxruntime session is set up, for whole-sequence and step files alike:
    (session, backend label). `profile_prefix` (bench --profile): onnxruntime's profiler on, its trace written
    to that path prefix when `end_profiling()` is called. `kernels` (--kernels): ort-unoptimized turns the graph
    optimisation off (the label says so); None and ort-optimized keep onnxruntime's default."""
    try:
        import onnxruntime as ort  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"onnxruntime is not installed: {RUNTIMES[RuntimeName.ONNXRUNTIME].install_hint}") \
            from err
    optimize = kernels != OrtGraph.UNOPTIMIZED.value
    options = session_options(ort, threads, optimize, profile_prefix=profile_prefix)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001  (onnxruntime raises its own exception types, and undecodable names)
        raise _cannot(path, "load", err) from err
    return session, (f"onnxruntime {metadata.version('onnxruntime')}, CPUExecutionProvider, {threads} thread(s)"
                     + ("" if optimize else ", graph optimisation off"))


def session_options(ort: Any, threads: int, optimize: bool = True, profile_prefix: str | None = None) -> Any:
    """The session options of every onnxruntime session edgeseq opens: this many intra-op threads, one inter-op,
    sequential, quiet; `optimize=False` (quant-debug) keeps the graph as written."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return options


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int, profile_prefix: str | None = None, kernels: str | None = None
                 ) -> None:
        self._session, self.backend = open_session(path, threads, profile_prefix, kernels)
        try:
            inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
            if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 3:
                raise ValueError(f"expected one input [batch, T, F] and one output, found {len(inputs)} input(s)"
                                 f" {[i.shape for i in inputs]} and {len(outputs)} output(s)")
            self.input_name, self.output_name = inputs[0].name, outputs[0].name
            self.batch_one_only = inputs[0].shape[0] == 1
        except Exception as err:  # noqa: BLE001  (onnxruntime raises its own exception types, and undecodable names)
            raise _cannot(path, "load", err) from err
        self.path = path

    def end_profiling(self) -> str:
        """The path of the profiler's trace (a session opened with a profile_prefix), written now."""
        return self._session.end_profiling()

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference on `sequences` (already a valid batch)."""
        session, outputs, feed = self._session, [self.output_name], {self.input_name: sequences.astype(np.float32)}
        return lambda: session.run(outputs, feed)[0]

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        if self.batch_one_only and len(sequences) != 1:
            return np.concatenate([self.predict(sequences[i:i + 1]) for i in range(len(sequences))])
        try:
            result = self._session.run([self.output_name], {self.input_name: sequences.astype(np.float32, copy=False)})
        except Exception as err:  # noqa: BLE001  (onnxruntime's Fail, InvalidArgument, ... derive from Exception)
            raise _cannot(self.path, "run", err) from err
        return np.asarray(result[0], dtype=np.float32)


def _cannot(path: Path, verb: str, err: Exception) -> ModelError:
    return ModelError(f"{path}: onnxruntime cannot {verb} it ({cause_line(err)})")


class OnnxStepSession:
    """A step file's session (open_session's), fed and read by tensor name."""

    def __init__(self, path: Path, threads: int, kernels: str | None = None) -> None:
        self._session, self.label = open_session(path, threads, kernels=kernels)
        self._names = [o.name for o in self._session.get_outputs()]
        self._path = path

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            return dict(zip(self._names, self._session.run(self._names, feed)))
        except Exception as err:  # noqa: BLE001
            raise _cannot(self._path, "run", err) from err

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        session = self._session
        return lambda: session.run(outputs, feed)


def load(path: Path, threads: int = 1, profile_prefix: str | None = None, tflite_kernels: str | None = None,
         **_: Any) -> OnnxRuntime:
    return OnnxRuntime(path, threads, profile_prefix, tflite_kernels)


def step_session(path: Path, threads: int = 1, tflite_kernels: str | None = None, **_: Any) -> OnnxStepSession:
    return OnnxStepSession(path, threads, tflite_kernels)


def import_library(**_: Any) -> None:
    """Import onnxruntime (bench measures a runtime's baseline memory after this)."""
    import onnxruntime  # noqa: F401, PLC0415
