"""What an exported file says about itself: the essentials edgeseq embeds in it at export (written by
`export.embed`, read by `artifacts.read_facts` as `FileFacts.embedded`), and the check that they agree
with the file's manifest. No runtime library is imported here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgeseq.core.layout import STEP_KIND
from edgeseq.step_contract import PROBABILITIES, ROW

if TYPE_CHECKING:
    from edgeseq.core.manifest import Manifest
    from edgeseq.data.spec import DataSpec

KEY = "edgeseq"                 # ONNX metadata_props key, and TFLite metadata entry name
# the embedded fields a manifest must agree with
CHECKED_FIELDS = ("architecture", "format", "recipe", "source_keras_sha256", "stateful", "kind")


def essentials(manifest: Manifest, version: str) -> dict[str, Any]:
    """What the file carries about itself, taken from the manifest being written (a step model also carries its
    kind and its contract: a step file copied alone still says how to feed it)."""
    if manifest.is_step:
        return _whole(manifest, version) | {"kind": STEP_KIND, "step": manifest.step, "input_name": ROW,
                                            "output_name": PROBABILITIES}
    return _whole(manifest, version)


def _whole(manifest: Manifest, version: str) -> dict[str, Any]:
    spec = manifest.data_contract
    return {
        "producer": f"edgeseq {version}",
        "architecture": manifest.architecture,
        "format": manifest.format,
        "recipe": manifest.recipe,
        "input_name": manifest.inputs[0]["name"],
        "output_name": manifest.outputs[0]["name"],
        "normalisation": manifest.normalisation,
        "labels": manifest.labels,
        "output_meaning": manifest.output_meaning,
        "stateful": manifest.stateful,
        "source_keras_sha256": manifest.source_sha256,
        # data other than MNIST: shape, classes, normalisation (mean/std) and the lengths rule, so that a file copied
        # alone says how to turn raw values into its input
        **({} if spec.mnist else {"data_spec": manifest.data_spec}),
    }


def contradictions(embedded: dict[str, Any] | None, manifest: Manifest | None) -> list[str]:
    """The fields where a file's embedded facts and its manifest disagree (none when either is absent)."""
    if not embedded or not manifest:
        return []
    expected = manifest.to_dict() | {"source_keras_sha256": manifest.source_sha256}
    return [f"{name}: the file says {embedded.get(name)!r}, its manifest {expected.get(name)!r}"
            for name in CHECKED_FIELDS
            if name in embedded and expected.get(name) is not None and embedded[name] != expected[name]]


def data_contract(embedded: dict[str, Any]) -> DataSpec:
    """The data contract a file's embedded facts carry (data_spec, or MNIST's normalisation for MNIST files)."""
    from edgeseq.data.spec import spec_of_record  # noqa: PLC0415

    return spec_of_record(embedded.get("data_spec"), embedded.get("normalisation"))
