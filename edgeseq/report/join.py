"""One row per file × runtime × kernel setting (LiteRT's --tflite-kernels): what export, validate and bench said about each exported file (and each Keras
baseline), joined into a `FileRow`.

Rows are joined on the file's sha256 where they carry one, else on its `edgeseq.core.layout.FileKey` built from the
row's own model, format and recipe fields. File names are never parsed here: two rows about files with the
same name but different bytes (different sha256) are two files.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeseq.core import layout
from edgeseq.bench.runner import BenchResult
from edgeseq.export.exporter import ExportResult
from edgeseq.parity.compare import ParityReport
from edgeseq.report.inputs import Inputs
from edgeseq.runtimes import RUNTIMES, RuntimeName
from edgeseq.runtimes.table import TFLiteKernels, default_kernels, setting_of
from edgeseq.train import TrainResult

Row = TrainResult | ExportResult | ParityReport | BenchResult
SOURCES = {TrainResult: "train.json", ExportResult: "export.json", ParityReport: "validate.json",
           BenchResult: "bench.json"}
DEFAULT_RUNTIME = {fmt: runtime.name.value  # format -> the runtime that loads it when none is asked for
                   for fmt, suffix in layout.SUFFIXES.items()
                   for runtime in reversed(list(RUNTIMES.values())) if suffix in runtime.suffixes}


KERNEL_ORDER = [k.value for k in TFLiteKernels]      # a file's rows under several kernel settings: this order


@dataclass(frozen=True)
class FileRow:
    model: str
    format: str
    recipe: str
    runtime: str
    path: str | None
    sha256: str | None                   # what the rows were joined on (None: joined on model/format/recipe)
    baseline: bool                       # the Keras model: the reference, never a candidate
    export_status: str | None            # ok | unsupported | failed | None (not in export.json)
    export_reason: str | None
    size_bytes: int | None
    accuracy: float | None
    accuracy_source: str | None
    reference_accuracy: float | None
    delta_accuracy_pp: float | None
    agreement: float | None
    passed: bool | None                  # parity; None: not validated
    parity_reason: str | None
    bench_status: str | None             # ok | unsupported | failed | None (not in bench.json)
    bench_reason: str | None
    p50_us: float | None                 # at batch 1
    p99_us: float | None
    other_batches: tuple[tuple[int, float, float], ...] = ()   # (batch, p50_us, p99_us)
    parity_outcome: str | None = None    # pass | fail | inconclusive (validate's paired gate)
    step: bool = False                   # a step model: the streaming section's, never a candidate
    step_p50_us: float | None = None     # one row, at batch 1 (p50_us: the whole sequence fed row by row)
    step_p99_us: float | None = None
    file_memory_bytes: int | None = None     # bench's peak after load and inference minus the runtime's baseline
    runtime_memory_bytes: int | None = None  # the runtime's baseline: RSS after its import
    flops: int | None = None             # at batch 1 (bench.bound); a step model's: its whole sequence
    flops_source: str | None = None      # where the count comes from, or why there is none
    bound_us: float | None = None        # the FLOPs at the bench run's fp32 GEMM peak (its environment)
    bound_ratio: float | None = None     # p50_us / bound_us
    correct: str | None = None           # which test sequences it answered right (validate's bits; a baseline's:
    #                                      as the reference of a validate row)
    sequences: int | None = None         # how many test sequences `accuracy` and `correct` are on
    data_key: str | None = None          # which sequences: validate's data identity (data_key)
    tflm_footprint: dict[str, Any] | None = None   # the file's TFLM memory plan (a tflm bench row's footprint),
    #                                                on every runtime's row of the file: what --ram/--flash judge
    kernels: str | None = None           # LiteRT's kernel setting (rows before --tflite-kernels: its default)
    vs_kernels: dict[str, Any] | None = None   # validate's comparison with the file's first kernel setting

    @property
    def label(self) -> str:
        name = f"{self.model} keras" if self.baseline else \
            layout.FileKey(self.model, self.format, self.recipe, self.step, app=self.app).label
        setting = f"{self.runtime}, {self.kernels} kernels" if self.kernels != default_kernels(self.runtime) else None
        return name if DEFAULT_RUNTIME.get(self.format) == self.runtime and setting is None else \
            f"{name} ({setting or self.runtime})"

    @property
    def setting(self) -> str:
        """The runtime, and its kernel setting where not the default: 'litert (builtin kernels)'."""
        default = self.kernels == default_kernels(self.runtime)
        return self.runtime if default else f"{self.runtime} ({self.kernels} kernels)"

    @property
    def app(self) -> bool:
        """The app-ready variant (export --app), as its name says."""
        named = layout.parse(self.path) if self.path else None
        return bool(named and named.app)

    @property
    def measured(self) -> bool:
        return self.bench_status == "ok" and self.p50_us is not None

    @property
    def candidate(self) -> bool:
        return not self.baseline and not self.step and self.passed is True and self.measured

    @property
    def parity(self) -> str:
        if self.baseline:
            return "reference"
        if self.passed is None:
            return "not validated"
        if self.passed:
            return "pass"
        return self.parity_reason or "inconclusive" if self.parity_outcome == "inconclusive" \
            else f"FAIL: {self.parity_reason}"

    def summary(self) -> dict[str, Any]:
        return {"file": self.label, "path": self.path, "runtime": self.runtime, "accuracy": self.accuracy,
                "p50_us": self.p50_us, "p99_us": self.p99_us, "size_bytes": self.size_bytes,
                "file_memory_bytes": self.file_memory_bytes, "runtime_memory_bytes": self.runtime_memory_bytes}

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, **{k: v for k, v in asdict(self).items() if k != "correct"},
                "other_batches": [{"batch": b, "p50_us": p50, "p99_us": p99}
                                  for b, p50, p99 in self.other_batches]}


# ---------------------------------------------------------------- which rows are about the same file

def key(row: Row) -> layout.FileKey | None:
    """The row's FileKey from its own fields (a trained model's is model_key); None when it lacks one."""
    if isinstance(row, TrainResult):
        return layout.model_key(row.model)
    if row.format == layout.KERAS_FORMAT and row.model:
        return layout.model_key(row.model)
    if row.model and row.format and row.recipe:
        step = row.graph == "step" if isinstance(row, ExportResult) else bool(getattr(row, "step", False))
        named = layout.parse(getattr(row, "path", None) or "") if getattr(row, "path", None) else None
        return layout.FileKey(row.model, row.format, row.recipe, step, app=bool(named and named.app))
    return None


@dataclass
class _File:
    """One file and the rows about it."""
    key: layout.FileKey | None
    sha256: str | None
    train: TrainResult | None = None
    export: ExportResult | None = None
    checks: dict[tuple[str, str | None], ParityReport] = field(default_factory=dict)   # slot -> validate row
    bench: dict[tuple[str, str | None], list[BenchResult]] = field(default_factory=dict)  # slot -> bench rows
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if isinstance(row, TrainResult):
            self.train = self.train or row
        elif isinstance(row, ExportResult):
            self.export = self.export or row
        elif isinstance(row, ParityReport):
            self.checks[slot(row)] = row
        else:
            self.bench.setdefault(slot(row), []).append(row)


def slot(row: ParityReport | BenchResult) -> tuple[str, str | None]:
    """(runtime, kernel setting): what a file's rows are kept apart by (a row before --tflite-kernels ran on its
    runtime's default; a runtime without settings has none, whatever its row says)."""
    return row.runtime, setting_of(row.runtime, row.kernels)


def join(inputs: Inputs) -> tuple[list[_File], tuple[str, ...]]:
    """The files the rows are about, and a note for each row that could not be joined unambiguously.

    First every row carrying a sha256 joins the file of that sha256; then a row without one joins the one
    file of its FileKey (a row without either stands alone)."""
    rows: list[Row] = [*inputs.train, *inputs.export, *inputs.validate, *inputs.bench]
    files: list[_File] = []
    by_sha: dict[str, _File] = {}
    by_key: dict[layout.FileKey, list[_File]] = {}
    for row in (r for r in rows if r.sha256):
        f = by_sha.get(row.sha256)
        if f is None:
            f = by_sha[row.sha256] = _File(None, row.sha256)
            files.append(f)
        if f.key is None and key(row):   # the first row (train, export, ...) naming the file says what it is
            f.key = key(row)
            by_key.setdefault(f.key, []).append(f)
        f.add(row)
    unhashed: dict[Any, _File] = {}
    notes: list[str] = []
    for row in (r for r in rows if not r.sha256):
        k = key(row)
        known = by_key.get(k, []) if k else []
        if len(known) == 1:
            known[0].add(row)
            continue
        if len(known) > 1:
            notes.append(f"a {SOURCES[type(row)]} row about {row.path or k.filename} has no sha256 and"
                         f" {len(known)} files with different sha256 share its model, format and recipe:"
                         " it is joined to none of them")
        ident = k if k else ("path", row.path, row.format)
        if ident not in unhashed:
            unhashed[ident] = _File(k, None)
            files.append(unhashed[ident])
        unhashed[ident].add(row)
    return files, tuple(dict.fromkeys(notes))


def join_notes(inputs: Inputs) -> tuple[str, ...]:
    return join(inputs)[1]


# ---------------------------------------------------------------- one FileRow per file × runtime

def data_key(identity: dict[str, Any] | None) -> str | None:
    """What makes two rows' test sequences the same: their data identity, as one string."""
    return json.dumps(identity, sort_keys=True) if identity else None


def _as_reference(inputs: Inputs, model: str) -> ParityReport | None:
    """A validate row whose reference was this model's Keras file (it carries the model's own figures)."""
    return next((r for r in inputs.validate if r.model == model and r.reference_kind == "keras model"
                 and r.reference_accuracy is not None), None)


def _baseline_accuracy(f: _File, inputs: Inputs, model: str) -> tuple[float | None, str | None]:
    """The Keras model's accuracy: validate's reference_accuracy if the Keras model was the reference, else
    train's test_accuracy. None for a Keras file other than the model these results trained."""
    if f.train is None and any(r.model == model for r in inputs.train):
        return None, None
    if _as_reference(inputs, model) is not None:
        return _as_reference(inputs, model).reference_accuracy, "validate.json reference_accuracy (Keras reference)"
    if f.train is not None:
        return f.train.test_accuracy, "train.json test_accuracy"
    return None, None


def _per_sequence(f: _File, check: ParityReport | None, inputs: Inputs, model: str, baseline: bool) -> dict[str, Any]:
    """Which test sequences the file answered right, how many, and which data (for edgeseq.report.paired)."""
    if baseline and f.train is None and any(r.model == model for r in inputs.train):
        return {}                        # a Keras file other than the model these results trained
    row = _as_reference(inputs, model) if baseline else check
    if row is None:
        return {}
    bits = row.reference_correct if baseline else row.correct
    return {"correct": bits, "sequences": row.digits or None, "data_key": data_key(row.data)}


def _identity(f: _File) -> tuple[str, str, str]:
    if f.key:
        return f.key.model, f.key.format, f.key.recipe
    first = f.rows[0]
    fmt = getattr(first, "format", None) or layout.format_of(getattr(first, "path", None) or "") or "?"
    return str(getattr(first, "model", None) or "?"), fmt, str(getattr(first, "recipe", None) or "?")


def _file_row(f: _File, setting: tuple[str, str | None], inputs: Inputs) -> FileRow:
    model, fmt, recipe = _identity(f)
    runtime = setting[0]
    ex, check = f.export, f.checks.get(setting)
    measured = f.bench.get(setting, [])
    ok = sorted((r for r in measured if r.status == "ok"), key=lambda r: r.batch or 0)
    one = next((r for r in ok if r.batch == 1), None)
    bad = next((r for r in measured if r.status != "ok"), None)
    if fmt == layout.KERAS_FORMAT:
        accuracy, source = _baseline_accuracy(f, inputs, model)
    else:
        accuracy, source = (check.accuracy, "validate.json accuracy") if check else (None, None)
    size = (ex.size_bytes if ex else None) or next((r.size_bytes for r in measured if r.size_bytes), None)
    path = next((r.path for r in (ex, check, *measured, f.train) if r is not None and r.path), None)
    return FileRow(
        model, fmt, recipe, runtime, path, f.sha256, fmt == layout.KERAS_FORMAT,
        ex.status if ex else None, ex.reason if ex else None, size, accuracy, source,
        check.reference_accuracy if check else None, check.delta_accuracy_pp if check else None,
        check.agreement if check else None, check.passed if check else None, check.reason if check else None,
        "ok" if ok else (bad.status if bad else None),
        (bad.reason if bad else None) or ("not measured at batch 1" if ok and not one else None),
        one.p50_us if one else None, one.p99_us if one else None,
        tuple((r.batch, r.p50_us, r.p99_us) for r in ok if r.batch != 1), check.outcome if check else None,
        bool(f.key and f.key.step), one.step_p50_us if one else None, one.step_p99_us if one else None,
        file_memory_bytes=getattr(one, "file_memory_bytes", None) if one else None,
        runtime_memory_bytes=getattr(one, "rss_after_import_bytes", None) if one else None,
        **({k: getattr(one, k) for k in ("flops", "flops_source", "bound_us", "bound_ratio")} if one else {}),
        **_per_sequence(f, check, inputs, model, fmt == layout.KERAS_FORMAT),
        tflm_footprint=next((r.footprint for r in f.bench.get((RuntimeName.TFLM.value, None), []) if r.footprint),
                            None), kernels=setting[1], vs_kernels=check.vs_kernels if check else None)


def file_rows(inputs: Inputs) -> tuple[FileRow, ...]:
    """Every exported file (and Keras baseline) × runtime, with its export, parity and batch-1 figures."""
    files, _ = join(inputs)
    models = list(dict.fromkeys([r.model for r in inputs.train] + [_identity(f)[0] for f in files]))
    exports = {id(r): i for i, r in enumerate(inputs.export)}

    def order(f: _File) -> tuple[Any, ...]:
        model, fmt, recipe = _identity(f)
        index = exports.get(id(f.export), len(exports))
        return models.index(model), fmt == layout.KERAS_FORMAT, index, (model, fmt, recipe)

    rows = []
    for f in sorted(files, key=order):
        runtime = DEFAULT_RUNTIME.get(_identity(f)[1], "?")
        settings = list(dict.fromkeys([*f.checks, *f.bench])) or [(runtime, default_kernels(runtime))]
        rows += [_file_row(f, setting, inputs) for setting in
                 sorted(settings, key=lambda s: (s[0], KERNEL_ORDER.index(s[1]) if s[1] in KERNEL_ORDER else -1))]
    return tuple(rows)
