"""ONNX conversion (runs inside the export worker process: it imports TensorFlow and tf2onnx).

Input `pixels` [batch, 28, 28] float32 with a dynamic batch axis, output `probabilities` [batch, 10].
Quantized recipes are made from the fp32 graph with onnxruntime.quantization.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import models
from edgeseq.errors import ExportError
from edgeseq.export.recipes import Graph, Recipe
from edgeseq.models import Arch
from edgeseq.tfsupport import import_tensorflow

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "pixels", "probabilities"


def _fp32(model: Any, arch: Arch, graph: Graph, target: Path) -> None:
    tf = import_tensorflow()
    import onnx  # noqa: PLC0415
    import tf2onnx  # noqa: PLC0415

    if graph not in (Graph.LOOP, Graph.UNROLLED):
        raise ExportError(f"the {graph.value} graph is a TFLite graph; ONNX takes loop or unrolled")
    variant = models.rebuild_with_weights(model, arch, unroll=graph is Graph.UNROLLED)
    function = tf.function(lambda pixels: variant(pixels, training=False))
    spec = [tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME)]
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET)
    _rename_output(proto, OUTPUT_NAME)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(target))


def _rename_output(proto: Any, name: str) -> None:
    old = proto.graph.output[0].name
    if old == name:
        return
    for node in proto.graph.node:
        node.output[:] = [name if o == old else o for o in node.output]
        node.input[:] = [name if i == old else i for i in node.input]
    proto.graph.output[0].name = name


class _Calibration:
    """onnxruntime CalibrationDataReader over calibration digits, one at a time."""

    def __init__(self, digits: np.ndarray) -> None:
        self._iter = iter(digits)

    def get_next(self) -> dict[str, np.ndarray] | None:
        digit = next(self._iter, None)
        return None if digit is None else {INPUT_NAME: digit[np.newaxis].astype(np.float32)}


def convert(model: Any, arch: Arch, recipe: Recipe, graph: Graph, calibration: np.ndarray | None,
            target: Path) -> None:
    """Write the ONNX file for (recipe, graph) to `target`."""
    if recipe.name == "fp32":
        _fp32(model, arch, graph, target)
        return
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static  # noqa: PLC0415

    # the float graph is scratch: in the temporary folder (the export's work folder), never beside the output,
    # so that a killed conversion leaves nothing in the output folder
    with tempfile.TemporaryDirectory(prefix="edgeseq-onnx-") as scratch:
        float_path = Path(scratch) / f"{target.stem}.fp32-source.onnx"
        _fp32(model, arch, graph, float_path)
        if recipe.name == "dynamic":
            quantize_dynamic(str(float_path), str(target), weight_type=QuantType.QInt8)
        elif recipe.name == "static":
            if calibration is None:
                raise ExportError("recipe static needs calibration data")
            quantize_static(str(float_path), str(target), _Calibration(calibration), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        else:
            raise ExportError(f"no ONNX quantization for recipe {recipe.name}")
