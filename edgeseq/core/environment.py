"""Library versions and the machine fingerprint recorded in every manifest and result."""

from __future__ import annotations

import importlib.util
import os
import platform
import socket
import sys
from functools import lru_cache
from importlib import metadata

TRACKED_DISTRIBUTIONS = (
    "edgeseq", "numpy", "tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime",
    "ai-edge-litert", "tflite-runtime", "tflite", "openvino", "tflite-micro",
)


def installed(module: str) -> bool:
    """Whether `module` can be found for import, without importing it (a finder that refuses counts as no)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that shape a result (read from metadata: imports nothing)."""
    versions = {}
    for name in TRACKED_DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name() -> str:
    """The default name of this machine in results: its hostname."""
    return socket.gethostname() or "unnamed device"


def fingerprint() -> dict[str, object]:
    """Where a measurement was taken."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "libraries": library_versions(),
        "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                                   "OPENBLAS_CORETYPE") if k in os.environ},
    }
