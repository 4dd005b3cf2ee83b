"""Quantization debugging: where a quantized file's error comes from, layer by layer (edgeseq.quant.debug).

Importing this package imports no runtime and never TensorFlow."""

from edgeseq.quant.debug import (
    DEFAULT_LIMIT,
    QuantDebugResult,
    QuantDebugRow,
    debug_file,
    plot,
    resolve_reference,
)

__all__ = ["DEFAULT_LIMIT", "QuantDebugResult", "QuantDebugRow", "debug_file", "plot", "resolve_reference"]
