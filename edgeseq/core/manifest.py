"""The manifest beside every file edgeseq writes (a trained model, an exported file, a step model): one typed,
versioned record, written in one place (`fileio.commit_with_manifest` takes a `Manifest`) and read through one
function (`read_manifest`) that refuses what edgeseq did not write, each in one line:

- a `schema_version` this edgeseq does not know (a newer edgeseq wrote it);
- a `kind` that is not one of KINDS, a field of the wrong JSON type, a field a kind needs that is missing, a
  field schema 2 does not know;
- an exported file whose `recipe` is not in the recipes table for its `format`.

`contradicted_by(facts)` refuses a `kind` the file's own tensors deny (a step model without state tensors);
`integrity.check` asks it with or without --no-verify.

Schema 1 (no `schema_version`: every manifest written before this module) is read and upgraded in memory: its
`normalisation` and `labels` (the data contract's second and third copies) become the one `data_spec`
(MNIST's, for the files written before edgeseq took other data), `zero_digit_output` is `zero_input_output` and
`golden.digits` is `golden.samples`.
No TensorFlow, no runtime library is imported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from edgeseq.data.spec import DataSpec, spec_of_record
from edgeseq.core.errors import DataError, IntegrityError
from edgeseq.core.fileio import commit, json_bytes, read_json, sha256_file, staged, write_bytes
from edgeseq.core.layout import manifest_path, plain_name, shown

SCHEMA_VERSION = 3         # 3: training_health (schema 2 reads as it is)
KERAS_KIND, EXPORTED_KIND, STEP_KIND = "keras-model", "exported-model", "step-model"
KINDS = (KERAS_KIND, EXPORTED_KIND, STEP_KIND)
_V1_RENAMED = {"zero_digit_output": "zero_input_output"}
_V1_DERIVED = ("normalisation", "labels")   # schema 1's copies of the data contract, now in data_spec only

# The fields each kind must have (besides schema_version and kind).
REQUIRED: dict[str, tuple[str, ...]] = {
    KERAS_KIND: ("architecture", "sha256", "size_bytes", "data_spec"),
    EXPORTED_KIND: ("architecture", "sha256", "size_bytes", "data_spec", "format", "recipe", "inputs", "outputs"),
}
REQUIRED[STEP_KIND] = REQUIRED[EXPORTED_KIND] + ("step",)


@dataclass(frozen=True)
class Manifest:
    """A manifest, field by field. The comments name its sections; `SECTIONS` lists them. Nested records
    (golden, portability, step, …) stay JSON objects, checked as such."""
    # identity and integrity
    kind: str
    architecture: str | None = None
    sha256: str | None = None
    size_bytes: int | None = None
    description: str | None = None
    variant: dict | None = None
    own_model: dict | None = None
    source: dict | None = None
    library_versions: dict | None = None
    # the data contract: shape, classes, normalisation, lengths (the one copy)
    data_spec: dict | None = None
    # training (a Keras model)
    test_accuracy: float | None = None
    test_loss: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    parameters: int | None = None
    seconds: float | None = None
    data: dict | None = None
    optimizer: str | None = None
    loss: str | None = None
    training_health: dict | None = None      # edgeseq.health.Health: diverged, at chance, stalled (or healthy)
    # the exported graph and its tensors
    format: str | None = None
    recipe: str | None = None
    recipe_description: str | None = None
    graph: str | None = None
    batch: str | int | None = None
    ops: dict | None = None
    recurrent_op: str | None = None
    signature: str | None = None
    inputs: list | None = None
    outputs: list | None = None
    tensor_order: dict | None = None
    stateful: bool | None = None
    usage_note: str | None = None
    output_meaning: str | None = None
    # quantization and tolerance
    calibration: dict | None = None
    onnx_quantization: dict | None = None
    quantization_mix: dict | None = None
    tolerance: dict | None = None
    search: dict | None = None
    # provenance and golden outputs
    source_keras: dict | None = None
    trained_on: dict | None = None
    zero_input_output: list | None = None
    golden: dict | None = None
    # what the file carries, and where it runs
    embedded: dict | None = None
    standard_metadata: dict | None = None
    portability: dict | None = None
    app_ready: dict | None = None
    # step, app-ready and graph-candidate files
    step: dict | None = None
    whole_sequence: dict | None = None
    app_variant: dict | None = None
    graph_candidate: dict | None = None
    graph_choice: dict | None = None
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------------ reading and writing

    @classmethod
    def from_dict(cls, payload: Any, where: str = "manifest") -> "Manifest":
        """A manifest from its JSON object (schema 1 upgraded), or a one-line IntegrityError naming `where`."""
        if not isinstance(payload, dict):
            raise IntegrityError(f"{where} is not a JSON object")
        version = payload.get("schema_version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
            raise IntegrityError(f"{where} has schema_version {version!r}; this edgeseq reads 1 to {SCHEMA_VERSION}:"
                                 " a newer edgeseq wrote it (upgrade edgeseq)")
        body = _upgraded(payload, where) if version == 1 else dict(payload)
        known = {f.name: f for f in fields(cls)}
        if unknown := [key for key in body if key not in known]:
            raise IntegrityError(f"{where}: unknown field {shown(unknown[0])!r} (schema {SCHEMA_VERSION})")
        kind = body.get("kind")
        if kind not in KINDS:
            raise IntegrityError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
        for key, value in body.items():
            if value is not None and not _fits(value, _TYPES[key]):
                raise IntegrityError(f"{where}: {key} is a JSON {type(value).__name__}, not what edgeseq writes")
        if missing := [key for key in REQUIRED[kind] if body.get(key) is None]:
            raise IntegrityError(f"{where}: missing {', '.join(missing)} (every {kind} manifest has them)")
        for key in ("architecture", "recipe"):       # names, never paths: they name files beside this one
            if body.get(key) is not None:
                plain_name(body[key], key, where)
        manifest = cls(**(body | {"schema_version": SCHEMA_VERSION}))
        manifest._check_recipe(where)
        manifest._check_data(where)
        return manifest

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written: schema_version and kind first, then every field that is set."""
        items = {f.name: getattr(self, f.name) for f in fields(self)}
        head = {"schema_version": self.schema_version, "kind": self.kind}
        return head | {k: v for k, v in items.items() if k not in head and v is not None}

    def replace(self, **changes: Any) -> "Manifest":
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ what the fields mean

    @property
    def data_contract(self) -> DataSpec:
        """The data contract (T, F, K, labels, normalisation, lengths): the one place it is read from."""
        return DataSpec.from_dict(self.data_spec or {})

    @property
    def labels(self) -> list[str]:
        return list(self.data_contract.labels)

    @property
    def normalisation(self) -> dict[str, Any]:
        spec = self.data_contract
        return spec.normalisation.to_dict(spec.timesteps, spec.features)

    @property
    def source_sha256(self) -> str | None:
        return (self.source_keras or {}).get("sha256")

    @property
    def is_step(self) -> bool:
        return self.kind == STEP_KIND

    def contradicted_by(self, facts: Any) -> str | None:
        """What the file's own tensors (`artifacts.FileFacts`) deny of this manifest, or None."""
        from edgeseq.step_contract import is_step_facts  # noqa: PLC0415

        if self.kind == KERAS_KIND or facts is None:
            return None
        if is_step_facts(facts) != self.is_step:
            said = "a step model" if self.is_step else "a whole-sequence file"
            seen = "a step model (state in and out)" if is_step_facts(facts) else "a whole-sequence file"
            return f"its manifest says it is {said} ({self.kind}), its tensors say {seen}"
        if self.format is not None and facts.format != self.format:
            return f"its manifest says format {self.format}, the file is {facts.format}"
        return None

    def _check_recipe(self, where: str) -> None:
        if self.kind == KERAS_KIND:
            return
        from edgeseq.recipes import Format, recipe_for_file, recipe_names  # noqa: PLC0415

        if recipe_for_file(self.format, self.recipe) is None:
            try:
                known = ", ".join(recipe_names(Format(self.format)))
            except ValueError:
                raise IntegrityError(f"{where}: format {shown(self.format)!r} is not one of"
                                     f" {', '.join(f.value for f in Format)}") from None
            raise IntegrityError(f"{where}: recipe {shown(self.recipe)!r} is not a {self.format} recipe ({known})")

    def _check_data(self, where: str) -> None:
        try:
            DataSpec.from_dict(self.data_spec or {})
        except DataError as err:
            raise IntegrityError(f"{where}: data_spec: {err}") from err


SECTIONS: dict[str, tuple[str, ...]] = {
    "identity and integrity": ("schema_version", "kind", "architecture", "sha256", "size_bytes", "description",
                               "variant", "own_model", "source", "library_versions"),
    "data contract": ("data_spec",),
    "training": ("test_accuracy", "test_loss", "epochs", "batch_size", "seed", "parameters", "seconds", "data",
                 "optimizer", "loss", "training_health"),
    "graph and tensors": ("format", "recipe", "recipe_description", "graph", "batch", "ops", "recurrent_op",
                          "signature", "inputs", "outputs", "tensor_order", "stateful", "usage_note",
                          "output_meaning"),
    "quantization and tolerance": ("calibration", "onnx_quantization", "quantization_mix", "tolerance", "search"),
    "provenance and golden outputs": ("source_keras", "trained_on", "zero_input_output", "golden"),
    "what the file carries and where it runs": ("embedded", "standard_metadata", "portability", "app_ready"),
    "step, app-ready and candidate files": ("step", "whole_sequence", "app_variant", "graph_candidate",
                                            "graph_choice"),
}

_PYTHON_TYPES = {"dict": dict, "list": list, "str": str, "int": int, "float": (int, float), "bool": bool}
_TYPES: dict[str, tuple[type, ...]] = {
    f.name: tuple(t for part in str(f.type).split(" | ") if part != "None"
                  for t in (_PYTHON_TYPES[part] if isinstance(_PYTHON_TYPES[part], tuple) else (_PYTHON_TYPES[part],)))
    for f in fields(Manifest)
}


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def _upgraded(payload: dict[str, Any], where: str) -> dict[str, Any]:
    """A schema 1 manifest as schema 2: the data contract in `data_spec` only, the renamed fields."""
    body = {_V1_RENAMED.get(key, key): value for key, value in payload.items()}
    if isinstance(body.get("golden"), dict) and "digits" in body["golden"]:     # what the golden samples are
        body["golden"] = {("samples" if k == "digits" else k): v for k, v in body["golden"].items()}
    if not isinstance(body.get("data_spec"), dict):
        try:
            body["data_spec"] = spec_of_record(payload.get("data_spec"), payload.get("normalisation")).to_dict()
        except DataError as err:
            raise IntegrityError(f"{where}: {err}") from err
    for key in _V1_DERIVED:
        body.pop(key, None)
    return body


def read_manifest(artifact: Path) -> Manifest | None:
    """The manifest beside `artifact`, or None when there is none; one that edgeseq could not have written is a
    one-line IntegrityError."""
    path = manifest_path(artifact)
    if not path.exists():
        return None
    return Manifest.from_dict(read_json(path, "manifest"), f"manifest {shown(path)}")


def written(manifest: Manifest | dict[str, Any], where: str = "manifest") -> dict[str, Any]:
    """The JSON object to write for `manifest`, checked as `read_manifest` will check it (a Manifest built field by
    field, as export builds one, included): the one write path."""
    record = manifest.to_dict() if isinstance(manifest, Manifest) else dict(manifest)
    return Manifest.from_dict(record | {"schema_version": SCHEMA_VERSION}, where).to_dict()


def commit_with_manifest(tmp: Path, target: Path, manifest: Manifest | dict[str, Any]) -> None:
    """Move the complete file `tmp` onto `target` together with its manifest: the manifest is written in
    full first, then both are renamed in one step, so neither is ever left describing the other's past. A dict
    is checked as a manifest first (edgeseq.core.manifest.written: the one write path)."""
    record = written(manifest, f"the manifest of {shown(target)}")
    with staged(manifest_path(target)) as manifest_tmp:
        write_bytes(manifest_tmp, json_bytes(record), target)
        commit((Path(tmp), Path(target)), (manifest_tmp, manifest_path(target)))


def verify_against_manifest(artifact: Path, manifest: Manifest | None, sha256: str | None = None) -> str:
    """Check size and sha256 against the manifest. Returns 'verified', or 'no-manifest'. A caller that has
    hashed the file already passes its `sha256`, so the file is read once."""
    if manifest is None:
        return "no-manifest"
    expected = manifest.sha256
    if expected is None:
        raise IntegrityError(f"manifest of {artifact} has no sha256")
    try:
        size, actual = Path(artifact).stat().st_size, sha256 or sha256_file(artifact)
    except OSError as err:
        raise IntegrityError(f"cannot read {artifact}: {err.strerror or err}") from err
    expected_size = manifest.size_bytes
    if expected_size is not None and size != expected_size:
        raise IntegrityError(f"{artifact} does not match its manifest ({size} bytes, manifest says"
                             f" {expected_size}); re-export it or pass --no-verify")
    if actual != expected:
        raise IntegrityError(
            f"{artifact} does not match its manifest (sha256 {actual[:12]}…, manifest says {expected[:12]}…);"
            " re-export it or pass --no-verify"
        )
    return "verified"
