"""A TFLite file whose Keras LSTM layers are fused builtin UNIDIRECTIONAL_SEQUENCE_LSTM ops.

Keras 3 LSTMs convert to WHILE loops. TensorFlow's converter fuses a `tf.function` into one
UNIDIRECTIONAL_SEQUENCE_LSTM op when the function carries `api_implements="lstm_<id>"` (with
`time_major`, `go_backwards`, `api_preferred_device`), takes (inputs, init_h, init_c, kernel,
recurrent_kernel, bias) with static shapes and returns the five outputs of Keras 2's `standard_lstm`
(prepare_composite_functions_tf.cc, lstm_utils.cc). So the model is re-expressed as a batch-1
`tf.Module` calling one such function per LSTM layer, saved with a named signature and converted.

The converter always writes TANH and cell_clip=10 into the op's options; `rewrite_lstm_activation`
sets the activation Keras used (RELU for this project's model) and no clip, patching the flatbuffer
in place with the TFLite schema classes of `artifacts.tflite_schema` (no TensorFlow needed).

The fused op keeps h and c in variable tensors across invokes: call `reset_all_variables()` on the
interpreter before every invoke.
"""

from __future__ import annotations

import struct
import tempfile
import uuid
from typing import Any, Callable

from edgeseq.core.tflite_schema import builtin_code, enum_names, tflite_operator_names, tflite_schema
from edgeseq.core.errors import ExportError, first_line
from edgeseq.recipes import OpsSet, TFLiteSettings

SIGNATURE_KEY = "serving_default"
INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
LSTM_OP = "UNIDIRECTIONAL_SEQUENCE_LSTM"
KERAS_TO_TFLITE_ACTIVATION = {"relu": "RELU", "tanh": "TANH"}


def fused_lstm_tflite(model: Any, settings: TFLiteSettings, calibration: Any = None) -> bytes:
    """Convert the Keras LSTM `model` (weights as trained) to a batch-1 TFLite flatbuffer whose LSTM
    layers are fused UNIDIRECTIONAL_SEQUENCE_LSTM ops with the layers' activation (RELU here), no clip.

    settings: a recipe's converter settings (the recipes table); only float activations (the builtin ops
    set: fp32, fp16 weights, dynamic range) have a fused kernel that keeps relu. calibration: must be None.
    The signature is SIGNATURE_KEY: one input INPUT_NAME [1, timesteps, features] float32, one output
    OUTPUT_NAME. Builtin ops only. Raises ExportError (one line) for anything else or on failure.
    """
    from edgeseq.export.tflite_settings import configure  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_tensorflow, native_stderr_silenced  # noqa: PLC0415

    tf = import_tensorflow()
    module, activation, lstm_count = _inference_module(tf, model)
    integer = settings.ops_set is not OpsSet.BUILTINS
    if integer and activation != "TANH":
        raise ExportError(f"the fused LSTM takes float activations only for a {activation.lower()} LSTM (fp32, fp16,"
                          " dynamic): the full-integer TFLite LSTM kernels always use tanh")
    if integer and calibration is None:
        raise ExportError("a full-integer fused LSTM needs calibration data")
    if not integer and calibration is not None:
        raise ExportError("the fused LSTM with float activations takes no calibration data")
    try:
        with tempfile.TemporaryDirectory() as folder, native_stderr_silenced():
            signature = module.serve.get_concrete_function()
            tf.saved_model.save(module, folder, signatures={SIGNATURE_KEY: signature})
            converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=[SIGNATURE_KEY])
            configure(tf, converter, settings, calibration)
            flatbuffer = converter.convert()
    except Exception as err:  # noqa: BLE001  (the converter raises many types)
        first = first_line(err)
        raise ExportError(f"fused LSTM conversion failed: {first[:200]}") from err
    ops = operator_names(flatbuffer)
    unwanted = sorted({op for op in ops if op == "WHILE" or op.startswith("CUSTOM")})
    if ops.count(LSTM_OP) != lstm_count or unwanted:
        raise ExportError(f"the converter did not fuse the {lstm_count} LSTM layer(s): "
                          f"{ops.count(LSTM_OP)} {LSTM_OP} op(s), other ops {unwanted or 'builtin only'}")
    return rewrite_lstm_activation(flatbuffer, activation, cell_clip=0.0)


def rewrite_lstm_activation(flatbuffer: bytes, activation: str = "RELU", cell_clip: float = 0.0) -> bytes:
    """Set fused_activation_function, cell_clip and proj_clip=0 of every UNIDIRECTIONAL_SEQUENCE_LSTM op.

    The fields are patched in place, so the rest of the file stays byte-identical. A field the file
    omits (flatbuffers leave out default values) can only keep its default: asking for another value
    raises ExportError. The converter writes both the activation (TANH) and cell_clip (10).
    """
    schema = tflite_schema()
    code = getattr(schema.ActivationFunctionType, activation.upper(), None)
    if code is None:
        raise ExportError(f"unknown TFLite activation {activation!r}")
    data = bytearray(flatbuffer)
    wanted = ((4, "<b", code), (6, "<f", cell_clip), (8, "<f", 0.0))  # (vtable slot, format, value)
    for options in _lstm_options_tables(schema, data):
        for slot, fmt, value in wanted:
            field = options.Offset(slot)
            if field:
                struct.pack_into(fmt, data, options.Pos + field, value)
            elif value != 0:
                raise ExportError(f"{LSTM_OP} options omit field {slot}; cannot set it to {value} in place")
    return bytes(data)


def operator_names(flatbuffer: bytes) -> list[str]:
    """The operator name of every op of every subgraph, in order."""
    return tflite_operator_names(flatbuffer)


def lstm_options(flatbuffer: bytes) -> list[dict[str, Any]]:
    """Each UNIDIRECTIONAL_SEQUENCE_LSTM op's options: activation name, cell_clip, proj_clip, time_major."""
    schema = tflite_schema()
    names = enum_names(schema.ActivationFunctionType)
    found = []
    for table in _lstm_options_tables(schema, bytearray(flatbuffer)):
        options = schema.UnidirectionalSequenceLSTMOptions()
        options.Init(table.Bytes, table.Pos)
        found.append({"activation": names.get(options.FusedActivationFunction(), "UNKNOWN"),
                      "cell_clip": options.CellClip(), "proj_clip": options.ProjClip(),
                      "time_major": bool(options.TimeMajor())})
    return found


def _lstm_options_tables(schema: Any, data: bytearray) -> list[Any]:
    """The flatbuffer tables holding each UNIDIRECTIONAL_SEQUENCE_LSTM op's options, positioned in `data`."""
    model = schema.Model.GetRootAs(data, 0)
    codes = [builtin_code(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    tables = []
    for i in range(model.SubgraphsLength()):
        graph = model.Subgraphs(i)
        for j in range(graph.OperatorsLength()):
            op = graph.Operators(j)
            if codes[op.OpcodeIndex()] != schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
                continue
            if op.BuiltinOptionsType() != schema.BuiltinOptions.UnidirectionalSequenceLSTMOptions:
                raise ExportError(f"{LSTM_OP} op {j} of subgraph {i} has no LSTM options")
            tables.append(op.BuiltinOptions())
    return tables


def _inference_module(tf: Any, model: Any) -> tuple[Any, str, int]:
    """A tf.Module whose batch-1 `serve` computes `model` at inference; the TFLite activation; LSTM count.

    `model` is a chain of LSTM (sigmoid gates, relu or tanh shared by all LSTMs, no state options),
    Dense and Dropout layers. Weights become graph constants: with tf.Variables the TF 2.21 converter
    crashes the process (SIGSEGV).
    """
    import keras  # noqa: PLC0415

    steps, activations = [], set()
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Dropout, keras.layers.InputLayer)):
            continue
        config = layer.get_config()
        if isinstance(layer, keras.layers.LSTM):
            if (config["activation"] not in KERAS_TO_TFLITE_ACTIVATION
                    or config["recurrent_activation"] != "sigmoid" or not config["use_bias"]
                    or config["go_backwards"] or config["stateful"] or config["return_state"]):
                raise ExportError(f"LSTM layer {layer.name!r} has options the fused TFLite LSTM "
                                  "cannot express")
            activations.add(config["activation"])
            steps.append(_lstm_step(tf, layer.get_weights(), config["activation"],
                                    config["return_sequences"]))
        elif isinstance(layer, keras.layers.Dense):
            steps.append(_dense_step(tf, layer.get_weights(), layer.activation))
        else:
            raise ExportError(f"layer {layer.name!r} ({type(layer).__name__}) is not supported by the "
                              "fused export")
    if len(activations) != 1:
        raise ExportError("expected LSTM layers sharing one activation, found "
                          f"{sorted(activations) or 'none'}")

    @tf.function(input_signature=[tf.TensorSpec([1, *model.input_shape[1:]], tf.float32, name=INPUT_NAME)])
    def serve(pixels: Any) -> dict[str, Any]:
        x = pixels
        for step in steps:
            x = step(x)
        return {OUTPUT_NAME: x}

    module = tf.Module(name="fused_lstm_model")
    module.serve = serve
    lstm_count = sum(isinstance(layer, keras.layers.LSTM) for layer in model.layers)
    return module, KERAS_TO_TFLITE_ACTIVATION[activations.pop()], lstm_count


def _lstm_step(tf: Any, weights: list[Any], activation: str, return_sequences: bool) -> Callable[[Any], Any]:
    """x -> the LSTM layer's sequence or last output, through one fusable function, from zero states."""
    lstm = _fusable_lstm(tf, {"relu": tf.nn.relu, "tanh": tf.nn.tanh}[activation])
    units = weights[1].shape[0]  # recurrent_kernel: (units, 4 * units)

    def step(x: Any) -> Any:
        zeros = tf.zeros([x.shape[0], units], tf.float32)
        last, sequence, *_ = lstm(x, zeros, zeros, *(tf.constant(w) for w in weights))
        return sequence if return_sequences else last

    return step


def _dense_step(tf: Any, weights: list[Any], activation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """x -> activation(x @ kernel + bias) of a Dense layer on the last output."""

    def step(x: Any) -> Any:
        x = tf.matmul(x, tf.constant(weights[0]))
        return activation(x + tf.constant(weights[1]) if len(weights) > 1 else x)

    return step


def _fusable_lstm(tf: Any, cell_activation: Callable[[Any], Any]) -> Any:
    """A tf.function with Keras 2's `standard_lstm` interface, replaced by one fused op on conversion.

    Its body (run only by TensorFlow itself) is the Keras LSTM: gates i, f, c, o;
    c = f*c + i*act(z_c), h = o*act(c). The converter requires that only outputs 0 and 1 are used.
    """
    attributes = {"api_implements": f"lstm_{uuid.uuid4()}", "api_preferred_device": "CPU",
                  "time_major": False, "go_backwards": False}

    @tf.function(experimental_attributes=attributes, autograph=False)
    def lstm(inputs: Any, init_h: Any, init_c: Any, kernel: Any, recurrent_kernel: Any, bias: Any) -> tuple:
        h, c = init_h, init_c
        outputs = []
        for x_t in tf.unstack(inputs, axis=1):
            z = tf.matmul(x_t, kernel) + tf.matmul(h, recurrent_kernel) + bias
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * cell_activation(z_c)
            h = tf.sigmoid(z_o) * cell_activation(c)
            outputs.append(h)
        return h, tf.stack(outputs, axis=1), h, c, tf.constant(1.0)  # last, sequence, h, c, runtime (CPU)

    return lstm
