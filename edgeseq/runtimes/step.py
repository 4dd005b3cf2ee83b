"""A step file in a runtime: LiteRT (else tflite-runtime) for .tflite, onnxruntime for .onnx.

`load_step` returns a StepRunner. As a Runtime (edgeseq.runtimes) it answers whole digits, fed row by row from
zero state, so validate, bench, export's smoke run and portability treat a step file like any other. Beyond
that it runs one step (`bind_step`, for per-step latency) and whole traces of T rows (`trace`, for drift and
sequences longer than the trained 28).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.artifacts import FileFacts, read_facts
from edgeseq.errors import ModelError, RuntimeUnavailable, first_line
from edgeseq.fileio import read_manifest
from edgeseq.step_contract import (
    CELL_STATES, PROBABILITIES, ROW, STEP_KIND, StateTensor, StepContract, is_step_facts, plain_name as _plain)

TRACE_BATCH = 256


def contract_of(path: Path, facts: FileFacts | None = None) -> StepContract:
    """The contract its manifest records, else the one embedded in the file, else the one its tensors spell
    (cells guessed from the state names)."""
    manifest = read_manifest(path) or {}
    facts = facts or read_facts(path)
    for source, said in (("manifest", manifest), ("embedded metadata", facts.embedded or {})):
        if said.get("kind") == STEP_KIND and isinstance(said.get("step"), dict):
            try:
                return StepContract.from_dict(said["step"])
            except (KeyError, TypeError, ValueError) as err:
                raise ModelError(f"{path}: its {source}'s step contract is malformed ({err})") from err
    tensors = {_plain(t): t for t in facts.inputs}
    row = tensors.get(ROW)
    if row is None or not is_step_facts(facts):
        raise ModelError(f"{path}: not a step model (no rank-2 '{ROW}' input beside state inputs)")
    names = sorted((n for n in tensors if n != ROW), key=lambda n: (int(n[1:] or 0), n[0] != "h"))
    layers = {int(n[1:]) for n in names if n[1:].isdigit()}
    states = []
    for k in sorted(layers):
        kinds = "".join(n[0] for n in names if n[1:] == str(k))
        cell = "LSTM" if kinds == "hc" else "SimpleRNN"
        states += [StateTensor(f"{kind}{k}", k, cell, int(tensors[f"{kind}{k}"].shape[-1]))
                   for kind in CELL_STATES[cell]]
    classes = next((int(t.shape[-1]) for t in facts.outputs if _plain(t) == PROBABILITIES), 10)
    return StepContract(int(row.shape[-1]), classes, tuple(states))


@dataclass(frozen=True)
class Trace:
    """probabilities: (T, N, classes) after each row; states: name -> (T, N, units), when asked for."""
    probabilities: np.ndarray
    states: dict[str, np.ndarray] | None


class _Backend:
    """One step on a batch: feed {name: array}, get {name: array}; resized on a change of batch."""
    label: str

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]: ...


class _LiteRT(_Backend):
    def __init__(self, path: Path, threads: int, backend: str) -> None:
        from edgeseq.runtimes import TFLiteBackend  # noqa: PLC0415
        from edgeseq.runtimes.litert_runtime import _cannot_run, _interpreter_class  # noqa: PLC0415
        from edgeseq.quiet import native_stderr_silenced  # noqa: PLC0415

        interpreter_cls, label, _ = _interpreter_class(TFLiteBackend(backend))
        try:
            with native_stderr_silenced():
                self._interpreter = interpreter_cls(model_path=str(path), num_threads=threads)
                self._interpreter.allocate_tensors()
                runner = self._interpreter.get_signature_runner()   # names -> tensor indices, then let go of it
                details = runner.get_input_details()
                self._inputs = {k: v["index"] for k, v in details.items()}
                self._widths = {k: [int(d) for d in v["shape"][1:]] for k, v in details.items()}
                self._outputs = {k: v["index"] for k, v in runner.get_output_details().items()}
                del runner
        except (RuntimeError, ValueError) as err:
            raise _cannot_run(path, err, label) from err
        self._cannot = lambda err: _cannot_run(path, err, label)
        self._batch: int | None = None
        self.label = f"{label}, {threads} thread(s)"

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            for name, index in self._inputs.items():
                self._interpreter.resize_tensor_input(index, [batch, *self._widths[name]], strict=True)
            self._interpreter.allocate_tensors()
            self._batch = batch

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            self._resize(len(feed[ROW]))
            for name, array in feed.items():
                self._interpreter.set_tensor(self._inputs[name], array)
            self._interpreter.invoke()
            return {name: self._interpreter.get_tensor(index) for name, index in self._outputs.items()}
        except (RuntimeError, ValueError, KeyError) as err:
            raise self._cannot(err) from err

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        self.run(feed)
        interpreter = self._interpreter
        inputs = [(self._inputs[name], array) for name, array in feed.items()]
        wanted = [self._outputs[name] for name in outputs]
        set_tensor, invoke, get_tensor = interpreter.set_tensor, interpreter.invoke, interpreter.get_tensor

        def step() -> list[np.ndarray]:
            for index, array in inputs:
                set_tensor(index, array)
            invoke()
            return [get_tensor(index) for index in wanted]
        return step


class _Onnx(_Backend):
    def __init__(self, path: Path, threads: int) -> None:
        try:
            import onnxruntime as ort  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable("onnxruntime is not installed: pip install 'edgeseq[runtime]'") from err
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001  (onnxruntime raises its own exception types)
            raise ModelError(f"{path}: onnxruntime cannot load it ({first_line(err)[:200]})") from err
        self._names = [o.name for o in self._session.get_outputs()]
        self._path = path
        self.label = f"onnxruntime {metadata.version('onnxruntime')}, CPUExecutionProvider, {threads} thread(s)"

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            return dict(zip(self._names, self._session.run(self._names, feed)))
        except Exception as err:  # noqa: BLE001
            raise ModelError(f"{self._path}: onnxruntime cannot run it ({first_line(err)[:200]})") from err

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        session = self._session
        return lambda: session.run(outputs, feed)


class _OpenVino(_Backend):
    """The step graph compiled once with its dynamic batch axis, fp32 inference precision."""

    def __init__(self, path: Path, threads: int) -> None:
        try:
            import openvino as ov  # noqa: PLC0415
            import openvino.properties as props  # noqa: PLC0415
            import openvino.properties.hint as hints  # noqa: PLC0415
        except ImportError as err:
            raise RuntimeUnavailable("openvino is not installed: pip install 'edgeseq[openvino]'") from err
        try:
            compiled = ov.Core().compile_model(str(path), "CPU", {hints.inference_precision: ov.Type.f32,
                                                                  props.inference_num_threads: threads,
                                                                  props.num_streams: 1})
        except Exception as err:  # noqa: BLE001  (OpenVINO raises RuntimeError and its frontends' own types)
            raise ModelError(f"{path}: openvino cannot load it ({first_line(err)[:200]})") from err
        self._request = compiled.create_infer_request()
        self._outputs = [(port, port.get_any_name()) for port in compiled.outputs]
        self._path = path
        self.label = f"openvino {metadata.version('openvino')}, CPU, f32, {threads} thread(s)"

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            results = self._request.infer(feed)
        except Exception as err:  # noqa: BLE001
            raise ModelError(f"{self._path}: openvino cannot run it ({first_line(err)[:200]})") from err
        return {name: np.asarray(results[port]) for port, name in self._outputs}

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        request = self._request
        return lambda: request.infer(feed)


BACKENDS: dict[str, Callable[[Path, int, str], _Backend]] = {
    "litert": lambda path, threads, tflite_backend: _LiteRT(path, threads, tflite_backend),
    "onnxruntime": lambda path, threads, _: _Onnx(path, threads),
    "openvino": lambda path, threads, _: _OpenVino(path, threads),
}


class StepRunner:
    """A step file as a Runtime (whole digits, row by row) and as a step model (one step, or a trace)."""
    name: str
    batch_one_only = False
    stateful = False
    input_name, output_name = ROW, PROBABILITIES

    def __init__(self, path: Path, runtime: str, threads: int = 1, tflite_backend: str = "auto") -> None:
        facts = read_facts(path)
        self.contract = contract_of(path, facts)
        self.path, self.name = Path(path), runtime
        if runtime not in BACKENDS:
            raise RuntimeUnavailable(f"runtime {runtime} does not run step models ({', '.join(BACKENDS)} do)")
        self._backend = BACKENDS[runtime](self.path, threads, tflite_backend)
        self.backend = f"{self._backend.label}, step model"

    def zero_state(self, batch: int) -> dict[str, np.ndarray]:
        return {s.name: np.zeros((batch, s.units), np.float32) for s in self.contract.states}

    def step(self, rows: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(probabilities, next state) after one row per sequence."""
        out = self._backend.run({ROW: np.ascontiguousarray(rows, np.float32), **state})
        return out[PROBABILITIES], {s.name: out[s.output] for s in self.contract.states}

    def trace(self, digits: np.ndarray, keep_states: bool = False) -> Trace:
        """Every sequence of `digits` (N, T, features) fed row by row from zero state, in chunks."""
        digits = self._check(digits)
        steps = digits.shape[1]
        probabilities = np.zeros((steps, len(digits), self.contract.classes), np.float32)
        states = {s.name: np.zeros((steps, len(digits), s.units), np.float32)
                  for s in self.contract.states} if keep_states else None
        for start in range(0, len(digits), TRACE_BATCH):
            chunk = digits[start:start + TRACE_BATCH]
            state = self.zero_state(len(chunk))
            for t in range(steps):
                probs, state = self.step(chunk[:, t, :], state)
                probabilities[t, start:start + len(chunk)] = probs
                if states is not None:
                    for name, value in state.items():
                        states[name][t, start:start + len(chunk)] = value
        return Trace(probabilities, states)

    def _check(self, digits: np.ndarray) -> np.ndarray:
        digits = np.asarray(digits, np.float32)
        if digits.ndim != 3 or digits.shape[2] != self.contract.features:
            raise ModelError(f"{self.path}: a step model takes sequences (N, T, {self.contract.features}),"
                             f" got {digits.shape}")
        return digits

    def predict(self, digits: np.ndarray) -> np.ndarray:
        """Runtime protocol: probabilities after the last row."""
        return self.trace(digits).probabilities[-1] if len(digits) else np.zeros((0, self.contract.classes),
                                                                                  np.float32)

    def bind(self, digits: np.ndarray) -> Callable[[], np.ndarray]:
        """Runtime protocol, for benchmarks: one whole sequence per call, T steps with the state fed back."""
        digits = self._check(digits)
        rows = [np.ascontiguousarray(digits[:, t, :]) for t in range(digits.shape[1])]
        pairs = [(s.name, s.output) for s in self.contract.states]
        backend = self._backend

        def sequence() -> np.ndarray:
            state = self.zero_state(len(digits))
            out: dict[str, np.ndarray] = {}
            for row in rows:
                out = backend.run({ROW: row, **state})
                state = {name: out[output] for name, output in pairs}
            return out[PROBABILITIES]
        return sequence

    def bind_step(self, batch: int) -> Callable[[], Any]:
        """One step, for per-step latency: set the row and the state, run, read the probabilities and the next
        state (what an app does for every row it receives)."""
        feed = {ROW: np.zeros((batch, self.contract.features), np.float32), **self.zero_state(batch)}
        return self._backend.runner(feed, [PROBABILITIES, *(s.output for s in self.contract.states)])


def load_step(path: Path, runtime: str, threads: int = 1, tflite_backend: str = "auto") -> StepRunner:
    return StepRunner(Path(path), runtime, threads, tflite_backend)
