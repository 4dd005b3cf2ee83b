"""TFLite files through TensorFlow Lite Micro's Python interpreter (PyPI `tflite-micro`: TFLM's kernels built for
this host), one sequence per invoke: TFLM has no batch axis to resize, so a file runs at its stored shape (batch 1)
and a batch is a loop over its rows. Step models run too (the state fed in and read back by the inputs' and
outputs' order in the file, named as read_facts names them).

Its `bench` times are host time of TFLM's kernels, never a microcontroller's. What TFLM measures that no other
runtime does is its own memory, `footprint(path)` (a TflmFootprint):
  arena_bytes          the smallest `arena_size` with which TFLM allocates the file and invokes it, bisected to the
                       byte: tflite-micro's Python API returns no arena figure (the recording allocator only prints)
  recorded_bytes, persistent_bytes, nonpersistent_bytes
                       what TFLM's RecordingMicroAllocator prints after an invoke (print_allocations, on stderr):
                       its total, tail (persistent) and head (non-persistent). The total can be less than
                       arena_bytes: allocating also takes temporary memory the total leaves out (the memory
                       planner's scratch, the kernels' temporary tensors during Prepare)
  flash_bytes          the file rounded up to TFLM's 16-byte alignment (its tools/generate_cc_arrays.py declares
                       model arrays `alignas(16)`; MicroArenaBufferAlignment() is 16): the model, not TFLM's code
The figures are a 64-bit host build's: a 32-bit microcontroller's persistent structs (pointers) are smaller.

TFLM says why it refuses a file on stderr, from C++ (MicroPrintf is vfprintf(stderr)), then raises "TFLM failed to
allocate tensors": the adapter captures file descriptor 2 while TFLM loads and gives one line naming the op and
the reason (REFUSALS: the causes met on the committed files). A fused LSTM whose cell activation is not tanh is
refused before TFLM reads it (uncomputed_activation): TFLM's LSTM kernel applies only sigmoid and tanh
(kernels/lstm_eval.h), so a RELU one would load and run without any activation, silently wrong (15 % agreement with
LiteRT on models/lstm/lstm-fp32.tflite).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.artifacts import read_facts
from edgeseq.core.errors import ModelError, RuntimeUnavailable, cause_line, first_line
from edgeseq.core.quiet import VERBOSE_ENV
from edgeseq.core.tflite_schema import builtin_code, enum_names, tflite_schema
from edgeseq.runtimes.litert_compiled_runtime import OneSequenceRuntime, dequantize, quantize
from edgeseq.runtimes.table import RUNTIMES, RuntimeName
from edgeseq.step_contract import plain_name

LABEL = RUNTIMES[RuntimeName.TFLM].libraries[0].label        # "TFLM"
ALIGNMENT = 16                       # TFLM's model arrays and arena buffers (MicroArenaBufferAlignment())
RUN_ARENA_BYTES = 8 << 20            # the arena a file runs in, or 10x the file if more (tflite-micro's default),
MAX_ARENA_BYTES = 1 << 30            # doubled up to this where TFLM says it is short (committed files need <= 0.65 MB)
WORKER = "edgeseq.runtimes.tflm_runtime"
FOOTPRINT_TIMEOUT_S = 900
RECORDED = re.compile(r"\[RecordingMicroAllocator\] Arena allocation (?P<part>total|head|tail) (?P<bytes>\d+) bytes")
NODE = re.compile(r"Node (?P<op>\w+) \(number (?P<node>\d+)\) failed to (?P<stage>prepare|invoke)")
MISSING_OP = re.compile(r"Didn't find op for builtin opcode '(?P<op>\w+)'")
SHORT = re.compile(r"Failed to allocate (?:\w+ )?memory\. Requested: \d+, available \d+, missing: \d+")
# what TFLM's message (the line before "Node OP (number N) failed to prepare") means, as met on the committed files
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Non-constant >dims< tensor is not supported"),
     "a FILL whose shape is computed at run time (TFLM plans its arena ahead: every shape must be constant)"),
    (re.compile(r"Input type: FLOAT32 with filter type: INT8 not supported"),
     "hybrid (dynamic-range) FULLY_CONNECTED, float32 input with int8 weights: TFLM has no hybrid kernels"),
    (re.compile(r"dequantize_common\.cc.*kTfLiteInt8 .*was not true"),
     "DEQUANTIZE of float16 weights: TFLM dequantizes int8, int16 and uint8 only"),
    (re.compile(r"concatenation\.cc.*num_inputs <= kMaxInputNum"),
     "a CONCATENATION of more than 10 inputs (TFLM's kMaxInputNum)"),
)
LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"
COMPUTED_LSTM_ACTIVATIONS = ("TANH",)   # the file's cell activation values TFLM's LSTM kernel applies (sigmoid is
#                                         the gates' own, never a file's option); RELU, RELU6, ... fall through to none


@dataclass(frozen=True)
class TflmFootprint:
    """What TFLM itself allocates for one file (see the module's docstring for how each figure is measured)."""
    path: str
    arena_bytes: int                 # the smallest arena_size that allocates and invokes (bisected)
    recorded_bytes: int              # RecordingMicroAllocator's total (head + tail) after an invoke
    persistent_bytes: int            # its tail
    nonpersistent_bytes: int         # its head
    flash_bytes: int                 # the file rounded up to ALIGNMENT
    file_bytes: int
    ops: dict[str, int]              # builtin op -> count, every subgraph
    library: str                     # "tflite-micro <version>"
    host: str                        # the machine the C++ was built for (64-bit: pointer-sized structs)
    method: str = "arena_bytes bisected on arena_size; the rest printed by TFLM's RecordingMicroAllocator"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_library(**_: Any) -> Any:
    """tflite-micro's runtime module (bench measures a runtime's baseline memory after this)."""
    try:
        from tflite_micro import runtime  # noqa: PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(f"tflite_micro is not installed ({RUNTIMES[RuntimeName.TFLM].install_hint})") from err
    return runtime


def _captured(call: Callable[[], Any]) -> tuple[Any, Exception | None, str]:
    """call() with file descriptor 2 captured (TFLM's C++ prints there): (its value, or None; the error it raised,
    or None; what it printed). Shown on stderr as well where verbose was asked."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            value, error = call(), None
        except (RuntimeError, ValueError, IndexError) as err:   # what pybind11 makes of TFLM's failures
            value, error = None, err
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        printed = sink.read().decode("utf-8", "replace")
    if printed and os.environ.get(VERBOSE_ENV) == "1":
        sys.stderr.write(printed)
    return value, error, printed


def refusal(path: Path, error: BaseException, printed: str, arena_size: int | None = None) -> ModelError:
    """One line: the op TFLM refused and why (its own message, and what it means where known)."""
    lines = [line.strip().replace("tensorflow/lite/micro/", "") for line in printed.splitlines() if line.strip()]
    for k, line in enumerate(lines):
        if found := NODE.search(line):
            said = lines[k - 1] if k else first_line(error)
            meaning = next((means for pattern, means in REFUSALS if pattern.search(said)), None)
            why = f"{meaning} (TFLM: {said[:160]})" if meaning else f"TFLM: {said[:200]}"
            return ModelError(f"{path}: {LABEL} cannot run it: op {found['op']} (node {found['node']}) failed to"
                              f" {found['stage']}: {why}")
    if found := MISSING_OP.search(printed):
        return ModelError(f"{path}: {LABEL} cannot run it: it has no kernel for op {found['op']} ({found.group(0)})")
    if (found := SHORT.search(printed)) and arena_size is not None:
        return ModelError(f"{path}: {LABEL} cannot run it in a {arena_size:,}-byte arena ({found.group(0)})")
    return ModelError(f"{path}: {LABEL} cannot run it ({(lines[0] if lines else first_line(error))[:200]})")


def uncomputed_activation(path: Path, model: bytes) -> ModelError | None:
    """A refusal naming the first fused LSTM op whose cell activation (its options' fused_activation_function) TFLM
    does not compute, or None. The file was checked by read_facts (indices in range) before this reads it."""
    schema = tflite_schema()
    graph = schema.Model.GetRootAs(model, 0)
    names = enum_names(schema.ActivationFunctionType)
    codes = [builtin_code(graph.OperatorCodes(i)) for i in range(graph.OperatorCodesLength())]
    for i in range(graph.SubgraphsLength()):
        subgraph = graph.Subgraphs(i)
        for node in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(node)
            if (codes[op.OpcodeIndex()] != schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
                    or op.BuiltinOptionsType() != schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions):
                continue
            options = schema.UnidirectionalSequenceLSTMOptions()
            options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            activation = names.get(options.FusedActivationFunction(), str(options.FusedActivationFunction()))
            if activation not in COMPUTED_LSTM_ACTIVATIONS:
                return ModelError(f"{path}: {LABEL} cannot run it: op {LSTM_OP} (node {node}) has a {activation} cell"
                                  " activation, and TFLM's LSTM kernel applies only sigmoid and tanh"
                                  " (kernels/lstm_eval.h): it would run without one, silently wrong")
    return None


def _interpreter(path: Path, model: bytes, arena_size: int) -> tuple[Any, int]:
    """(TFLM's interpreter for `model`, its arena size): allocated in this arena, doubled while TFLM says it is short;
    a refusal is one ModelError."""
    runtime = import_library()
    while True:
        interpreter, error, printed = _captured(lambda size=arena_size: runtime.Interpreter.from_bytes(
            model, arena_size=size))
        if error is None:
            return interpreter, arena_size
        if not SHORT.search(printed) or arena_size * 2 > MAX_ARENA_BYTES:
            raise refusal(path, error, printed, arena_size)
        arena_size *= 2


class TflmSession:
    """The one place a TFLM interpreter is set up, for whole-sequence and step files alike: read_facts first (TFLM's
    loader verifies nothing), then TFLM at the file's stored shapes, one sequence (or step) per invoke. Inputs and
    outputs are fed and read by name (read_facts' names, in the file's order), scaled where they are quantized;
    a file whose fused recurrent ops keep state in variable tensors is reset before every invoke."""
    batch_one_only = True

    def __init__(self, path: Path, arena_size: int = RUN_ARENA_BYTES) -> None:
        self.path = Path(path)
        facts = read_facts(self.path)
        self.inputs, self.outputs = [plain_name(t) for t in facts.inputs], [plain_name(t) for t in facts.outputs]
        self.tensors = {plain_name(t): t for t in (*facts.inputs, *facts.outputs)}
        self.stateful, self.ops = facts.stateful, facts.ops
        model = self.path.read_bytes()
        if refused := uncomputed_activation(self.path, model):
            raise refused
        arena = -(-max(arena_size, 10 * len(model)) // ALIGNMENT) * ALIGNMENT   # ends aligned, as a device's would
        self._tflm, self.arena_size = _interpreter(self.path, model, arena)
        self.shapes = [tuple(int(d) for d in self._tflm.get_input_details(k)["shape"]) for k in range(len(self.inputs))]
        if any(not shape or shape[0] != 1 for shape in self.shapes):
            raise ModelError(f"{self.path}: {LABEL} runs a file at its stored shapes, and {self.shapes} are not batch 1"
                             " (TFLM cannot resize an input)")
        self.label = f"tflite-micro {metadata.version('tflite-micro')}, TFLM's kernels on the host, batch 1"

    def _set(self, feed: dict[str, np.ndarray]) -> None:
        for k, name in enumerate(self.inputs):
            self._tflm.set_input(quantize(self.tensors[name], feed[name]), k)

    def _invoke(self) -> None:
        if self.stateful:
            self._tflm.reset()                   # TFLM keeps variable tensors between invokes, as LiteRT does
        try:
            self._tflm.invoke()
        except RuntimeError:                     # again, to read what TFLM printed (it is deterministic)
            _, error, printed = _captured(self._tflm.invoke)
            raise refusal(self.path, error or RuntimeError("invoke failed"), printed) from None

    def _get(self, names: list[str]) -> list[np.ndarray]:
        return [dequantize(self.tensors[name], self._tflm.get_output(self.outputs.index(name))) for name in names]

    def run(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One step (step models) or one sequence per invoke; a batch of n is n invokes."""
        missing = [name for name in self.inputs if name not in feed]
        if missing:
            raise ModelError(f"{self.path}: {LABEL} was not given input(s) {', '.join(missing)}")
        parts: dict[str, list[np.ndarray]] = {name: [] for name in self.outputs}
        try:
            for i in range(len(next(iter(feed.values())))):
                self._set({name: np.asarray(feed[name][i:i + 1], np.float32) for name in self.inputs})
                self._invoke()
                for name, value in zip(self.outputs, self._get(self.outputs)):
                    parts[name].append(value)
        except (ValueError, IndexError) as err:  # TFLM's set_input: a dtype or shape the file does not take
            raise ModelError(f"{self.path}: {LABEL} cannot run it ({cause_line(err)})") from err
        return {name: np.concatenate(values) for name, values in parts.items()}

    def runner(self, feed: dict[str, np.ndarray], outputs: list[str]) -> Callable[[], list[np.ndarray]]:
        """One invoke on the first row of `feed` (scaled up front), for timing."""
        encoded = [quantize(self.tensors[name], np.asarray(feed[name][:1], np.float32)) for name in self.inputs]
        wanted = [self.outputs.index(name) for name in outputs]
        tflm, reset = self._tflm, self.stateful

        def step() -> list[np.ndarray]:
            for k, array in enumerate(encoded):
                tflm.set_input(array, k)
            if reset:
                tflm.reset()
            tflm.invoke()
            return [tflm.get_output(k) for k in wanted]
        try:
            step()
        except (ValueError, IndexError, RuntimeError) as err:   # a shape the file does not take; a failed invoke
            raise ModelError(f"{self.path}: {LABEL} cannot run it ({cause_line(err)})") from err
        return step


class TflmRuntime(OneSequenceRuntime):
    """A whole-sequence file as a Runtime, one sequence per invoke (a fused LSTM keeps its state: `stateful`)."""
    name = RuntimeName.TFLM.value

    def __init__(self, path: Path) -> None:
        super().__init__(path, TflmSession(path))
        self.stateful = self._session.stateful


def load(path: Path, threads: int = 1, **_: Any) -> TflmRuntime:
    """`threads` is not TFLM's: it runs on one thread."""
    return TflmRuntime(path)


def step_session(path: Path, threads: int = 1, **_: Any) -> TflmSession:
    return TflmSession(path)


def footprint(path: Path, isolated: bool = True) -> TflmFootprint:
    """What TFLM allocates for `path` (TflmFootprint), measured in a child process (a file that crashes TFLM is one
    ModelError), or in this one (`isolated=False`: bench's worker, itself a child)."""
    if not isolated:
        return _footprint(Path(path))
    from edgeseq.core.procs import WorkerError, run_worker  # noqa: PLC0415

    answer = run_worker(WORKER, {"path": str(path)}, FOOTPRINT_TIMEOUT_S)
    if isinstance(answer, WorkerError):
        raise ModelError(answer.describe(f"{path}: {LABEL}", crashed="crashed measuring it"))
    return TflmFootprint(**answer)


def _footprint(path: Path) -> TflmFootprint:
    session = TflmSession(path)
    zeros = {name: np.zeros(shape, np.float32) for name, shape in zip(session.inputs, session.shapes)}
    session.run(zeros)
    _, _, printed = _captured(session._tflm.print_allocations)   # noqa: SLF001  (the session is ours)
    recorded = {found["part"]: int(found["bytes"]) for found in RECORDED.finditer(printed)}
    if set(recorded) != {"total", "head", "tail"}:
        raise ModelError(f"{path}: {LABEL} printed no arena figures ({printed.strip()[:120]!r})")
    model = path.read_bytes()
    encoded = [quantize(session.tensors[name], zeros[name]) for name in session.inputs]
    runtime = import_library()

    def fits(size: int) -> bool:
        def attempt() -> None:
            interpreter = runtime.Interpreter.from_bytes(model, arena_size=size)
            for k, array in enumerate(encoded):
                interpreter.set_input(array, k)
            interpreter.invoke()
        return _captured(attempt)[1] is None

    short, enough = 0, recorded["total"]          # bisect: `short` fails, `enough` works
    while not fits(enough):
        short, enough = enough, enough * 2
        if enough > session.arena_size:
            raise ModelError(f"{path}: {LABEL} needs more than {short:,} bytes, yet runs in {session.arena_size:,}")
    while enough - short > 1:
        middle = (short + enough) // 2
        short, enough = (short, middle) if fits(middle) else (middle, enough)
    return TflmFootprint(str(path), enough, recorded["total"], recorded["tail"], recorded["head"],
                         -(-len(model) // ALIGNMENT) * ALIGNMENT, len(model), dict(session.ops),
                         f"tflite-micro {metadata.version('tflite-micro')}", platform.machine())


def _handle(request: dict[str, Any], _workdir: Path) -> dict[str, Any]:
    return _footprint(Path(request["path"])).to_dict()


if __name__ == "__main__":
    from edgeseq.core.procs import serve  # noqa: PLC0415

    serve(_handle)
