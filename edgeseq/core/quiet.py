"""Keeping TensorFlow's, absl's and the runtimes' own log lines off the console unless --verbose was asked.
Imports nothing heavy: both the device side and the TensorFlow side use it."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator

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
