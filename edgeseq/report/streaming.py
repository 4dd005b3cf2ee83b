"""The report's streaming section: each step model beside the whole-sequence file of its recipe (parity of the
28 rows fed one by one, the cost of one step, and of streaming a whole digit), then the drift and scaling
figures when the results hold them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.core.fileio import read_json
from edgeseq.core.layout import plain_name
from edgeseq.report.bound import bound_cell, ratio_cell
from edgeseq.report.join import FileRow
from edgeseq.report.units import pp, us

Block = tuple[Any, ...]


def _twin(step: FileRow, rows: tuple[FileRow, ...]) -> FileRow | None:
    """The whole-sequence file of the step model's recipe, in the same runtime."""
    return next((r for r in rows if not r.step and not r.baseline and (r.model, r.format, r.recipe, r.runtime)
                 == (step.model, step.format, step.recipe, step.runtime)), None)


def timesteps_of(data: dict[str, Any]) -> int:
    """The sequence length the results were measured on: the data's shape, or MNIST's rows (results on MNIST
    record no shape: edgeseq.data.mnist)."""
    from edgeseq.data.mnist import TIMESTEPS  # noqa: PLC0415

    shapes = {tuple(d["shape"]) for d in (*data.get("train", {}).values(), *data.get("validate", [])) if "shape" in d}
    return next(iter(shapes))[0] if len(shapes) == 1 else TIMESTEPS


def streaming_rows(rows: tuple[FileRow, ...], timesteps: int) -> list[dict[str, Any]]:
    """Per step model × runtime: parity, one step's p50/p99, `timesteps` steps, the whole-sequence p50, and the
    cost of streaming (timesteps × one step / the whole-sequence file's p50)."""
    found = []
    for r in (r for r in rows if r.step):
        twin = _twin(r, rows)
        streamed = timesteps * r.step_p50_us if r.step_p50_us is not None else None
        whole = twin.p50_us if twin else None
        found.append({"file": r.label, "runtime": r.runtime, "parity": r.parity, "delta_pp": r.delta_accuracy_pp,
                      "step_p50_us": r.step_p50_us, "step_p99_us": r.step_p99_us, "steps": timesteps,
                      "streamed_us": streamed, "sequence_via_steps_us": r.p50_us, "whole_sequence_us": whole,
                      "whole_sequence_file": twin.label if twin else None,
                      "overhead": streamed / whole if streamed and whole else None,
                      "sequence_bound_us": r.bound_us, "sequence_bound_ratio": r.bound_ratio})
    return found


def streaming_blocks(rows: tuple[FileRow, ...], timesteps: int, images: list[tuple[str, str]] = (),
                     drifts: tuple[Any, ...] = (), growth: Any = None) -> list[Block]:
    found = streaming_rows(rows, timesteps)
    t = timesteps
    steps = [r for r in rows if r.step]             # the rows of `found`, in its order
    if not found and not images and growth is None:
        return []
    blocks: list[Block] = [
        ("h", 2, "Streaming: step models"),
        ("p", "A step model takes one timestep (a row of features) and the recurrent state, and returns the"
              " probabilities and the next state (`edgeseq export --streaming`). Its parity is the"
              f" {t} timesteps fed one by one against the whole-sequence file of the same recipe. One step is timed"
              f" at batch 1 with the state fed back, as an app streams; {t} × one step against the whole-sequence"
              " file's p50 is the cost of streaming (below 1: streaming costs less than waiting for the whole"
              " sequence and running the file once)."),
    ]
    if found:
        blocks.append(("table", ["step model", "runtime", "parity vs whole sequence", "Δ pp", "one step p50 µs",
                                 "p99 µs", f"{t} × step µs", "whole-sequence file p50 µs", "streaming cost",
                                 "sequence p50 µs", "bound µs", "p50/bound"],
                       [[f["file"], f["runtime"], f["parity"], pp(f["delta_pp"]), us(f["step_p50_us"]),
                         us(f["step_p99_us"]), us(f["streamed_us"]), us(f["whole_sequence_us"]),
                         f"{f['overhead']:.2f}×" if f["overhead"] else "–", us(f["sequence_via_steps_us"]),
                         bound_cell(r), ratio_cell(r)] for f, r in zip(found, steps)]))
        blocks.append(("p", f"Sequence p50: the {t} timesteps fed one by one in one timed call. Its bound counts"
                            " the step model's own arithmetic: every layer once per timestep (the head too),"
                            f" {t} times."))
    if drifts:
        blocks += [
            ("h", 3, "Drift and early answers"),
            ("p", "`edgeseq drift`: each quantized step model and the fp32 one fed the same test sequences step by step. The"
                  " accuracy if the sequence stopped at each row, and how far the state and the probabilities"
                  " stray from fp32's."),
            ("table", ["step model", "reference", "final acc % (ref / file)", "rows to 90 % of final (ref / file)",
                       "max state drift", "state drift over time"],
             [[d.file.name, d.reference.name,
               f"{d.reference.final_accuracy * 100:.2f} / {d.file.final_accuracy * 100:.2f}",
               f"{d.reference.rows_to_90 or '–'} / {d.file.rows_to_90 or '–'} of {d.timesteps}",
               f"{d.max_state_drift:.3g}", d.state_growth.describe()] for d in drifts]),
        ]
    if growth is not None:
        blocks += [("h", 3, "Cost growth"),
                   ("p", "`edgeseq bench --scaling`: p50 against sequence length (real test sequences end to end; only step"
                         " models have a dynamic time axis), batch and threads, with least-squares fits. A fit"
                         " whose log-log slope exceeds 1.15 is flagged super-linear."),
                   ("ul", [s.line() for s in growth.summaries])]
    blocks += [("img", name, caption) for name, caption in images]
    return blocks


DRIFT_FILE = "drift.json"          # RESULTS/drift.json: `edgeseq drift --json` results (one, or a list)


def read_drift(results: Path) -> tuple[Any, ...]:
    """The drift results saved beside a run's JSON, if any (a malformed one is a one-line DataError)."""
    from edgeseq.diagnostics.drift import DriftReport  # noqa: PLC0415

    path = Path(results) / DRIFT_FILE
    if not path.is_file():
        return ()
    loaded = read_json(path, DRIFT_FILE)
    try:
        reports = tuple(DriftReport.from_dict(r) for r in (loaded if isinstance(loaded, list) else [loaded]))
    except EdgeseqError as err:
        raise DataError(f"{path}: {err}") from err
    for report in reports:           # names that become figure names: names, never paths (layout.plain_name)
        for side, found in (("file", report.file), ("reference", report.reference)):
            for name in ("format", "recipe", "model"):
                if getattr(found, name) is not None:
                    plain_name(getattr(found, name), f"{side}.{name}", path)
    return reports


def drift_images(reports: tuple[Any, ...]) -> dict[str, tuple[bytes, str]]:
    """One figure per format × recipe with every architecture's drift and early answers on it."""
    from edgeseq.diagnostics.drift_plot import plot_many  # noqa: PLC0415

    groups: dict[tuple[str, str], list[Any]] = {}
    for r in reports:
        groups.setdefault((r.file.format or "?", r.file.recipe or "?"), []).append(r)
    images = {}
    for (fmt, recipe), found in groups.items():
        models = ", ".join(r.model or r.file.name for r in found)
        images[f"drift-{fmt}-{recipe}.png"] = (plot_many(found, f"{fmt}/{recipe} step models against fp32"),
                                               f"Drift and early answers: the {fmt}/{recipe} step models ({models})"
                                               f" against fp32, {found[0].digits} test sequences")
    return images
