"""The export worker: one conversion in its own process, so a converter crash (SIGSEGV in the
calibrator) cannot take the caller down.   python -m edgeseq.export.worker REQUEST.json

The request names the source .keras, the recipe, the graph, an optional calibration .npy and the
output path. On success the output exists and a result JSON is written; on failure the process
exits non-zero with a one-line reason as the last line on stderr.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from pathlib import Path

import numpy as np

CONVERSION_FAILED = 3   # the converter refused: the recipe is unsupported for this graph
INPUT_PROBLEM = 4       # the source model itself is unusable: a failure, not a limitation


def _smoke_run(path: Path) -> list[float]:
    """Load the written file through edgeseq's own runtime adapter and run one zero digit:
    a file that cannot run is no output."""
    from edgeseq import runtimes  # noqa: PLC0415

    runtime = runtimes.load(path, runtimes.runtimes_for(path)[0])
    return runtime.predict(np.zeros((1, 28, 28), np.float32)).astype(float).ravel().tolist()


def main(request_path: str) -> int:
    from edgeseq.export import onnx as onnx_export, tflite as tflite_export  # noqa: PLC0415
    from edgeseq.export.recipes import Graph, recipe  # noqa: PLC0415
    from edgeseq.models import Arch  # noqa: PLC0415
    from edgeseq.tfsupport import load_keras_model  # noqa: PLC0415

    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    tempfile.tempdir = str(Path(request_path).parent)  # scratch (SavedModels) stays in the export's work folder
    arch, graph = Arch(request["arch"]), Graph(request["graph"])
    chosen = recipe(request["format"], request["recipe"])
    calibration = np.load(request["calibration"], allow_pickle=False) if request.get("calibration") else None
    model = load_keras_model(Path(request["source"]))
    output = Path(request["output"])
    if chosen.format.value == "tflite":
        output.write_bytes(tflite_export.convert(model, arch, chosen, graph, calibration))
    else:
        onnx_export.convert(model, arch, chosen, graph, calibration, output)
    zero_digit = _smoke_run(output)
    Path(request["result"]).write_text(json.dumps({"zero_digit_output": zero_digit}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    from edgeseq.procs import no_core_dumps

    no_core_dumps()  # a converter crash (SIGSEGV in the calibrator) is reported as one line: no core file
    try:
        sys.exit(main(sys.argv[1]))
    except Exception as err:  # noqa: BLE001  (reported to the parent as one line)
        traceback.print_exc()
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        errors = [ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln]
        message = (errors[0] if errors else (lines[0] if lines else type(err).__name__))[:300]
        print(f"EDGESEQ-REASON: {type(err).__name__}: {message}", file=sys.stderr, flush=True)
        from edgeseq.errors import ModelError  # noqa: PLC0415

        sys.exit(INPUT_PROBLEM if isinstance(err, ModelError) else CONVERSION_FAILED)
