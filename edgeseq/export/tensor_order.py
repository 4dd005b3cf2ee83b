"""The documented tensor order of every exported file, and the rewrite that gives a converted file that order.

Apps that feed tensors by position (Swift `copy(_:toInputAt:)`, LiteRT.js `run([...])`, tfjs, Kotlin
`runForMultipleInputsOutputs`) need a fixed order; the TFLite converter orders a signature's tensors as it
pleases (a step model's raw inputs came out `h1, h2, c2, row, c1`) and tf2onnx sorts outputs by name. So, after
conversion, every file's positional order is rewritten to:

    whole sequence:  inputs  pixels                      outputs  probabilities
    step model:      inputs  row, h1[, c1], h2[, c2] ...  outputs  probabilities, next_h1[, next_c1], next_h2 ...

(the step contract's order: the row, then each recurrent layer's state in layer order, h before c; outputs
the probabilities first, then the next states in the same order). The rewrite only permutes the lists of a
graph's inputs and outputs (TFLite: the main subgraph's `inputs`/`outputs` and the signature's tensor maps;
ONNX: `graph.input`/`graph.output`): no tensor, op or weight changes, so every output stays bit-identical.

Importing this module imports nothing heavy; `apply` calls the file's format adapter (edgeseq.formats:
`write_tensor_order`), which imports its library (flatbuffers / onnx).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgeseq import formats
from edgeseq.core.errors import ExportError
from edgeseq.step_contract import PROBABILITIES, StepContract, plain_name

PIXELS = "pixels"
RULE = ("positional order = this order, by name: whole-sequence files take pixels and give probabilities; step"
        " models take row, then each recurrent layer's state in layer order (h before c) and give probabilities,"
        " then the next states in the same order")


@dataclass(frozen=True)
class TensorOrder:
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": list(self.inputs), "outputs": list(self.outputs), "rule": RULE}


def documented(contract: StepContract | None) -> TensorOrder:
    """The order a file must have: a step model's contract order, else pixels -> probabilities."""
    if contract is None:
        return TensorOrder((PIXELS,), (PROBABILITIES,))
    return TensorOrder(tuple(contract.input_names), tuple(contract.output_names))


def file_order(facts: Any) -> TensorOrder:
    """The names (signature names where the file has them) of a file's inputs and outputs (artifacts.FileFacts),
    in positional order."""
    return TensorOrder(tuple(plain_name(t) for t in facts.inputs), tuple(plain_name(t) for t in facts.outputs))


def problem(facts: Any, contract: StepContract | None) -> str | None:
    """Why a file's positional order is not the documented one, or None."""
    want, have = documented(contract), file_order(facts)
    if want == have:
        return None
    return (f"tensors not in the documented order: inputs {', '.join(have.inputs)} -> outputs"
            f" {', '.join(have.outputs)}; documented: {', '.join(want.inputs)} -> {', '.join(want.outputs)}")


def permute(items: list[Any], name_of: Callable[[Any], str], order: tuple[str, ...], what: str) -> list[Any]:
    """`items` in `order`, by name (each format's writer permutes its lists with it: formats.<name>.write_tensor_order)."""
    by_name = {name_of(item): item for item in items}
    if sorted(by_name) != sorted(order) or len(by_name) != len(items):
        raise ExportError(f"the file's {what} are {sorted(by_name)}, the documented order names {sorted(order)}")
    return [by_name[name] for name in order]


def apply(path: Path, contract: StepContract | None) -> TensorOrder:
    """Rewrite the file at `path` in place so that its positional order is the documented one; returns it."""
    order = documented(contract)
    row = formats.find(path)
    if row is None:
        raise ExportError(f"no tensor-order writer for {Path(path).suffix!r} files"
                          f" (known: {', '.join(formats.EXPORT_SUFFIXES)})")
    row.adapter().write_tensor_order(Path(path), order)
    return order
