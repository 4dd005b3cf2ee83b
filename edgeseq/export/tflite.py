"""TFLite conversion (runs inside the export worker process: it imports TensorFlow).

Every file has one signature, `serving_default`, with input `pixels` (float32, or int8 for the int8
recipe) and output `probabilities`. Only builtin ops are allowed: the converter is never given
SELECT_TF_OPS, so a graph that would need Flex ops fails to convert instead of producing them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import models
from edgeseq.core.errors import ExportError
from edgeseq.models import Variant
from edgeseq.export.tflite_settings import configure
from edgeseq.recipes import GRAPHS, Graph, Recipe
from edgeseq.core.tfsupport import import_tensorflow

SIGNATURE = "serving_default"


def graph_model(model: Any, arch: Variant, graph: Graph) -> tuple[Any, int | None]:
    """The Keras model for a graph variant (the graphs table says how it is built) and its batch size."""
    row = GRAPHS[graph]
    if row.fused or row.hoisted:
        raise ExportError(f"graph {graph.value} is not built from a rebuilt Keras model")
    return models.rebuild_with_weights(model, unroll=row.unroll, batch_size=row.batch), row.batch


def _saved_model(tf: Any, model: Any, batch: int | None, folder: Path) -> Path:
    """A SavedModel with one named signature: pixels -> probabilities (Keras' ExportArchive tracks the
    variables so that the converter freezes them into constants)."""
    import keras  # noqa: PLC0415

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name=SIGNATURE,
        fn=lambda pixels: {"probabilities": model(pixels, training=False)},
        input_signature=[tf.TensorSpec([batch, *model.input_shape[1:]], tf.float32, name="pixels")],
    )
    path = folder / "saved_model"
    archive.write_out(str(path), verbose=False)
    return path


def convert(model: Any, arch: Variant, recipe: Recipe, graph: Graph, calibration: np.ndarray | None) -> bytes:
    """Convert the trained Keras `model` to TFLite bytes for (recipe, graph)."""
    tf = import_tensorflow()
    if recipe.tflite is None:
        raise ExportError(f"{recipe.key} has no TFLite converter settings")
    if GRAPHS[graph].hoisted:
        from edgeseq.export.hoisted import hoisted_tflite  # noqa: PLC0415

        return hoisted_tflite(model, recipe.tflite, calibration)
    if GRAPHS[graph].fused:
        from edgeseq.export.fused_lstm import fused_lstm_tflite  # noqa: PLC0415

        return fused_lstm_tflite(model, recipe.tflite, calibration)
    variant, batch = graph_model(model, arch, graph)
    with tempfile.TemporaryDirectory(prefix="edgeseq-savedmodel-") as tmp:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(_saved_model(tf, variant, batch, Path(tmp))))
        configure(tf, converter, recipe.tflite, calibration)
        return converter.convert()
