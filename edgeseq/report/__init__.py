"""`report`: rendering only. Reads what train, export, validate and bench printed with --json, joins it per
file × runtime, picks a verdict under budgets, and writes report.md, report.html, report.json and PNGs.

Where a change goes:
  inputs.py        reading RESULTS/*.json into the result dataclasses, row checks, environments, data identity
  join.py          FileRow: one row per file × runtime, joined on sha256 (else on layout.FileKey)
  verdict.py       Budgets, the per-architecture verdict, the "none fits" reasons
  allowance.py     what a microcontroller needs beyond TFLM's arena and the model (--ram/--flash), and its sources
  microcontroller.py  the files TFLM ran or refused: arena, flash, fits, parity, host time; RNN vs LSTM there
  conclusion.py    the RNN-vs-LSTM text and figures
  reproduction.py  the Keras accuracies beside the published ones; the note on the shipped sample
  portability.py   the file × runtime library table (pass, fail, can't load)
  mixes.py         the files the recipe search kept as per-layer mixes, and what they cost
  devices.py       other devices' bench results joined on sha256: one verdict per device
  profile.py       RESULTS/profile.json (bench --profile): time per operator of the recommended files
  graphs.py        the graph chosen where it runs: per device, each recipe's fastest graph candidate
  document.py      what the report says, in which order; Markdown and self-contained HTML
  figures.py       the three PNGs from the rows (drawn by plots.py)
  units.py         how a figure is written (µs, KB, %, pp)

Every figure shown comes from the input JSON (or is a difference or ratio of such figures).
Importing this package imports neither matplotlib nor TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseq.core.layout import child
from edgeseq.core.fileio import ensure_dir, write_bytes_atomic, write_json_atomic, write_text_atomic
from edgeseq.report.conclusion import Conclusion, conclude
from edgeseq.report.devices import DeviceReport, device_reports, read_device_results
from edgeseq.report.document import document, to_html, to_markdown
from edgeseq.report.figures import FIGURES, device_figures, figures
from edgeseq.report.inputs import (
    INPUT_FILES,
    Inputs,
    architectures,
    data_identities,
    digits_measured,
    environments,
    input_warnings,
    read_inputs,
    sequence_units,
    training_health,
)
from edgeseq.report.graphs import graph_blocks, graph_choices
from edgeseq.report.join import FileRow, file_rows, join_notes
from edgeseq.bench.graph_choice import GraphChoice
from edgeseq.report.streaming import drift_images, read_drift, streaming_blocks, streaming_rows, timesteps_of
from edgeseq.bench.profile import read_profile
from edgeseq.bench.scaling import read_scaling
from edgeseq.bench.scaling_plot import scaling_figures
from edgeseq.report.microcontroller import Microcontroller, tflm_rows, with_footprints
from edgeseq.report.microcontroller import blocks as mcu_blocks, section as mcu_section
from edgeseq.report.mixes import mix_blocks
from edgeseq.report.portability import table as portability_table
from edgeseq.report.profile import profile_blocks, recommended_profiles
from edgeseq.report.quant import quant_figures
from edgeseq.report.reproduction import Reproduction, reproductions, sample_note
from edgeseq.report.units import KB
from edgeseq.report.verdict import ArchVerdict, Budgets, accuracy_tie, verdicts, why_left_out

__all__ = ["FIGURES", "INPUT_FILES", "KB", "ArchVerdict", "Budgets", "Conclusion", "FileRow", "Inputs",
           "ReportResult", "Reproduction", "accuracy_tie", "architectures", "build_report", "conclude",
           "file_rows", "read_inputs", "verdicts", "why_left_out"]


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
    published: tuple[Reproduction, ...] = ()   # each architecture's Keras accuracy beside the published one
    sample_note: str | None = None             # set when the data is the shipped sample: not comparable
    devices: tuple[DeviceReport, ...] = ()     # one verdict per device, when other devices' results are given
    streaming: tuple[dict[str, Any], ...] = ()  # per step model × runtime: parity, one step, the cost of streaming
    drift: tuple[dict[str, Any], ...] = ()      # RESULTS/drift.json, when the run measured it
    profile: tuple[dict[str, Any], ...] = ()    # RESULTS/profile.json's rows about the recommended files
    graph_choices: tuple[GraphChoice, ...] = ()   # per device, the fastest graph of each recipe measured there
    microcontroller: Microcontroller | None = None   # the files TFLM ran or refused (report.microcontroller)

    def to_dict(self) -> dict[str, Any]:
        return {"markdown_path": self.markdown_path, "html_path": self.html_path, "json_path": self.json_path,
                "plots": list(self.plots), "budgets": self.budgets.to_dict(),
                "verdict": [v.to_dict() for v in self.verdict], "conclusion": self.conclusion.to_dict(),
                "published": {r.model: r.to_dict() for r in self.published}, "sample_note": self.sample_note,
                "files": [r.to_dict() for r in self.files], "environment": list(self.environment),
                "data": self.data, "warnings": list(self.warnings),
                "devices": [d.to_dict() for d in self.devices], "streaming": list(self.streaming),
                "drift": [{k: v for k, v in d.items() if k != "rows"} for d in self.drift],
                "profile": list(self.profile), "graph_choices": [c.to_dict() for c in self.graph_choices],
                "microcontroller": self.microcontroller.to_dict() if self.microcontroller else None}


def build_report(results: Path, out: Path, budgets: Budgets = Budgets(),
                 device_results: tuple[Path, ...] = ()) -> ReportResult:
    """Read RESULTS/{train,export,validate,bench}.json (and other devices' bench results); write report.md,
    report.html, report.json and PNGs."""
    inputs = read_inputs(results)
    drifts = read_drift(results)                         # every input is read (and checked) before any work
    growth = read_scaling(results)                       # RESULTS/scaling.json: `edgeseq bench --scaling`
    profiles = read_profile(results)                     # RESULTS/profile.json: `edgeseq bench --profile`
    extra = read_device_results(list(device_results)) if device_results else ()
    bench = tflm_rows(inputs, extra)                     # the run's bench rows and the devices' tflm rows
    every_row = with_footprints(file_rows(inputs), bench)
    rows = tuple(r for r in every_row if not r.step)        # step models have their own section
    streaming = tuple(r for r in every_row if r.step)
    health = training_health(inputs)
    verdict = verdicts(rows, budgets, architectures(inputs), digits_measured(inputs), health)
    devices = device_reports(inputs, extra, budgets, architectures(inputs),
                             digits_measured(inputs)) if device_results else ()
    choices = tuple(graph_choices((*inputs.bench, *extra)))
    conclusion = conclude(verdict, {r.model: r.parameters for r in inputs.train}, digits_measured(inputs))
    envs, data = environments(inputs), data_identities(inputs)
    notes = input_warnings(envs, data) + join_notes(inputs)
    mnist = not any("shape" in d for d in (*data["train"].values(), *data["validate"]))
    published = reproductions(rows, [v.model for v in verdict]) if mnist else ()   # the published figures are MNIST's
    note = sample_note(data)
    out = ensure_dir(Path(out))
    images = figures(rows, envs, [v.model for v in verdict])
    per_device = device_figures(devices, [v.model for v in verdict])
    images |= {name: png for name, (png, _) in per_device.items()}
    quant, quant_notes = quant_figures(inputs.validate)
    images |= {name: png for name, (png, _) in quant.items()}
    drift = drift_images(drifts)
    drift |= {name: (png, "Cost growth: p50 against sequence length and against batch (log-log), and the speed-up"
                          " with threads") for name, (png, _) in (scaling_figures(growth) if growth else {}).items()}
    images |= {name: png for name, (png, _) in drift.items()}
    mcu = mcu_section(inputs, bench, budgets, architectures(inputs))
    for name, png in images.items():         # a figure's name may hold a name from the results: never a path
        write_bytes_atomic(child(out, name, "figure name"), png)
    blocks = document(rows, verdict, conclusion, budgets, envs, data, notes, inputs.folder, published, note,
                      portability_table(inputs.export, inputs.validate), devices,
                      [(name, caption) for name, (_, caption) in per_device.items()],
                      ([(name, caption) for name, (_, caption) in quant.items()], quant_notes),
                      streaming_blocks(rows + streaming, timesteps_of(data), [(name, caption) for name, (_, caption) in drift.items()],
                                       drifts, growth), profile_blocks(verdict, profiles),
                      graph_blocks(list(choices)) + mix_blocks(inputs.export),
                      health if inputs.train else None, sequence_units(data), mcu_blocks(mcu, budgets))
    result = ReportResult(str(out / "report.md"), str(out / "report.html"), str(out / "report.json"),
                          tuple(str(out / name) for name in images), budgets, verdict, conclusion, rows, envs,
                          data, notes, published, note, devices, tuple(streaming_rows(rows + streaming, timesteps_of(data))),
                          tuple(r.to_dict() for r in drifts),
                          tuple(r.to_dict() for r in recommended_profiles(verdict, profiles)), choices, mcu)
    write_text_atomic(out / "report.md", to_markdown(blocks))
    write_text_atomic(out / "report.html", to_html(blocks, images, "edgeseq report"))
    write_json_atomic(out / "report.json", result.to_dict())
    return result
