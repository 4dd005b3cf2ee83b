"""`report`: rendering only. Reads what train/export/validate/bench printed with --json, joins it per
file × runtime, picks a verdict under budgets, and writes report.md, report.html, report.json and PNGs.

Every figure shown comes from the input JSON (differences and ratios of measured numbers only).
Importing this module imports neither matplotlib nor TensorFlow.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeseq import plots
from edgeseq.errors import EdgeseqError
from edgeseq.fileio import ensure_dir, read_json, write_bytes_atomic, write_json_atomic, write_text_atomic
from edgeseq.runtimes import RUNTIMES

KB = 1024  # bytes; sizes and --max-size-kb are in KB of 1024 bytes
INPUT_FILES = ("train.json", "export.json", "validate.json", "bench.json")
REQUIRED_KEYS: dict[str, tuple[str, ...]] = {  # per input file, the keys every row must have
    "train.json": ("model", "test_accuracy", "parameters", "path", "sha256", "data"),
    "export.json": ("model", "format", "recipe", "graph", "status", "path", "size_bytes", "reason", "recurrent_op"),
    "validate.json": ("path", "model", "format", "recipe", "runtime", "reference", "reference_kind", "accuracy",
                      "reference_accuracy", "delta_accuracy_pp", "agreement", "max_abs_diff", "passed", "reason",
                      "integrity", "data"),
    "bench.json": ("path", "model", "format", "recipe", "runtime", "status", "reason", "batch", "p50_us", "p99_us",
                   "size_bytes", "threads", "environment"),
}
NUMBER_KEYS = {"test_accuracy", "parameters", "size_bytes", "accuracy", "reference_accuracy", "delta_accuracy_pp",
               "agreement", "max_abs_diff", "batch", "p50_us", "p99_us", "threads"}
DICT_KEYS = {"data", "environment"}
RUNTIME_ORDER = ("litert", "onnxruntime", "keras")
DEFAULT_RUNTIME = {s.lstrip("."): row.name.value for row in RUNTIMES.values() for s in row.suffixes}
IMAGES = {"accuracy_latency": ("accuracy-vs-latency.png", "Accuracy vs p50 latency at batch 1"),
          "size": ("size-per-recipe.png", "File size per recipe"),
          "runtime": ("latency-per-runtime.png", "Best p50 latency per runtime")}


class ReportInputError(EdgeseqError):
    """A results file that is missing, unreadable or not what the command prints with --json."""


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
        raise ReportInputError(f"{where} is a {type(row).__name__}, expected an object")
    missing = [k for k in REQUIRED_KEYS[name] if k not in row]
    if missing:
        raise ReportInputError(f"{where} ({row.get('path') or row.get('model')}) lacks {', '.join(missing)}")
    for key in REQUIRED_KEYS[name]:
        value = row[key]
        if key in NUMBER_KEYS and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ReportInputError(f"{where}: {key} should be a number, found {value!r}")
        if key in DICT_KEYS and not isinstance(value, dict):
            raise ReportInputError(f"{where}: {key} should be an object, found {type(value).__name__}")
    if name == "validate.json" and not isinstance(row["passed"], bool):
        raise ReportInputError(f"{where}: passed should be true or false, found {row['passed']!r}")
    if name == "validate.json" and row["passed"] and row["accuracy"] is None:
        raise ReportInputError(f"{where}: passed without an accuracy")
    if name == "bench.json" and row["status"] == "ok" and (row["batch"] is None or row["p50_us"] is None):
        raise ReportInputError(f"{where}: status ok without batch and p50_us")


def _load(folder: Path, name: str) -> tuple[dict[str, Any], ...]:
    try:
        rows = read_json(folder / name, name)
    except ReportInputError:
        raise
    except EdgeseqError as err:
        raise ReportInputError(str(err)) from err
    if not isinstance(rows, list):
        raise ReportInputError(f"{name} in {folder} is a JSON {type(rows).__name__}, expected the list that"
                               f" `edgeseq {name[:-5]} --json` prints")
    if not rows:
        raise ReportInputError(f"{name} in {folder} has no rows")
    for number, row in enumerate(rows, 1):
        _check_row(name, number, row)
    return tuple(rows)


def read_inputs(results: Path) -> Inputs:
    """The four --json outputs in `results`, checked row by row (one-line ReportInputError otherwise)."""
    results = Path(results)
    if not results.is_dir():
        raise ReportInputError(f"results folder not found: {results}")
    train, export, validate, bench = (_load(results, name) for name in INPUT_FILES)
    return Inputs(str(results), train, export, validate, bench)


# ---------------------------------------------------------------- one row per file × runtime

def _identity(row: dict[str, Any]) -> tuple[str, str, str]:
    """(model, format, recipe), falling back to the file name (lstm-fp16.tflite) when a row lacks them."""
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
    baseline: bool                       # the Keras model (reference), never a candidate
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
    p50_us: float | None                 # batch 1
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
                "other_batches": [{"batch": b, "p50_us": p50, "p99_us": p99} for b, p50, p99 in self.other_batches]}


def _baseline_accuracy(model: str, inputs: Inputs) -> tuple[float | None, str | None]:
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
    for ident in exports:  # exported (or attempted) but neither validated nor measured
        if not any(k[0] == ident for k in keys):
            keys.append((ident, DEFAULT_RUNTIME.get(ident[1], "?")))
    models = list(dict.fromkeys([r["model"] for r in inputs.train] + [k[0][0] for k in keys]))
    order = list(exports)
    keys.sort(key=lambda k: (models.index(k[0][0]), k[0][1] == "keras",
                             order.index(k[0]) if k[0] in order else len(order), k[0], k[1]))
    rows = []
    for ident, runtime in keys:
        model, fmt, recipe = ident
        ex, check, measured = exports.get(ident), checks.get((ident, runtime)), bench.get((ident, runtime), [])
        ok = sorted((r for r in measured if r["status"] == "ok"), key=lambda r: r["batch"])
        one = next((r for r in ok if r["batch"] == 1), None)
        bad = next((r for r in measured if r["status"] != "ok"), None)
        baseline = fmt == "keras"
        accuracy, source = (_baseline_accuracy(model, inputs) if baseline
                            else (check["accuracy"], "validate.json accuracy") if check else (None, None))
        size = (ex or {}).get("size_bytes") or next((r["size_bytes"] for r in measured if r["size_bytes"]), None)
        path = (ex or {}).get("path") or (check or {}).get("path") or next((r["path"] for r in measured), None)
        bench_status = "ok" if ok else bad["status"] if bad else None
        bench_reason = (bad or {}).get("reason") or (None if one or not ok else "not measured at batch 1")
        rows.append(FileRow(
            model, fmt, recipe, runtime, path, baseline, (ex or {}).get("status"), (ex or {}).get("reason"), size,
            accuracy, source, (check or {}).get("reference_accuracy"), (check or {}).get("delta_accuracy_pp"),
            (check or {}).get("agreement"), check["passed"] if check else None, (check or {}).get("reason"),
            bench_status, bench_reason, (one or {}).get("p50_us"), (one or {}).get("p99_us"),
            tuple((r["batch"], r["p50_us"], r["p99_us"]) for r in ok if r["batch"] != 1)))
    return tuple(rows)


# ---------------------------------------------------------------- verdict under budgets

def _us(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def _kb(size: int | None) -> str:
    return "–" if size is None else f"{size / KB:,.1f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v * 100:.2f}"


@dataclass(frozen=True)
class Budgets:
    max_latency_us: float | None = None
    max_size_kb: float | None = None
    min_accuracy: float | None = None      # a fraction, e.g. 0.97

    def __post_init__(self) -> None:
        for name in ("max_latency_us", "max_size_kb"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise EdgeseqError(f"{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.min_accuracy is not None and not 0 < self.min_accuracy <= 1:
            raise EdgeseqError(f"min-accuracy is a fraction between 0 and 1 (e.g. 0.97), got {self.min_accuracy}")

    def misses(self, row: FileRow) -> list[str]:
        """What `row` misses, one phrase per budget ([] when it fits)."""
        out = []
        if self.max_latency_us is not None and (row.p50_us is None or row.p50_us > self.max_latency_us):
            out.append("latency")
        if self.max_size_kb is not None and (row.size_bytes is None or row.size_bytes / KB > self.max_size_kb):
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
    fastest: FileRow | None
    smallest: FileRow | None
    most_accurate: FileRow | None
    recommended: FileRow | None
    none_fits: str | None              # why nothing is recommended
    failed: tuple[FileRow, ...]        # failed parity: never recommended
    left_out: tuple[FileRow, ...]      # not exported, not validated or not measured at batch 1

    def to_dict(self) -> dict[str, Any]:
        pick = {k: (getattr(self, k).summary() if getattr(self, k) else None)
                for k in ("fastest", "smallest", "most_accurate", "recommended")}
        return {"model": self.model, **pick, "none_fits": self.none_fits,
                "failed_parity": [{**r.summary(), "reason": r.parity_reason} for r in self.failed],
                "left_out": [{**r.summary(), "why": _why_left_out(r)} for r in self.left_out]}


def _why_left_out(row: FileRow) -> str:
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
    best = max(candidates, key=lambda r: r.accuracy)
    why = []
    if budgets.max_latency_us is not None and fastest.p50_us > budgets.max_latency_us:
        why.append(f"fastest passing {model} file is {_us(fastest.p50_us)} µs > {budgets.max_latency_us:g} µs budget")
    if budgets.max_size_kb is not None and (not sized or min(r.size_bytes for r in sized) / KB > budgets.max_size_kb):
        smallest = min(sized, key=lambda r: r.size_bytes) if sized else None
        figure = f"{_kb(smallest.size_bytes)} KB" if smallest else "of unknown size"
        why.append(f"smallest passing {model} file is {figure} > {budgets.max_size_kb:g} KB budget")
    if budgets.min_accuracy is not None and best.accuracy < budgets.min_accuracy:
        why.append(f"most accurate passing {model} file is {_pct(best.accuracy)} % < {budgets.min_accuracy * 100:g} %"
                   " budget")
    return "none fits: " + ("; ".join(why) or f"no passing {model} file meets all budgets ({budgets.describe()}) at once")


def verdicts(rows: tuple[FileRow, ...], budgets: Budgets = Budgets()) -> tuple[ArchVerdict, ...]:
    """Per architecture: fastest, smallest and most accurate passing file, and the one recommended under budgets."""
    out = []
    for model in dict.fromkeys(r.model for r in rows):
        files = [r for r in rows if r.model == model and not r.baseline]
        passing = [r for r in files if r.passed is True]
        candidates = [r for r in passing if r.measured]
        fits = [r for r in candidates if not budgets.misses(r)]
        pick = max(fits, key=lambda r: (r.accuracy, -r.p50_us)) if fits else None
        sized = [r for r in passing if r.size_bytes is not None]
        scored = [r for r in passing if r.accuracy is not None]
        out.append(ArchVerdict(
            model,
            min(candidates, key=lambda r: (r.p50_us, -r.accuracy)) if candidates else None,
            min(sized, key=lambda r: (r.size_bytes, -r.accuracy)) if sized else None,
            max(scored, key=lambda r: (r.accuracy, -(r.p50_us or float("inf")))) if scored else None,
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
    pp_per_us: float | None = None
    pp_per_kb: float | None = None
    latency_ratio: float | None = None
    size_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per(gain: float, extra: float | None, unit: str) -> tuple[float | None, str]:
    if extra is None:
        return None, f"an unknown {unit} cost"
    if extra <= 0:
        return None, f"{extra:+,.1f} {unit} (no {unit} cost)"
    return gain / extra, f"{gain / extra:.4f} pp per extra {unit}"


def conclude(verdict: tuple[ArchVerdict, ...], parameters: dict[str, int]) -> Conclusion:
    """From the smaller architecture's recommended (else most accurate) file to the larger one's."""
    order = sorted(verdict, key=lambda v: (parameters.get(v.model, 0), v.model))
    if len(order) < 2:
        return Conclusion("no comparison: the results hold only one architecture")
    small, large = order[0], order[-1]
    picks = {v.model: (v.recommended, "recommended") if v.recommended else (v.most_accurate, "most accurate")
             for v in (small, large)}
    (a, basis_a), (b, basis_b) = picks[small.model], picks[large.model]
    if a is None or b is None or a.accuracy is None or b.accuracy is None:
        missing = small.model if a is None or a.accuracy is None else large.model
        return Conclusion(f"no comparison: no {missing} file passed parity", small.model, large.model)
    gain = round((b.accuracy - a.accuracy) * 100, 6)
    extra_us = round(b.p50_us - a.p50_us, 6) if a.p50_us is not None and b.p50_us is not None else None
    extra_kb = (round((b.size_bytes - a.size_bytes) / KB, 6)
                if a.size_bytes is not None and b.size_bytes is not None else None)
    per_us, us_text = _per(gain, extra_us, "µs")
    per_kb, kb_text = _per(gain, extra_kb, "KB")
    lat_ratio = b.p50_us / a.p50_us if extra_us is not None and a.p50_us else None
    size_ratio = b.size_bytes / a.size_bytes if extra_kb is not None and a.size_bytes else None

    def describe(row: FileRow, basis: str, model: str) -> str:
        return (f"the {model.upper()}'s {basis} file, {row.label} ({_pct(row.accuracy)} %, p50 {_us(row.p50_us)} µs"
                f" at batch 1, {_kb(row.size_bytes)} KB)")

    verb = "gains" if gain >= 0 else "loses"
    text = (f"Going from {describe(a, basis_a, small.model)} to {describe(b, basis_b, large.model)} {verb}"
            f" {abs(gain):.2f} pp of test accuracy for"
            f" {'an unmeasured' if extra_us is None else f'{extra_us:+,.1f} µs of'} p50 latency"
            + (f" ({lat_ratio:.1f}× the time)" if lat_ratio else "")
            + f" and {'an unknown' if extra_kb is None else f'{extra_kb:+,.1f} KB of'} file size"
            + (f" ({size_ratio:.1f}× the bytes)" if size_ratio else "")
            + f": {us_text} and {kb_text}.")
    if per_us is not None and per_kb is not None:
        text += (f" Each pp the {large.model.upper()} adds costs {1 / per_us:,.1f} µs and {1 / per_kb:,.1f} KB"
                 if gain > 0 else f" The {large.model.upper()} is slower and larger without being more accurate")
        text += " on this machine; the figures hold for these files, these runtimes and batch 1 only."
    return Conclusion(text, small.model, large.model, a.summary(), b.summary(),
                      {small.model: basis_a, large.model: basis_b}, gain, extra_us, extra_kb, per_us, per_kb,
                      lat_ratio, size_ratio)


# ---------------------------------------------------------------- environment and data identity

def environments(inputs: Inputs) -> tuple[dict[str, Any], ...]:
    """The distinct machine fingerprints of the bench rows, with the thread counts they were measured with."""
    seen: dict[str, dict[str, Any]] = {}
    for row in inputs.bench:
        env = dict(row["environment"])
        env.setdefault("threads", row["threads"])
        seen.setdefault(json.dumps(env, sort_keys=True), env)
    return tuple(seen.values())


def data_identities(inputs: Inputs) -> dict[str, Any]:
    train = {r["model"]: r["data"] for r in inputs.train}
    checked = list({json.dumps(r["data"], sort_keys=True): r["data"] for r in inputs.validate if r["data"]}.values())
    return {"train": train, "validate": checked}


def _warnings(inputs: Inputs, envs: tuple[dict[str, Any], ...], data: dict[str, Any]) -> tuple[str, ...]:
    out = []
    if len(envs) > 1:
        out.append(f"bench.json rows come from {len(envs)} different environments: latencies may not compare")
    digests = {json.dumps(d.get("sha256"), sort_keys=True) for d in [*data["train"].values(), *data["validate"]]}
    if len(digests) > 1:
        out.append("train.json and validate.json name different data (sha256 differs)")
    counts = {d.get("test_count") for d in data["validate"]}
    if len(counts) > 1:
        out.append(f"validate.json rows used different numbers of test digits ({', '.join(map(str, sorted(counts)))})")
    return tuple(out)


# ---------------------------------------------------------------- the document: blocks -> Markdown / HTML

def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[tuple[Any, ...]]) -> str:
    out = []
    for kind, *args in blocks:
        if kind == "h":
            out.append(f"{'#' * args[0]} {args[1]}")
        elif kind == "p":
            out.append(args[0])
        elif kind == "ul":
            out.append("\n".join(f"- {item}" for item in args[0]))
        elif kind == "table":
            header, rows = args
            out.append("\n".join([f"| {' | '.join(map(_md_cell, header))} |", f"|{'---|' * len(header)}",
                                  *(f"| {' | '.join(map(_md_cell, r))} |" for r in rows)]))
        elif kind == "img":
            out.append(f"![{args[1]}]({args[0]})")
    return "\n\n".join(out) + "\n"


HTML_STYLE = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#f2f2f2}
tr:nth-child(even) td{background:#fafafa}img{max-width:100%;height:auto;border:1px solid #ddd}
figure{margin:1em 0}figcaption{font-size:.9em;color:#555}h1,h2,h3{line-height:1.2}"""


def to_html(blocks: list[tuple[Any, ...]], images: dict[str, bytes], title: str) -> str:
    """A self-contained page: inline CSS, PNGs as data URIs, no script and no external reference."""
    e = html.escape
    out = [f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
           f"<style>{HTML_STYLE}</style></head><body>"]
    for kind, *args in blocks:
        if kind == "h":
            out.append(f"<h{args[0]}>{e(args[1])}</h{args[0]}>")
        elif kind == "p":
            out.append(f"<p>{e(args[0])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{e(str(i))}</li>" for i in args[0]) + "</ul>")
        elif kind == "table":
            header, rows = args
            out.append("<table><thead><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
                       + "</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(images[args[0]]).decode("ascii")
            out.append(f'<figure><img alt="{e(args[1])}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{e(args[1])}</figcaption></figure>")
    return "\n".join(out) + "\n</body></html>\n"


def _pick(row: FileRow | None, figure: str) -> str:
    if row is None:
        return "–"
    value = {"p50": f"{_us(row.p50_us)} µs", "size": f"{_kb(row.size_bytes)} KB",
             "accuracy": f"{_pct(row.accuracy)} %"}[figure]
    return f"{row.label} — {value}"


def _full_table(rows: tuple[FileRow, ...]) -> tuple[list[str], list[list[Any]]]:
    header = ["model", "format", "recipe", "runtime", "status", "size KB", "accuracy %", "Δ pp", "agreement %",
              "p50 µs (b1)", "p99 µs (b1)", "other batches p50/p99 µs", "parity"]
    body = []
    for r in rows:
        if r.export_status not in (None, "ok"):
            status = f"not exported ({r.export_status}): {r.export_reason}"
        elif r.bench_status not in (None, "ok"):
            status = f"bench {r.bench_status}: {r.bench_reason}"
        else:
            status = r.bench_status or "not measured"
        body.append([r.model, r.format, r.recipe, r.runtime, status, _kb(r.size_bytes), _pct(r.accuracy),
                     "–" if r.delta_accuracy_pp is None else f"{r.delta_accuracy_pp:+.2f}", _pct(r.agreement),
                     _us(r.p50_us), _us(r.p99_us),
                     ", ".join(f"b{b}: {_us(p50)}/{_us(p99)}" for b, p50, p99 in r.other_batches) or "–", r.parity])
    return header, body


def _environment_blocks(envs: tuple[dict[str, Any], ...]) -> list[tuple[Any, ...]]:
    blocks: list[tuple[Any, ...]] = [("h", 2, "Environment")]
    for env in envs or ({},):
        libs = ", ".join(f"{k} {v}" for k, v in (env.get("libraries") or {}).items()) or "–"
        rows = [[k, env.get(k, "–")] for k in ("cpu", "cores", "machine", "os", "python", "threads")]
        rows += [["libraries", libs], ["thread environment", json.dumps(env.get("thread_env") or {})]]
        blocks.append(("table", ["", "value"], rows))
    return blocks


def _data_blocks(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    identities = [(f"train.json ({m})", d) for m, d in data["train"].items()]
    identities += [("validate.json", d) for d in data["validate"]]
    rows = [[where, d.get("name", "–"), d.get("train_count", "–"), d.get("test_count", "–"), d.get("note", "")]
            for where, d in identities]
    digests = {f"{name}: {digest}" for _, d in identities for name, digest in sorted((d.get("sha256") or {}).items())}
    return [("h", 2, "Data"), ("table", ["from", "name", "train digits", "test digits", "note"], rows),
            ("p", "sha256 of the data files:"), ("ul", sorted(digests) or ["none recorded"])]


def document(rows: tuple[FileRow, ...], verdict: tuple[ArchVerdict, ...], conclusion: Conclusion, budgets: Budgets,
             envs: tuple[dict[str, Any], ...], data: dict[str, Any], warnings: tuple[str, ...],
             images: list[tuple[str, str]], source: str) -> list[tuple[Any, ...]]:
    measured = sum(r.measured for r in rows)
    blocks: list[tuple[Any, ...]] = [
        ("h", 1, "edgeseq report"),
        ("p", f"Results from {source}: {sum(not r.baseline for r in rows)} exported file × runtime rows and"
              f" {sum(r.baseline for r in rows)} Keras baselines, {measured} measured at batch 1."
              f" Budgets: {budgets.describe()}. Sizes in KB of {KB} bytes."),
    ]
    if warnings:
        blocks += [("h", 2, "Warnings"), ("ul", list(warnings))]
    blocks += [
        ("h", 2, "Verdict"),
        ("table", ["architecture", "fastest (p50, batch 1)", "smallest", "most accurate", "recommended under budgets"],
         [[v.model.upper(), _pick(v.fastest, "p50"), _pick(v.smallest, "size"), _pick(v.most_accurate, "accuracy"),
           f"{v.recommended.label} — {_pct(v.recommended.accuracy)} %, {_us(v.recommended.p50_us)} µs,"
           f" {_kb(v.recommended.size_bytes)} KB" if v.recommended else v.none_fits] for v in verdict]),
        ("p", "Candidates are exported files that passed parity and were measured at batch 1; the recommended one"
              " is the most accurate candidate meeting every budget (ties: lower p50). Keras models are the"
              " reference baselines, shown for comparison, never recommended."),
        ("h", 3, "Files that failed parity (never recommended)"),
    ]
    failed = [r for v in verdict for r in v.failed]
    blocks.append(("table", ["file", "runtime", "accuracy %", "Δ pp", "agreement %", "reason"],
                   [[r.label, r.runtime, _pct(r.accuracy),
                     "–" if r.delta_accuracy_pp is None else f"{r.delta_accuracy_pp:+.2f}", _pct(r.agreement),
                     r.parity_reason] for r in failed]) if failed else ("p", "None."))
    left_out = [r for v in verdict for r in v.left_out]
    if left_out:
        blocks += [("h", 3, "Not candidates for other reasons"), ("ul", [f"{r.label}: {_why_left_out(r)}" for r in left_out])]
    blocks += [("h", 2, f"{(conclusion.from_model or 'RNN').upper()} vs {(conclusion.to_model or 'LSTM').upper()}"),
               ("p", conclusion.text), ("h", 2, "Figures")]
    blocks += [("img", name, caption) for name, caption in images]
    blocks += [("h", 2, "Every file"), ("table", *_full_table(rows))]
    return blocks + _environment_blocks(envs) + _data_blocks(data)


# ---------------------------------------------------------------- figures

def _figures(rows: tuple[FileRow, ...], models: list[str], envs: tuple[dict[str, Any], ...]) -> dict[str, bytes]:
    threads = sorted({e.get("threads") for e in envs if e.get("threads") is not None})
    where = f"{', '.join(map(str, threads)) or '?'} thread(s)" + (f", {envs[0].get('cpu')}" if len(envs) == 1 else "")
    points = [plots.Point(r.label, r.model, r.runtime, r.p50_us, r.accuracy, r.baseline or r.passed is True, r.baseline)
              for r in rows if r.p50_us is not None and r.accuracy is not None]
    files = {(r.model, r.format, r.recipe): r for r in rows}.values()  # one bar per file, whatever its runtimes
    sizes = [plots.Bar("keras" if r.baseline else f"{r.format}/{r.recipe}", r.model,
                       None if r.size_bytes is None else r.size_bytes / KB,
                       "" if r.size_bytes is not None else "not exported" if r.export_status != "ok" else "n/a",
                       r.passed is False) for r in files]
    runtimes = [x for x in RUNTIME_ORDER if any(r.runtime == x for r in rows)]
    runtimes += sorted({r.runtime for r in rows} - set(runtimes))
    best = []
    for model in models:
        for runtime in runtimes:
            pool = [r for r in rows if r.model == model and r.runtime == runtime and r.measured
                    and (r.baseline or r.passed is True)]
            top = min(pool, key=lambda r: r.p50_us) if pool else None
            best.append(plots.Bar(runtime, model, top.p50_us if top else None,
                                  ("keras" if top.baseline else top.recipe) if top else "no passing file"))
    return {
        IMAGES["accuracy_latency"][0]: plots.accuracy_vs_latency(
            points, models, f"Accuracy vs p50 latency at batch 1 ({where})"),
        IMAGES["size"][0]: plots.grouped_bars(sizes, models, "File size per recipe", "file size", "KB"),
        IMAGES["runtime"][0]: plots.grouped_bars(
            best, models, f"Best p50 latency per runtime, batch 1, files that passed parity ({where})",
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
    """Read RESULTS/{train,export,validate,bench}.json; write report.md, report.html, report.json and the PNGs."""
    inputs = read_inputs(results)
    rows = file_rows(inputs)
    verdict = verdicts(rows, budgets)
    parameters = {r["model"]: r["parameters"] or 0 for r in inputs.train}
    conclusion = conclude(verdict, parameters)
    envs, data = environments(inputs), data_identities(inputs)
    warnings = _warnings(inputs, envs, data)
    models = list(dict.fromkeys(r.model for r in rows))
    out = ensure_dir(Path(out))
    images = _figures(rows, models, envs)
    for name, png in images.items():
        write_bytes_atomic(out / name, png)
    captions = [(IMAGES[k][0], IMAGES[k][1]) for k in IMAGES]
    blocks = document(rows, verdict, conclusion, budgets, envs, data, warnings, captions, inputs.folder)
    result = ReportResult(str(out / "report.md"), str(out / "report.html"), str(out / "report.json"),
                          tuple(str(out / name) for name in images), budgets, verdict, conclusion, rows, envs, data,
                          warnings)
    write_text_atomic(out / "report.md", to_markdown(blocks))
    write_text_atomic(out / "report.html", to_html(blocks, images, "edgeseq report"))
    write_json_atomic(out / "report.json", result.to_dict())
    return result
