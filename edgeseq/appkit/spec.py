"""What an app must know about an exported file, read from the file itself (edgeseq.artifacts): each input and
output in the file's own order (the index a positional API such as Swift's `copy(_:toInputAt:)` needs), the name
a by-name API uses (the TFLite signature name, or the ONNX name), shape, dtype and int8 scale/zero point, and for
a step model which output state feeds which input state (edgeseq.step_contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeseq import formats
from edgeseq.artifacts import FileFacts, TensorInfo
from edgeseq.core.errors import ModelError
from edgeseq.core.layout import shown
from edgeseq.step_contract import NEXT, PROBABILITIES, ROW, is_step_facts, plain_name

QUANTIZED_DTYPES = ("int8", "uint8", "int16")
SEQUENCE, STEP = "sequence", "step"


@dataclass(frozen=True)
class AppTensor:
    index: int                  # position among the file's inputs (or outputs): what positional APIs take
    name: str                   # the name by-name APIs take: TFLite signature name, else the tensor name
    tensor_name: str            # the raw tensor name in the file
    shape: tuple[int | None, ...]   # None: a dynamic dimension (the batch): apps feed 1
    dtype: str
    scale: float | None = None
    zero_point: int | None = None
    role: str = ""              # pixels | row | state | probabilities | next_state

    @property
    def quantized(self) -> bool:
        return self.dtype in QUANTIZED_DTYPES and self.scale is not None

    @property
    def app_shape(self) -> tuple[int, ...]:
        """The shape an app feeds: a dynamic dimension as 1 (one sequence at a time)."""
        return tuple(1 if d is None else int(d) for d in self.shape)

    @property
    def size(self) -> int:
        total = 1
        for d in self.app_shape:
            total *= d
        return total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"shape": list(self.shape), "app_shape": list(self.app_shape)}


@dataclass(frozen=True)
class AppSpec:
    file: str
    format: str                 # tflite | onnx
    kind: str                   # sequence (whole sequence in, probabilities out) | step (one row and the state)
    signature: str | None       # TFLite: the signature key runSignature takes
    inputs: tuple[AppTensor, ...]
    outputs: tuple[AppTensor, ...]
    timesteps: int
    features: int
    classes: int
    stateful: bool              # fused recurrent ops keep state in variable tensors: reset before every sequence

    def input(self, role: str) -> AppTensor:
        return next(t for t in self.inputs if t.role == role)

    def output(self, role: str) -> AppTensor:
        return next(t for t in self.outputs if t.role == role)

    @property
    def states(self) -> list[tuple[AppTensor, AppTensor]]:
        """(input state, the output that feeds it on the next row), in the file's input order."""
        outputs = {t.name: t for t in self.outputs}
        return [(t, outputs[NEXT + t.name]) for t in self.inputs if t.role == "state"]

    @property
    def dynamic_batch(self) -> bool:
        return any(t.shape and t.shape[0] is None for t in (*self.inputs, *self.outputs))

    @property
    def quantized_io(self) -> bool:
        return any(t.quantized or t.dtype in QUANTIZED_DTYPES for t in (*self.inputs, *self.outputs))

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "kind": self.kind, "signature": self.signature,
                "timesteps": self.timesteps, "features": self.features, "classes": self.classes,
                "stateful": self.stateful, "inputs": [t.to_dict() for t in self.inputs],
                "outputs": [t.to_dict() for t in self.outputs],
                "states": [{"input": i.name, "output": o.name} for i, o in self.states]}


def _tensor(index: int, info: TensorInfo, role: str) -> AppTensor:
    return AppTensor(index, plain_name(info), info.name, tuple(info.shape), info.dtype, info.scale,
                     info.zero_point, role)


def app_spec(path: Path, facts: FileFacts, timesteps: int) -> AppSpec:
    """The spec of `path` from its facts; `timesteps`: the sequence length (the manifest's normalisation)."""
    what = shown(Path(path).name)
    step = is_step_facts(facts)
    if step:
        inputs = tuple(_tensor(i, t, "row" if plain_name(t) == ROW else "state") for i, t in enumerate(facts.inputs))
        outputs = tuple(_tensor(i, t, "probabilities" if plain_name(t) == PROBABILITIES else "next_state")
                        for i, t in enumerate(facts.outputs))
        names = {t.name for t in outputs}
        missing = [t.name for t in inputs if t.role == "state" and NEXT + t.name not in names]
        if missing or sum(t.role == "probabilities" for t in outputs) != 1:
            raise ModelError(f"{what}: a step model whose outputs do not match its state inputs"
                             f" ({', '.join(missing) or 'no probabilities'})")
        features, classes = inputs_feature(inputs, "row"), outputs[[t.role for t in outputs].index("probabilities")]
        return AppSpec(Path(path).name, facts.format, STEP, _signature(facts), inputs, outputs, timesteps, features,
                       int(classes.shape[-1] or 0), facts.stateful)
    if len(facts.inputs) != 1 or len(facts.outputs) != 1 or len(facts.inputs[0].shape) != 3:
        raise ModelError(f"{what}: edgeseq packs files with one (batch, timesteps, features) input and one"
                         " probabilities output, or step models")
    pixels, probabilities = _tensor(0, facts.inputs[0], "pixels"), _tensor(0, facts.outputs[0], "probabilities")
    return AppSpec(Path(path).name, facts.format, SEQUENCE, _signature(facts), (pixels,), (probabilities,),
                   int(pixels.shape[1] or timesteps), int(pixels.shape[2] or 0), int(probabilities.shape[-1] or 0),
                   facts.stateful)


def inputs_feature(inputs: tuple[AppTensor, ...], role: str) -> int:
    return int(next(t for t in inputs if t.role == role).shape[-1] or 0)


def _signature(facts: FileFacts) -> str | None:
    """The serving signature apps call the file by, where its format names its tensors by one."""
    signed = facts.signatures and formats.by_name(facts.format).adapter().SIGNATURE_NAMES
    return facts.signatures[0] if signed else None
