"""`report`: rendering only. Reads what train, export, validate and bench printed with --json, joins it per
file × runtime, picks a verdict under budgets, and writes report.md, report.html, report.json and PNGs.

Every figure shown comes from the input JSON (or is a difference or ratio of such figures).
Importing this module imports neither matplotlib nor TensorFlow.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgeseq.report import plots
from edgeseq.errors import DataError, EdgeseqError
from edgeseq.fileio import ensure_dir, read_json, write_bytes_atomic, write_json_atomic, write_text_atomic
from edgeseq.runtimes import RUNTIMES

KB = 1024  # bytes: sizes and --max-size-kb are in KB of 1024 bytes
INPUT_FILES = ("train.json", "export.json", "validate.json", "bench.json")
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {  # per input file, the keys every row must have
    "train.json": ("model", "test_accuracy", "parameters", "path", "sha256", "data"),
    "export.json": ("model", "format", "recipe", "graph", "status", "path", "size_bytes", "reason",
                    "recurrent_op"),
    "validate.json": ("path", "model", "format", "recipe", "runtime", "reference", "reference_kind",
                      "accuracy", "reference_accuracy", "delta_accuracy_pp", "agreement", "max_abs_diff",
                      "passed", "reason", "integrity", "data"),
    "bench.json": ("path", "model", "format", "recipe", "runtime", "status", "reason", "batch", "p50_us",
                   "p99_us", "size_bytes", "threads", "environment"),
}
NUMBER_KEYS = {"test_accuracy", "parameters", "size_bytes", "accuracy", "reference_accuracy",
               "delta_accuracy_pp", "agreement", "max_abs_diff", "batch", "p50_us", "p99_us", "threads"}
OBJECT_KEYS = {"data", "environment"}
RUNTIME_ORDER = ("litert", "onnxruntime", "keras")
DEFAULT_RUNTIME = {s.lstrip("."): row.name.value for row in RUNTIMES.values() for s in row.suffixes}
FIGURES = (("accuracy-vs-latency.png", "Accuracy vs p50 latency at batch 1 (log x) and the Pareto frontier"),
           ("size-per-recipe.png", "File size per recipe"),
           ("latency-per-runtime.png", "Best p50 latency per runtime at batch 1"))


# ---------------------------------------------------------------- inputs

@dataclass(frozen=True)
class Inputs:
    folder: str
    train: tuple[dict[str, Any], ...]
    export: tuple[dict[str, Any], ...]
    validate: tuple[dict[str, Any], ...]
    bench: tuple[dict[str, Any], ...]


def _check_row(name: str, number: int, row: Any) -> None:
    where = f"{name} row {number}"
    if not isinstance(row, dict):
        raise DataError(f"{where} is a {type(row).__name__}, expected an object")
    missing = [k for k in REQUIRED_KEYS[name] if k not in row]
    if missing:
        raise DataError(f"{where} ({row.get('path') or row.get('model')}) lacks {', '.join(missing)}")
    for key in REQUIRED_KEYS[name]:
        value = row[key]
        if key in NUMBER_KEYS and value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))):
            raise DataError(f"{where}: {key} should be a number, found {value!r}")
        if key in OBJECT_KEYS and not isinstance(value, dict):
            raise DataError(f"{where}: {key} should be an object, found {type(value).__name__}")
    if name == "validate.json" and not isinstance(row["passed"], bool):
        raise DataError(f"{where}: passed should be true or false, found {row['passed']!r}")
    if name == "validate.json" and row["passed"] and row["accuracy"] is None:
        raise DataError(f"{where}: passed without an accuracy")
    if name == "bench.json" and row["status"] == "ok" and (row["batch"] is None or row["p50_us"] is None):
        raise DataError(f"{where}: status ok without batch and p50_us")


def _load(folder: Path, name: str) -> tuple[dict[str, Any], ...]:
    try:
        rows = read_json(folder / name, name)
    except EdgeseqError as err:
        raise DataError(str(err)) from err
    if not isinstance(rows, list):
        raise DataError(f"{name} in {folder} is a JSON {type(rows).__name__}, expected the list that"
                        f" `edgeseq {name[:-5]} --json` prints")
    if not rows:
        raise DataError(f"{name} in {folder} has no rows")
    for number, row in enumerate(rows, 1):
        _check_row(name, number, row)
    return tuple(rows)


def read_inputs(results: Path) -> Inputs:
    """The four --json outputs in `results`, checked row by row (a one-line DataError naming the file)."""
    results = Path(results)
    if not results.is_dir():
        raise DataError(f"results folder not found: {results}")
    train, export, validate, bench = (_load(results, name) for name in INPUT_FILES)
    return Inputs(str(results), train, export, validate, bench)


# ---------------------------------------------------------------- one row per file × runtime

def _identity(row: dict[str, Any]) -> tuple[str, str, str]:
    """(model, format, recipe); from the file name (lstm-fp16.tflite) where a row lacks them."""
    path = Path(str(row.get("path") or ""))
    stem_model, _, stem_recipe = path.stem.partition("-")
    fmt = row.get("format") or path.suffix.lstrip(".") or "?"
    recipe = row.get("recipe") or stem_recipe or ("fp32" if fmt == "keras" else "?")
    return str(row.get("model") or stem_model or "?"), str(fmt), str(recipe)


@dataclass(frozen=True)
class FileRow:
    model: str
    format: str
    recipe: str
    runtime: str
    path: str | None
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

    @property
    def label(self) -> str:
        name = f"{self.model} keras" if self.baseline else f"{self.model} {self.format}/{self.recipe}"
        return name if DEFAULT_RUNTIME.get(self.format) == self.runtime else f"{name} ({self.runtime})"

    @property
    def measured(self) -> bool:
        return self.bench_status == "ok" and self.p50_us is not None

    @property
    def candidate(self) -> bool:
        return not self.baseline and self.passed is True and self.measured

    @property
    def parity(self) -> str:
        if self.baseline:
            return "reference"
        if self.passed is None:
            return "not validated"
        return "pass" if self.passed else f"FAIL: {self.parity_reason}"

    def summary(self) -> dict[str, Any]:
        return {"file": self.label, "path": self.path, "runtime": self.runtime, "accuracy": self.accuracy,
                "p50_us": self.p50_us, "p99_us": self.p99_us, "size_bytes": self.size_bytes}

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, **asdict(self),
                "other_batches": [{"batch": b, "p50_us": p50, "p99_us": p99}
                                  for b, p50, p99 in self.other_batches]}


def _baseline_accuracy(model: str, inputs: Inputs) -> tuple[float | None, str | None]:
    """The Keras model's accuracy: validate's reference_accuracy if Keras was the reference, else train's."""
    for row in inputs.validate:
        if (_identity(row)[0] == model and row["reference_kind"] == "keras model"
                and str(row["reference"] or "").endswith(".keras") and row["reference_accuracy"] is not None):
            return row["reference_accuracy"], "validate.json reference_accuracy (Keras reference)"
    for row in inputs.train:
        if row["model"] == model:
            return row["test_accuracy"], "train.json test_accuracy"
    return None, None


def file_rows(inputs: Inputs) -> tuple[FileRow, ...]:
    """Every exported file (and Keras baseline) × runtime, with its export, parity and batch-1 figures."""
    exports = {_identity(r): r for r in inputs.export}
    checks = {(_identity(r), r["runtime"]): r for r in inputs.validate}
    bench: dict[tuple[tuple[str, str, str], str], list[dict[str, Any]]] = {}
    for r in inputs.bench:
        bench.setdefault((_identity(r), r["runtime"]), []).append(r)
    keys = list(dict.fromkeys([*checks, *bench]))
    for ident in exports:  # attempted but neither validated nor measured
        if not any(k[0] == ident for k in keys):
            keys.append((ident, DEFAULT_RUNTIME.get(ident[1], "?")))
    models = list(dict.fromkeys([r["model"] for r in inputs.train] + [k[0][0] for k in keys]))
    order = list(exports)
    keys.sort(key=lambda k: (models.index(k[0][0]), k[0][1] == "keras",
                             order.index(k[0]) if k[0] in order else len(order), k))
    rows = []
    for ident, runtime in keys:
        model, fmt, recipe = ident
        ex, check = exports.get(ident) or {}, checks.get((ident, runtime))
        measured = bench.get((ident, runtime), [])
        ok = sorted((r for r in measured if r["status"] == "ok"), key=lambda r: r["batch"])
        one = next((r for r in ok if r["batch"] == 1), {})
        bad = next((r for r in measured if r["status"] != "ok"), {})
        if fmt == "keras":
            accuracy, source = _baseline_accuracy(model, inputs)
        else:
            accuracy, source = (check["accuracy"], "validate.json accuracy") if check else (None, None)
        size = ex.get("size_bytes") or next((r["size_bytes"] for r in measured if r["size_bytes"]), None)
        path = ex.get("path") or (check or {}).get("path") or next((r["path"] for r in measured), None)
        bench_status = "ok" if ok else bad.get("status")
        bench_reason = bad.get("reason") or ("not measured at batch 1" if ok and not one else None)
        rows.append(FileRow(
            model, fmt, recipe, runtime, path, fmt == "keras", ex.get("status"), ex.get("reason"), size,
            accuracy, source, (check or {}).get("reference_accuracy"), (check or {}).get("delta_accuracy_pp"),
            (check or {}).get("agreement"), check["passed"] if check else None, (check or {}).get("reason"),
            bench_status, bench_reason, one.get("p50_us"), one.get("p99_us"),
            tuple((r["batch"], r["p50_us"], r["p99_us"]) for r in ok if r["batch"] != 1)))
    return tuple(rows)


# ---------------------------------------------------------------- verdict under budgets

def _us(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def _kb(size: int | None) -> str:
    return "–" if size is None else f"{size / KB:,.1f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.2f}"


def _pp(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}"


@dataclass(frozen=True)
class Budgets:
    max_latency_us: float | None = None
    max_size_kb: float | None = None
    min_accuracy: float | None = None      # a fraction, e.g. 0.97

    def __post_init__(self) -> None:
        for name in ("max_latency_us", "max_size_kb"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise EdgeseqError(f"{name.replace('_', '-')} must be positive, got {value:g}")
        if self.min_accuracy is not None and not 0 < self.min_accuracy <= 1:
            raise EdgeseqError(f"min-accuracy is a fraction between 0 and 1 (e.g. 0.97),"
                               f" got {self.min_accuracy:g}")

    def misses(self, row: FileRow) -> list[str]:
        """The budgets `row` misses ([] when it fits); an unknown figure misses its budget."""
        out = []
        if self.max_latency_us is not None and (row.p50_us is None or row.p50_us > self.max_latency_us):
            out.append("latency")
        if self.max_size_kb is not None and (row.size_bytes is None
                                             or row.size_bytes / KB > self.max_size_kb):
            out.append("size")
        if self.min_accuracy is not None and (row.accuracy is None or row.accuracy < self.min_accuracy):
            out.append("accuracy")
        return out

    def describe(self) -> str:
        parts = [f"p50 ≤ {self.max_latency_us:g} µs" if self.max_latency_us is not None else "",
                 f"size ≤ {self.max_size_kb:g} KB" if self.max_size_kb is not None else "",
                 f"accuracy ≥ {self.min_accuracy * 100:g} %" if self.min_accuracy is not None else ""]
        return ", ".join(p for p in parts if p) or "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArchVerdict:
    model: str
    fastest: FileRow | None            # lowest batch-1 p50 among files that passed parity and measured ok
    smallest: FileRow | None           # smallest file that passed parity
    most_accurate: FileRow | None      # highest accuracy among files that passed parity
    recommended: FileRow | None        # fastest candidate meeting every budget, accurate within noise of the best
    none_fits: str | None              # why nothing is recommended
    failed: tuple[FileRow, ...]        # failed parity: never recommended
    left_out: tuple[FileRow, ...]      # not exported, not validated or not measured at batch 1

    def to_dict(self) -> dict[str, Any]:
        picks = {k: (getattr(self, k).summary() if getattr(self, k) else None)
                 for k in ("fastest", "smallest", "most_accurate", "recommended")}
        return {"model": self.model, **picks, "none_fits": self.none_fits,
                "failed_parity": [{**r.summary(), "reason": r.parity_reason} for r in self.failed],
                "left_out": [{**r.summary(), "why": why_left_out(r)} for r in self.left_out]}


def why_left_out(row: FileRow) -> str:
    if row.export_status not in (None, "ok"):
        return f"not exported ({row.export_status}: {row.export_reason})"
    if row.passed is None:
        return "not validated"
    return f"not measured at batch 1 ({row.bench_status or 'not in bench.json'}: {row.bench_reason})"


def _none_fits(model: str, candidates: list[FileRow], budgets: Budgets) -> str:
    if not candidates:
        return f"none fits: no {model} file passed parity and was measured at batch 1"
    fastest = min(candidates, key=lambda r: r.p50_us)
    sized = [r for r in candidates if r.size_bytes is not None]
    smallest = min(sized, key=lambda r: r.size_bytes) if sized else None
    best = max(candidates, key=lambda r: r.accuracy)
    why = []
    if budgets.max_latency_us is not None and fastest.p50_us > budgets.max_latency_us:
        why.append(f"fastest passing {model} file is {_us(fastest.p50_us)} µs > {budgets.max_latency_us:g} µs"
                   " budget")
    if budgets.max_size_kb is not None and (smallest is None
                                            or smallest.size_bytes / KB > budgets.max_size_kb):
        figure = f"{_kb(smallest.size_bytes)} KB" if smallest else "of unknown size"
        why.append(f"smallest passing {model} file is {figure} > {budgets.max_size_kb:g} KB budget")
    if budgets.min_accuracy is not None and best.accuracy < budgets.min_accuracy:
        why.append(f"most accurate passing {model} file is {_pct(best.accuracy)} %"
                   f" < {budgets.min_accuracy * 100:g} % budget")
    together = f"no passing {model} file meets all budgets ({budgets.describe()}) at once"
    return "none fits: " + ("; ".join(why) or together)


def architectures(inputs: Inputs) -> list[str]:
    """The architectures the results are about: those trained, then any other that was exported."""
    return list(dict.fromkeys([r["model"] for r in inputs.train] + [r["model"] for r in inputs.export]))


def accuracy_tie(best: float, test_digits: int | None) -> float:
    """Accuracy differences below two standard errors of the test-set estimate, sqrt(p(1-p)/n), are noise."""
    if not test_digits:
        return 0.0
    return 2 * (best * (1 - best) / test_digits) ** 0.5


def verdicts(rows: tuple[FileRow, ...], budgets: Budgets = Budgets(),
             models: list[str] | None = None, test_digits: int | None = None) -> tuple[ArchVerdict, ...]:
    """Per architecture (default: every model in `rows`): the fastest, smallest and most accurate passing
    file, and the one recommended under `budgets`: the fastest of the files whose accuracy is within
    noise (two standard errors on `test_digits`) of the most accurate file that fits."""
    out = []
    for model in models if models is not None else dict.fromkeys(r.model for r in rows):
        files = [r for r in rows if r.model == model and not r.baseline]
        passing = [r for r in files if r.passed is True]
        candidates = [r for r in passing if r.measured]
        fits = [r for r in candidates if not budgets.misses(r)]
        pick = None
        if fits:
            best = max(r.accuracy for r in fits)
            near = [r for r in fits if r.accuracy >= best - accuracy_tie(best, test_digits)]
            pick = min(near, key=lambda r: (r.p50_us, -r.accuracy))
        sized = [r for r in passing if r.size_bytes is not None]
        out.append(ArchVerdict(
            model,
            min(candidates, key=lambda r: (r.p50_us, -r.accuracy)) if candidates else None,
            min(sized, key=lambda r: (r.size_bytes, -r.accuracy)) if sized else None,
            max(passing, key=lambda r: (r.accuracy, -(r.p50_us or float("inf")))) if passing else None,
            pick, None if pick else _none_fits(model, candidates, budgets),
            tuple(r for r in files if r.passed is False),
            tuple(r for r in files if r.passed is not False and not r.candidate)))
    return tuple(out)


# ---------------------------------------------------------------- the RNN-vs-LSTM conclusion

@dataclass(frozen=True)
class Conclusion:
    text: str
    from_model: str | None = None
    to_model: str | None = None
    from_file: dict[str, Any] | None = None
    to_file: dict[str, Any] | None = None
    basis: dict[str, str] = field(default_factory=dict)     # model -> "recommended" | "most accurate"
    accuracy_gain_pp: float | None = None
    extra_latency_us: float | None = None
    extra_size_kb: float | None = None
    pp_per_us: float | None = None                           # None when the step costs no latency
    pp_per_kb: float | None = None
    latency_ratio: float | None = None
    size_ratio: float | None = None
    fastest: dict[str, Any] | None = None   # the same step between the two fastest passing files

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _diff(b: float | None, a: float | None, scale: float = 1.0) -> float | None:
    return None if a is None or b is None else round((b - a) / scale, 6)


def _per(gain: float, extra: float | None, unit: str) -> tuple[float | None, str]:
    if extra is None:
        return None, f"no {unit} figure to divide by"
    if extra <= 0:
        return None, f"no extra {unit} to divide by"
    return gain / extra, f"{gain / extra:.4f} pp per extra {unit}"


def _describe(row: FileRow, basis: str) -> str:
    return (f"the {row.model.upper()}'s {basis} file, {row.label} ({_pct(row.accuracy)} %,"
            f" p50 {_us(row.p50_us)} µs at batch 1, {_kb(row.size_bytes)} KB)")


def conclude(verdict: tuple[ArchVerdict, ...], parameters: dict[str, int]) -> Conclusion:
    """From the smaller architecture's recommended (else most accurate) file to the larger one's."""
    order = sorted(verdict, key=lambda v: (parameters.get(v.model, 0), v.model))
    if len(order) < 2:
        return Conclusion("No comparison: the results hold only one architecture.")
    small, large = order[0], order[-1]
    (a, basis_a), (b, basis_b) = ((v.recommended, "recommended") if v.recommended
                                  else (v.most_accurate, "most accurate") for v in (small, large))
    if a is None or b is None:
        missing = small.model if a is None else large.model
        return Conclusion(f"No comparison: no {missing} file passed parity.", small.model, large.model)
    gain = round((b.accuracy - a.accuracy) * 100, 6)
    extra_us, extra_kb = _diff(b.p50_us, a.p50_us), _diff(b.size_bytes, a.size_bytes, KB)
    per_us, us_text = _per(gain, extra_us, "µs")
    per_kb, kb_text = _per(gain, extra_kb, "KB")
    lat_ratio = b.p50_us / a.p50_us if extra_us is not None and a.p50_us else None
    size_ratio = b.size_bytes / a.size_bytes if extra_kb is not None and a.size_bytes else None
    text = (f"Going from {_describe(a, basis_a)} to {_describe(b, basis_b)}"
            f" {'gains' if gain >= 0 else 'loses'} {abs(gain):.2f} pp of test accuracy for"
            f" {'an unmeasured' if extra_us is None else f'{extra_us:+,.1f} µs of'} p50 latency"
            + (f" ({lat_ratio:.1f}× the time)" if lat_ratio else "")
            + f" and {'an unknown' if extra_kb is None else f'{extra_kb:+,.1f} KB of'} file size"
            + (f" ({size_ratio:.1f}× the bytes)" if size_ratio else "")
            + f": {us_text} and {kb_text}.")
    if per_us is not None and per_kb is not None:
        if gain > 0:
            text += (f" Each pp the {large.model.upper()} adds costs {1 / per_us:,.1f} µs and"
                     f" {1 / per_kb:,.1f} KB")
        else:
            text += f" The {large.model.upper()} file is slower and larger without being more accurate"
        text += " on this machine, for these files, these runtimes and batch 1."
    fa, fb = small.fastest, large.fastest
    fastest = None
    if fa and fb and (fa, fb) != (a, b):
        fastest = {"from_file": fa.summary(), "to_file": fb.summary(),
                   "accuracy_gain_pp": round((fb.accuracy - fa.accuracy) * 100, 6),
                   "extra_latency_us": _diff(fb.p50_us, fa.p50_us), "latency_ratio": fb.p50_us / fa.p50_us}
        text += (f" Between the fastest passing files instead ({fa.label}: {_us(fa.p50_us)} µs,"
                 f" {_pct(fa.accuracy)} %; {fb.label}: {_us(fb.p50_us)} µs, {_pct(fb.accuracy)} %)"
                 " the step is"
                 f" {fastest['accuracy_gain_pp']:+.2f} pp for {fastest['extra_latency_us']:+,.1f} µs"
                 f" ({fastest['latency_ratio']:.1f}× the time).")
    return Conclusion(text, small.model, large.model, a.summary(), b.summary(),
                      {small.model: basis_a, large.model: basis_b}, gain, extra_us, extra_kb, per_us, per_kb,
                      lat_ratio, size_ratio, fastest)


# ---------------------------------------------------------------- environment and data identity

def environments(inputs: Inputs) -> tuple[dict[str, Any], ...]:
    """The distinct machine fingerprints of the bench rows, with the thread count they were measured with."""
    seen: dict[str, dict[str, Any]] = {}
    for row in inputs.bench:
        env = dict(row["environment"])
        env.setdefault("threads", row["threads"])
        seen.setdefault(json.dumps(env, sort_keys=True), env)
    return tuple(seen.values())


def data_identities(inputs: Inputs) -> dict[str, Any]:
    checked = {json.dumps(r["data"], sort_keys=True): r["data"] for r in inputs.validate if r["data"]}
    return {"train": {r["model"]: r["data"] for r in inputs.train}, "validate": list(checked.values())}


def _warnings(envs: tuple[dict[str, Any], ...], data: dict[str, Any]) -> tuple[str, ...]:
    out = []
    if len(envs) > 1:
        out.append(f"bench.json rows come from {len(envs)} different environments: latencies may not compare")
    identities = [*data["train"].values(), *data["validate"]]
    if len({json.dumps(d.get("sha256"), sort_keys=True) for d in identities}) > 1:
        out.append("train.json and validate.json name different data (their sha256 differ)")
    counts = sorted({str(d.get("test_count")) for d in data["validate"]})
    if len(counts) > 1:
        out.append(f"validate.json rows used different numbers of test digits ({', '.join(counts)})")
    return tuple(out)


# ---------------------------------------------------------------- the document: blocks -> Markdown, HTML

Block = tuple[Any, ...]   # ("h", level, text) | ("p", text) | ("ul", items) | ("table", header, rows)
#                           | ("img", file name, caption)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


MARKDOWN: dict[str, Callable[..., str]] = {
    "h": lambda level, text: f"{'#' * level} {text}",
    "p": lambda text: text,
    "ul": lambda items: "\n".join(f"- {item}" for item in items),
    "table": lambda header, rows: "\n".join([f"| {' | '.join(map(_md_cell, header))} |",
                                             "|---" * len(header) + "|",
                                             *(f"| {' | '.join(map(_md_cell, r))} |" for r in rows)]),
    "img": lambda name, caption: f"![{caption}]({name})",
}


def to_markdown(blocks: list[Block]) -> str:
    return "\n\n".join(MARKDOWN[kind](*args) for kind, *args in blocks) + "\n"


HTML_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;"
              "color:#222;line-height:1.45}"
              "table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}"
              "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
              "th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}"
              "img{max-width:100%;height:auto;border:1px solid #ddd}figcaption{font-size:.9em;color:#555}")


def _html_table(header: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(blocks: list[Block], images: dict[str, bytes], title: str) -> str:
    """A self-contained page: inline CSS, PNGs as data URIs, no script and no external reference."""
    e = html.escape

    def image(name: str, caption: str) -> str:
        data = base64.b64encode(images[name]).decode("ascii")
        return (f'<figure><img alt="{e(caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{e(caption)}</figcaption></figure>")

    render: dict[str, Callable[..., str]] = {
        "h": lambda level, text: f"<h{level}>{e(text)}</h{level}>",
        "p": lambda text: f"<p>{e(text)}</p>",
        "ul": lambda items: "<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in items) + "</ul>",
        "table": _html_table,
        "img": image,
    }
    body = "\n".join(render[kind](*args) for kind, *args in blocks)
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{HTML_STYLE}</style></head><body>\n{body}\n</body></html>\n")


def _pick(row: FileRow | None, figure: str) -> str:
    if row is None:
        return "–"
    value = {"p50": f"{_us(row.p50_us)} µs", "size": f"{_kb(row.size_bytes)} KB",
             "accuracy": f"{_pct(row.accuracy)} %"}[figure]
    return f"{row.label} — {value}"


def _recommended(v: ArchVerdict) -> str:
    r = v.recommended
    if r is None:
        return v.none_fits or "none fits"
    return f"{r.label} — {_pct(r.accuracy)} %, {_us(r.p50_us)} µs, {_kb(r.size_bytes)} KB"


def _status(r: FileRow) -> str:
    if r.export_status not in (None, "ok"):
        return f"not exported ({r.export_status}): {r.export_reason}"
    if r.bench_status not in (None, "ok"):
        return f"bench {r.bench_status}: {r.bench_reason}"
    return r.bench_status or "not in bench.json"


def _every_file(rows: tuple[FileRow, ...]) -> Block:
    header = ["model", "format", "recipe", "runtime", "status", "size KB", "accuracy %", "Δ pp",
              "agreement %", "p50 µs (b1)", "p99 µs (b1)", "other batches p50/p99 µs", "parity"]
    body = [[r.model, r.format, r.recipe, r.runtime, _status(r), _kb(r.size_bytes), _pct(r.accuracy),
             _pp(r.delta_accuracy_pp), _pct(r.agreement), _us(r.p50_us), _us(r.p99_us),
             ", ".join(f"b{b}: {_us(p50)}/{_us(p99)}" for b, p50, p99 in r.other_batches) or "–", r.parity]
            for r in rows]
    return ("table", header, body)


def _environment(envs: tuple[dict[str, Any], ...]) -> list[Block]:
    blocks: list[Block] = [("h", 2, "Environment (from bench.json)")]
    for env in envs:
        libs = ", ".join(f"{k} {v}" for k, v in (env.get("libraries") or {}).items()) or "–"
        rows = [[k, env.get(k, "–")] for k in ("cpu", "cores", "machine", "os", "python", "threads")]
        rows += [["libraries", libs], ["thread variables", json.dumps(env.get("thread_env") or {})]]
        blocks.append(("table", ["", "value"], rows))
    return blocks


def _data(data: dict[str, Any]) -> list[Block]:
    identities = [(f"train.json ({m})", d) for m, d in data["train"].items()]
    identities += [("validate.json", d) for d in data["validate"]]
    rows = [[where, d.get("name", "–"), d.get("train_count", "–"), d.get("test_count", "–"),
             d.get("note", "")] for where, d in identities]
    digests = sorted({f"{name}: {digest}" for _, d in identities
                      for name, digest in (d.get("sha256") or {}).items()})
    return [("h", 2, "Data"), ("table", ["from", "name", "train digits", "test digits", "note"], rows),
            ("p", "sha256 of the data files:"), ("ul", digests or ["none recorded"])]


def document(rows: tuple[FileRow, ...], verdict: tuple[ArchVerdict, ...], conclusion: Conclusion,
             budgets: Budgets, envs: tuple[dict[str, Any], ...], data: dict[str, Any],
             warnings: tuple[str, ...], source: str) -> list[Block]:
    blocks: list[Block] = [
        ("h", 1, "edgeseq report"),
        ("p", f"Results from {source}: {sum(not r.baseline for r in rows)} exported file × runtime rows and"
              f" {sum(r.baseline for r in rows)} Keras baselines, {sum(r.measured for r in rows)} measured at"
              f" batch 1. Budgets: {budgets.describe()}. Sizes in KB of {KB} bytes."),
    ]
    if warnings:
        blocks += [("h", 2, "Warnings"), ("ul", list(warnings))]
    failed = [r for v in verdict for r in v.failed]
    left_out = [r for v in verdict for r in v.left_out]
    blocks += [
        ("h", 2, "Verdict"),
        ("table", ["architecture", "fastest (p50, batch 1)", "smallest", "most accurate",
                   f"recommended (budgets: {budgets.describe()})"],
         [[v.model.upper(), _pick(v.fastest, "p50"), _pick(v.smallest, "size"),
           _pick(v.most_accurate, "accuracy"), _recommended(v)] for v in verdict]),
        ("p", "Candidates are exported files that passed parity and were measured at batch 1; the"
              " recommended one is the fastest candidate meeting every budget whose accuracy is within two"
              " standard errors (sqrt(p(1-p)/n) on the test digits) of the most accurate one that does. The"
              " Keras models are the reference baselines, shown for comparison and never recommended."),
        ("h", 3, "Files that failed parity (never recommended)"),
        ("table", ["file", "runtime", "accuracy %", "Δ pp", "agreement %", "reason"],
         [[r.label, r.runtime, _pct(r.accuracy), _pp(r.delta_accuracy_pp), _pct(r.agreement), r.parity_reason]
          for r in failed]) if failed else ("p", "None."),
    ]
    if left_out:
        blocks += [("h", 3, "Not candidates for other reasons"),
                   ("ul", [f"{r.label}: {why_left_out(r)}" for r in left_out])]
    known = {v.model for v in verdict}
    stray = [r for r in rows if r.model not in known]
    if stray:
        blocks += [("h", 3, "Files of no known architecture (not in train.json or export.json)"),
                   ("ul", [f"{r.path} ({r.runtime}): parity {r.parity}; {_status(r)}" for r in stray])]
    names = [m.upper() for m in (conclusion.from_model, conclusion.to_model) if m]
    blocks += [("h", 2, " vs ".join(names) or "Architectures"), ("p", conclusion.text), ("h", 2, "Figures")]
    blocks += [("img", name, caption) for name, caption in FIGURES]
    blocks += [("h", 2, "Every file"), _every_file(rows)]
    return blocks + _environment(envs) + _data(data)


# ---------------------------------------------------------------- figures

def figures(rows: tuple[FileRow, ...], envs: tuple[dict[str, Any], ...], models: list[str]) -> dict[str, bytes]:
    """The three PNGs of the files of `models`, by file name."""
    rows = tuple(r for r in rows if r.model in models)
    threads = sorted({e.get("threads") for e in envs if e.get("threads") is not None})
    where = (f"{', '.join(map(str, threads)) or '?'} thread{'' if threads == [1] else 's'}"
             + (f", {envs[0].get('cpu')}" if len(envs) == 1 else ""))
    points = [plots.Point(r.label, r.model, r.runtime, r.p50_us, r.accuracy, r.baseline or r.passed is True,
                          r.baseline) for r in rows if r.p50_us is not None and r.accuracy is not None]
    files = {(r.model, r.format, r.recipe): r for r in rows}.values()  # one bar per file, any runtime
    sizes = [plots.Bar("keras" if r.baseline else f"{r.format}/{r.recipe}", r.model,
                       None if r.size_bytes is None else r.size_bytes / KB,
                       "" if r.size_bytes is not None
                       else "not exported" if r.export_status != "ok" else "n/a",
                       r.passed is False) for r in files]
    runtimes = [x for x in RUNTIME_ORDER if any(r.runtime == x for r in rows)]
    runtimes += sorted({r.runtime for r in rows} - set(runtimes))
    best = []
    for model in models:
        for runtime in runtimes:
            pool = [r for r in rows if r.model == model and r.runtime == runtime and r.measured
                    and (r.baseline or r.passed is True)]
            top = min(pool, key=lambda r: r.p50_us) if pool else None
            note = ("" if top.baseline else top.recipe) if top else "no passing file"
            best.append(plots.Bar(runtime, model, top.p50_us if top else None, note))
    (scatter, _), (size, _), (runtime_bars, _) = FIGURES
    return {
        scatter: plots.accuracy_vs_latency(points, models, f"Accuracy vs p50 latency at batch 1 ({where})"),
        size: plots.grouped_bars(sizes, models, "File size per recipe", "file size", "KB"),
        runtime_bars: plots.grouped_bars(best, models, f"Best p50 latency per runtime at batch 1 ({where})\n"
                                                       "files that passed parity, and the Keras models",
                                         "p50 latency", "µs"),
    }


# ---------------------------------------------------------------- the entry point

@dataclass(frozen=True)
class ReportResult:
    markdown_path: str
    html_path: str
    json_path: str
    plots: tuple[str, ...]
    budgets: Budgets
    verdict: tuple[ArchVerdict, ...]
    conclusion: Conclusion
    files: tuple[FileRow, ...]
    environment: tuple[dict[str, Any], ...]
    data: dict[str, Any]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"markdown_path": self.markdown_path, "html_path": self.html_path, "json_path": self.json_path,
                "plots": list(self.plots), "budgets": self.budgets.to_dict(),
                "verdict": [v.to_dict() for v in self.verdict], "conclusion": self.conclusion.to_dict(),
                "files": [r.to_dict() for r in self.files], "environment": list(self.environment),
                "data": self.data, "warnings": list(self.warnings)}


def build_report(results: Path, out: Path, budgets: Budgets = Budgets()) -> ReportResult:
    """Read RESULTS/{train,export,validate,bench}.json; write report.md, report.html, report.json and PNGs."""
    inputs = read_inputs(results)
    rows = file_rows(inputs)
    test_digits = max((r.get("digits") or 0 for r in inputs.validate), default=0) or None
    verdict = verdicts(rows, budgets, architectures(inputs), test_digits)
    conclusion = conclude(verdict, {r["model"]: r["parameters"] or 0 for r in inputs.train})
    envs, data = environments(inputs), data_identities(inputs)
    warnings = _warnings(envs, data)
    out = ensure_dir(Path(out))
    images = figures(rows, envs, [v.model for v in verdict])
    for name, png in images.items():
        write_bytes_atomic(out / name, png)
    blocks = document(rows, verdict, conclusion, budgets, envs, data, warnings, inputs.folder)
    result = ReportResult(str(out / "report.md"), str(out / "report.html"), str(out / "report.json"),
                          tuple(str(out / name) for name in images), budgets, verdict, conclusion, rows, envs,
                          data, warnings)
    write_text_atomic(out / "report.md", to_markdown(blocks))
    write_text_atomic(out / "report.html", to_html(blocks, images, "edgeseq report"))
    write_json_atomic(out / "report.json", result.to_dict())
    return result
