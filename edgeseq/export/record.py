"""The manifest of an exported file (`edgeseq.core.manifest.Manifest`), built from what export knows before the final
bytes: the spec, the file's facts, the source model's manifest and the data contract. `exporter._finish` adds what
depends on the final bytes (size, sha256, embedded facts, standard metadata, golden outputs, portability)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from edgeseq.data import DataSpec
from edgeseq.core.environment import library_versions
from edgeseq.export import app, tensor_order
from edgeseq.core.fileio import sha256_file
from edgeseq.core.layout import exported_path
from edgeseq.core.manifest import EXPORTED_KIND, STEP_KIND, Manifest, read_manifest
from edgeseq.step_contract import StepContract

STATEFUL_NOTE = ("reset variable tensors before every inference (Interpreter.reset_all_variables /"
                 " resetVariableTensors): the fused op keeps h and c between invokes")
OUTPUT_MEANING = "softmax probabilities over labels; the class is the argmax"


def described_io(description: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> str:
    """A recipe's description with the input/output dtypes the file really has: an app variant of the int8 recipe
    quantizes inside the file, so its I/O is float32, not the recipe's "int8 input/output"."""
    head = re.sub(r",\s*\w+ input/output$", "", description)
    if head == description:
        return description
    dtypes = sorted({str(t.get("dtype")) for t in inputs}), sorted({str(t.get("dtype")) for t in outputs})
    io = f"{dtypes[0][0]} input/output" if dtypes[0] == dtypes[1] and len(dtypes[0]) == 1 else \
        f"{'/'.join(dtypes[0])} input, {'/'.join(dtypes[1])} output"
    return f"{head}, {io}"


def exported_manifest(spec: Any, source: Path, converted: Path, facts: dict[str, Any],
                      calibration: dict[str, Any] | None, zero_input: list[float], target: Path,
                      contract: dict[str, Any] | None, data_spec: DataSpec) -> Manifest:
    """The manifest of `spec` (an exporter.ExportSpec) converted to `converted`, to be committed as `target`;
    without the fields that depend on the final bytes."""
    from edgeseq.artifacts import read_facts  # noqa: PLC0415

    source_manifest = read_manifest(source)
    stateful = facts["stateful"]
    trained_on = source_manifest.data if source_manifest else None
    return Manifest(
        kind=STEP_KIND if spec.step else EXPORTED_KIND,
        **_step_fields(spec, target, contract),
        architecture=spec.arch.value,
        variant=spec.arch.config(),
        format=spec.recipe.format.value,
        recipe=spec.recipe.name,
        recipe_description=described_io(spec.recipe.description, facts["inputs"], facts["outputs"]),
        graph=spec.graph.value,
        batch="1 (fixed)" if facts["batch_one_only"] else "dynamic",
        ops=facts["ops"],
        recurrent_op=facts["recurrent_op"],
        signature=facts["signatures"][0] if facts["signatures"] else None,
        inputs=facts["inputs"],
        outputs=facts["outputs"],
        tensor_order=tensor_order.documented(StepContract.from_dict(contract) if contract else None).to_dict(),
        app_ready=app.readiness(read_facts(converted), spec.recipe.format.value),
        app_variant=_app_section(spec, target),
        stateful=stateful,
        usage_note=STATEFUL_NOTE if stateful else (contract or {}).get("contract"),
        data_spec=data_spec.to_dict(),
        output_meaning=OUTPUT_MEANING,
        calibration=calibration,
        onnx_quantization=spec.settings() if spec.recipe.format.value == "onnx" else None,
        quantization_mix=spec.mix.to_dict() | {"version": _quantizer_version()} if spec.mix else None,
        tolerance=spec.recipe.tolerance.to_dict(),
        graph_candidate=_candidate_section(spec),
        graph_choice=spec.picked.to_dict() if spec.picked is not None and not spec.candidate else None,
        source_keras={"name": source.name, "sha256": sha256_file(source),
                      "test_accuracy": source_manifest.test_accuracy if source_manifest else None,
                      "training_health": source_manifest.training_health if source_manifest else None,
                      "test_data": _counts(trained_on)},
        trained_on=trained_on,
        zero_input_output=zero_input,
        library_versions=library_versions(),
    )


def _step_fields(spec: Any, target: Path, contract: dict[str, Any] | None) -> dict[str, Any]:
    """A step model's fields: its contract, and the whole-sequence file of its recipe."""
    if not spec.step:
        return {}
    whole = exported_path(target.parent.parent, spec.arch.value, spec.recipe.format.value, spec.recipe.name,
                          app=spec.app)
    return {"step": contract,
            "whole_sequence": {"file": whole.name, "sha256": sha256_file(whole) if whole.is_file() else None}}


def _quantizer_version() -> str:
    from edgeseq.export.selective import version  # noqa: PLC0415  (no ai-edge-quantizer imported: metadata only)

    return version()


def _app_section(spec: Any, target: Path) -> dict[str, Any] | None:
    """An app-ready variant's section (`app_variant`): what differs from the recipe's default file."""
    if not spec.app:
        return None
    default = exported_path(target.parent.parent, spec.arch.value, spec.recipe.format.value, spec.recipe.name,
                            spec.step)
    table = None if spec.step else spec.recipe.graph_for(spec.arch)
    return app.variant_section(table.value if table else spec.graph.value, spec.graph.value,
                               "float32" if spec.step else spec.recipe.io_dtype, default.name)


def _candidate_section(spec: Any) -> dict[str, Any] | None:
    """A candidate's `graph_candidate` section: its graph and the table's."""
    if not spec.candidate:
        return None
    table = spec.recipe.graph_for(spec.arch)
    return {"graph": spec.tag, "table_graph": table.value if table else None,
            "table_note": spec.recipe.notes.get(spec.arch.family)}


def _counts(identity: dict[str, Any] | None) -> dict[str, Any] | None:
    """Which test split the model's own accuracy was measured on: name, count and hashes."""
    if not identity:
        return None
    return {k: identity.get(k) for k in ("name", "test_count", "sha256")}
