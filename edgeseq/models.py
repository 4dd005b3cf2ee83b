"""The architectures table: the two seed models, exactly as published, and their unrolled twins.

Keras is imported inside the builders: importing this module costs nothing and needs no TensorFlow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from edgeseq.data import FEATURES, NUM_CLASSES, TIMESTEPS


class Arch(str, enum.Enum):
    RNN = "rnn"
    LSTM = "lstm"


@dataclass(frozen=True)
class Architecture:
    arch: Arch
    description: str
    parameters: int
    recurrent_layer: str
    build: Callable[..., Any]
    published_accuracy: float      # test accuracy after 3 epochs in the published reference (a fraction)


def _build_rnn(unroll: bool = False, batch_size: int | None = None) -> Any:
    import keras  # noqa: PLC0415

    return keras.Sequential([
        keras.Input((TIMESTEPS, FEATURES), batch_size=batch_size, name="pixels"),
        keras.layers.SimpleRNN(32, activation="relu", unroll=unroll, name="simple_rnn"),
        keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
    ], name="rnn")


def _build_lstm(unroll: bool = False, batch_size: int | None = None) -> Any:
    import keras  # noqa: PLC0415

    return keras.Sequential([
        keras.Input((TIMESTEPS, FEATURES), batch_size=batch_size, name="pixels"),
        keras.layers.LSTM(128, activation="relu", return_sequences=True, unroll=unroll, name="lstm_1"),
        keras.layers.Dropout(0.2, name="dropout_1"),
        keras.layers.LSTM(128, activation="relu", unroll=unroll, name="lstm_2"),
        keras.layers.Dropout(0.2, name="dropout_2"),
        keras.layers.Dense(32, activation="relu", name="dense"),
        keras.layers.Dropout(0.2, name="dropout_3"),
        keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
    ], name="lstm")


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
    try:
        return ARCHITECTURES[Arch(name)]
    except ValueError as err:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(a.value for a in Arch)}") from err


def select(name: str) -> list[Arch]:
    """'all' or one architecture name -> the list of architectures."""
    return list(Arch) if name == "all" else [architecture(name).arch]


def build(arch: Arch, unroll: bool = False, batch_size: int | None = None) -> Any:
    return ARCHITECTURES[arch].build(unroll=unroll, batch_size=batch_size)


def compile_for_training(model: Any) -> Any:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


RECURRENT_LAYERS = ("SimpleRNN", "GRU", "LSTM")


def rebuild_with_weights(model: Any, unroll: bool = False, batch_size: int | None = None) -> Any:
    """The same Sequential model (any layer sizes), rebuilt from its own config with its recurrent layers
    unrolled or not and a fixed batch (None: dynamic), carrying `model`'s weights."""
    import keras  # noqa: PLC0415

    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [batch_size, *layer["config"]["batch_shape"][1:]]
        elif layer["class_name"] in RECURRENT_LAYERS:
            layer["config"]["unroll"] = unroll
    twin = keras.Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    return twin
