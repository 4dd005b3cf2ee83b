"""Step models (runs inside the export worker: it imports TensorFlow): one timestep of a trained Sequential
model of recurrent layers (SimpleRNN, GRU, LSTM) and Dense layers, with the state as explicit inputs and
outputs under the contract of `edgeseq.step_contract`.

The step is written out from the layers' weights as the Keras cells compute it (Dropout is the identity at
inference), so every runtime sees plain matrix products and element-wise ops: no WHILE loop, no fused op
with variable tensors, and full-integer kernels that keep the model's relu. Calibrated recipes are calibrated
on real (row, state) pairs: the float step run over the calibration sequences, every timestep.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from edgeseq.core.errors import ExportError
from edgeseq.recipes import Format, Quant, Recipe
from edgeseq.step_contract import PROBABILITIES, ROW, StepContract, contract_for
from edgeseq.core.tfsupport import import_tensorflow

SIGNATURE = "serving_default"
CALIBRATION_SEQUENCES = 200     # x 28 timesteps of (row, state) pairs
# The int8 TFLite step of a relu LSTM caps each layer's cell state at this percentile of its calibration values
# (one MINIMUM op). A relu LSTM's c is >= 0 and grows with the timestep with rare outliers (the seed's c2: 0.33 at
# t=3, 50.1 at t=27, its 99.9th percentile about 17); one int8 scale spans them all and rounds the early, small
# values to zero: the seed LSTM's int8 step lost 2.29 pp on the 10,000 MNIST test digits, capped 0.10 (2026-12-07, the
# fp32 step with the cap: +0.01 pp). More calibration sequences made it worse (they catch larger outliers).
CELL_CAP_PERCENTILE = 99.9
_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "softmax")


def _activation(tf: Any, name: str) -> Callable[[Any], Any]:
    table = {"relu": tf.nn.relu, "tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid, "linear": lambda v: v,
             "softmax": tf.nn.softmax}
    if name not in table:
        raise ExportError(f"activation {name!r} has no step form (supported: {', '.join(_ACTIVATIONS)})")
    return table[name]


@dataclass(frozen=True)
class RecurrentLayer:
    """A Keras recurrent layer as plain data: its cell, size, weights (float32 arrays, which become constants of
    a traced graph) and activations."""
    cell: str                              # SimpleRNN | GRU | LSTM
    units: int
    weights: list[np.ndarray]              # kernel (in, k*units), recurrent (units, k*units), bias
    act: Callable[[Any], Any]
    gate: Callable[[Any], Any]             # recurrent_activation (GRU, LSTM)
    activation: str = "tanh"               # the name of `act`


def _recurrent(tf: Any, layer: Any) -> RecurrentLayer:
    cell = type(layer).__name__
    config = layer.get_config()
    if cell not in ("SimpleRNN", "GRU", "LSTM"):
        raise ExportError(f"layer {layer.name!r} ({cell}) has no step form")
    if config.get("go_backwards") or config.get("stateful") or not config.get("use_bias", True):
        raise ExportError(f"layer {layer.name!r}: no step form for go_backwards, stateful or bias-free layers")
    if cell == "GRU" and not config.get("reset_after", True):
        raise ExportError(f"layer {layer.name!r}: only GRU(reset_after=True) (the Keras default) has a step form")
    return RecurrentLayer(cell, int(config["units"]), [np.asarray(w, np.float32) for w in layer.get_weights()],
                          _activation(tf, config["activation"]),
                          _activation(tf, config.get("recurrent_activation", "sigmoid")), config["activation"])


def parse_layers(tf: Any, model: Any) -> tuple[list[RecurrentLayer], list[tuple[np.ndarray, np.ndarray | None,
                                                                               Callable[[Any], Any]]]]:
    """The model's recurrent layers, then its Dense head as (kernel, bias, activation); Dropout is the identity
    at inference. Anything else (or a recurrent layer after a Dense one) is an ExportError."""
    import keras  # noqa: PLC0415

    recurrent, head = [], []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dropout, keras.layers.InputLayer)):  # Functional models list inputs
            continue
        if isinstance(layer, keras.layers.Dense):
            w = layer.get_weights()
            head.append((np.asarray(w[0], np.float32), np.asarray(w[1], np.float32) if len(w) > 1 else None,
                         _activation(tf, layer.get_config()["activation"])))
        elif head:
            raise ExportError(f"layer {layer.name!r} follows a Dense layer: no step form")
        else:
            recurrent.append(_recurrent(tf, layer))
    if not recurrent:
        raise ExportError("the model has no recurrent layer")
    return recurrent, head


def _step(tf: Any, layer: RecurrentLayer, cap: float | None = None) -> Callable[..., Any]:
    """step(x, *states) -> (output, *next states) for one recurrent layer (`cap`: an LSTM's cell state's upper
    bound, CELL_CAP_PERCENTILE)."""
    w, act, gate = layer.weights, layer.act, layer.gate
    if layer.cell == "SimpleRNN":
        kernel, bias = np.concatenate([w[0], w[1]], axis=0), w[2]   # [x, h] @ [W; U]: one product per step

        def simple(x: Any, h: Any) -> tuple[Any, ...]:
            h = act(tf.matmul(tf.concat([x, h], axis=1), kernel) + bias)
            return h, h
        return simple
    if layer.cell == "LSTM":
        kernel, bias = np.concatenate([w[0], w[1]], axis=0), w[2]

        def lstm(x: Any, h: Any, c: Any) -> tuple[Any, ...]:
            z = tf.matmul(tf.concat([x, h], axis=1), kernel) + bias
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
            c = gate(z_f) * c + gate(z_i) * act(z_c)
            if cap is not None:
                c = tf.minimum(c, np.float32(cap))
            h = gate(z_o) * act(c)
            return h, h, c
        return lstm
    kernel, recurrent, bias = w

    def gru(x: Any, h: Any) -> tuple[Any, ...]:
        x_z, x_r, x_h = tf.split(tf.matmul(x, kernel) + bias[0], 3, axis=1)
        r_z, r_r, r_h = tf.split(tf.matmul(h, recurrent) + bias[1], 3, axis=1)
        z, r = gate(x_z + r_z), gate(x_r + r_r)
        h = z * h + (1.0 - z) * act(x_h + r * r_h)
        return h, h
    return gru


def step_function(model: Any, caps: dict[int, float] | None = None) -> tuple[Any, StepContract]:
    """A tf.function computing one timestep of `model`, and its contract (see edgeseq.step_contract). `caps`:
    recurrent layer (1-based) -> its cell state's cap."""
    tf = import_tensorflow()
    recurrent, head = parse_layers(tf, model)
    cells = [_step(tf, layer, (caps or {}).get(k)) for k, layer in enumerate(recurrent, 1)]
    _, timesteps, features = model.input_shape
    classes = int(model.output_shape[-1])
    contract = contract_for([(layer.cell, layer.units) for layer in recurrent], int(features), classes,
                            int(timesteps) if timesteps else None)
    specs = [tf.TensorSpec([None, int(features)], tf.float32, name=ROW)]
    specs += [tf.TensorSpec([None, s.units], tf.float32, name=s.name) for s in contract.states]
    arity = [len(contract.states_of(k)) for k in range(1, len(cells) + 1)]

    @tf.function(input_signature=specs)
    def step(row: Any, *states: Any) -> dict[str, Any]:
        x, out, position = row, {}, 0
        for fn, count, k in zip(cells, arity, range(1, len(cells) + 1)):
            x, *next_states = fn(x, *states[position:position + count])
            for tensor, new in zip(contract.states_of(k), next_states):
                out[tensor.output] = new
            position += count
        for kernel, bias, act in head:
            x = tf.matmul(x, kernel)
            x = act(x + bias if bias is not None else x)
        return {PROBABILITIES: x, **out}

    return step, contract


def calibration_pairs(step: Any, contract: StepContract, sequences: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Per sequence, one batch of its `timesteps` (row, state) pairs from the float step (what the quantized step
    will see), for at most CALIBRATION_SEQUENCES sequences."""
    sequences = sequences[:CALIBRATION_SEQUENCES].astype(np.float32)
    states = {s.name: np.zeros((len(sequences), s.units), np.float32) for s in contract.states}
    per_step = []
    for t in range(sequences.shape[1]):
        feed = {ROW: sequences[:, t, :], **states}
        per_step.append(feed)
        out = step(*(feed[name] for name in contract.input_names))
        states = {s.name: out[s.output].numpy() for s in contract.states}
    return [{name: np.stack([feed[name][i] for feed in per_step]) for name in contract.input_names}
            for i in range(len(sequences))]


def cell_caps(model: Any, contract: StepContract, pairs: list[dict[str, np.ndarray]]) -> dict[int, float]:
    """Per relu LSTM layer, its cell state's CELL_CAP_PERCENTILE over the calibration pairs (every sequence, every
    timestep); a tanh LSTM's c is signed and is not capped."""
    tf = import_tensorflow()
    relu = {k for k, layer in enumerate(parse_layers(tf, model)[0], 1) if layer.cell == "LSTM" and layer.activation == "relu"}
    return {s.layer: float(np.percentile(np.concatenate([p[s.name].ravel() for p in pairs]), CELL_CAP_PERCENTILE))
            for s in contract.states if s.layer in relu and s.name.startswith("c")}


def convert(model: Any, recipe: Recipe, calibration: np.ndarray | None, target: Path) -> StepContract:
    """Write the step model of `model` for `recipe` to `target`; returns its contract."""
    step, contract = step_function(model)
    pairs = calibration_pairs(step, contract, calibration) if recipe.calibrated and calibration is not None else None
    if recipe.calibrated and pairs is None:
        raise ExportError(f"{recipe.key} needs calibration data")
    if pairs is not None and recipe.format is Format.TFLITE and recipe.quant is Quant.INT8 and \
            (caps := cell_caps(model, contract, pairs)):
        step, contract = step_function(model, caps)        # calibrated again: the c inputs must be the capped ones
        pairs = calibration_pairs(step, contract, calibration)
    if recipe.format is Format.TFLITE:
        target.write_bytes(_tflite(step, recipe, pairs))
    else:
        _onnx(step, contract, recipe, pairs, target)
    return contract


def _tflite(step: Any, recipe: Recipe, pairs: list[dict[str, np.ndarray]] | None) -> bytes:
    tf = import_tensorflow()
    from edgeseq.export.tflite_settings import configure  # noqa: PLC0415

    if recipe.tflite is None:
        raise ExportError(f"{recipe.key} has no TFLite converter settings")
    module = tf.Module()
    module.step = step
    with tempfile.TemporaryDirectory(prefix="edgeseq-step-") as tmp:
        tf.saved_model.save(module, tmp, signatures={SIGNATURE: step.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
        # float32 state at the boundary: the state is fed back unchanged, whatever the recipe
        configure(tf, converter, replace(recipe.tflite, io_type=None), None,
                  representative=(lambda: iter(pairs)) if pairs is not None else None)
        if pairs is not None:
            # one weight scale per FULLY_CONNECTED, not per channel: TFLite Micro's integer FULLY_CONNECTED
            # refuses the per-channel LSTM step at prepare ("Node FULLY_CONNECTED failed to prepare"), and one
            # scale per layer needs a smaller arena (the RNN's int8 step: 2,512 -> 2,160 B, measured 2026-12-07)
            converter._experimental_disable_per_channel_quantization_for_dense_layers = True
        return converter.convert()


def _onnx(step: Any, contract: StepContract, recipe: Recipe, pairs: list[dict[str, np.ndarray]] | None,
          target: Path) -> None:
    import onnx  # noqa: PLC0415
    import tf2onnx  # noqa: PLC0415

    from edgeseq.export.onnx import OPSET, QUANTIZERS  # noqa: PLC0415

    concrete = step.get_concrete_function()
    proto, _ = tf2onnx.convert.from_function(step, input_signature=concrete.structured_input_signature[0],
                                             opset=OPSET)
    _name_outputs(proto, concrete, contract)
    onnx.checker.check_model(proto, full_check=True)
    quantizer = QUANTIZERS.get(recipe.onnx.quantizer) if recipe.onnx else None
    if quantizer is None:
        onnx.save(proto, str(target))
        return
    with tempfile.TemporaryDirectory(prefix="edgeseq-step-onnx-") as scratch:
        float_path = Path(scratch) / "step-fp32.onnx"
        onnx.save(proto, str(float_path))
        quantizer(float_path, target, recipe.onnx, _PairReader(pairs) if pairs is not None else None)


def _name_outputs(proto: Any, concrete: Any, contract: StepContract) -> None:
    """tf2onnx names outputs after graph tensors (Identity:0, ...): give them the contract's names."""
    flat = concrete.outputs
    keys = sorted(concrete.structured_outputs)          # a dict output is flattened in sorted key order
    renames = {tensor.name: key for tensor, key in zip(flat, keys)}
    for output in proto.graph.output:
        new = renames.get(output.name)
        if new is None or new == output.name:
            continue
        old = output.name
        for node in proto.graph.node:
            node.output[:] = [new if o == old else o for o in node.output]
            node.input[:] = [new if i == old else i for i in node.input]
        output.name = new
    missing = set(contract.output_names) - {o.name for o in proto.graph.output}
    if missing:
        raise ExportError(f"step ONNX graph lacks outputs {sorted(missing)}")


class _PairReader:
    """onnxruntime CalibrationDataReader over (row, state) batches; also a plain iterable for the quantizers
    that take one."""

    def __init__(self, pairs: list[dict[str, np.ndarray]]) -> None:
        self._pairs: Iterator[dict[str, np.ndarray]] = iter(pairs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._pairs, None)
