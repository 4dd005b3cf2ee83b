"""ONNX files through OpenVINO's CPU plugin, at f32 precision and an explicit thread count.

The CPU plugin's default precision is bf16 on CPUs that support it (outputs then differ from onnxruntime by
up to ~0.1): f32 is asked for, and the precision the compiled model reports is the one named in `backend`.
OpenVINO runs a static shape 3-4x faster than the dynamic batch axis of the exported files (SimpleRNN 19 µs vs
68 µs, LSTM 0.5 ms vs 2.2 ms at batch 1), so the model is compiled once per batch size it is given, each with
its own reused infer request. Where a static shape does not compile (OpenVINO 2026.4 refuses the QDQ files
at batch 1 and 4: "Not enough gp registers in the pool to perform manual assignment"), that batch runs on the
file's own dynamic shape, and `backend` says so."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.errors import ModelError, RuntimeUnavailable, first_line

INSTALL_HINT = "pip install 'edgeseq[openvino]'"
DEVICE = "CPU"
MAX_COMPILED = 8                       # batch sizes kept compiled (validate uses 2-3, bench one per --batch)
# OpenVINO's messages start with source locations ("Exception from src/...:84:", "Check '...' failed at ...")
LOCATION = re.compile(r"^(Exception from |Check '.*' failed at |FrontEnd API failed with )")


class OpenVinoRuntime:
    name = "openvino"

    def __init__(self, path: Path, threads: int) -> None:
        try:
            import openvino as ov  # noqa: PLC0415
            import openvino.properties as props  # noqa: PLC0415
            import openvino.properties.hint as hints  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable(f"openvino is not installed: {INSTALL_HINT}") from err
        self._ov, self.path = ov, path
        self._config = {hints.inference_precision: ov.Type.f32, props.inference_num_threads: threads,
                        props.num_streams: 1}
        self._core = ov.Core()
        try:
            self._model = self._core.read_model(str(path))
        except Exception as err:  # noqa: BLE001  (OpenVINO raises RuntimeError, and others from its frontends)
            raise _cannot(path, "load", err) from err
        inputs, outputs = self._model.inputs, self._model.outputs
        shape = inputs[0].get_partial_shape() if len(inputs) == 1 else None
        if shape is None or len(outputs) != 1 or shape.rank.is_dynamic or shape.rank.get_length() != 3:
            raise ModelError(f"{path}: openvino cannot load it (expected one input [batch, 28, 28] and one output,"
                             f" found {len(inputs)} input(s) {[str(i.get_partial_shape()) for i in inputs]} and"
                             f" {len(outputs)} output(s))")
        self.input_name, self.output_name = _name(inputs[0]), _name(outputs[0])
        self._static_batch = shape[0].get_length() if shape[0].is_static else None
        self.batch_one_only = self._static_batch == 1
        self._compiled: dict[int, Any] = {}         # batch size -> (compiled model, infer request)
        self._dynamic: Any = None                   # the file's own shape compiled, once a static one failed
        self._dynamic_batches: set[int] = set()     # the batch sizes that run on it
        compiled, _ = self._request(self._static_batch or 1, "compile")
        precision = compiled.get_property(hints.inference_precision).get_type_name()
        used = compiled.get_property(props.inference_num_threads)
        self._backend = f"openvino {metadata.version('openvino')}, {DEVICE}, {precision}, {used} thread(s)"

    @property
    def backend(self) -> str:
        if not self._dynamic_batches:
            return self._backend
        return f"{self._backend}, dynamic shape at batch {', '.join(map(str, sorted(self._dynamic_batches)))}"

    def _request(self, batch: int, verb: str = "run") -> tuple[Any, Any]:
        """The compiled model and infer request for this batch size (compiled on first use)."""
        if batch not in self._compiled:
            compiled = self._compile(batch, verb)
            if len(self._compiled) >= MAX_COMPILED:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[batch] = (compiled, compiled.create_infer_request())
        return self._compiled[batch]

    def _compile(self, batch: int, verb: str) -> Any:
        """The model compiled at this static batch size, else (a batch-size axis that would not compile static)
        at the file's own dynamic shape."""
        model = self._model
        try:
            if batch != self._static_batch:
                model = self._model.clone()
                model.reshape({0: self._ov.PartialShape([batch, *model.input(0).get_partial_shape()[1:]])})
            return self._core.compile_model(model, DEVICE, self._config)
        except Exception as err:  # noqa: BLE001  (OpenVINO raises RuntimeError)
            if self._static_batch is not None:
                raise _cannot(self.path, verb, err) from err
        try:
            if self._dynamic is None:
                self._dynamic = self._core.compile_model(self._model, DEVICE, self._config)
        except Exception as err:  # noqa: BLE001
            raise _cannot(self.path, verb, err) from err
        self._dynamic_batches.add(batch)
        return self._dynamic

    def bind(self, digits: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference on `digits` (already a valid batch), its input set once on a reused infer request."""
        _, request = self._request(len(digits))
        request.set_input_tensor(self._ov.Tensor(np.ascontiguousarray(digits, dtype=np.float32)))

        def run() -> np.ndarray:
            request.infer()
            return request.get_output_tensor(0).data
        return run

    def predict(self, digits: np.ndarray) -> np.ndarray:
        if self.batch_one_only and len(digits) != 1:
            return np.concatenate([self.predict(digits[i:i + 1]) for i in range(len(digits))])
        _, request = self._request(len(digits))
        try:
            request.infer({0: np.ascontiguousarray(digits, dtype=np.float32)})
            result = request.get_output_tensor(0).data
        except Exception as err:  # noqa: BLE001
            raise _cannot(self.path, "run", err) from err
        return np.array(result, dtype=np.float32)   # a copy: the request's buffer is reused by the next call


def _name(port: Any) -> str:
    names = sorted(port.get_names())
    return names[0] if names else port.get_node().get_friendly_name()


def reason(err: BaseException) -> str:
    """OpenVINO's message without its source-location lines: 'Model can't be parsed', not
    'Exception from src/inference/src/cpp/core.cpp:84:'."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return next((line for line in lines if not LOCATION.match(line)), first_line(err))


def _cannot(path: Path, verb: str, err: BaseException) -> ModelError:
    return ModelError(f"{path}: openvino cannot {verb} it ({reason(err)[:200]})")


def load(path: Path, threads: int = 1, **_: Any) -> OpenVinoRuntime:
    return OpenVinoRuntime(path, threads)
