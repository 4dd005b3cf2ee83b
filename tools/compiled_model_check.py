"""Load every .tflite under the given folders in LiteRT's CompiledModel (ai_edge_litert.compiled_model, the API
LiteRT leads with) and run the golden digits through it, by position (the documented tensor order): one line per
file, `pass` with the max |diff| against the golden outputs and the top-1 agreement, or why not.

    python tools/compiled_model_check.py models app
    python tools/compiled_model_check.py --write-golden GOLDEN models   # inputs/outputs for tools/litertjs_check.mjs

A step model is fed row by row from zero state, its next states fed back by position (row first, then the states;
outputs: probabilities first, then the next states: edgeseq.export.tensor_order). Not a test: a measurement for
docs/results/app-ready.md (the tests load the app files in CompiledModel: tests/test_app_ready.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from edgeseq import golden
from edgeseq.core import layout
from edgeseq.export import tensor_order
from edgeseq.step_contract import StepContract


def run_file(path: Path, digits: np.ndarray) -> np.ndarray:
    from ai_edge_litert.compiled_model import CompiledModel  # noqa: PLC0415

    manifest = json.loads(layout.manifest_path(path).read_text())
    model = CompiledModel.from_file(str(path))
    inputs, outputs = model.create_input_buffers(0), model.create_output_buffers(0)
    signature = model.get_signature_by_index(0)
    contract = StepContract.from_dict(manifest["step"]) if manifest.get("step") else None
    order = tensor_order.documented(contract)
    if (tuple(signature["inputs"]), tuple(signature["outputs"])) != (order.inputs, order.outputs):
        raise ValueError(f"signature order {signature['inputs']} -> {signature['outputs']} is not the documented one")
    quant = manifest["inputs"][0]
    answers = []
    for digit in digits:
        if contract is None:
            x = digit[None].astype(np.float32)
            if quant["dtype"] == "int8":
                x = np.clip(np.round(x / quant["scale"]) + quant["zero_point"], -128, 127).astype(np.int8)
            inputs[0].write(x)
            model.run_by_index(0, inputs, outputs)
            out = manifest["outputs"][0]
            raw = outputs[0].read(10, np.int8 if out["dtype"] == "int8" else np.float32)
            answers.append((raw.astype(np.float32) - out["zero_point"]) * out["scale"] if out["dtype"] == "int8"
                           else raw)
            continue
        state = [np.zeros((1, s.units), np.float32) for s in contract.states]
        for row in digit:
            for buffer, value in zip(inputs, [row[None].astype(np.float32), *state]):
                buffer.write(value)
            model.run_by_index(0, inputs, outputs)
            state = [outputs[i + 1].read(s.units, np.float32).reshape(1, -1) for i, s in enumerate(contract.states)]
        answers.append(outputs[0].read(contract.classes, np.float32))
    return np.asarray(answers, np.float32)


def write_golden(out: Path, folders: list[str], count: int = 100) -> None:
    """x-<arch>.bin (count digits, float32) and y-<arch>.bin (their golden probabilities) per model folder."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        for sidecar in sorted(Path(folder).glob(f"*/*{layout.GOLDEN_SUFFIX}")):
            arch = sidecar.parent.name
            reference = golden.read(sidecar)
            reference.dataset().x_test[:count].astype(np.float32).tofile(out / f"x-{arch}.bin")
            reference.probabilities[:count].astype(np.float32).tofile(out / f"y-{arch}.bin")


def main(folders: list[str]) -> None:
    for folder in folders:
        for path in sorted(Path(folder).glob("*/*.tflite")):
            reference = golden.read(layout.golden_path(path.parent, path.parent.name))
            digits = reference.dataset().x_test[:200]
            expected = reference.probabilities[:200]
            try:
                got = run_file(path, digits)
            except Exception as err:  # noqa: BLE001  (a measurement: every failure is a row)
                print(f"{path.name}\tfail\t{type(err).__name__}: {str(err).splitlines()[0][:120]}")
                continue
            agreement = float(np.mean(got.argmax(1) == expected.argmax(1)))
            print(f"{path.name}\tpass\tmax|diff| {np.max(np.abs(got - expected)):.2e}\tagreement {agreement:.3f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write-golden"]:
        write_golden(Path(sys.argv[2]), sys.argv[3:])
    else:
        main(sys.argv[1:])
