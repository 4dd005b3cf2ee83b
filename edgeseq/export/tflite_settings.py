"""A recipe's TFLiteConverter settings (from the recipes table) applied to a converter: used by the plain
TFLite conversion (tflite.py) and the fused LSTM one (fused_lstm.py)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from edgeseq.core.errors import ExportError
from edgeseq.recipes import OpsSet, TFLiteSettings


def _representative(calibration: np.ndarray) -> Callable[[], Iterator[list[np.ndarray]]]:
    def samples() -> Iterator[list[np.ndarray]]:
        for digit in calibration:
            yield [digit[np.newaxis].astype(np.float32)]
    return samples


def configure(tf: Any, converter: Any, settings: TFLiteSettings, calibration: np.ndarray | None,
              representative: Callable[[], Iterator[Any]] | None = None) -> None:
    """Apply a recipe's converter settings (from the recipes table) to a TFLiteConverter. Integer activations
    are calibrated on `representative` (a generator function of samples) if given, else on the digits of
    `calibration`."""
    converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, settings.ops_set.value)]
    if settings.optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if settings.supported_types:
        converter.target_spec.supported_types = [getattr(tf, name) for name in settings.supported_types]
    if settings.ops_set is not OpsSet.BUILTINS:  # integer activations: calibrated on representative digits
        if representative is None and calibration is None:
            raise ExportError("this recipe needs calibration data")
        converter.representative_dataset = representative or _representative(calibration)
    if settings.io_type:
        converter.inference_input_type = converter.inference_output_type = getattr(tf, settings.io_type)
