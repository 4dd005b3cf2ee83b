"""A batch-1 TFLite graph with the input projection of all timesteps hoisted out of the recurrence (runs inside
the export worker: it imports TensorFlow).

Per recurrent layer, `x @ W + b` for the whole sequence is one matrix product (28 rows); each step then adds
only `h @ U` and applies the gates, written out from the trained weights as the Keras cells compute them (the
first step skips `h @ U`: h starts at zero). Static shapes, builtin ops only: XNNPACK takes the float and the
dynamic-range graphs. Measured on the 2x128 relu LSTM (docs/results/roofline.md): dynamic range at 0.89x the
single-thread fp32 GEMM bound, against 2.97x for the fused file.
"""

from __future__ import annotations

import tempfile
from typing import Any, Callable

import numpy as np

from edgeseq.core.errors import ExportError
from edgeseq.export.step import RecurrentLayer, parse_layers
from edgeseq.export.tflite_settings import configure
from edgeseq.recipes import TFLiteSettings
from edgeseq.core.tfsupport import import_tensorflow

SIGNATURE, INPUT_NAME, OUTPUT_NAME = "serving_default", "pixels", "probabilities"


def _layer(tf: Any, layer: RecurrentLayer, steps: int) -> Callable[[Any], list[Any]]:
    """seq (T, features) -> the layer's output at every step, as a list of (1, units)."""
    cell, act, gate = layer.cell, layer.act, layer.gate
    kernel, recurrent, bias = layer.weights
    x_bias, h_bias = (bias[0], bias[1]) if bias.ndim == 2 else (bias, None)   # GRU(reset_after): two biases

    def run(seq: Any) -> list[Any]:
        rows = tf.split(tf.matmul(seq, kernel) + x_bias, steps, axis=0)      # the hoisted projection
        h = c = None
        outputs = []
        for t in range(steps):
            inner = None if h is None else tf.matmul(h, recurrent) + (h_bias if h_bias is not None else 0.0)
            if cell == "SimpleRNN":
                h = act(rows[t] if inner is None else rows[t] + inner)
            elif cell == "LSTM":
                z = rows[t] if inner is None else rows[t] + inner
                z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
                c = gate(z_i) * act(z_c) if c is None else gate(z_f) * c + gate(z_i) * act(z_c)
                h = gate(z_o) * act(c)
            else:  # GRU, reset_after=True
                x_z, x_r, x_h = tf.split(rows[t], 3, axis=1)
                if inner is None:   # h = 0: r * (0 @ U + b_h) = r * b_h
                    r_z, r_r, r_h = (h_bias[None, i * (len(h_bias) // 3):(i + 1) * (len(h_bias) // 3)]
                                     for i in range(3))
                else:
                    r_z, r_r, r_h = tf.split(inner, 3, axis=1)
                z, r = gate(x_z + r_z), gate(x_r + r_r)
                new = act(x_h + r * r_h)
                h = (1.0 - z) * new if inner is None else z * h + (1.0 - z) * new
            outputs.append(h)
        return outputs

    return run


def hoisted_tflite(model: Any, settings: TFLiteSettings, calibration: np.ndarray | None = None) -> bytes:
    """The batch-1 hoisted graph of `model` (SimpleRNN, GRU, LSTM layers then Dense layers), converted with the
    recipe's `settings` (calibrated on `calibration` digits where the recipe needs it)."""
    tf = import_tensorflow()
    _, steps, features = model.input_shape
    recurrent, head = parse_layers(tf, model)
    layers = [_layer(tf, layer, int(steps)) for layer in recurrent]

    @tf.function(input_signature=[tf.TensorSpec([1, int(steps), int(features)], tf.float32, name=INPUT_NAME)])
    def serve(pixels: Any) -> dict[str, Any]:
        seq = tf.reshape(pixels, [int(steps), int(features)])
        outputs: list[Any] = []
        for run in layers:
            outputs = run(seq)
            seq = tf.concat(outputs, axis=0)
        x = outputs[-1]
        for kernel, bias, act in head:
            x = act(tf.matmul(x, kernel) + bias if bias is not None else tf.matmul(x, kernel))
        return {OUTPUT_NAME: x}

    module = tf.Module()
    module.serve = serve
    with tempfile.TemporaryDirectory(prefix="edgeseq-hoisted-") as tmp:
        tf.saved_model.save(module, tmp, signatures={SIGNATURE: serve.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
        configure(tf, converter, settings, calibration)
        try:
            return converter.convert()
        except Exception as err:  # noqa: BLE001  (the converter raises ConverterError and others)
            raise ExportError(f"the hoisted graph did not convert: {str(err).splitlines()[0][:300]}") from err
