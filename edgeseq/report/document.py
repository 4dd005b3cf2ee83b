"""The report as a document: a list of blocks (headings, paragraphs, lists, tables, figures), rendered to
Markdown and to one self-contained HTML page (inline CSS, PNGs as data URIs, no script, no outside reference).
`document` decides what the report says and in which order.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from typing import Any

from edgeseq.report.bound import bound_blocks, bound_cell, peak_of, ratio_cell
from edgeseq.data import units_of
from edgeseq.health import Health
from edgeseq.report.conclusion import Conclusion
from edgeseq.report.figures import FIGURES
from edgeseq.report.join import FileRow
from edgeseq.report.kernels import kernel_blocks
from edgeseq.report.reproduction import Reproduction, sentence
from edgeseq.report.units import KB, kb, pct, pp, us
from edgeseq.report.verdict import ArchVerdict, Budgets, why_left_out

RUNTIME_LIBRARIES = ("ai-edge-litert", "tflite-runtime", "onnxruntime", "openvino", "tflite-micro", "tensorflow-cpu",
                     "tensorflow")
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


def _pick(row: FileRow | None, figure: str, ties: int = 0) -> str:
    if row is None:
        return "–"
    value = {"p50": f"{us(row.p50_us)} µs", "size": f"{kb(row.size_bytes)} KB",
             "accuracy": f"{pct(row.accuracy)} %"}[figure]
    tied = f" (as accurate within noise: {ties} other file{'s' if ties != 1 else ''})" if ties else ""
    return f"{row.label} — {value}{tied}"


def health_blocks(health: dict[str, Health], models: list[str]) -> list[Block]:
    """The training-health lines, at the top: a failed training is said before any figure is read."""
    if not health:
        return [("h", 2, "Training health"), ("p", "Not checked: these results predate edgeseq's training-health"
                                                   " checks (train.json has no `health`).")]
    lines = [health[m].summary(m) for m in models if m in health]
    sick = [m for m in models if m in health and not health[m].healthy]
    head = (f"{', '.join(m.upper() for m in sick)}: training failed its health checks; no file of"
            f" {'these models' if len(sick) > 1 else 'this model'} is recommended." if sick else
            "Every model learned: no divergence, accuracy significantly above chance.")
    return [("h", 2, "Training health"), ("p", head), ("ul", lines)]


def _recommended(v: ArchVerdict) -> str:
    r = v.recommended
    if r is None:
        return v.none_fits or "none fits"
    return f"{r.label} — {pct(r.accuracy)} %, {us(r.p50_us)} µs, {kb(r.size_bytes)} KB"


def devices_blocks(reports: tuple[Any, ...], images: list[tuple[str, str]] = ()) -> list[Block]:
    """Per device: the verdict, and the batch-1 p50 of every file on every device (`report.devices`)."""
    if not reports:
        return []
    names = [d.device for d in reports]
    verdict_rows = [[d.device, v.model.upper(), _pick(v.fastest, "p50"), _pick(v.smallest, "size"),
                     _recommended(v)] for d in reports for v in d.verdict]
    labels = list(dict.fromkeys(r.label for d in reports for r in d.rows))
    p50 = {(d.device, r.label): r for d in reports for r in d.rows}

    def cell(device: str, label: str) -> str:
        row = p50.get((device, label))
        if row is None or row.p50_us is None:
            return "–" if row is None or row.bench_status is None else (row.bench_status or "–")
        parity = "" if row.passed or row.baseline else \
            (" (parity unknown)" if row.passed is None else " (failed parity)")
        bound = f" ({row.bound_ratio:.2f}× bound)" if row.bound_ratio is not None else ""
        return f"{us(row.p50_us)}{bound}{parity}"

    return [
        ("h", 2, "Per device"),
        ("p", "The same files measured on each device (`edgeseq bench --device`), joined to this run's"
              " parity results on sha256; a file measured but never validated is marked parity unknown. In"
              " brackets: the p50 as a multiple of the file's fp32 bound at that device's own peak."),
        ("table", ["device", "architecture", "fastest (p50, batch 1)", "smallest", "recommended"], verdict_rows),
        ("table", ["file", *(f"{n} p50 µs" for n in names)], [[label, *(cell(n, label) for n in names)]
                                                               for label in labels]),
        ("table", ["device", "machine", "cpu", "cores", "python", "runtimes", "fp32 GEMM peak (1 thread)"],
         [[d.device, d.environment.get("machine", "–"), d.environment.get("cpu", "–"),
           d.environment.get("cores", "–"), d.environment.get("python", "–"), _runtime_versions(d.environment),
           peak_of(d.environment)] for d in reports]),
        *(("img", name, caption) for name, caption in images),
    ]


def _runtime_versions(environment: dict[str, Any]) -> str:
    libraries = environment.get("libraries") or {}
    return ", ".join(f"{name} {libraries[name]}" for name in RUNTIME_LIBRARIES if libraries.get(name)) or "–"


def _status(r: FileRow) -> str:
    if r.export_status not in (None, "ok"):
        return f"not exported ({r.export_status}): {r.export_reason}"
    if r.bench_status not in (None, "ok"):
        return f"bench {r.bench_status}: {r.bench_reason}"
    return r.bench_status or "not in bench.json"


def _memory(r: FileRow) -> str:
    """The file's own memory (peak after load and inference over the runtime's baseline) and that baseline."""
    if r.file_memory_bytes is None or r.runtime_memory_bytes is None:
        return "–"
    return f"{r.file_memory_bytes / 2**20:.1f} / {r.runtime_memory_bytes / 2**20:.0f}"


def _every_file(rows: tuple[FileRow, ...]) -> Block:
    header = ["model", "format", "recipe", "runtime", "status", "size KB", "accuracy %", "Δ pp",
              "agreement %", "p50 µs (b1)", "bound µs (b1)", "p50/bound", "p99 µs (b1)",
              "other batches p50/p99 µs", "memory MiB: file / runtime", "parity"]
    body = [[r.model, r.format, r.recipe, r.setting, _status(r), kb(r.size_bytes), pct(r.accuracy),
             pp(r.delta_accuracy_pp), pct(r.agreement), us(r.p50_us), bound_cell(r), ratio_cell(r), us(r.p99_us),
             ", ".join(f"b{b}: {us(p50)}/{us(p99)}" for b, p50, p99 in r.other_batches) or "–", _memory(r),
             r.parity] for r in rows]
    return ("table", header, body)


def _environment(envs: tuple[dict[str, Any], ...]) -> list[Block]:
    blocks: list[Block] = [("h", 2, "Environment (from bench.json)")]
    for env in envs:
        libs = ", ".join(f"{k} {v}" for k, v in (env.get("libraries") or {}).items()) or "–"
        rows = [[k, env.get(k, "–")] for k in ("device", "cpu", "cores", "machine", "os", "python", "threads")]
        rows += [["libraries", libs], ["thread variables", json.dumps(env.get("thread_env") or {})],
                 ["fp32 GEMM peak (1 thread)", peak_of(env)]]
        blocks.append(("table", ["", "value"], rows))
    return blocks


def _shape(identity: dict[str, Any]) -> str:
    """T x F and the class count of a data identity (MNIST's identities predate the fields: 28 x 28, 10)."""
    shape = identity.get("shape")
    if not isinstance(shape, list) or len(shape) != 2:
        return "28 × 28, 10 (MNIST)"
    lengths = ", unequal lengths" if identity.get("variable_length") else ""
    return f"{shape[0]} × {shape[1]}, {identity.get('classes', '–')}{lengths}"


def _data(data: dict[str, Any]) -> list[Block]:
    identities = [(f"train.json ({m})", d) for m, d in data["train"].items()]
    identities += [("validate.json", d) for d in data["validate"]]
    rows = [[where, d.get("name", "–"), _shape(d), d.get("train_count", "–"), d.get("test_count", "–"),
             d.get("note", "")] for where, d in identities]
    unit = units_of(*(d for _, d in identities))
    digests = sorted({f"{name}: {digest}" for _, d in identities
                      for name, digest in (d.get("sha256") or {}).items()})
    classes = sorted({", ".join(d["labels"]) for _, d in identities if isinstance(d.get("labels"), list)})
    named = [("p", "classes: " + "; ".join(classes))] if classes else []
    return [("h", 2, "Data"), ("table", ["from", "name", "T × F, K", f"train {unit}", f"test {unit}", "note"], rows),
            *named,
            ("p", "sha256 of the data files:"), ("ul", digests or ["none recorded"])]


def document(rows: tuple[FileRow, ...], verdict: tuple[ArchVerdict, ...], conclusion: Conclusion,
             budgets: Budgets, envs: tuple[dict[str, Any], ...], data: dict[str, Any],
             warnings: tuple[str, ...], source: str, reproduced: tuple[Reproduction, ...] = (),
             sample_note: str | None = None, portability: Block | None = None,
             devices: tuple[Any, ...] = (), device_images: list[tuple[str, str]] = (),
             quant: tuple[list[tuple[str, str]], list[str]] = ([], []),
             streaming: list[Block] = (), profile: list[Block] = (), graphs: list[Block] = (),
             health: dict[str, Health] | None = None, units: str = "digits",
             microcontroller: list[Block] = ()) -> list[Block]:
    blocks: list[Block] = [
        ("h", 1, "edgeseq report"),
        ("p", (f"Results from {source}: {sum(not r.baseline for r in rows)} exported file × runtime rows"
               f" and {sum(r.baseline for r in rows)} Keras baselines, {sum(r.measured for r in rows)}"
               f" measured at batch 1. Budgets: {budgets.describe()}. Sizes in KB of {KB} bytes.")),
    ]
    if reproduced:
        blocks.append(("p", sentence(reproduced)))
    if sample_note:
        blocks.append(("p", sample_note))
    if health is not None:
        blocks += health_blocks(health, [v.model for v in verdict])
    if warnings:
        blocks += [("h", 2, "Warnings"), ("ul", list(warnings))]
    failed = [r for v in verdict for r in v.failed]
    undecided = [r for v in verdict for r in v.inconclusive]
    left_out = [r for v in verdict for r in v.left_out]
    blocks += [
        ("h", 2, "Verdict"),
        ("table", ["architecture", "fastest (p50, batch 1)", "smallest", "most accurate",
                   f"recommended (budgets: {budgets.describe()})"],
         [[v.model.upper(), _pick(v.fastest, "p50"), _pick(v.smallest, "size"),
           _pick(v.most_accurate, "accuracy", v.as_accurate), _recommended(v)] for v in verdict]),
        ("p", ("Candidates are exported files that passed parity and were measured at batch 1; the"
               " recommended one is the fastest candidate meeting every budget that is not significantly less"
               f" accurate than the most accurate one that does (a paired test on the same test {units}: the"
               " 95 % interval of the difference reaches zero; two standard errors where validate kept no"
               " per-sequence results). Files of a model whose training failed its health checks are never"
               " recommended. The Keras models are the reference baselines, shown for comparison and never"
               " recommended.")),
        ("h", 3, "Files that failed parity (never recommended)"),
        ("table", ["file", "runtime", "accuracy %", "Δ pp", "agreement %", "reason"],
         [[r.label, r.runtime, pct(r.accuracy), pp(r.delta_accuracy_pp), pct(r.agreement), r.parity_reason]
          for r in failed]) if failed else ("p", "None."),
    ]
    if undecided:
        blocks += [("h", 3, f"Files whose parity the test {units} cannot decide (inconclusive: never recommended)"),
                   ("table", ["file", "runtime", "accuracy %", "Δ pp", "agreement %", "why"],
                    [[r.label, r.runtime, pct(r.accuracy), pp(r.delta_accuracy_pp), pct(r.agreement),
                      r.parity_reason] for r in undecided])]
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
    images, notes = quant
    if images or notes:
        blocks += [("h", 2, "Where the quantization error comes from"),
                   ("p", "`edgeseq quant-debug` on every quantized file that failed parity or lost more than 0.5 pp:"
                         " each layer's relative RMSE against the fp32 file, and each recurrent layer's hidden state"
                         " per timestep.")]
        blocks += [("img", name, caption) for name, caption in images]
        blocks += [("ul", notes)] if notes else []
    blocks += list(streaming)
    blocks += list(profile)
    blocks += list(microcontroller)
    blocks += [("h", 2, "Every file"), _every_file(rows), *bound_blocks(rows, envs)]
    blocks += kernel_blocks(rows)
    blocks += devices_blocks(devices, device_images)
    blocks += list(graphs)
    if portability is not None:
        blocks += [("h", 2, "Where each file runs"),
                   ("p", "Each exported file in each runtime library: from this run's validate rows where it ran"
                         f" there, else from the export's own run on the golden {units} (recorded in the manifest),"
                         " else what is known without running it."), portability]
    return blocks + _environment(envs) + _data(data)
