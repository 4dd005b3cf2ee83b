"""What an app developer takes away: `pack` (one exported file with its labels, manifest, golden test vectors and
example code per platform, generated from the file's own tensors) and `demo` (a static page that runs step
models in the browser with onnxruntime-web, one row at a time).

spec.py reads what an app must know about a file (its tensors, in the file's own order, by name); vectors.py
picks the golden test vectors; code.py renders the example code from templates/, each format's part by its app
code (code_tflite.py, code_onnx.py: formats.table.AppCode); pack.py and demo.py write the folders. `pack --target tflm` writes a C/C++ bundle for TensorFlow Lite Micro instead (tflm.py; its sources
tflm_code.py, its op resolver's table tflm_ops.py); ethos.py compiles a .tflite for an Arm Ethos-U NPU with Vela.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Callable


class PackTarget(str, Enum):
    APP = "app"         # the file, labels, golden vectors, JavaScript/Kotlin/Swift examples (pack.py)
    TFLM = "tflm"       # a C/C++ bundle for a TensorFlow Lite Micro project (tflm.py)


# target -> "module:function" writing its folder: function(path, out, verify=...) -> a result with to_dict()
PACK_TARGETS: dict[PackTarget, str] = {
    PackTarget.APP: "edgeseq.appkit.pack:pack",
    PackTarget.TFLM: "edgeseq.appkit.tflm:pack_tflm",
}


def packer(target: PackTarget | str) -> Callable[..., Any]:
    """The function that packs for `target`; an unknown target is a ValueError listing the valid ones."""
    from importlib import import_module  # noqa: PLC0415

    try:
        module, function = PACK_TARGETS[PackTarget(target)].split(":")
    except ValueError:
        raise ValueError(f"unknown pack target {target!r} (choose from {', '.join(t.value for t in PackTarget)})") \
            from None
    return getattr(import_module(module), function)
