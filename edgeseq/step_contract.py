"""The step contract, shared by the exporter (which writes it into the manifest) and the runtime side
(which reads it back): a step model takes one row of pixels and the recurrent state, and returns the
class probabilities after that row and the next state.

    inputs:  row [batch, F] float32, then per recurrent layer k (from 1): h<k> (and c<k> for an LSTM)
    outputs: probabilities [batch, 10], then next_h<k> (and next_c<k>)

The state is explicit (no variable tensors): a sequence starts from zeros, and each output state is fed
back as the next input state, unchanged. Quantized recipes quantize inside the graph; the boundary stays
float32, so the app never rescales a state between steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgeseq.core import layout


ROW = "row"
PROBABILITIES = "probabilities"
NEXT = "next_"
# cell -> the state tensors one layer of it carries, in order
CELL_STATES = {"SimpleRNN": ("h",), "GRU": ("h",), "LSTM": ("h", "c")}
CONTRACT = ("start every sequence with all states zero; for each row, feed the row and the states; the outputs"
            " are the probabilities after this row and the next states, fed back unchanged for the next row")


@dataclass(frozen=True)
class StateTensor:
    name: str            # h1, c1, h2, ...: the input name; the output is next_<name>
    layer: int           # 1-based index of the recurrent layer
    cell: str            # SimpleRNN | GRU | LSTM
    units: int

    @property
    def output(self) -> str:
        return NEXT + self.name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"output": self.output}


@dataclass(frozen=True)
class StepContract:
    features: int                           # pixels per row
    classes: int
    states: tuple[StateTensor, ...]
    timesteps: int | None = None            # the sequence length the model was trained on (None: a file read alone)

    def states_of(self, layer: int) -> tuple[StateTensor, ...]:
        return tuple(s for s in self.states if s.layer == layer)

    @property
    def input_names(self) -> list[str]:
        return [ROW, *(s.name for s in self.states)]

    @property
    def output_names(self) -> list[str]:
        return [PROBABILITIES, *(s.output for s in self.states)]

    def to_dict(self) -> dict[str, Any]:
        return {"features": self.features, "classes": self.classes, "timesteps": self.timesteps,
                "states": [s.to_dict() for s in self.states], "state_in_variables": False,
                "initial_state": "zeros", "contract": CONTRACT}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepContract":
        states = tuple(StateTensor(layout.plain_name(s["name"], "step state name"), int(s["layer"]), s["cell"],
                                   int(s["units"])) for s in data["states"])     # a state's name names a file
        timesteps = data.get("timesteps")
        return cls(int(data["features"]), int(data["classes"]), states, int(timesteps) if timesteps else None)


def contract_for(layers: list[tuple[str, int]], features: int, classes: int, timesteps: int | None) -> StepContract:
    """The contract of a model whose recurrent layers are `layers` [(cell, units)], in order."""
    states = []
    for k, (cell, units) in enumerate(layers, start=1):
        if cell not in CELL_STATES:
            raise ValueError(f"no step model for a {cell} layer (cells: {', '.join(CELL_STATES)})")
        states += [StateTensor(f"{kind}{k}", k, cell, int(units)) for kind in CELL_STATES[cell]]
    return StepContract(features, classes, tuple(states), timesteps)


def plain_name(tensor: Any) -> str:
    """A tensor's (edgeseq.artifacts.TensorInfo) contract name: its TFLite signature name, else its name."""
    return getattr(tensor, "signature_name", None) or tensor.name.split(":")[0]


def is_step_facts(facts: Any) -> bool:
    """Whether a file's inputs (edgeseq.artifacts.FileFacts) are a step model's: a rank-2 `row` among several."""
    return len(facts.inputs) > 1 and any(plain_name(t) == ROW and len(t.shape) == 2 for t in facts.inputs)
