"""ONNX conversion (runs inside the export worker process: it imports TensorFlow and tf2onnx).

Input `pixels` [batch, T, F] float32 with a dynamic batch axis (28 x 28 for MNIST), output `probabilities`
[batch, K].
Quantized recipes are made from the fp32 graph with onnxruntime.quantization.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq import models
from edgeseq.core.errors import ExportError
from edgeseq.models import Variant
from edgeseq.recipes import GRAPHS, Graph, OnnxQuantizer, OnnxSettings, Recipe
from edgeseq.core.tfsupport import import_tensorflow

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "pixels", "probabilities"


def _fp32(model: Any, arch: Variant, graph: Graph, target: Path) -> None:
    tf = import_tensorflow()
    import onnx  # noqa: PLC0415
    import tf2onnx  # noqa: PLC0415

    row = GRAPHS[graph]  # the recipes table allows ONNX the loop and unrolled graphs only
    if row.fused:
        raise ExportError(f"the {graph.value} graph is a TFLite graph")
    variant = models.rebuild_with_weights(model, unroll=row.unroll)  # ONNX keeps a dynamic batch
    function = tf.function(lambda pixels: variant(pixels, training=False))
    spec = [tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name=INPUT_NAME)]
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
    """onnxruntime CalibrationDataReader over calibration samples, one at a time."""

    def __init__(self, digits: np.ndarray) -> None:
        self._iter = iter(digits)

    def get_next(self) -> dict[str, np.ndarray] | None:
        digit = next(self._iter, None)
        return None if digit is None else {INPUT_NAME: digit[np.newaxis].astype(np.float32)}


def _quantize_dynamic(source: Path, target: Path, settings: OnnxSettings, calibration: np.ndarray | None) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    quantize_dynamic(str(source), str(target), weight_type=getattr(QuantType, settings.weight_type))


def _quantize_static(source: Path, target: Path, settings: OnnxSettings, calibration: Any) -> None:
    """calibration: samples (N, T, F) for a whole-sequence graph, or a CalibrationDataReader."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static  # noqa: PLC0415

    if calibration is None:
        raise ExportError("static quantization needs calibration data")
    reader = calibration if hasattr(calibration, "get_next") else _Calibration(calibration)
    excluded = layer_nodes(str(source), settings.float_layers) if settings.float_layers else []
    quantize_static(str(source), str(target), reader, nodes_to_exclude=excluded,
                    quant_format=getattr(QuantFormat, settings.quant_format),
                    activation_type=getattr(QuantType, settings.activation_type),
                    weight_type=getattr(QuantType, settings.weight_type),
                    calibrate_method=getattr(CalibrationMethod, settings.calibrate_method),
                    per_channel=settings.per_channel)


def layer_nodes(path: str, layers: tuple[str, ...]) -> list[str]:
    """The names of the nodes that compute `layers` (Keras layer names) in a tf2onnx graph: the nodes in the
    layer's scope (`<model>/<layer>_<n>/...`, selective.layer_pattern), and the unscoped nodes tf2onnx adds for it
    (`LSTM__51`, `Squeeze__55`), each given to the layer of the nearest scoped node it reads from. A layer with no
    node is an ExportError."""
    import re  # noqa: PLC0415

    import onnx  # noqa: PLC0415

    from edgeseq.export.selective import layer_pattern  # noqa: PLC0415

    nodes = list(onnx.load(path).graph.node)
    producer = {output: node for node in nodes for output in node.output}
    owner: dict[str, str | None] = {}

    def layer_of(node: Any, seen: frozenset[str] = frozenset()) -> str | None:
        if node.name in owner:
            return owner[node.name]
        found = next((layer for layer in layers if re.search(layer_pattern(layer), node.name + "/")), None)
        if found is None and "/" not in node.name:      # unscoped: the layer of what it reads
            parents = [producer[i] for i in node.input if i in producer and producer[i].name not in seen]
            found = next((f for f in (layer_of(p, seen | {node.name}) for p in parents) if f), None)
        owner[node.name] = found
        return found

    chosen = [node.name for node in nodes if layer_of(node) is not None]
    missing = [layer for layer in layers if layer not in owner.values()]
    if missing:
        raise ExportError(f"layer(s) {', '.join(missing)} match no node of the ONNX graph")
    return chosen


QUANTIZERS: dict[OnnxQuantizer, Callable[[Path, Path, OnnxSettings, Any], None]] = {
    OnnxQuantizer.DYNAMIC: _quantize_dynamic,
    OnnxQuantizer.STATIC: _quantize_static,
}


def convert(model: Any, arch: Variant, recipe: Recipe, graph: Graph, calibration: np.ndarray | None,
            target: Path) -> None:
    """Write the ONNX file for (recipe, graph) to `target`."""
    if recipe.onnx is None:
        raise ExportError(f"{recipe.key} has no ONNX settings")
    quantizer = QUANTIZERS.get(recipe.onnx.quantizer)
    if quantizer is None:
        _fp32(model, arch, graph, target)
        return
    # the float graph is scratch: in the temporary folder (the export's work folder), never beside the output,
    # so that a killed conversion leaves nothing in the output folder
    with tempfile.TemporaryDirectory(prefix="edgeseq-onnx-") as scratch:
        float_path = Path(scratch) / f"{target.stem}.fp32-source.onnx"
        _fp32(model, arch, graph, float_path)
        quantizer(float_path, target, recipe.onnx, calibration)
