"""TFLite files through LiteRT's `CompiledModel` API (ai-edge-litert 2.x, the API LiteRT now leads with), on CPU.

Fed and read by signature name, so a step file's inputs (`h1, h2, c2, row, c1` in the file's raw order) go where
their names say. The adapter owns int8 input quantization and output dequantization (scales read from the file).

Always batch 1, one sequence per run: in ai-edge-litert 2.3 `resize_input_tensor` resizes the input but not the
output buffers `create_output_buffers` then makes (a batch of 4 writes past a 1-row buffer: heap corruption seen),
and host-memory buffers of another batch are refused ("Cannot auto-resize tensor"). The fused LSTM files do not
load at all ("Failed to load model": their state lives in variable tensors, which CompiledModel does not support).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.artifacts import TensorInfo, read_facts
from edgeseq.core.errors import ModelError, RuntimeUnavailable, cause_line
from edgeseq.core.quiet import native_stderr_silenced
from edgeseq.runtimes.table import RUNTIMES, RuntimeName

LABEL = RUNTIMES[RuntimeName.LITERT_COMPILED].libraries[0].label       # "LiteRT CompiledModel"
WHY = {"Failed to load model": "its fused recurrent ops keep state in variable tensors, which CompiledModel"
                               " does not support"}


class CompiledSession:
    """The one place a CompiledModel is set up (CPU, this many threads), for whole-sequence and step files alike:
    its first signature, one reused buffer per input and output at batch 1."""
    batch_one_only = True

    def __init__(self, path: Path, threads: int) -> None:
        try:
            from ai_edge_litert import compiled_model, options  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable(f"ai-edge-litert is not installed: "
                                     f"{RUNTIMES[RuntimeName.LITERT_COMPILED].install_hint}") from err
        self.path = Path(path)
        facts = read_facts(self.path)   # rejects non-TFLite bytes before the C++ loader; the quantization scales
        self.tensors = {t.signature_name or t.name: t for t in (*facts.inputs, *facts.outputs)}
        config = options.Options(cpu_options=options.CpuOptions(num_threads=threads))
        try:
            with native_stderr_silenced():   # vendor plugins it cannot find, INFO lines
                self._model = compiled_model.CompiledModel.from_file(str(self.path), options=config)
                signatures = self._model.get_signature_list()
                self.signature = next(iter(signatures))
                self.inputs, self.outputs = signatures[self.signature]["inputs"], signatures[self.signature]["outputs"]
                self._in = dict(zip(self.inputs, self._model.create_input_buffers(0)))
                self._out = dict(zip(self.outputs, self._model.create_output_buffers(0)))
        except (RuntimeError, ValueError, StopIteration) as err:
            raise cannot(self.path, "load", err) from err
        self.sizes = {name: int(np.prod([d or 1 for d in self.tensors[name].shape[1:]])) for name in self.outputs}
        self.label = f"{LABEL} (ai-edge-litert {metadata.version('ai-edge-litert')}), CPU, {threads} thread(s), batch 1"

    def encode(self, name: str, array: np.ndarray) -> np.ndarray:
        return quantize(self.tensors[name], array)

    def write(self, encoded: dict[str, np.ndarray]) -> None:
        for name, array in encoded.items():
            self._in[name].write(array)

    def invoke(self) -> None:
        self._model.run_by_name(self.signature, self._in, self._out)

    def read(self, name: str) -> np.ndarray:
        tensor = self.tensors[name]
        raw = self._out[name].read(self.sizes[name], np.dtype(tensor.dtype))
        return dequantize(tensor, raw).reshape(1, -1)

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One step (step models) or one sequence, batch 1; a batch of n is n runs."""
        rows = len(next(iter(feed.values())))
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.outputs}
        try:
            for i in range(rows):
                self.write({name: self.encode(name, array[i:i + 1]) for name, array in feed.items()})
                self.invoke()
                for name in self.outputs:
                    parts[name].append(self.read(name))
        except (RuntimeError, ValueError, KeyError) as err:
            raise cannot(self.path, "run", err) from err
        return {name: np.concatenate(values) for name, values in parts.items()}

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        encoded = {name: self.encode(name, array[:1]) for name, array in feed.items()}

        def step() -> list[np.ndarray]:
            self.write(encoded)
            self.invoke()
            return [self.read(name) for name in outputs]
        return step


def quantize(tensor: TensorInfo, values: np.ndarray) -> np.ndarray:
    """Float values as the tensor's dtype (its scale and zero point; float32 passes), for the TFLite adapters that
    read a file's scales with read_facts (this one, tflm_runtime)."""
    if tensor.dtype == "float32":
        return np.ascontiguousarray(values, np.float32)
    if not tensor.scale:
        raise ModelError(f"{tensor.dtype} tensor {tensor.name!r} has no usable quantization scale")
    info = np.iinfo(np.dtype(tensor.dtype))
    scaled = np.round(values / tensor.scale + (tensor.zero_point or 0))
    return np.ascontiguousarray(np.clip(scaled, info.min, info.max).astype(tensor.dtype))


def dequantize(tensor: TensorInfo, raw: np.ndarray) -> np.ndarray:
    if tensor.dtype == "float32":
        return np.array(raw, np.float32)
    return ((raw.astype(np.float32) - (tensor.zero_point or 0)) * (tensor.scale or 1.0)).astype(np.float32)


def cannot(path: Path, verb: str, err: BaseException) -> ModelError:
    """One line: the line of CompiledModel's message that names the cause, and what it means where known."""
    said = cause_line(err, 160).replace("CompiledModel error: code=3, message=", "")
    meaning = next((f": {why}" for known, why in WHY.items() if known in said), "")
    return ModelError(f"{path}: {LABEL} cannot {verb} it{meaning} ({said})")


class OneSequenceRuntime:
    """A whole-sequence file (one input, one output) as a Runtime (edgeseq.runtimes) over a batch-1 session (its
    `inputs`, `outputs`, `label`, `run` and `runner`), one sequence per run: CompiledModel's here, TFLM's
    (edgeseq.runtimes.tflm_runtime)."""
    batch_one_only = True
    stateful = False

    def __init__(self, path: Path, session: Any) -> None:
        self._session = session
        if len(session.inputs) != 1 or len(session.outputs) != 1:
            raise ModelError(f"{path}: expected one input and one output, found {len(session.inputs)}"
                             f" and {len(session.outputs)}")
        [self.input_name], [self.output_name] = session.inputs, session.outputs
        self.backend = session.label

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        return self._session.run({self.input_name: np.asarray(sequences, np.float32)})[self.output_name]

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        run = self._session.runner({self.input_name: np.asarray(sequences, np.float32)}, [self.output_name])
        return lambda: run()[0]


class CompiledRuntime(OneSequenceRuntime):
    name = RuntimeName.LITERT_COMPILED.value

    def __init__(self, path: Path, threads: int) -> None:
        super().__init__(path, CompiledSession(path, threads))


def load(path: Path, threads: int = 1, **_: Any) -> CompiledRuntime:
    return CompiledRuntime(path, threads)


def step_session(path: Path, threads: int = 1, **_: Any) -> CompiledSession:
    return CompiledSession(path, threads)


def import_library(**_: Any) -> None:
    """Import ai-edge-litert's CompiledModel (bench measures a runtime's baseline memory after this)."""
    from ai_edge_litert import compiled_model  # noqa: F401, PLC0415
