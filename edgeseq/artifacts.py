"""What an exported file contains, read from the file itself without TensorFlow or any runtime:
ops (every subgraph) and their versions or opsets, the recurrent op type, inputs/outputs with dtypes and
quantization, signatures, and the facts edgeseq embedded in the file at export.

Each format's reader is its adapter's (edgeseq.formats: `read_facts`, found by the file's suffix); this module
holds what they share: the facts, the recurrence classification, the embedded JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edgeseq import formats
from edgeseq.embedded import KEY as EMBEDDED_KEY
from edgeseq.core.errors import EdgeseqError, ModelError
from edgeseq.core.layout import VELA_SIDECAR_SUFFIX
from edgeseq.step_contract import is_step_facts

# fused recurrent ops that keep their state in variable tensors between invokes: reset them before every input
STATEFUL_TFLITE_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM", "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_LSTM")


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: list[Any]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None
    signature_name: str | None = None     # TFLite: its name in the serving signature (what apps call it)


@dataclass(frozen=True)
class FileFacts:
    format: str
    ops: dict[str, int]
    recurrent_op: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    signatures: list[str] = field(default_factory=list)
    custom_ops: list[str] = field(default_factory=list)
    op_versions: dict[str, list[int]] = field(default_factory=dict)  # TFLite: builtin op -> versions used
    opsets: dict[str, int] = field(default_factory=dict)             # ONNX: domain -> opset imported
    domains: list[str] = field(default_factory=list)                 # ONNX: domains the nodes use
    embedded: dict[str, Any] | None = None                           # what edgeseq embedded in the file

    @property
    def batch_one_only(self) -> bool:
        return any(isinstance(d, int) and d == 1 for d in self.inputs[0].shape[:1]) if self.inputs else False

    @property
    def stateful(self) -> bool:
        """Holds recurrent state in variable tensors between invokes (reset them before every input)."""
        return any(op in self.ops for op in STATEFUL_TFLITE_OPS)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"batch_one_only": self.batch_one_only, "stateful": self.stateful}


def collect_files(paths: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files and folders -> every file with one of `suffixes` (folders searched recursively; hidden and
    partial files skipped, and files Vela compiled for an Ethos-U NPU, which no runtime here runs: those with a
    <file>.vela.json sidecar). A folder with none, or a file of another type, is an error."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise EdgeseqError(f"not found: {path}")
        if path.is_dir():
            hits = sorted(p for p in path.rglob("*") if p.suffix in suffixes and p.is_file()
                          and not any(part.startswith(".") for part in p.relative_to(path).parts)
                          and not p.with_name(p.name + VELA_SIDECAR_SUFFIX).exists())
            if not hits:
                raise EdgeseqError(f"no {' or '.join(suffixes)} files under {path}")
            found.extend(hits)
        elif path.suffix in suffixes:
            found.append(path)
        else:
            raise EdgeseqError(f"{path}: not a {' or '.join(suffixes)} file")
    return list(dict.fromkeys(found))


def classify(ops: dict[str, int], table: dict[str, str]) -> str:
    """The recurrent ops a file has, by a format's table of them (op -> label)."""
    found = [label for op, label in table.items() if op in ops]
    return ", ".join(found) if found else "unrolled (no recurrent op)"


STEP_RECURRENCE = "step model (state in and out)"


def _with_step(facts: FileFacts) -> FileFacts:
    """A step model has no recurrent op: its recurrence is the caller feeding the state back."""
    return replace(facts, recurrent_op=STEP_RECURRENCE) if is_step_facts(facts) else facts


def read_facts(path: Path) -> FileFacts:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"file not found: {path}")
    return _with_step(formats.by_suffix(path).adapter().read_facts(path))


def is_step_file(path: Path) -> bool:
    """Whether a file is a step model (edgeseq.step_contract), by its tensors: the one step-model predicate. A
    file edgeseq cannot read is not one; its runtime's own loader then names the problem."""
    try:
        return is_step_facts(read_facts(path))
    except EdgeseqError:
        return False


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise ModelError(f"cannot read {path}: {err.strerror or err}") from err


def embedded_facts(payload: bytes | str | None, what: str) -> dict[str, Any] | None:
    """The JSON object edgeseq embedded in a file (None when the file has no such entry)."""
    if payload is None:
        return None
    try:
        value = json.loads(payload)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise ModelError(f"{what}: its embedded {EMBEDDED_KEY} metadata is not valid JSON ({err})") from err
    if not isinstance(value, dict):
        raise ModelError(f"{what}: its embedded {EMBEDDED_KEY} metadata is not valid JSON"
                         f" (expected an object, found {type(value).__name__})")
    return value
