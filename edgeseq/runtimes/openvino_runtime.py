"""ONNX files through OpenVINO's CPU plugin, at f32 precision and an explicit thread count.

The CPU plugin's default precision is bf16 on CPUs that support it (outputs then differ from onnxruntime by
up to ~0.1): f32 is asked for, and the precision the compiled model reports is the one named in `backend`.
OpenVINO runs a static shape 3-4x faster than the dynamic batch axis of the exported files (SimpleRNN 19 µs vs
68 µs, LSTM 0.5 ms vs 2.2 ms at batch 1), so the model is compiled once per batch size it is given, each with
its own reused infer request. Where a static shape does not compile (OpenVINO 2026.4 refuses the QDQ files
at batch 1 and 4: "Not enough gp registers in the pool to perform manual assignment"), that batch runs on the
file's own dynamic shape, and `backend` says so."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.core.errors import ModelError, RuntimeUnavailable, cause_line
from edgeseq.runtimes.table import RUNTIMES, RuntimeName

INSTALL_HINT = RUNTIMES[RuntimeName.OPENVINO].install_hint

DEVICE = "CPU"
MAX_COMPILED = 8                       # batch sizes kept compiled (validate uses 2-3, bench one per --batch)


class OpenVinoSession:
    """The one place an OpenVINO model is set up, for whole-sequence and step files alike: read once, compiled
    once per batch size (every input's batch axis set), each with its own reused infer request."""

    def __init__(self, path: Path, threads: int, profile: bool = False) -> None:
        try:
            import openvino as ov  # noqa: PLC0415
            import openvino.properties as props  # noqa: PLC0415
            import openvino.properties.hint as hints  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable(f"openvino is not installed: {INSTALL_HINT}") from err
        self.ov, self._props, self._hints, self.path = ov, props, hints, path
        self._config = {hints.inference_precision: ov.Type.f32, props.inference_num_threads: threads,
                        props.num_streams: 1}
        if profile:                                 # bench --profile: per-node performance counters (PERF_COUNT)
            self._config[props.enable_profiling] = True
        self._core = ov.Core()
        try:
            self.model = self._core.read_model(str(path))
        except Exception as err:  # noqa: BLE001  (OpenVINO raises RuntimeError, and others from its frontends)
            raise _cannot(path, "load", err) from err
        first = self.model.inputs[0].get_partial_shape() if self.model.inputs else None
        self.static_batch = first[0].get_length() if first is not None and first.rank.is_static \
            and first.rank.get_length() > 0 and first[0].is_static else None
        self._compiled: dict[int, Any] = {}         # batch size -> (compiled model, infer request)
        self._dynamic: Any = None                   # the file's own shape compiled, once a static one failed
        self._dynamic_batches: set[int] = set()     # the batch sizes that run on it
        self._label = ""

    @property
    def label(self) -> str:
        if not self._label:
            self.request(self.static_batch or 1, "compile")
        if not self._dynamic_batches:
            return self._label
        return f"{self._label}, dynamic shape at batch {', '.join(map(str, sorted(self._dynamic_batches)))}"

    def request(self, batch: int, verb: str = "run") -> tuple[Any, Any]:
        """The compiled model and infer request for this batch size (compiled on first use)."""
        if batch not in self._compiled:
            compiled = self._compile(batch, verb)
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[batch] = (compiled, compiled.create_infer_request())
            if not self._label:
                precision = compiled.get_property(self._hints.inference_precision).get_type_name()
                used = compiled.get_property(self._props.inference_num_threads)
                self._label = f"openvino {metadata.version('openvino')}, {DEVICE}, {precision}, {used} thread(s)"
        return self._compiled[batch]

    def _compile(self, batch: int, verb: str) -> Any:
        """The model compiled at this static batch size, else (a batch-size axis that would not compile static)
        at the file's own dynamic shape."""
        model = self.model
        try:
            if batch != self.static_batch:
                model = self.model.clone()
                model.reshape({k: self.ov.PartialShape([batch, *port.get_partial_shape()[1:]])
                               for k, port in enumerate(model.inputs)})
            return self._core.compile_model(model, DEVICE, self._config)
        except Exception as err:  # noqa: BLE001  (OpenVINO raises RuntimeError)
            if self.static_batch is not None:
                raise _cannot(self.path, verb, err) from err
        try:
            if self._dynamic is None:
                self._dynamic = self._core.compile_model(self.model, DEVICE, self._config)
        except Exception as err:  # noqa: BLE001
            raise _cannot(self.path, verb, err) from err
        self._dynamic_batches.add(batch)
        return self._dynamic


class OpenVinoRuntime:
    name = "openvino"

    def __init__(self, path: Path, threads: int, profile: bool = False) -> None:
        self._session, self.path = OpenVinoSession(path, threads, profile), path
        inputs, outputs = self._session.model.inputs, self._session.model.outputs
        shape = inputs[0].get_partial_shape() if len(inputs) == 1 else None
        if shape is None or len(outputs) != 1 or shape.rank.is_dynamic or shape.rank.get_length() != 3:
            raise ModelError(f"{path}: openvino cannot load it (expected one input [batch, T, F] and one output,"
                             f" found {len(inputs)} input(s) {[str(i.get_partial_shape()) for i in inputs]} and"
                             f" {len(outputs)} output(s))")
        self.input_name, self.output_name = _name(inputs[0]), _name(outputs[0])
        self.batch_one_only = self._session.static_batch == 1
        self._session.request(self._session.static_batch or 1, "compile")

    @property
    def backend(self) -> str:
        return self._session.label

    @property
    def session(self) -> OpenVinoSession:
        """The model as read (`session.model`) and compiled per batch size (`session.request(batch)`)."""
        return self._session

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference on `sequences` (already a valid batch), its input set once on a reused infer request."""
        _, request = self._session.request(len(sequences))
        request.set_input_tensor(self._session.ov.Tensor(np.ascontiguousarray(sequences, dtype=np.float32)))

        def run() -> np.ndarray:
            request.infer()
            return request.get_output_tensor(0).data
        return run

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        if self.batch_one_only and len(sequences) != 1:
            return np.concatenate([self.predict(sequences[i:i + 1]) for i in range(len(sequences))])
        _, request = self._session.request(len(sequences))
        try:
            request.infer({0: np.ascontiguousarray(sequences, dtype=np.float32)})
            result = request.get_output_tensor(0).data
        except Exception as err:  # noqa: BLE001
            raise _cannot(self.path, "run", err) from err
        return np.array(result, dtype=np.float32)   # a copy: the request's buffer is reused by the next call


class OpenVinoStepSession:
    """A step file's session (OpenVinoSession's: static batch shapes, as for whole-sequence files), fed and read
    by tensor name."""

    def __init__(self, path: Path, threads: int) -> None:
        self._session, self._path = OpenVinoSession(path, threads), path
        self._session.request(self._session.static_batch or 1, "compile")

    @property
    def label(self) -> str:
        return self._session.label

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        _, request = self._session.request(len(next(iter(feed.values()))))
        try:
            results = request.infer(feed)
        except Exception as err:  # noqa: BLE001
            raise _cannot(self._path, "run", err) from err
        return {port.get_any_name(): np.array(value) for port, value in results.items()}

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], Any]:
        _, request = self._session.request(len(next(iter(feed.values()))))
        return lambda: request.infer(feed)


def _name(port: Any) -> str:
    names = sorted(port.get_names())
    return names[0] if names else port.get_node().get_friendly_name()


def reason(err: BaseException) -> str:
    """OpenVINO's cause, without its source-location lines and preambles (core.errors.cause_line): 'Model can't
    be parsed', not 'Exception from src/inference/src/cpp/core.cpp:84:'; "Model wasn't fully converted: Loop-17:
    The provided loop body graph ... does not match ...", not "... Failed operations detailed log:"."""
    return cause_line(err)


def _cannot(path: Path, verb: str, err: BaseException) -> ModelError:
    return ModelError(f"{path}: openvino cannot {verb} it ({reason(err)})")


def load(path: Path, threads: int = 1, profile: bool = False, **_: Any) -> OpenVinoRuntime:
    return OpenVinoRuntime(path, threads, profile)


def step_session(path: Path, threads: int = 1, **_: Any) -> OpenVinoStepSession:
    return OpenVinoStepSession(path, threads)


def import_library(**_: Any) -> None:
    """Import OpenVINO (bench measures a runtime's baseline memory after this)."""
    import openvino  # noqa: F401, PLC0415
