"""Selective (mixed-precision) quantization of a TFLite file, per Keras layer, with ai-edge-quantizer.

The converter quantizes a whole graph one way. ai-edge-quantizer (Google's maintained quantizer for LiteRT
files) takes a float `.tflite` and a recipe of regular expressions over the ops' output tensor names, so each
layer of our unrolled and hoisted graphs (ordinary FULLY_CONNECTED, LOGISTIC, MUL... ops, every timestep its
own tensors) can get its own precision, and so can the model's input (INPUT) and output (OUTPUT: the softmax,
whose int8 probabilities have a resolution of 1/256, which ties close classes), which the search raises with
the first and the last layer:

  int8   int8 weights (per channel) and int8 activations
  int16  int8 weights and int16 activations (the int16x8 scheme), for this layer only
  float  left in float32 (the file is then no longer integer-only: said in its manifest)

Calibration runs the float file on whole training sequences, so every timestep's tensors get their own range
(recurrent-aware by construction: the unrolled graph has a tensor per step). A layer is found by its Keras
name in the tensor names (`<model>/<layer>_<n>/...`); a layer that matches no op is refused in one line.

This module runs in the export worker (it imports ai-edge-quantizer, which imports LiteRT, never TensorFlow).
"""

from __future__ import annotations

import enum
import re
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Iterator

import numpy as np

from edgeseq.core.errors import ExportError

QUANTIZER = "ai-edge-quantizer"


class Precision(str, enum.Enum):
    INT8 = "int8"
    INT16 = "int16"
    FLOAT = "float"

    @property
    def activation_bits(self) -> int | None:
        return {Precision.INT8: 8, Precision.INT16: 16}.get(self)


@dataclass(frozen=True)
class Mix:
    """Every layer at `base` precision, except the named layers (Keras layer names) at theirs."""
    base: Precision = Precision.INT8
    layers: tuple[tuple[str, Precision], ...] = ()

    def raised(self, layer: str, precision: Precision) -> Mix:
        """This mix with one layer at `precision` (replacing what it had)."""
        kept = tuple((name, p) for name, p in self.layers if name != layer)
        return Mix(self.base, (*kept, (layer, precision)))

    def precision_of(self, layer: str) -> Precision:
        return dict(self.layers).get(layer, self.base)

    @property
    def input_dtype(self) -> str:
        """The dtype of the file's input tensor: the precision of INPUT."""
        return {Precision.INT8: "int8", Precision.INT16: "int16", Precision.FLOAT: "float32"}[self.precision_of(INPUT)]

    @property
    def integer_only(self) -> bool:
        return self.base is not Precision.FLOAT and all(p is not Precision.FLOAT for _, p in self.layers)

    @property
    def label(self) -> str:
        raised = ", ".join(f"{name} {p.value}" for name, p in self.layers)
        return f"{QUANTIZER}: every layer {self.base.value}" + (f" but {raised}" if raised else "")

    def to_dict(self) -> dict[str, Any]:
        return {"quantizer": QUANTIZER, "base": self.base.value,
                "layers": {name: p.value for name, p in self.layers},
                "not_int8": [name for name, p in self.layers if p is not Precision.INT8],
                "integer_only": self.integer_only}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mix:
        try:
            return cls(Precision(data["base"]), tuple((str(k), Precision(v)) for k, v in data["layers"].items()))
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ExportError(f"not a quantization mix: {data!r}") from err


INPUT = "(input)"     # the model's input tensor (ai-edge-quantizer's virtual INPUT op): raised with the first layer
OUTPUT = "(output)"   # the model's output: the op writing it (the softmax) and the virtual OUTPUT op: raised with
#                       the last layer


def layer_pattern(layer: str) -> str:
    """The ops of a Keras layer: their output tensors are named `<model scope>/<layer>_<n>/...` (the converter's
    scopes), e.g. `lstm_1/lstm_2_1/lstm_cell_3/mul_2` for layer lstm_2. The first scope is the model's, never a
    layer's: the seed LSTM model's scope `lstm_1` is not its layer lstm_1 (whose scope is `lstm_1_1`), and the
    scope of layer `dense` is `dense_1`, never the layer `dense_1`'s (`dense_1_1`)."""
    return rf"^[^/;]+/(?:[^/;]+/)*?{re.escape(layer)}_\d+/"


def version() -> str:
    return f"{QUANTIZER} {metadata.version(QUANTIZER)}"


@contextmanager
def _calibration_without_xnnpack() -> Iterator[None]:
    """ai-edge-quantizer 0.10 calibrates with XNNPACK on, which leaves some tensors of the unrolled LSTM
    unallocated (the forget gate of step 0, multiplied by a zero state, is never computed: 'Tensor data is
    null'). Its reference kernels compute every tensor: calibration is slower and the same."""
    from ai_edge_quantizer.utils import tfl_interpreter_utils as utils  # noqa: PLC0415

    original = utils.create_tfl_interpreter

    def without_xnnpack(*args: Any, **kwargs: Any) -> Any:
        kwargs["use_xnnpack"] = False
        return original(*args, **kwargs)

    utils.create_tfl_interpreter = without_xnnpack
    try:
        yield
    finally:
        utils.create_tfl_interpreter = original


def _signature(float_model: bytes) -> tuple[str, str, list[str], list[str], list[str]]:
    """(signature key, input name, every op's scope as ai-edge-quantizer names it (its output tensor names, each
    followed by ';'), the model's input tensor names, its output tensor names) of the float file."""
    from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

    interpreter = Interpreter(model_content=float_model)
    signatures = interpreter.get_signature_list()
    if len(signatures) != 1:
        raise ExportError(f"selective quantization needs a file with one signature, found {len(signatures)}")
    key, io = next(iter(signatures.items()))
    if len(io["inputs"]) != 1:
        raise ExportError("selective quantization needs a whole-sequence file (one input)")
    details = interpreter.get_tensor_details()
    inputs = [d["name"] for d in interpreter.get_input_details()]
    outputs = [d["name"] for d in interpreter.get_output_details()]
    scopes = ["".join(f"{details[i]['name']};" for i in op["outputs"] if i >= 0)
              for op in interpreter._get_ops_details()]
    return key, io["inputs"][0], [*scopes, "".join(f"{n};" for n in inputs), "".join(f"{n};" for n in outputs)], \
        inputs, outputs


def _pattern(layer: str, inputs: list[str], outputs: list[str]) -> str:
    """The regex of a layer's ops, matched against ai-edge-quantizer's op scopes (`name;name;`): INPUT, the virtual
    op of the model's input; OUTPUT, the op writing the model's output and the virtual OUTPUT op."""
    if layer in (INPUT, OUTPUT):
        return f"^(?:{'|'.join(map(re.escape, inputs if layer == INPUT else outputs))});"
    return layer_pattern(layer)


def quantize(float_model: bytes, mix: Mix, calibration: np.ndarray) -> bytes:
    """`float_model` (a float32 .tflite of an unrolled or hoisted graph) quantized as `mix` says, its integer
    activations calibrated on `calibration` (N, T, F) sequences, one at a time."""
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer  # noqa: PLC0415

    key, input_name, scopes, inputs, outputs = _signature(float_model)
    for layer, _ in mix.layers:
        if not any(re.search(_pattern(layer, inputs, outputs), scope) for scope in scopes):
            raise ExportError(f"layer {layer!r} matches no op of the file (its ops are named after the Keras layers)")
    every = qtyping.TFLOperationName.ALL_SUPPORTED
    q = quantizer.Quantizer(bytearray(float_model))
    if mix.base is Precision.FLOAT:
        raise ExportError("a mix needs an integer base precision")
    q.add_static_config(".*", every, activation_num_bits=mix.base.activation_bits, weight_num_bits=8)
    for layer, precision in mix.layers:
        if precision is Precision.FLOAT:
            q.update_quantization_recipe(_pattern(layer, inputs, outputs), every,
                                         algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
        else:
            q.add_static_config(_pattern(layer, inputs, outputs), every, activation_num_bits=precision.activation_bits,
                                weight_num_bits=8)
    samples = [{input_name: sequence[np.newaxis].astype(np.float32)} for sequence in calibration]
    with _calibration_without_xnnpack():
        ranges = q.calibrate({key: samples}, num_threads=1)
    return bytes(q.quantize(ranges, enable_progress_report=False).quantized_model)
