"""Importing TensorFlow/Keras quietly, and saying which extra to install when they are missing."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from edgeseq.core.errors import RuntimeUnavailable, first_line
from edgeseq.core.quiet import VERBOSE_ENV, native_stderr_silenced, quiet_native_logs

__all__ = ["VERBOSE_ENV", "import_keras", "import_tensorflow", "load_keras_model", "native_stderr_silenced",
           "quiet_native_logs"]


def import_tensorflow() -> Any:
    quiet_native_logs()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        with native_stderr_silenced():
            import tensorflow as tf  # noqa: PLC0415
            import keras  # noqa: F401, PLC0415
    except ImportError as err:
        raise RuntimeUnavailable(
            "this needs TensorFlow, which is not installed: pip install 'edgeseq[train]'") from err
    if os.environ.get(VERBOSE_ENV) != "1":
        tf.get_logger().setLevel(logging.ERROR)
        try:
            from absl import logging as absl_logging  # noqa: PLC0415

            absl_logging.set_verbosity(absl_logging.ERROR)
        except ImportError:
            pass
    return tf


def import_keras() -> Any:
    import_tensorflow()
    import keras  # noqa: PLC0415

    return keras


def load_keras_model(path: os.PathLike) -> Any:
    """Load a .keras file in safe mode; a corrupt or foreign file is a one-line ModelError."""
    from pathlib import Path  # noqa: PLC0415

    from edgeseq.core.keras_archive import check_keras_archive  # noqa: PLC0415
    from edgeseq.core.errors import ModelError  # noqa: PLC0415

    path = Path(path)
    check_keras_archive(path)  # a truncated or corrupt archive is a precise error, before Keras sees it
    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001  (Keras raises many types for a bad archive)
        first = first_line(err)
        raise ModelError(f"cannot load {path} as a Keras model: {first[:200]}") from err
