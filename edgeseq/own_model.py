"""The user's own Keras classifier (`export --keras PATH.keras`, `run --keras`): what edgeseq can export of it.

`inspect_keras(path)` reads the .keras archive's config.json (a zip: no TensorFlow) into an `OwnModel`, which
stands where a `Variant` of edgeseq.models stands (name, family, config(), ...): the recipes table picks its
graphs by its family, and `layer_problem` says, per graph, which of its layers cannot be built and why.
`adopt(path, dataset, out)` checks it against the data, measures it on the test split and writes it into the
layout as OUT/<stem>/<stem>.keras with the manifest `edgeseq train` writes.

The layers table, `LAYERS`, has one row per Keras class: the graphs rebuilt from the Keras model (loop,
unrolled, unrolled-b1: the converters get the layer as it is) and the graphs written out from the weights
(step, hoisted, fused: recurrent, Dropout and Dense layers only). A class not in the table is refused by name.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.core.errors import DataError, ModelError
from edgeseq.core.keras_archive import check_keras_archive
from edgeseq.core.layout import GRAPH_TAG, plain_name
from edgeseq.models import KERAS_LAYERS, Activation, Cell, Family

WRITTEN = "the step, hoisted and fused graphs are written out from recurrent, Dropout and Dense layers only"


@dataclass(frozen=True)
class LayerSupport:
    """One Keras layer class: `rebuilt`: the graphs made from the Keras model itself take it; `written`: the
    graphs written out from the weights take it; `reason`: why not, where one of them is False."""
    name: str
    rebuilt: bool
    written: bool
    reason: str | None = None

    @property
    def refused(self) -> bool:
        return not (self.rebuilt or self.written)


def _refused(name: str, reason: str) -> LayerSupport:
    return LayerSupport(name, False, False, reason)


def _rebuilt_only(name: str, reason: str) -> LayerSupport:
    return LayerSupport(name, True, False, f"{reason} ({WRITTEN})")


LAYERS: dict[str, LayerSupport] = {row.name: row for row in (
    LayerSupport("InputLayer", True, True),
    *(LayerSupport(name, True, True) for name in KERAS_LAYERS.values()),   # SimpleRNN, GRU, LSTM
    LayerSupport("Dropout", True, True),        # the identity at inference
    LayerSupport("Dense", True, True),
    _rebuilt_only("Normalization", "normalise the data instead, or use the loop or unrolled graphs"),
    _rebuilt_only("Masking", "a masked timestep keeps the state, which they do not do (in a step model, skip"
                             " masked rows yourself)"),
    _rebuilt_only("Bidirectional", "its backward direction reads the sequence from its end: one row at a time it"
                                   " cannot run, and they run forward only"),
    _rebuilt_only("Conv1D", "a convolution over time needs a window of rows, not one"),
    _rebuilt_only("Activation", "they apply activations inside the recurrent and Dense layers only"),
    _rebuilt_only("BatchNormalization", "fold it into the neighbouring layer, or use the loop or unrolled graphs"),
    _rebuilt_only("LayerNormalization", "it normalises each row, which they do not do"),
    _rebuilt_only("GlobalAveragePooling1D", "pooling over time needs every row's output, they keep the last"),
    _rebuilt_only("GlobalMaxPooling1D", "pooling over time needs every row's output, they keep the last"),
    _rebuilt_only("Flatten", "flattening needs every row's output, they keep the last"),
    _refused("Lambda", "it holds Python code, which Keras will not load in safe mode and no converter reads"),
    _refused("Embedding", "it takes integer token ids; edgeseq feeds float sequences (N, T, F)"),
    _refused("TimeDistributed", "not supported yet: wrap nothing, a Dense on a sequence applies per step already"),
)}
MODEL_CLASSES = ("Sequential", "Functional")
RECURRENT = tuple(KERAS_LAYERS.values())
WRAPPERS = ("Bidirectional",)
FAMILY_RULE = ("cell: lstm when every recurrent layer is an LSTM, else the first other layer's cell (the lstm rows'"
               " graphs need every layer an LSTM); activation: tanh when every recurrent layer uses tanh, else relu"
               " (the rows whose graphs do not rely on a tanh kernel)")


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the model as its config says: name, Keras class, and for a recurrent layer (or a wrapper of
    one) its cell, units and activation."""
    name: str
    class_name: str
    units: int | None = None
    activation: str | None = None
    cell: str | None = None          # the recurrent class, inside a wrapper too

    @property
    def support(self) -> LayerSupport | None:
        return LAYERS.get(self.class_name)

    def describe(self) -> str:
        inner = f"{self.cell}({self.units}, {self.activation})" if self.cell else None
        if self.class_name in RECURRENT:
            return inner or self.class_name
        if self.class_name == "Dense":
            return f"Dense({self.units}, {self.activation})"
        return f"{self.class_name}({inner})" if inner else self.class_name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "class": self.class_name, "units": self.units, "activation": self.activation,
                **({"cell": self.cell} if self.cell and self.cell != self.class_name else {})}


@dataclass(frozen=True)
class OwnModel:
    """A user's Keras classifier where edgeseq takes a Variant: named after its file's stem."""
    stands_for_variant = True            # models.variant() returns it as it is (a class attribute, not a field)
    name: str
    layers: tuple[LayerInfo, ...]
    timesteps: int
    features: int
    classes: int
    model_class: str = "Sequential"

    @property
    def value(self) -> str:
        return self.name

    @property
    def long_name(self) -> str:
        return self.name

    seed = False
    seed_arch = None
    own_model = True

    @property
    def recurrent(self) -> tuple[LayerInfo, ...]:
        return tuple(layer for layer in self.layers if layer.cell)

    @property
    def cells(self) -> tuple[Cell, ...]:
        by_layer = {v: k for k, v in KERAS_LAYERS.items()}
        return tuple(dict.fromkeys(by_layer[layer.cell] for layer in self.recurrent))

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(layer.activation) for layer in self.recurrent))

    @property
    def cell(self) -> Cell:
        cells = self.cells
        return Cell.LSTM if set(cells) == {Cell.LSTM} else next(c for c in cells if c is not Cell.LSTM)

    @property
    def activation(self) -> Activation:
        return Activation.TANH if set(self.activations) == {"tanh"} else Activation.RELU

    @property
    def family(self) -> Family:
        """The recipes table's row for the model (FAMILY_RULE for mixed cells or activations)."""
        return Family(f"{self.cell.value}-{self.activation.value}")

    @property
    def description(self) -> str:
        return " -> ".join(layer.describe() for layer in self.layers if layer.class_name != "InputLayer")

    def description_for(self, spec: Any) -> str:
        return self.description

    def layer_problem(self, graph: str, written: bool) -> str | None:
        """Why `graph` cannot be built for one of the model's layers (the first), or None. `written`: the graph
        is written out from the weights (step, hoisted, fused), else it is rebuilt from the Keras model."""
        for layer in self.layers:
            row = layer.support
            if row is not None and not (row.written if written else row.rebuilt):
                return f"the {graph} graph cannot be built for a {layer.class_name} layer ({layer.name}): {row.reason}"
        return None

    def config(self) -> dict[str, Any]:
        """What a manifest records about the model (its `variant` and `own_model` sections)."""
        return {"name": self.name, "long_name": self.name, "seed": False, "own_model": True,
                "model_class": self.model_class, "family": self.family.value, "family_rule": FAMILY_RULE,
                "input": [self.timesteps, self.features], "classes": self.classes,
                "layers": [layer.to_dict() for layer in self.layers]}

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------ reading the archive (no TensorFlow)

def _layer_info(entry: dict[str, Any]) -> LayerInfo:
    cls = str(entry.get("class_name"))
    config = entry.get("config") or {}
    name = str(config.get("name", cls))
    inner = config.get("layer") if cls in WRAPPERS else None
    source = (inner or {}).get("config", {}) if inner else config
    recurrent = (inner or {}).get("class_name") if inner else (cls if cls in RECURRENT else None)
    if inner and recurrent not in RECURRENT:
        raise ModelError(f"layer {name} ({cls}) wraps a {recurrent} layer: edgeseq exports recurrent layers"
                         f" ({', '.join(RECURRENT)}) only")
    units = source.get("units") if recurrent or cls == "Dense" else None
    activation = source.get("activation") if recurrent or cls == "Dense" else None
    return LayerInfo(name, cls, int(units) if isinstance(units, int) else None,
                     activation if isinstance(activation, str) else None, recurrent)


def _input_shape(config: dict[str, Any], layers: list[dict[str, Any]]) -> list[Any] | None:
    inputs = [entry for entry in layers if entry.get("class_name") == "InputLayer"]
    if len(inputs) > 1:
        raise ModelError(f"the model has {len(inputs)} inputs: edgeseq exports a classifier of one sequence input")
    if inputs:
        cfg = inputs[0].get("config") or {}
        return cfg.get("batch_shape") or cfg.get("batch_input_shape")
    return config.get("build_input_shape")


def inspect_keras(path: Path) -> OwnModel:
    """The model a .keras file holds, from its config.json (no TensorFlow). A model edgeseq cannot export (a
    refused or unknown layer, no recurrent layer, not a (N, T, F) -> Dense(K, softmax) classifier, a file name
    that is not a plain name) is a one-line ModelError naming the layer or the reason."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError(f"{path.name}: --keras takes a .keras file (Keras 3 format)")
    check_keras_archive(path)
    try:
        stem = plain_name(path.stem, "the model's name (its file's stem)")
        if GRAPH_TAG in stem or stem.endswith("-step"):
            raise ValueError(f"{stem!r} holds {GRAPH_TAG!r} or ends in -step, which exported files' names reserve")
    except ValueError as err:      # IntegrityError is a ValueError too
        raise ModelError(f"{path.name}: the file's stem names every exported file: {err}") from err
    with zipfile.ZipFile(path) as archive:
        top = json.loads(archive.read("config.json"))
    model_class = str(top.get("class_name"))
    if model_class not in MODEL_CLASSES:
        raise ModelError(f"{path.name}: a {model_class} model; edgeseq exports Sequential and Functional Keras models"
                         " (a subclassed model has no config the exporters can rebuild)")
    config = top.get("config") or {}
    entries = [e for e in config.get("layers") or [] if isinstance(e, dict)]
    layers = tuple(_layer_info(e) for e in entries)
    for layer in layers:
        row = layer.support
        if row is None:
            raise ModelError(f"layer {layer.name} ({layer.class_name}) is not one edgeseq exports; known layers:"
                             f" {', '.join(n for n, r in LAYERS.items() if not r.refused and n != 'InputLayer')}")
        if row.refused:
            raise ModelError(f"layer {layer.name} ({layer.class_name}) cannot be exported: {row.reason}")
    if not any(layer.cell for layer in layers):
        raise ModelError(f"{path.name}: no {', '.join(RECURRENT)} layer: edgeseq exports recurrent classifiers")
    last = layers[-1]
    if last.class_name != "Dense" or last.activation != "softmax" or not last.units:
        raise ModelError(f"{path.name}: the last layer is {last.describe()}; edgeseq files output class"
                         " probabilities: end the model with Dense(K, activation='softmax')")
    shape = _input_shape(config, entries)
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape[1:])):
        raise ModelError(f"{path.name}: input shape {shape}; edgeseq exports models of a fixed (T, F) sequence input"
                         " (keras.Input((T, F)))")
    return OwnModel(stem, layers, int(shape[1]), int(shape[2]), int(last.units), model_class)


# ------------------------------------------------------------------ adopting it into the layout

def check_against(model: OwnModel, spec: Any, data_name: str) -> None:
    """One-line DataError when the model's input (T, F) or its classes K differ from the data's."""
    if (model.timesteps, model.features) != (spec.timesteps, spec.features):
        raise DataError(f"{model.name} takes {model.timesteps} x {model.features} sequences (T x F); {data_name} is"
                        f" {spec.timesteps} x {spec.features}")
    if model.classes != spec.classes:
        raise DataError(f"{model.name} outputs {model.classes} classes; {data_name} has {spec.classes}")


def adopt(path: Path, dataset: Any, out: Path, model: OwnModel | None = None) -> Any:
    """Check the model at `path` against `dataset`, measure its test accuracy through edgeseq's Keras runtime,
    and write it as OUT/<stem>/<stem>.keras with its manifest (the fields `edgeseq train` writes), atomically.
    Returns the TrainResult row `edgeseq train` would (0 epochs: not trained here), so that run's train.json and
    the report read it as they read a trained model's."""
    import time  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    from edgeseq.core import layout  # noqa: PLC0415
    from edgeseq.core.environment import library_versions  # noqa: PLC0415
    from edgeseq.core.fileio import ensure_dir, sha256_file, staged  # noqa: PLC0415
    from edgeseq.core.manifest import commit_with_manifest  # noqa: PLC0415
    from edgeseq.runtimes import RuntimeName  # noqa: PLC0415
    from edgeseq.runtimes.guard import evaluate  # noqa: PLC0415
    from edgeseq.core.tfsupport import load_keras_model  # noqa: PLC0415
    from edgeseq.health import assess  # noqa: PLC0415
    from edgeseq.train import TrainResult  # noqa: PLC0415

    started = time.perf_counter()
    model = model or inspect_keras(path)
    check_against(model, dataset.spec, dataset.name)
    parameters = int(load_keras_model(path).count_params())
    outcome = evaluate(Path(path), RuntimeName.KERAS, dataset.x_test)
    accuracy = float(np.mean(np.argmax(outcome.probabilities, 1) == dataset.y_test))
    picked = outcome.probabilities[np.arange(len(dataset.y_test)), dataset.y_test.astype(int)]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    health = assess(model.name, (), accuracy, dataset.y_test, dataset.spec.labels, None, dataset.units).to_dict()
    target = layout.model_path(out, model.name)
    ensure_dir(target.parent)
    with staged(target) as tmp:
        shutil.copyfile(path, tmp)
        digest = sha256_file(tmp)
        commit_with_manifest(tmp, target, {
            "kind": "keras-model",
            "architecture": model.name,
            "description": model.description,
            "variant": model.config(),
            "own_model": model.config(),
            "test_accuracy": round(accuracy, 6),
            "test_loss": round(loss, 6),
            "training_health": health,
            "parameters": parameters,
            "sha256": digest,
            "data": dataset.identity(),
            "size_bytes": tmp.stat().st_size,
            "source": {"name": Path(path).name, "note": "the user's own model (export --keras), copied unchanged"},
            "data_spec": dataset.spec.to_dict(),
            "library_versions": library_versions(),
        })
    return TrainResult(model.name, round(accuracy, 6), round(loss, 6), 0, 0, 0, parameters,
                       round(time.perf_counter() - started, 3), str(target), digest, dataset.identity(), health=health)
