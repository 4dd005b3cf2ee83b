"""The export worker: one conversion in its own process, so that a converter crash (SIGSEGV in the
calibrator) cannot take the caller down. Spoken to through `procs.run_worker`:

    request: {arch, format, recipe, graph, source, output, calibration (a .npy in the work folder) or null,
              golden_samples (a .npy) or absent, onnx_settings (fields of OnnxSettings to change) or absent,
              step (bool): write the recipe's step model (edgeseq.export.step) instead of the whole-sequence file,
              own_model (bool): the source is a user's own model (edgeseq.own_model), read from its archive,
              mix (a selective.Mix as a dict) or absent: a TFLite recipe made by converting the graph in float,
              then quantizing it per layer with ai-edge-quantizer (edgeseq.export.selective),
              app (bool): the app-ready variant (edgeseq.export.app): float32 I/O, batch pinned to 1}
    result:  {zero_input_output}: the written file, run on one zero digit through edgeseq's own adapter;
             {contract}: a step model's contract (edgeseq.step_contract), for the manifest;
             {golden}: a .npy of the source model's probabilities on golden_samples, when they were sent
    The written file's inputs and outputs are in the documented order (edgeseq.export.tensor_order).

An error response carries the exception's type: ModelError means the source model itself is unusable
(a failure); anything else is the converter refusing the recipe (unsupported). A worker that ends without a
response (a crash, a kill, a hang, an import error before `serve`) is a failure (exporter.worker_verdict).
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import formats
from edgeseq.export import tensor_order
from edgeseq.core.procs import serve


def _smoke_run(path: Path, shape: tuple[int, ...]) -> list[float]:
    """Load the written file through edgeseq's own runtime adapter and run one zero sequence of the model's
    (T, F): a file that cannot run is no output."""
    from edgeseq import runtimes  # noqa: PLC0415

    runtime = runtimes.load(path, runtimes.runtimes_for(path)[0])
    return runtime.predict(np.zeros((1, *shape), np.float32)).astype(float).ravel().tolist()


def _fresh_names() -> None:
    """A session's child converts request after request (procs.WorkerSession): reset the name counters the
    earlier ones advanced (Keras' layer and cell names, tf2onnx's inserted-node names), so that every file has
    the bytes a fresh process writes."""
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
    if "tf2onnx.utils" in sys.modules:
        sys.modules["tf2onnx.utils"].INTERNAL_NAME = 1


def handle(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    from edgeseq.models import variant  # noqa: PLC0415
    from edgeseq.own_model import inspect_keras  # noqa: PLC0415
    from edgeseq.recipes import Graph, recipe  # noqa: PLC0415
    from edgeseq.core.tfsupport import load_keras_model  # noqa: PLC0415

    tempfile.tempdir = str(workdir)  # scratch (SavedModels) stays in the export's work folder
    _fresh_names()
    chosen = recipe(request["format"], request["recipe"])
    if request.get("onnx_settings") and chosen.onnx is not None:  # a recipe search's variation of the row
        chosen = replace(chosen, onnx=replace(chosen.onnx, **request["onnx_settings"]))
    if request.get("app") and chosen.tflite is not None:   # the app-ready variant: float32 I/O (export.app)
        chosen = replace(chosen, tflite=replace(chosen.tflite, io_type=None), io_dtype="float32")
    calibration = np.load(request["calibration"], allow_pickle=False) if request.get("calibration") else None
    answer: dict[str, Any] = {}
    if request.get("golden_samples"):  # first, through the adapter validate uses, so the figures are the same
        from edgeseq.runtimes import RuntimeName  # noqa: PLC0415
        from edgeseq.runtimes.guard import evaluate  # noqa: PLC0415

        samples = np.load(request["golden_samples"], allow_pickle=False)
        outcome = evaluate(Path(request["source"]), RuntimeName.KERAS, samples)
        np.save(workdir / "golden.npy", outcome.probabilities, allow_pickle=False)
        answer["golden"] = "golden.npy"
    model = load_keras_model(Path(request["source"]))
    output = Path(request["output"])
    contract = None
    if request.get("step"):
        from edgeseq.export import step  # noqa: PLC0415

        contract = step.convert(model, chosen, calibration, output)
        answer["contract"] = contract.to_dict()
    else:
        arch = inspect_keras(Path(request["source"])) if request.get("own_model") else variant(request["arch"])
        formats.by_name(chosen.format).adapter().convert(model, arch, chosen, Graph(request["graph"]), calibration,
                                                          output, request.get("mix"))
    if request.get("app"):
        from edgeseq.export.app import pin_batch  # noqa: PLC0415

        pin_batch(output)
    tensor_order.apply(output, contract)     # the documented positional order (export.tensor_order)
    return answer | {"zero_input_output": _smoke_run(output, tuple(model.input_shape[1:]))}


def describe(err: BaseException) -> str:
    """The converter's own complaint where it says 'error: ...' (MLIR diagnostics), else the first line."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    errors = [ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln]
    return f"{type(err).__name__}: {(errors[0] if errors else (lines[0] if lines else type(err).__name__))[:300]}"


if __name__ == "__main__":
    serve(handle, describe)
