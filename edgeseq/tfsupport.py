"""Importing TensorFlow/Keras quietly, and saying which extra to install when they are missing."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Any, Iterator

from edgeseq.errors import RuntimeUnavailable, first_line

VERBOSE_ENV = "EDGESEQ_VERBOSE"


def quiet_native_logs() -> None:
    """Keep TensorFlow's, absl's and the runtimes' notices off the console unless verbose was asked."""
    if os.environ.get(VERBOSE_ENV) == "1":
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block (C++ logs bypass Python), unless verbose."""
    if os.environ.get(VERBOSE_ENV) == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


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

    from edgeseq.artifacts import check_keras_archive  # noqa: PLC0415
    from edgeseq.errors import ModelError  # noqa: PLC0415

    path = Path(path)
    check_keras_archive(path)  # a truncated or corrupt archive is a precise error, before Keras sees it
    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001  (Keras raises many types for a bad archive)
        first = first_line(err)
        raise ModelError(f"cannot load {path} as a Keras model: {first[:200]}") from err
