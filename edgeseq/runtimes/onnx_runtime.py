"""ONNX files through onnxruntime's CPU execution provider, with an explicit thread count."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.errors import ModelError, RuntimeUnavailable, first_line


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int) -> None:
        try:
            import onnxruntime as ort  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable("onnxruntime is not installed: pip install 'edgeseq[runtime]'") from err
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
            inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
            if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0].shape) != 3:
                raise ValueError(f"expected one input [batch, 28, 28] and one output, found {len(inputs)} input(s)"
                                 f" {[i.shape for i in inputs]} and {len(outputs)} output(s)")
            self.input_name, self.output_name = inputs[0].name, outputs[0].name
            self.batch_one_only = inputs[0].shape[0] == 1
        except Exception as err:  # noqa: BLE001  (onnxruntime raises its own exception types, and undecodable names)
            raise _cannot(path, "load", err) from err
        self.path = path
        self.backend = f"onnxruntime {metadata.version('onnxruntime')}, CPUExecutionProvider, {threads} thread(s)"

    def bind(self, digits: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference on `digits` (already a valid batch)."""
        session, outputs, feed = self._session, [self.output_name], {self.input_name: digits.astype(np.float32)}
        return lambda: session.run(outputs, feed)[0]

    def predict(self, digits: np.ndarray) -> np.ndarray:
        if self.batch_one_only and len(digits) != 1:
            return np.concatenate([self.predict(digits[i:i + 1]) for i in range(len(digits))])
        try:
            result = self._session.run([self.output_name], {self.input_name: digits.astype(np.float32, copy=False)})
        except Exception as err:  # noqa: BLE001  (onnxruntime's Fail, InvalidArgument, ... derive from Exception)
            raise _cannot(self.path, "run", err) from err
        return np.asarray(result[0], dtype=np.float32)


def _cannot(path: Path, verb: str, err: Exception) -> ModelError:
    first = first_line(err)
    return ModelError(f"{path}: onnxruntime cannot {verb} it ({first[:200]})")


def load(path: Path, threads: int = 1, **_: Any) -> OnnxRuntime:
    return OnnxRuntime(path, threads)
