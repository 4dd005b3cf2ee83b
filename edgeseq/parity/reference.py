"""A file's reference: what an exported file is compared with, found in one place for validate, quant-debug and
drift. Each command says what it accepts (an `Accepts` row); `resolve_reference` takes the reference it was
given or finds the first one beside the file, and checks it once: it exists, it is of a kind the command takes,
it is the same model, it is float, it is not the file itself. A reference that cannot be found is one sentence:
"no reference for FILE: why; pass --reference".

              given with --reference                          looked for beside the file, in this order
  validate    <arch>.keras, an fp32 .tflite/.onnx, the golden  an fp32 step model's whole-sequence file,
              outputs (.golden.npz), a step model's whole-     <arch>.keras (where TensorFlow is installed),
              sequence file of its recipe                      <arch>-fp32 of its format then of the other, the
                                                               golden outputs its manifest names
  quant-debug an fp32 whole-sequence file of its format        <arch>-fp32 of its format
  fuzz        as validate, but not golden outputs          as validate, but not golden outputs (they answer
                                                               only their own samples)
  drift       a step model of either format (a whole-sequence  <arch>-fp32-step of its format, then of the other
              file: its step twin); quantized or the file
              itself are taken, and drift says so

"Float" means one thing: the fp32 recipe (FLOAT_RECIPE; an fp16 file has half-precision weights, it is compared,
never a reference). Whether a file is a step model is read from its tensors (`is_step_facts`); a file's name is
used only to find its twin (layout.FileKey). Importing this module imports no runtime and never TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.core import layout
from edgeseq.artifacts import read_facts
from edgeseq.core.environment import installed
from edgeseq.core.errors import EdgeseqError, ModelError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest
from edgeseq.step_contract import is_step_facts

FLOAT_RECIPE = "fp32"
EXPORT_FORMATS = tuple(fmt for fmt, suffix in layout.SUFFIXES.items() if suffix in layout.EXPORT_SUFFIXES)

KERAS_KIND = "keras model"
FLOAT_KIND = "fp32 file"
WHOLE_SEQUENCE_KIND = "whole-sequence file"
GOLDEN_KIND = "golden outputs"
GIVEN_KIND = "given file"            # a quantized reference given to a command that takes one (drift)


def is_float(recipe: str | None) -> bool:
    """Whether a recipe makes a float reference: fp32 only."""
    return recipe == FLOAT_RECIPE


def tensorflow_installed() -> bool:
    return installed("tensorflow")


@dataclass(frozen=True)
class Accepts:
    """What a command accepts as a file's reference (module docstring)."""
    command: str
    step: bool | None                # a step model (True), a whole-sequence file (False), or either (None)
    other_format: bool               # an fp32 file of the other format too, after the file's own
    keras: bool = False              # the <arch>.keras model
    whole_sequence: bool = False     # a step model's whole-sequence file of the same recipe, first
    golden: bool = False             # the golden outputs the manifest names
    quantized: bool = False          # a given reference may be quantized
    itself: bool = False             # the file may be its own reference
    export_hint: bool = False        # a missing reference says how to export it


VALIDATE = Accepts("validate", step=None, other_format=True, keras=True, whole_sequence=True, golden=True)
QUANT_DEBUG = Accepts("quant-debug", step=False, other_format=False, export_hint=True)
FUZZ = Accepts("fuzz", step=None, other_format=True, keras=True, whole_sequence=True)   # golden answers its own only
DRIFT = Accepts("drift", step=True, other_format=True, quantized=True, itself=True, export_hint=True)


@dataclass(frozen=True)
class Resolved:
    """A file to run: its path, its key (manifest, else name), how it was found, and the whole-sequence file
    that was named when its step twin is run instead (drift)."""
    path: Path
    key: layout.FileKey | None
    kind: str = ""
    named: Path | None = None


def no_reference(path: Path, why: str) -> EdgeseqError:
    """The one sentence for a reference that cannot be found."""
    return EdgeseqError(f"no reference for {path}: {why}; pass --reference")


def _key(path: Path) -> layout.FileKey | None:
    return layout.key_of(path, read_manifest(path))


def step_model(path: Path, role: str, accepts: Accepts = DRIFT) -> Resolved:
    """The step model to run for `path`: itself if its tensors are a step model's, else its step twin beside it
    (found by name), or a one-line error saying how to export it."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{role} {path} is a folder, not a step model file")
    if not path.is_file():
        raise ModelError(f"{role} not found: {path}")
    fmt = layout.format_of(path)
    if fmt not in EXPORT_FORMATS:
        raise ModelError(f"{path}: {accepts.command} takes a step model (.tflite or .onnx), not a"
                         f" {path.suffix or 'suffix-less'} file")
    facts = read_facts(path)                        # one line for a corrupt file
    key = _key(path)
    if is_step_facts(facts):
        return Resolved(path, key)
    if key is None:
        raise EdgeseqError(f"{path} is a whole-sequence file, not a step model, and its name does not say which"
                           " step model is its twin: export step models with `edgeseq export --streaming`")
    twin = path.parent / layout.FileKey(key.model, fmt, key.recipe, step=True).filename
    if not twin.is_file():
        raise EdgeseqError(f"{path} is a whole-sequence file, not a step model, and its step model {twin.name} is"
                           f" not beside it: export it with `edgeseq export --graph step --model {key.model}"
                           f" --format {fmt} --quant {key.recipe}`")
    if not is_step_facts(read_facts(twin)):
        raise ModelError(f"{twin}: named like a step model but it is not one (no rank-2 'row' input beside state"
                         " inputs)")
    return Resolved(twin, _key(twin) or key, named=path)


def resolve_reference(path: Path, given: Path | None, accepts: Accepts,
                      compatible: Callable[[Path, Path], Any] | None = None) -> Resolved:
    """`path`'s reference for the command `accepts` describes: `given`, else the first one beside the file
    (module docstring), checked once. `compatible(path, reference)` is a check of the caller's, run before the
    model check (its message says more: drift's step contract)."""
    path = Path(path)
    manifest = read_manifest(path)
    key = layout.key_of(path, manifest)
    step = is_step_facts(read_facts(path))
    found = _given(path, key, step, Path(given), accepts) if given is not None \
        else _beside(path, key, step, manifest, accepts)
    if found.kind == GOLDEN_KIND:
        return found
    if compatible is not None:
        compatible(path, found.path)
    if found.kind == KERAS_KIND:
        expected = manifest.source_sha256 if manifest else None
        if expected and sha256_file(found.path) != expected:
            raise EdgeseqError(f"{found.path} is not the model {path.name} was exported from (sha256 differs)")
    elif key is not None and found.key is not None and found.key.model != key.model:
        raise EdgeseqError(f"reference {found.path} is the {found.key.model} model, {path} the {key.model} model:"
                           " not the same model")
    if found.kind == GIVEN_KIND and not accepts.quantized:
        raise EdgeseqError(f"reference {found.path} is not an fp32 file ({found.key.recipe if found.key else '?'}):"
                           f" {accepts.command} compares a file with the fp32 file of its model")
    if not accepts.itself and found.path.resolve() == path.resolve():
        raise EdgeseqError(f"{path} is its own reference")
    return found


def _given(path: Path, key: layout.FileKey | None, step: bool, given: Path, accepts: Accepts) -> Resolved:
    """The reference passed with --reference: of a kind the command takes (the model and the rest are checked by
    the caller)."""
    if given.is_dir():
        raise ModelError(f"reference {given} is a folder, not a file")
    if not given.is_file():
        raise ModelError(f"reference not found: {given}")
    if accepts.golden and given.name.endswith(layout.GOLDEN_SUFFIX):
        return Resolved(given, None, GOLDEN_KIND)
    fmt, own = layout.format_of(given), layout.format_of(path)
    if fmt in EXPORT_FORMATS and fmt != own and not accepts.other_format:
        raise EdgeseqError(f"reference {given} is not a .{own} file: compare a file with the float file of its"
                           " own format")
    takes = [*(EXPORT_FORMATS if accepts.other_format else [own]), *([layout.KERAS_FORMAT] if accepts.keras else [])]
    if fmt not in takes:
        kinds = [f".{f}" for f in takes] + ([layout.GOLDEN_SUFFIX] if accepts.golden else [])
        kinds_text = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        raise ModelError(f"reference {given}: {accepts.command} takes a {kinds_text} file as the reference, not a"
                         f" {given.suffix or 'suffix-less'} file")
    if fmt == layout.KERAS_FORMAT:
        return Resolved(given, _key(given), KERAS_KIND)
    found = step_model(given, "reference", accepts) if accepts.step else Resolved(given, _key(given))
    if accepts.step is False and is_step_facts(read_facts(given)):
        raise EdgeseqError(f"reference {given} is a step model: {accepts.command} compares whole-sequence files")
    ref = found.key
    if accepts.whole_sequence and step and key is not None and ref is not None \
            and (ref.model, ref.format, ref.recipe) == (key.model, key.format, key.recipe):
        return Resolved(found.path, ref, WHOLE_SEQUENCE_KIND, found.named)
    kind = FLOAT_KIND if ref is None or is_float(ref.recipe) else GIVEN_KIND
    return Resolved(found.path, ref, kind, found.named)


def _beside(path: Path, key: layout.FileKey | None, step: bool, manifest: dict[str, Any] | None,
            accepts: Accepts) -> Resolved:
    """The first reference beside the file that the command accepts, in the order of the module docstring."""
    if key is None:
        raise no_reference(path, "its name does not say its architecture and it has no manifest")
    folder, missing, why = path.parent, [], []
    # a float step model's own whole-sequence file first (export --app); a quantized one is held to a float
    # reference, never to its quantized sibling (that sibling can itself be far off: JapaneseVowels' lstm-int8-app
    # lost 31 points, and its step model "passed" against it while 6.8 points below its Keras model)
    if accepts.whole_sequence and step and is_float(key.recipe):
        for app in dict.fromkeys((key.app, False)):
            whole = folder / layout.FileKey(key.model, key.format, key.recipe, app=app).filename
            if whole.is_file() and whole.resolve() != path.resolve():
                return Resolved(whole, _key(whole), WHOLE_SEQUENCE_KIND)
            missing.append(whole.name)
    if accepts.keras:
        keras = folder / layout.model_key(key.model).filename
        if not tensorflow_installed():
            why.append(f"TensorFlow is not installed (to run {keras.name})")
        elif keras.is_file():
            return Resolved(keras, _key(keras), KERAS_KIND)
        else:
            missing.append(keras.name)
    formats = [key.format, *(f for f in EXPORT_FORMATS if f != key.format)] if accepts.other_format else [key.format]
    for fmt in formats:
        candidate = folder / layout.FileKey(key.model, fmt, FLOAT_RECIPE, step=bool(accepts.step)).filename
        if candidate.is_file() and (accepts.itself or candidate.resolve() != path.resolve()):
            found = step_model(candidate, "reference", accepts) if accepts.step else Resolved(candidate, _key(candidate))
            if accepts.step is False and is_step_facts(read_facts(candidate)):
                raise EdgeseqError(f"{candidate} is a step model: {accepts.command} compares whole-sequence files;"
                                   " pass --reference")
            return Resolved(found.path, found.key, FLOAT_KIND, found.named)
        if candidate.resolve() != path.resolve():
            missing.append(candidate.name)
    if accepts.golden and (sidecar := layout.named_golden(path, manifest)) is not None:
        return Resolved(sidecar, None, GOLDEN_KIND)
    if missing:
        why.append(f"{_either(missing)} beside it")
    if accepts.golden:
        why.append("its manifest names no golden outputs")
    text = "nothing it can be compared with is beside it" if not why else why[0] if len(why) == 1 \
        else f"{', '.join(why[:-1])}, and {why[-1]}"
    if accepts.export_hint:
        graph = " --graph step" if accepts.step else ""
        text += (f" (export {'it' if len(missing) == 1 else 'one'} with"
                 f" `edgeseq export{graph} --model {key.model} --quant {FLOAT_RECIPE}`)")
    raise no_reference(path, text)


def _either(names: list[str]) -> str:
    """'a is not', 'neither a nor b is', 'none of a, b or c is'."""
    if len(names) == 1:
        return f"{names[0]} is not"
    if len(names) == 2:
        return f"neither {names[0]} nor {names[1]} is"
    return f"none of {', '.join(names[:-1])} or {names[-1]} is"
