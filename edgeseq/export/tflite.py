"""TFLite conversion (runs inside the export worker process: it imports TensorFlow).

Every file has one signature, `serving_default`, with input `pixels` (float32, or int8 for the int8
recipe) and output `probabilities`. Only builtin ops are allowed: the converter is never given
SELECT_TF_OPS, so a graph that would need Flex ops fails to convert instead of producing them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from edgeseq import models
from edgeseq.errors import ExportError
from edgeseq.export.recipes import Graph, Recipe
from edgeseq.models import Arch
from edgeseq.tfsupport import import_tensorflow

SIGNATURE = "serving_default"


def graph_model(model: Any, arch: Arch, graph: Graph) -> tuple[Any, int | None]:
    """The Keras model for a graph variant and its batch size (None: dynamic)."""
    if graph is Graph.UNROLLED:
        return models.rebuild_with_weights(model, arch, unroll=True), None
    if graph is Graph.UNROLLED_B1:
        return models.rebuild_with_weights(model, arch, unroll=True, batch_size=1), 1
    if graph is Graph.LOOP:
        return models.rebuild_with_weights(model, arch, unroll=False, batch_size=1), 1
    raise ExportError(f"graph {graph.value} is not built here")


def _saved_model(tf: Any, model: Any, batch: int | None, folder: Path) -> Path:
    """A SavedModel with one named signature: pixels -> probabilities (Keras' ExportArchive tracks the
    variables so that the converter freezes them into constants)."""
    import keras  # noqa: PLC0415

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SIGNATURE,
        fn=lambda pixels: {"probabilities": model(pixels, training=False)},
        input_signature=[tf.TensorSpec([batch, 28, 28], tf.float32, name="pixels")],
    )
    path = folder / "saved_model"
    archive.write_out(str(path), verbose=False)
    return path


def _representative(calibration: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    def samples() -> Iterator[list[np.ndarray]]:
        for digit in calibration:
            yield [digit[np.newaxis].astype(np.float32)]
    return samples


def _configure(tf: Any, converter: Any, recipe: Recipe, calibration: np.ndarray | None) -> None:
    name = recipe.name
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if name == "fp32":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if name == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    elif name == "dynamic":
        pass
    elif name in ("int8", "int16x8"):
        if calibration is None:
            raise ExportError(f"recipe {name} needs calibration data")
        converter.representative_dataset = _representative(calibration)
        if name == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        else:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    else:
        raise ExportError(f"no TFLite converter settings for recipe {name}")


def convert(model: Any, arch: Arch, recipe: Recipe, graph: Graph, calibration: np.ndarray | None) -> bytes:
    """Convert the trained Keras `model` to TFLite bytes for (recipe, graph)."""
    tf = import_tensorflow()
    if graph is Graph.FUSED:
        if arch is not Arch.LSTM:
            raise ExportError("the fused graph exists for the LSTM only")
        from edgeseq.export.fused_lstm import fused_lstm_tflite  # noqa: PLC0415

        return fused_lstm_tflite(model, recipe.name, calibration)
    variant, batch = graph_model(model, arch, graph)
    with tempfile.TemporaryDirectory(prefix="edgeseq-savedmodel-") as tmp:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(_saved_model(tf, variant, batch, Path(tmp))))
        _configure(tf, converter, recipe, calibration)
        return converter.convert()
