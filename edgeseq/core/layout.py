"""The one naming rule: how a trained model, an exported file, its manifest and its sidecars are named and
found. Everyone else asks this module; nobody builds or parses a file name by hand.

<arch> is a model's name: a seed (`rnn`, `lstm`) or a variant (`lstm-64x2-tanh`, edgeseq.models); it may hold
dashes, a recipe never does, so a name splits at its last dash (after taking off `-step` and an `@<graph>` tag).

    ROOT/<arch>/<arch>.keras                 a trained model (ModelKey(arch, "keras", "fp32"))
    ROOT/<arch>/history.json                 its training history
    ROOT/<arch>/<arch>-<recipe>.<format>     an exported file, e.g. models/lstm/lstm-dynamic.tflite
    ROOT/<arch>/<arch>-<recipe>-step.<format>  its step model (one timestep, explicit state: streaming)
    ROOT/<arch>/<arch>-<recipe>-app.<format>  its app-ready variant (export --app: batch 1, no variable tensors,
                                             float I/O; edgeseq.export.app), and <arch>-<recipe>-step-app.<format>
    ROOT/<arch>/<arch>-<recipe>@<graph>.<format>  a graph candidate (export --graph auto): the recipe built
                                             with that graph, to be measured where it runs (lstm-dynamic@hoisted.tflite)
    ROOT/<arch>/<arch>.golden.npz            the reference model's outputs on fixed digits (parity on a device)
    <file>.json                              the manifest beside any of them
    <stem>-vela-<accelerator>.tflite         a file compiled by Vela for an Ethos-U NPU (edgeseq ethos), with
      and its <file>.vela.json               a plain sidecar, not a manifest: no runtime here runs it

Results are joined on a file's sha256 or on its `FileKey`, never by re-parsing names elsewhere.
Importing this module imports nothing heavy (the device side uses it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgeseq import formats
from edgeseq.core.errors import IntegrityError, shown
from edgeseq.formats import FORMATS

MANIFEST_SUFFIX = ".json"
HISTORY_NAME = "history.json"
GOLDEN_SUFFIX = ".golden.npz"
VELA_SIDECAR_SUFFIX = ".vela.json"   # <file>.vela.json: a file Vela compiled for an Ethos-U NPU (edgeseq.appkit.ethos)
KERAS_FORMAT = "keras"
# format -> file suffix: the export formats' (edgeseq.formats' table), then the Keras model's
SUFFIXES = {**{row.name: row.suffix for row in FORMATS.values()}, KERAS_FORMAT: ".keras"}
EXPORT_SUFFIXES = formats.EXPORT_SUFFIXES
MODEL_SUFFIXES = (*EXPORT_SUFFIXES, ".keras")
STEP_TAG = "-step"
APP_TAG = "-app"               # after STEP_TAG: <arch>-<recipe>[-step]-app.<format>, the app-ready variant
APP_SECTION = "app_variant"    # an app-ready variant's manifest section (edgeseq.export.app)
GRAPH_TAG = "@"                # <arch>-<recipe>@<graph>: a graph candidate; neither a model nor a recipe holds one
CANDIDATE_SECTION = "graph_candidate"   # a candidate's manifest section: {"graph": <graph>, "table_graph": ...}
STEP_KIND = "step-model"       # a step model's manifest "kind"
NAME_MAX = 100                 # characters in a name read from a file (a model, a recipe, a sidecar's name)


def plain_name(value: Any, what: str, source: Any = None) -> str:
    """The one rule for a name read from a file (a manifest, a sidecar, a results row, a device's results, the
    facts embedded in a model): it is a name, never a path. A name with a path separator, `.` or `..`, a
    drive, a control character (NUL, newline, ...), nothing in it or more than NAME_MAX characters is an
    IntegrityError in one line naming `source` (the file it was read from) and `what` (the field)."""
    text = value if isinstance(value, str) else None
    where = f"{shown(source)}: " if source is not None else ""
    if text is None:
        raise IntegrityError(f"{where}{what} is a JSON {type(value).__name__}, not a name")
    problem = ("is empty" if not text.strip() else
               f"is longer than {NAME_MAX} characters" if len(text) > NAME_MAX else
               "is a path, not a name" if "/" in text or "\\" in text or text in (".", "..") or ":" in text else
               "holds a control character" if not text.isprintable() else None)
    if problem:
        raise IntegrityError(f"{where}{what} {shown(repr(text[:NAME_MAX]))} {problem}: a name read from a file"
                             " is never a path")
    return text


def child(folder: Path, name: Any, what: str, source: Any = None) -> Path:
    """FOLDER/NAME for a `name` read from a file (or built from names read from files): `plain_name`'s rule,
    so the path is always directly inside `folder`, whether it is read or written."""
    path = Path(folder) / plain_name(name, what, source)
    if path.parent != Path(folder):      # the rule guarantees it; said here so that no caller relies on luck
        raise IntegrityError(f"{shown(source or folder)}: {what} {shown(name)!r} resolves outside {shown(folder)}")
    return path


@dataclass(frozen=True, order=True)
class FileKey:
    """What a file is: architecture, format (tflite | onnx | keras), recipe (fp32 for a .keras model),
    whether it is the step model of that recipe (streaming) rather than the whole-sequence file, and `graph`, the
    graph a candidate file is tagged with (export --graph auto); None for the recipe's own file, whatever its
    graph (its manifest's `graph` says which)."""
    model: str
    format: str
    recipe: str
    step: bool = False
    graph: str | None = None
    app: bool = False           # the app-ready variant (export --app)

    def __post_init__(self) -> None:
        """Every field is a name (plain_name): a key built from a manifest or a results row never makes a path
        that leaves its folder."""
        for field_name in ("model", "format", "recipe"):
            plain_name(getattr(self, field_name), field_name)
        if self.graph is not None:
            plain_name(self.graph, "graph")
        if any(GRAPH_TAG in (v or "") for v in (self.model, self.recipe, self.graph)):
            raise IntegrityError(f"a model, recipe or graph name holds {GRAPH_TAG!r}: {self.model!r},"
                                 f" {self.recipe!r}, {self.graph!r}")

    @property
    def filename(self) -> str:
        if self.format == KERAS_FORMAT:
            return f"{self.model}{SUFFIXES[KERAS_FORMAT]}"
        tag = f"{GRAPH_TAG}{self.graph}" if self.graph else ""
        return (f"{self.model}-{self.recipe}{tag}{STEP_TAG if self.step else ''}{APP_TAG if self.app else ''}"
                f"{SUFFIXES[self.format]}")

    @property
    def label(self) -> str:
        """model format/recipe, with "step" for a step model and "@graph" for a candidate: how tables name the
        file."""
        tag = f" {GRAPH_TAG}{self.graph}" if self.graph else ""
        return f"{self.model} {self.format}/{self.recipe}{tag}{' step' if self.step else ''}{' app' if self.app else ''}"

    @property
    def is_model(self) -> bool:
        """A trained Keras model (the reference), not an exported file."""
        return self.format == KERAS_FORMAT

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_key(arch: str) -> FileKey:
    return FileKey(str(arch), KERAS_FORMAT, "fp32")


def arch_dir(root: Path, arch: str) -> Path:
    return child(root, str(arch), "architecture")


def model_path(root: Path, arch: str) -> Path:
    """ROOT/<arch>/<arch>.keras"""
    return arch_dir(root, arch) / model_key(arch).filename


def history_path(model: Path) -> Path:
    return Path(model).parent / HISTORY_NAME


def golden_path(folder: Path, arch: str) -> Path:
    """FOLDER/<arch>.golden.npz: one per architecture, shared by every file exported from its model."""
    return child(folder, f"{arch}{GOLDEN_SUFFIX}", "golden outputs")


def named_golden(path: Path, manifest: Any) -> Path | None:
    """The golden sidecar `path`'s manifest names (`golden.file`: a name beside the file, never a path), or None
    when the manifest names none."""
    recorded = manifest.golden if manifest else None
    if not recorded or not isinstance(recorded.get("file"), str):
        return None
    return child(Path(path).parent, recorded["file"], "golden.file", manifest_path(path))


def exported_path(root: Path, arch: str, fmt: str, recipe: str, step: bool = False, graph: str | None = None,
                  app: bool = False) -> Path:
    """ROOT/<arch>/<arch>-<recipe>.<format>, ROOT/<arch>/<arch>-<recipe>-step.<format> for its step model,
    ROOT/<arch>/<arch>-<recipe>@<graph>.<format> for a graph candidate, with -app before the suffix for the
    app-ready variant"""
    return arch_dir(root, arch) / FileKey(str(arch), str(fmt), str(recipe), step, graph, app).filename


def manifest_path(path: Path) -> Path:
    """<file>.json beside the file."""
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


def sidecars(path: Path) -> list[Path]:
    """The files that travel with `path` when it is copied: its manifest, a model's history, an exported
    file's golden outputs."""
    found = [manifest_path(path)]
    if Path(path).suffix == SUFFIXES[KERAS_FORMAT]:
        found.append(history_path(path))
    elif (key := parse(path)) is not None:
        found.append(golden_path(Path(path).parent, key.model))
    return [p for p in found if p.is_file()]


def format_of(path: Path) -> str | None:
    """tflite | onnx | keras from the suffix, or None for any other file."""
    suffix = Path(path).suffix
    return next((fmt for fmt, s in SUFFIXES.items() if s == suffix), None)


def parse(path: Path) -> FileKey | None:
    """The key a file's name gives under the naming rule, or None when the name does not follow it."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        return None
    if fmt == KERAS_FORMAT:
        try:
            return model_key(path.stem) if path.stem else None
        except IntegrityError:
            return None
    stem = path.stem
    app = stem.endswith(APP_TAG)
    stem = stem.removesuffix(APP_TAG) if app else stem
    step = stem.endswith(STEP_TAG)
    named, at, graph = (stem.removesuffix(STEP_TAG) if step else stem).partition(GRAPH_TAG)
    model, dash, recipe = named.rpartition("-")  # recipes have no dash
    if not (model and dash and recipe) or (at and not graph):
        return None
    try:
        return FileKey(model, fmt, recipe, step, graph or None, app)
    except IntegrityError:       # a name no export writes (`..-fp32.tflite`): it does not follow the rule
        return None


def key_of(path: Path, manifest: Any) -> FileKey | None:
    """A file's key: from its manifest where it has one (the manifest is the file's own word), else its name."""
    parsed = parse(path)
    fmt = format_of(path)
    source = manifest_path(path)
    named = manifest.architecture if manifest else None
    model = plain_name(named, "architecture", source) if named else (parsed.model if parsed else None)
    named = manifest.recipe if manifest else None
    recipe = plain_name(named, "recipe", source) if named else (parsed.recipe if parsed else None)
    if fmt == KERAS_FORMAT:
        recipe = "fp32"
    if not (model and fmt and recipe):
        return None
    step = manifest.kind == STEP_KIND if manifest else bool(parsed and parsed.step)
    app = True if manifest and manifest.app_variant else bool(parsed and parsed.app)
    return FileKey(str(model), fmt, str(recipe), step, candidate_graph(path, manifest), app)


def candidate_graph(path: Path, manifest: Any) -> str | None:
    """The graph a candidate file is tagged with: its manifest's `graph_candidate` section where it has one (a
    renamed candidate still says what it is), else the `@<graph>` of its name; None for a recipe's own file."""
    if manifest is not None and manifest.graph_candidate is not None:
        return plain_name(manifest.graph_candidate.get("graph"), f"{CANDIDATE_SECTION}.graph", manifest_path(path))
    parsed = parse(path)
    return parsed.graph if parsed else None

