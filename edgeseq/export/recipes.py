"""The recipes table: one row per (format, quantization recipe), carrying everything about it.

Importing this module needs no TensorFlow (validate and bench read tolerances from it on a device).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeseq.models import Arch


class Format(str, enum.Enum):
    TFLITE = "tflite"
    ONNX = "onnx"


class Graph(str, enum.Enum):
    LOOP = "loop"          # the Keras layers as they are: a WHILE loop (TFLite, batch 1) / native LSTM or Loop (ONNX)
    UNROLLED = "unrolled"  # the same weights rebuilt with unroll=True: flat graph, dynamic batch
    UNROLLED_B1 = "unrolled-b1"  # unrolled with a fixed batch of 1: static shapes (XNNPACK takes the int8 LSTM)
    FUSED = "fused"        # TFLite LSTM only: one UNIDIRECTIONAL_SEQUENCE_LSTM op per layer (batch 1)


SUFFIX = {Format.TFLITE: ".tflite", Format.ONNX: ".onnx"}


@dataclass(frozen=True)
class Tolerance:
    """Parity limits against the reference; None means not checked."""
    max_abs_diff: float | None = None
    min_agreement: float | None = None
    min_delta_accuracy_pp: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FLOAT_EXACT = Tolerance(max_abs_diff=1e-4, min_agreement=0.999)
HALF = Tolerance(min_agreement=0.995)
QUANTIZED = Tolerance(min_delta_accuracy_pp=-1.0)


@dataclass(frozen=True)
class Recipe:
    format: Format
    name: str
    description: str
    graphs: dict[Arch, Graph | None]      # the graph used when --graph is not given; None: no working graph known
    allowed_graphs: tuple[Graph, ...]
    tolerance: Tolerance
    calibrated: bool = False              # needs a representative sample of training digits
    io_dtype: str = "float32"
    notes: dict[Arch, str] = field(default_factory=dict)   # why a graph was chosen, or why there is none

    @property
    def key(self) -> str:
        return f"{self.format.value}/{self.name}"

    def filename(self, arch: Arch) -> str:
        return f"{arch.value}-{self.name}{SUFFIX[self.format]}"

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format.value, "recipe": self.name, "description": self.description,
                "graphs": {a.value: g.value if g else None for a, g in self.graphs.items()},
                "calibrated": self.calibrated, "io_dtype": self.io_dtype, "tolerance": self.tolerance.to_dict()}


_T, _O = Format.TFLITE, Format.ONNX
_L, _U, _U1, _F = Graph.LOOP, Graph.UNROLLED, Graph.UNROLLED_B1, Graph.FUSED

_RECIPE_ROWS = [
    Recipe(_T, "fp32", "float32, no quantization", {Arch.RNN: _U, Arch.LSTM: _F}, (_L, _U, _U1, _F), FLOAT_EXACT),
    Recipe(_T, "fp16", "float16 weights, float32 compute", {Arch.RNN: _U, Arch.LSTM: _F}, (_L, _U, _U1, _F), HALF),
    Recipe(_T, "dynamic", "dynamic range: int8 weights, float activations", {Arch.RNN: _U, Arch.LSTM: _F},
           (_L, _U, _U1, _F), QUANTIZED),
    Recipe(_T, "int8", "full integer: int8 weights and activations, int8 input/output", {Arch.RNN: _U, Arch.LSTM: _U1},
           (_L, _U, _U1, _F), QUANTIZED, calibrated=True, io_dtype="int8",
           notes={Arch.LSTM: "unrolled with a fixed batch of 1: XNNPACK refuses the dynamic-batch int8 graph"
                             " (4-5x slower on the builtin kernels); the fused int8 LSTM kernel always uses tanh"}),
    Recipe(_T, "int16x8", "int16 activations, int8 weights, float32 input/output", {Arch.RNN: None, Arch.LSTM: _U},
           (_L, _U, _U1), QUANTIZED, calibrated=True,
           notes={Arch.RNN: "no working graph: the unrolled SimpleRNN converts and runs but answers ~10 % (saturated"
                            " int16 activations, measured on full MNIST: 10.09 % vs 91.32 %); the loop graph crashes"
                            " the calibrator. --graph unrolled reproduces it.",
                  Arch.LSTM: "dynamic-batch unrolled: accurate; the batch-1 unrolled graph answers ~10 % (measured)"}),
    Recipe(_O, "fp32", "float32, no quantization", {Arch.RNN: _U, Arch.LSTM: _L}, (_L, _U), FLOAT_EXACT),
    Recipe(_O, "dynamic", "onnxruntime quantize_dynamic: int8 weights", {Arch.RNN: _U, Arch.LSTM: _L}, (_L, _U),
           QUANTIZED),
    Recipe(_O, "static", "onnxruntime quantize_static (QDQ), calibrated", {Arch.RNN: _U, Arch.LSTM: _L}, (_L, _U),
           QUANTIZED, calibrated=True),
]
RECIPES: dict[tuple[Format, str], Recipe] = {(r.format, r.name): r for r in _RECIPE_ROWS}


def recipe_names(fmt: Format) -> list[str]:
    return [name for (f, name) in RECIPES if f == fmt]


def recipe(fmt: Format | str, name: str) -> Recipe:
    fmt = Format(fmt)
    try:
        return RECIPES[(fmt, name)]
    except KeyError as err:
        raise ValueError(f"unknown {fmt.value} recipe {name!r}; choose from {', '.join(recipe_names(fmt))}") from err


def select(formats: list[Format], names: list[str] | None) -> list[Recipe]:
    """The recipes of `formats`, restricted to `names` (each must exist for at least one of the formats)."""
    if not names:
        return [r for r in _RECIPE_ROWS if r.format in formats]
    for name in names:
        if not any((f, name) in RECIPES for f in formats):
            valid = "; ".join(f"{f.value}: {', '.join(recipe_names(f))}" for f in formats)
            raise ValueError(f"unknown recipe {name!r} for {'/'.join(f.value for f in formats)} ({valid})")
    return [r for r in _RECIPE_ROWS if r.format in formats and r.name in names]


def recipe_for_file(fmt: str, name: str) -> Recipe | None:
    try:
        return RECIPES[(Format(fmt), name)]
    except (KeyError, ValueError):
        return None
