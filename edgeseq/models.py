"""The architectures table: the two seed models, exactly as published, and the variant space around them.

A model is a point `Variant(cell, units, layers, activation)`, named `<cell>-<units>x<layers>-<activation>`
(e.g. `lstm-64x2-tanh`); `variant(name)` parses a name, `build(v)` makes the Keras model.

Head rule: SimpleRNN variants use the seed RNN's head (the last recurrent layer straight into Dense(10,
softmax)); GRU and LSTM variants use the seed LSTM's (Dropout(0.2) after each recurrent layer, then Dense(32,
relu), Dropout(0.2), Dense(10, softmax)). Recurrent layers before the last return sequences. So
`rnn-32x1-relu` is exactly the seed RNN and `lstm-128x2-relu` exactly the seed LSTM: those two keep their short
names `rnn` and `lstm` (files, manifests, committed models), and their long names resolve to them.

Keras is imported inside the builders: importing this module costs nothing and needs no TensorFlow.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any, Callable

from edgeseq.data.spec import MNIST_SPEC, DataSpec


class Arch(str, enum.Enum):
    """The two seed models, by their short names."""
    RNN = "rnn"
    LSTM = "lstm"


class Cell(str, enum.Enum):
    RNN = "rnn"       # keras.layers.SimpleRNN
    GRU = "gru"
    LSTM = "lstm"

    @property
    def layer(self) -> str:
        """The Keras layer class name."""
        return KERAS_LAYERS[self]

    @property
    def gates(self) -> int:
        return {Cell.RNN: 1, Cell.GRU: 3, Cell.LSTM: 4}[self]


KERAS_LAYERS = {Cell.RNN: "SimpleRNN", Cell.GRU: "GRU", Cell.LSTM: "LSTM"}


class Activation(str, enum.Enum):
    RELU = "relu"     # the seeds'
    TANH = "tanh"     # the Keras default, and the one the runtimes' integer LSTM kernels are built for


class Family(str, enum.Enum):
    """Cell and activation: what decides which exported graph works (the recipes table is keyed by it)."""
    RNN_RELU = "rnn-relu"
    RNN_TANH = "rnn-tanh"
    GRU_RELU = "gru-relu"
    GRU_TANH = "gru-tanh"
    LSTM_RELU = "lstm-relu"
    LSTM_TANH = "lstm-tanh"

    @property
    def cell(self) -> Cell:
        return Cell(self.value.split("-")[0])

    @property
    def activation(self) -> Activation:
        return Activation(self.value.split("-")[1])


UNITS = (16, 32, 64, 128)
LAYERS = (1, 2)
DROPOUT = 0.2
HEAD_UNITS = 32
GRAMMAR = "<cell>-<units>x<layers>-<activation>"
_NAME = re.compile(r"^(?P<cell>[a-z]+)-(?P<units>\d+)x(?P<layers>\d+)-(?P<activation>[a-z]+)$")


def _choices() -> str:
    return (f"{GRAMMAR} with cell {'|'.join(c.value for c in Cell)}, units {'|'.join(map(str, UNITS))},"
            f" layers {'|'.join(map(str, LAYERS))}, activation {'|'.join(a.value for a in Activation)}"
            f" (e.g. lstm-64x2-tanh), or a seed: {', '.join(a.value for a in Arch)}")


@dataclass(frozen=True)
class Variant:
    """One point of the variant space. `name` is the stable name used in file names, manifests and reports:
    the seed's short name for the two seeds, else `long_name`."""
    cell: Cell
    units: int
    layers: int
    activation: Activation

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell", Cell(self.cell))
        object.__setattr__(self, "activation", Activation(self.activation))
        if self.units not in UNITS or self.layers not in LAYERS:
            raise ValueError(f"variant {self.long_name!r} is outside the space: {_choices()}")

    @property
    def long_name(self) -> str:
        return f"{self.cell.value}-{self.units}x{self.layers}-{self.activation.value}"

    @property
    def seed_arch(self) -> Arch | None:
        """The seed this variant is, or None."""
        return next((arch for arch, v in SEEDS.items() if v == self), None)

    @property
    def seed(self) -> bool:
        return self.seed_arch is not None

    @property
    def name(self) -> str:
        arch = self.seed_arch
        return arch.value if arch else self.long_name

    @property
    def value(self) -> str:
        """The name, as `Arch.value` gives it: callers written for the seeds' enum read variants alike."""
        return self.name

    @property
    def family(self) -> Family:
        return Family(f"{self.cell.value}-{self.activation.value}")

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Every recurrent layer's cell (one here; a user's own model may mix them: edgeseq.own_model)."""
        return (self.cell,)

    @property
    def activations(self) -> tuple[str, ...]:
        return (self.activation.value,)

    def layer_problem(self, graph: str, written: bool) -> str | None:
        """Why a layer of the model cannot take `graph`: never, for the variant space (edgeseq.own_model)."""
        return None

    @property
    def lstm_head(self) -> bool:
        """The seed LSTM's head (dropouts, Dense(32, relu)); False: the seed RNN's (Dense(10) directly)."""
        return self.cell is not Cell.RNN

    @property
    def description(self) -> str:
        """The layers, for MNIST's 10 classes (`description_for` any data)."""
        return self.description_for(MNIST_SPEC)

    def description_for(self, spec: DataSpec) -> str:
        parts = []
        for i in range(self.layers):
            seq = ", seq" if i < self.layers - 1 else ""
            parts.append(f"{self.cell.layer}({self.units}, {self.activation.value}{seq})")
            if self.lstm_head:
                parts.append(f"Dropout({DROPOUT})")
        if self.lstm_head:
            parts += [f"Dense({HEAD_UNITS}, relu)", f"Dropout({DROPOUT})"]
        return " -> ".join([*parts, f"Dense({spec.classes}, softmax)"])

    @property
    def parameters(self) -> int:
        """Trainable parameters on MNIST (`parameters_for` any data)."""
        return self.parameters_for(MNIST_SPEC)

    def parameters_for(self, spec: DataSpec) -> int:
        """Trainable parameters (Keras 3: GRU with reset_after, two bias vectors)."""
        biases = 2 if self.cell is Cell.GRU else 1
        count, inputs = 0, spec.features
        for _ in range(self.layers):
            count += self.cell.gates * self.units * (inputs + self.units + biases)
            inputs = self.units
        if self.lstm_head:
            count += inputs * HEAD_UNITS + HEAD_UNITS
            inputs = HEAD_UNITS
        return count + inputs * spec.classes + spec.classes

    def config(self) -> dict[str, Any]:
        """What a manifest records about the variant."""
        return {"name": self.name, "long_name": self.long_name, "cell": self.cell.value, "units": self.units,
                "layers": self.layers, "activation": self.activation.value, "seed": self.seed}

    def __str__(self) -> str:
        return self.name


SEEDS: dict[Arch, Variant] = {
    Arch.RNN: Variant(Cell.RNN, 32, 1, Activation.RELU),
    Arch.LSTM: Variant(Cell.LSTM, 128, 2, Activation.RELU),
}

# the sweep's default grid: both seeds, and the points around them that answer "RNN or LSTM, how big, which
# activation" (rnn-32x1-relu and lstm-128x2-relu are the seeds; their short names are used)
DEFAULT_GRID: tuple[str, ...] = (
    "rnn", "rnn-16x1-relu", "rnn-64x1-relu", "rnn-32x1-tanh",
    "gru-32x1-relu", "gru-64x1-tanh",
    "lstm-32x1-relu", "lstm-64x1-relu", "lstm-64x2-relu", "lstm-64x2-tanh", "lstm-128x2-tanh", "lstm",
)


def space() -> list[Variant]:
    """Every point of the variant space."""
    return [Variant(c, u, n, a) for c in Cell for u in UNITS for n in LAYERS for a in Activation]


def variant(name: str | Arch | Variant) -> Variant:
    """A variant from its name (short seed name or `<cell>-<units>x<layers>-<activation>`); ValueError in one
    line, naming the grammar and the valid values, for anything else. A user's own model (edgeseq.own_model's
    OwnModel, which stands where a Variant does and says so with `stands_for_variant`) is returned as it is: its
    name alone does not say its layers."""
    if isinstance(name, Variant) or getattr(name, "stands_for_variant", False):
        return name  # type: ignore[return-value]
    text = str(getattr(name, "value", name)).strip()
    if text in {a.value for a in Arch}:
        return SEEDS[Arch(text)]
    match = _NAME.match(text)
    try:
        if match is None:
            raise ValueError(text)
        return Variant(Cell(match["cell"]), int(match["units"]), int(match["layers"]),
                       Activation(match["activation"]))
    except ValueError as err:
        raise ValueError(f"unknown model {text!r}; expected {_choices()}") from err


@dataclass(frozen=True)
class Architecture:
    arch: Arch
    description: str
    parameters: int
    recurrent_layer: str
    build: Callable[..., Any]
    published_accuracy: float      # test accuracy after 3 epochs in the published reference (a fraction)


def _build_rnn(unroll: bool = False, batch_size: int | None = None) -> Any:
    return build(SEEDS[Arch.RNN], unroll, batch_size)


def _build_lstm(unroll: bool = False, batch_size: int | None = None) -> Any:
    return build(SEEDS[Arch.LSTM], unroll, batch_size)


# the published figures of the two seeds (the report sets them beside ours)
ARCHITECTURES: dict[Arch, Architecture] = {
    Arch.RNN: Architecture(Arch.RNN, "SimpleRNN(32, relu) -> Dense(10, softmax)", 2_282, "SimpleRNN", _build_rnn,
                           published_accuracy=0.9034),
    Arch.LSTM: Architecture(
        Arch.LSTM,
        "LSTM(128, relu, seq) -> Dropout(0.2) -> LSTM(128, relu) -> Dropout(0.2) -> Dense(32, relu)"
        " -> Dropout(0.2) -> Dense(10, softmax)",
        216_426, "LSTM", _build_lstm, published_accuracy=0.9652),
}


def architecture(name: str | Arch) -> Architecture:
    """The published seed's row; ValueError (naming the seeds) for any other name."""
    try:
        return ARCHITECTURES[Arch(getattr(name, "value", name))]
    except ValueError as err:
        raise ValueError(f"unknown seed model {name!r}; choose from {', '.join(a.value for a in Arch)}") from err


def select(name: str | Arch | Variant) -> list[Variant]:
    """'all' (the two seeds) or one model name -> the list of variants."""
    return list(SEEDS.values()) if name == "all" else [variant(name)]


def _layer_names(v: Variant) -> list[str]:
    """The recurrent layers' names: the seeds' (`simple_rnn`; `lstm_1`, `lstm_2`), and the same pattern for all."""
    base = {Cell.RNN: "simple_rnn", Cell.GRU: "gru", Cell.LSTM: "lstm"}[v.cell]
    if v.cell is Cell.RNN and v.layers == 1:
        return [base]
    return [f"{base}_{i + 1}" for i in range(v.layers)]


def build(arch: str | Arch | Variant, unroll: bool = False, batch_size: int | None = None,
          spec: DataSpec = MNIST_SPEC) -> Any:
    """The Keras model of a variant for data of `spec`'s shape and classes (head rule: see the module docstring).
    The input is named `pixels` for every data set: files, manifests and apps keep one name."""
    import keras  # noqa: PLC0415

    v = variant(arch)
    layer_class = getattr(keras.layers, v.cell.layer)
    stack: list[Any] = [keras.Input(spec.shape, batch_size=batch_size, name="pixels")]
    for i, name in enumerate(_layer_names(v)):
        last = i == v.layers - 1
        stack.append(layer_class(v.units, activation=v.activation.value, unroll=unroll, name=name,
                                 **({} if last else {"return_sequences": True})))
        if v.lstm_head:
            stack.append(keras.layers.Dropout(DROPOUT, name=f"dropout_{i + 1}"))
    if v.lstm_head:
        stack += [keras.layers.Dense(HEAD_UNITS, activation="relu", name="dense"),
                  keras.layers.Dropout(DROPOUT, name=f"dropout_{v.layers + 1}")]
    stack.append(keras.layers.Dense(spec.classes, activation="softmax", name="probabilities"))
    return keras.Sequential(stack, name=v.name.replace("-", "_"))


def compile_for_training(model: Any) -> Any:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RECURRENT_LAYERS = tuple(KERAS_LAYERS.values())


def rebuild_with_weights(model: Any, unroll: bool = False, batch_size: int | None = None) -> Any:
    """The same Sequential (or Functional) model, rebuilt from its own config with its recurrent layers (inside
    a wrapper such as Bidirectional too) unrolled or not and a fixed batch (None: dynamic), carrying `model`'s
    weights. A model that cannot be rebuilt so is an ExportError naming why."""
    import numpy as np  # noqa: PLC0415

    from edgeseq.core.errors import ExportError  # noqa: PLC0415

    config = model.get_config()

    def retune(layer: dict[str, Any]) -> None:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [batch_size, *layer["config"]["batch_shape"][1:]]
        elif layer["class_name"] in RECURRENT_LAYERS:
            layer["config"]["unroll"] = unroll
        for key in ("layer", "backward_layer"):      # wrappers (Bidirectional)
            if isinstance(layer.get("config", {}).get(key), dict):
                retune(layer["config"][key])

    try:
        for layer in config["layers"]:
            retune(layer)
        twin = type(model).from_config(config)
        twin.set_weights(model.get_weights())
        for layer in twin.layers:    # state computed from weights (Normalization's mean and variance)
            if hasattr(layer, "finalize_state"):
                layer.finalize_state()
            if type(layer).__name__ == "Normalization":  # arrays: constants of a traced graph, not captured inputs
                layer.mean, layer.variance = np.asarray(layer.mean), np.asarray(layer.variance)
    except (KeyError, TypeError, ValueError) as err:
        raise ExportError(f"the {type(model).__name__} model {model.name!r} cannot be rebuilt"
                          f" {'unrolled' if unroll else 'as a loop'} with batch {batch_size or 'dynamic'}:"
                          f" {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}") from err
    return twin
