"""The child side of `edgeseq drift --stream` (edgeseq.diagnostics.long_stream): one step model fed a chunk of
sequences row by row as one stream, from the state the previous chunk ended with, reset to zeros at each sequence
start when asked; and the range each quantized state input can hold. Importing it imports no runtime library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.core.procs import serve
from edgeseq.runtimes import RuntimeName


def _quantized_ranges(path: Path, names: list[str]) -> dict[str, list[float] | None]:
    """Per state, [low, high] of the quantized tensor its QUANTIZE op makes of it (a TFLite file), else None."""
    out: dict[str, list[float] | None] = {name: None for name in names}
    if path.suffix != ".tflite":
        return out
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415
    except ImportError:                 # tflite-runtime alone: the ranges are not read (said as "float or unread")
        return out

    interpreter = Interpreter(model_path=str(path))
    inputs = {d["index"]: d for d in interpreter.get_input_details()}
    tensors = {d["index"]: d for d in interpreter.get_tensor_details()}
    for op in interpreter._get_ops_details():                       # noqa: SLF001  (the only op listing it has)
        if op["op_name"] != "QUANTIZE" or op["inputs"][0] not in inputs:
            continue
        name = next((n for n in names if inputs[op["inputs"][0]]["name"].split(":")[0].endswith(n)), None)
        detail = tensors[op["outputs"][0]]
        scale, zero = detail["quantization"]
        if name is None or not scale:
            continue
        info = np.iinfo(detail["dtype"])
        out[name] = [float(scale * (info.min - zero)), float(scale * (info.max - zero)), float(scale)]
    return out


def handle(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The child: the sequences fed row by row as one stream from the given state (zeros if none), reset to zeros
    at each sequence start when asked."""
    from edgeseq import runtimes  # noqa: PLC0415

    runner = runtimes.load(Path(request["path"]), RuntimeName(request["runtime"]), threads=request["threads"],
                           step=True, tflite_backend=request["tflite_backend"])
    sequences = np.load(request["sequences"], allow_pickle=False)
    names = [s.name for s in runner.contract.states]
    state = runner.zero_state(1) if not request["state"] else \
        {name: np.load(file, allow_pickle=False) for name, file in request["state"].items()}
    count, per = sequences.shape[0], sequences.shape[1]
    probabilities = np.zeros((count * per, runner.contract.classes), np.float32)
    states = {s.name: np.zeros((count * per, s.units), np.float32) for s in runner.contract.states}
    for i in range(count):
        if request["reset"]:
            state = runner.zero_state(1)
        for t in range(per):
            p, state = runner.step(sequences[i, t][None], state)
            probabilities[i * per + t] = p[0]
            for name in names:
                states[name][i * per + t] = state[name][0]
    np.save(workdir / "probabilities.npy", probabilities, allow_pickle=False)
    files, final = {}, {}
    for name in names:
        np.save(workdir / f"states-{name}.npy", states[name], allow_pickle=False)
        np.save(workdir / f"final-{name}.npy", state[name], allow_pickle=False)
        files[name], final[name] = f"states-{name}.npy", f"final-{name}.npy"
    return {"probabilities": "probabilities.npy", "states": files, "final": final, "backend": runner.backend,
            "ranges": _quantized_ranges(Path(request["path"]), names)}


if __name__ == "__main__":
    serve(handle)
