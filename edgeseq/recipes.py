"""The recipes table: one row per (format, quantization), carrying everything about it: the default graph per
model family (cell and activation: edgeseq.models.Family; every variant of a family gets the same graph, and
the two seeds keep theirs), the graphs it may use (edgeseq.graphs), the parity tolerance and the converter
settings. The converters read these settings; nobody branches on a recipe's name. The measured notes (why a
graph was chosen, with when and on which machine it was measured) are data: NOTES_FILE, shipped beside this
module, read by load_notes.

Importing this module needs no TensorFlow (validate and bench read tolerances from it on a device).
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from importlib import resources
from typing import Any

from edgeseq.core.errors import IntegrityError
from edgeseq.graphs import APP_FALLBACK, GRAPHS, Graph
from edgeseq.core.layout import SUFFIXES
from edgeseq.models import Arch, Cell, Family, Variant, variant


class Format(str, enum.Enum):
    TFLITE = "tflite"
    ONNX = "onnx"

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.value]


class Quant(str, enum.Enum):
    FP32 = "fp32"
    FP16 = "fp16"
    DYNAMIC = "dynamic"
    INT8 = "int8"
    INT16X8 = "int16x8"
    STATIC = "static"


@dataclass(frozen=True)
class Tolerance:
    """Parity limits against the reference; None means not checked."""
    max_abs_diff: float | None = None
    min_agreement: float | None = None
    min_delta_accuracy_pp: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Tolerance:
        """Back from `to_dict()` (a manifest's `tolerance`); ValueError for anything else."""
        if not isinstance(data, dict) or set(data) - set(cls.__dataclass_fields__):
            raise ValueError(f"expected an object with {', '.join(cls.__dataclass_fields__)}, got {data!r}")
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))) for v in data.values()):
            raise ValueError(f"limits must be numbers or null, got {data!r}")
        if any(v is not None and not math.isfinite(v) for v in data.values()):
            raise ValueError(f"limits must be finite numbers, got {data!r}")
        return cls(**{k: None if v is None else float(v) for k, v in data.items()})


FLOAT_EXACT = Tolerance(max_abs_diff=1e-4, min_agreement=0.999)
HALF = Tolerance(min_agreement=0.995)
QUANTIZED = Tolerance(min_delta_accuracy_pp=-1.0)


class OpsSet(str, enum.Enum):
    """tf.lite.OpsSet members (by name): builtin ops only, never SELECT_TF_OPS."""
    BUILTINS = "TFLITE_BUILTINS"
    BUILTINS_INT8 = "TFLITE_BUILTINS_INT8"
    INT16_ACTIVATIONS = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"


@dataclass(frozen=True)
class TFLiteSettings:
    """TFLiteConverter settings: Optimize.DEFAULT or not, supported types, the ops set, integer I/O."""
    optimize: bool = False
    supported_types: tuple[str, ...] = ()      # tf dtype names, e.g. ("float16",)
    ops_set: OpsSet = OpsSet.BUILTINS
    io_type: str | None = None                 # "int8": integer input and output tensors


class OnnxQuantizer(str, enum.Enum):
    NONE = "none"
    DYNAMIC = "dynamic"       # onnxruntime.quantization.quantize_dynamic
    STATIC = "static"         # onnxruntime.quantization.quantize_static, QDQ


@dataclass(frozen=True)
class OnnxSettings:
    quantizer: OnnxQuantizer = OnnxQuantizer.NONE
    weight_type: str = "QInt8"                 # onnxruntime.quantization.QuantType member
    activation_type: str = "QInt8"
    quant_format: str = "QDQ"                  # onnxruntime.quantization.QuantFormat member (static only)
    calibrate_method: str = "MinMax"           # onnxruntime.quantization.CalibrationMethod member (static only)
    per_channel: bool = False                  # per-channel weight scales (static only)
    float_layers: tuple[str, ...] = ()         # Keras layers left in float (static only; export.onnx.layer_nodes)

    def __post_init__(self) -> None:
        object.__setattr__(self, "float_layers", tuple(self.float_layers))   # a list from JSON: the same settings

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.value if isinstance(v, enum.Enum) else list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Recipe:
    format: Format
    quant: Quant
    description: str
    graphs: dict[Family, Graph | None]    # the graph used when --graph is not given; None: no working graph known
    allowed_graphs: tuple[Graph, ...]
    tolerance: Tolerance
    tflite: TFLiteSettings | None = None
    onnx: OnnxSettings | None = None
    calibrated: bool = False              # needs a representative sample of training digits
    io_dtype: str = "float32"
    notes: dict[Family, str] = field(default_factory=dict)   # why a graph was chosen, or none (load_notes)
    streaming: bool = False               # export --streaming makes its step model by default (STREAMING_NOTE)

    @property
    def name(self) -> str:
        return self.quant.value

    @property
    def key(self) -> str:
        return f"{self.format.value}/{self.name}"

    @property
    def integer(self) -> bool:
        """Full-integer activations (a calibrated TFLite ops set)."""
        return self.tflite is not None and self.tflite.ops_set is not OpsSet.BUILTINS

    def graph_for(self, model: str | Arch | Variant) -> Graph | None:
        """The table's graph for a model (a seed, a variant or its name), by its family; None: no working graph.
        For a user's own model whose layers the family's graph cannot take (edgeseq.own_model), the first graph
        of the recipe they can (note_for says so)."""
        v = variant(model)
        graph = self.graphs.get(v.family)
        if graph is None or self._layers_problem(v, graph) is None:
            return graph
        return next((g for g in self.allowed_graphs if g is not Graph.STEP and self.graph_problem(v, g) is None), None)

    @staticmethod
    def _layers_problem(v: Variant, graph: Graph) -> str | None:
        row = GRAPHS[graph]
        return v.layer_problem(graph.value, written=row.fused or row.hoisted)

    def app_graph_for(self, model: str | Arch | Variant) -> Graph | None:
        """The graph of the app-ready variant (export --app): the table's graph unless an app runtime cannot load
        it (GraphRow.app_problem), then the first of APP_FALLBACK the recipe can build for the model."""
        graph = self.graph_for(model)
        if graph is None or GRAPHS[graph].app_problem is None:
            return graph
        return next((g for g in APP_FALLBACK if g in self.allowed_graphs and self.graph_problem(model, g) is None),
                    None)

    def note_for(self, model: str | Arch | Variant) -> str:
        """Why the table chose the model's graph, or why it has none."""
        v = variant(model)
        table = self.graphs.get(v.family)
        if table is not None and (problem := self._layers_problem(v, table)) is not None:
            chosen = self.graph_for(v)
            return f"{problem}; {'the recipe' if chosen else 'no other graph of the recipe works either'}" + (
                f"'s first graph that can: {chosen.value}" if chosen else "")
        return self.notes.get(v.family, "no working graph for this architecture")

    def graph_problem(self, arch: str | Arch | Variant, graph: Graph | None) -> str | None:
        """Why `graph` cannot be built for the model `arch` with this recipe, or None."""
        if graph is None:
            return None
        v = variant(arch)
        if graph is Graph.STEP:       # the step model is written out from the weights: every recipe has one
            return v.layer_problem(graph.value, written=True)
        row = GRAPHS[graph]
        if graph not in self.allowed_graphs or any(c not in row.cells for c in v.cells):
            return f"graph {graph.value} is not available for {v.name} {self.key}" + (
                f" (it takes {', '.join(c.layer for c in row.cells)} layers only)" if graph in self.allowed_graphs
                else "")
        if (problem := self._layers_problem(v, graph)) is not None:
            return problem
        if self.integer and any(a not in row.integer_activations for a in v.activations):
            return (f"graph {graph.value} is not available for {v.name} {self.key}: its full-integer kernel takes"
                    f" {', '.join(a.value for a in row.integer_activations)} only")
        return None

    def candidates(self, arch: str | Arch | Variant) -> list[tuple[Graph, str | None]]:
        """The whole-sequence graphs of this recipe for the model (export --graph auto), each with why it cannot
        be built (graph_problem) or None: every allowed graph but the step model, the table's own first."""
        graphs = sorted((g for g in self.allowed_graphs if g is not Graph.STEP),
                        key=lambda g: g is not self.graph_for(arch))
        return [(g, self.graph_problem(arch, g)) for g in graphs]

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format.value, "recipe": self.name, "description": self.description,
                "graphs": {a.value: g.value if g else None for a, g in self.graphs.items()},
                "calibrated": self.calibrated, "io_dtype": self.io_dtype, "tolerance": self.tolerance.to_dict(),
                "streaming": self.streaming}


_T, _O = Format.TFLITE, Format.ONNX
_L, _U, _U1, _F, _H = Graph.LOOP, Graph.UNROLLED, Graph.UNROLLED_B1, Graph.FUSED, Graph.HOISTED
NOTES_FILE = "recipes_notes.json"   # the measured notes, shipped in the package (pyproject package-data)
NOTE_FIELDS = ("recipe", "family", "text", "measured", "machine")


def _per_family(**given: Any) -> dict[Family, Any]:
    """A value per family from keywords: a cell (`rnn`, `gru`, `lstm`: both activations) or one family
    (`lstm_tanh`), the family winning. Families named nowhere are left out."""
    found: dict[Family, Any] = {}
    for family in Family:
        key = family.value.replace("-", "_")
        if key in given:
            found[family] = given[key]
        elif family.cell.value in given:
            found[family] = given[family.cell.value]
    unknown = set(given) - {f.value.replace("-", "_") for f in Family} - {c.value for c in Cell}
    if unknown:
        raise ValueError(f"unknown family {sorted(unknown)}")
    return found


def _graphs(**given: Graph | None) -> dict[Family, Graph | None]:
    """Every family's graph (a cell's value covers both activations)."""
    table = _per_family(**given)
    missing = [f.value for f in Family if f not in table]
    if missing:
        raise ValueError(f"the recipes table gives no graph for {', '.join(missing)}")
    return table


def load_notes(text: str | None = None) -> dict[str, dict[Family, str]]:
    """The measured notes of NOTES_FILE (or of `text`, in its format), per recipe key and family (a cell's note
    covers both activations, a family's wins): the text users read, ending with when and where it was measured.
    ValueError for a note without all of NOTE_FIELDS or with a date that is not YYYY-MM-DD."""
    if text is None:
        text = resources.files(__package__).joinpath(NOTES_FILE).read_text(encoding="utf-8")
    given: dict[str, dict[str, str]] = {}
    for note in json.loads(text)["notes"]:
        if not all(isinstance(note.get(k), str) and note[k].strip() for k in NOTE_FIELDS):
            raise ValueError(f"a note needs {', '.join(NOTE_FIELDS)}: {note!r}")
        date.fromisoformat(note["measured"])
        given.setdefault(note["recipe"], {})[note["family"].replace("-", "_")] = (
            f"{note['text']} [measured {note['measured']}, {note['machine']}]")
    return {key: _per_family(**by_family) for key, by_family in given.items()}

# export --streaming makes step models of these recipes unless --quant names others: fp32, and dynamic range, whose
# float activations keep the state in float (a full-integer step re-quantizes the state every row: see
# `edgeseq drift` and docs/results/streaming.md for what that costs)

_RECIPE_ROWS = [
    Recipe(_T, Quant.FP32, "float32, no quantization", _graphs(rnn=_U, gru=_U, lstm=_F), (_L, _U, _U1, _F, _H),
           FLOAT_EXACT, tflite=TFLiteSettings(), streaming=True),
    Recipe(_T, Quant.FP16, "float16 weights, float32 compute", _graphs(rnn=_U, gru=_U, lstm=_F), (_L, _U, _U1, _F, _H),
           HALF, tflite=TFLiteSettings(optimize=True, supported_types=("float16",))),
    Recipe(_T, Quant.DYNAMIC, "dynamic range: int8 weights, float activations",
           _graphs(rnn=_U, gru=_U, lstm=_F, lstm_relu=_H), (_L, _U, _U1, _F, _H), QUANTIZED,
           tflite=TFLiteSettings(optimize=True), streaming=True),
    Recipe(_T, Quant.INT8, "full integer: int8 weights and activations, int8 input/output",
           _graphs(rnn=_U, gru=_U, lstm=_U1), (_L, _U, _U1, _F, _H), QUANTIZED,
           tflite=TFLiteSettings(optimize=True, ops_set=OpsSet.BUILTINS_INT8, io_type="int8"),
           calibrated=True, io_dtype="int8"),
    Recipe(_T, Quant.INT16X8, "int16 activations, int8 weights, float32 input/output",
           _graphs(rnn=None, rnn_relu=_H, gru=None, lstm=_U), (_L, _U, _U1, _H), QUANTIZED,
           tflite=TFLiteSettings(optimize=True, ops_set=OpsSet.INT16_ACTIVATIONS), calibrated=True),
    Recipe(_O, Quant.FP32, "float32, no quantization", _graphs(rnn=_U, gru=_U, lstm=_L), (_L, _U), FLOAT_EXACT,
           onnx=OnnxSettings(), streaming=True),
    Recipe(_O, Quant.DYNAMIC, "onnxruntime quantize_dynamic: int8 weights", _graphs(rnn=_U, gru=_U, lstm=_L),
           (_L, _U), QUANTIZED, onnx=OnnxSettings(OnnxQuantizer.DYNAMIC), streaming=True),
    Recipe(_O, Quant.STATIC, "onnxruntime quantize_static (QDQ), calibrated", _graphs(rnn=_U, gru=_U, lstm=_L),
           (_L, _U), QUANTIZED, onnx=OnnxSettings(OnnxQuantizer.STATIC), calibrated=True),
]
_NOTES = load_notes()
_RECIPE_ROWS = [replace(r, notes=_NOTES.get(r.key, {})) for r in _RECIPE_ROWS]   # the facts, with their notes
RECIPES: dict[tuple[Format, Quant], Recipe] = {(r.format, r.quant): r for r in _RECIPE_ROWS}
FALLBACK_TOLERANCE = FLOAT_EXACT   # a file whose manifest names no known recipe is held to float parity


def recipe_names(fmt: Format) -> list[str]:
    return [q.value for (f, q) in RECIPES if f == fmt]


def recipe(fmt: Format | str, name: Quant | str) -> Recipe:
    fmt = Format(fmt)
    try:
        return RECIPES[(fmt, Quant(name))]
    except (KeyError, ValueError) as err:
        raise ValueError(f"unknown {fmt.value} recipe {str(getattr(name, 'value', name))!r}; choose from"
                         f" {', '.join(recipe_names(fmt))}") from err


def select(formats: list[Format], names: list[str] | None) -> list[Recipe]:
    """The recipes of `formats`, restricted to `names` (each must exist for at least one of the formats)."""
    if not names:
        return [r for r in _RECIPE_ROWS if r.format in formats]
    for name in names:
        if not any(r.format in formats and r.name == name for r in _RECIPE_ROWS):
            valid = "; ".join(f"{f.value}: {', '.join(recipe_names(f))}" for f in formats)
            raise ValueError(f"unknown recipe {name!r} for {'/'.join(f.value for f in formats)} ({valid})")
    return [r for r in _RECIPE_ROWS if r.format in formats and r.name in names]


def recipe_for_file(fmt: str | None, name: str | None) -> Recipe | None:
    """The row a file's manifest names, or None (an unknown or missing format or recipe)."""
    try:
        return RECIPES[(Format(fmt), Quant(name))]
    except (KeyError, ValueError):
        return None


def tolerance_for(fmt: str | None, name: str | None) -> Tolerance:
    """Today's table: the tolerance of a (format, recipe), float parity for an unknown one."""
    row = recipe_for_file(fmt, name)
    return row.tolerance if row else FALLBACK_TOLERANCE


TOLERANCE_FROM_MANIFEST = "manifest"


def tolerance_of(manifest: Any, fmt: str | None) -> tuple[Tolerance, str]:
    """The tolerance a file is held to, and where it comes from: the one its export wrote into its manifest;
    where the manifest has none (a file from elsewhere, an old manifest), the recipes table's for the format and
    recipe the manifest names, else float parity (FALLBACK_TOLERANCE). The source is always said."""
    if manifest is not None and manifest.tolerance is not None:
        try:
            return Tolerance.from_dict(manifest.tolerance), TOLERANCE_FROM_MANIFEST
        except ValueError as err:
            raise IntegrityError(f"its manifest's tolerance is not what edgeseq writes ({err})") from err
    why = "no manifest" if manifest is None else "not in its manifest"
    fmt, name = (manifest.format or fmt, manifest.recipe) if manifest is not None else (fmt, None)
    if recipe_for_file(fmt, name) is not None:
        return tolerance_for(fmt, name), f"recipes table ({fmt}/{name}: {why})"
    return FALLBACK_TOLERANCE, f"float parity ({why}, and no known recipe)"
