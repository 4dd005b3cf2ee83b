"""The report's "Where the quantization error comes from": quant-debug's plot for every quantized file that
failed parity or lost more than LOSS_PP points, on the shipped sample's first test digits.

It needs the files themselves (and the fp32 file beside each): a report built where they are not says so in a
note instead of a plot.
"""

from __future__ import annotations

from pathlib import Path

from edgeseq.core.errors import EdgeseqError, IntegrityError
from edgeseq.core.layout import shown
from edgeseq.parity.compare import FAIL, ParityReport
from edgeseq.parity.reference import is_float

LOSS_PP = 0.5
DIGITS = 200


def wanted(rows: tuple[ParityReport, ...]) -> list[ParityReport]:
    """One row per file that is not the float reference (fp32) and failed or lost more than LOSS_PP (its worst
    runtime)."""
    chosen: dict[str, ParityReport] = {}
    for row in rows:
        if is_float(row.recipe) or row.recipe is None or row.delta_accuracy_pp is None:
            continue
        if row.outcome == FAIL or not row.passed and row.outcome is None or row.delta_accuracy_pp < -LOSS_PP:
            known = chosen.get(row.path)
            if known is None or row.delta_accuracy_pp < (known.delta_accuracy_pp or 0):
                chosen[row.path] = row
    return list(chosen.values())


def same_file(path: Path, sha256: str | None) -> None:
    """The file at `path` is the one a results row was about (its sha256), or a one-line IntegrityError."""
    from edgeseq.core.fileio import sha256_file  # noqa: PLC0415

    try:
        actual = sha256_file(path)
    except OSError as err:
        raise IntegrityError(f"cannot read {shown(path)}: {err.strerror or err}") from err
    if sha256 is not None and actual != sha256:
        raise IntegrityError(f"{shown(path)} is not the file validate.json judged (sha256 differs)")


def quant_figures(rows: tuple[ParityReport, ...]) -> tuple[dict[str, tuple[bytes, str]], list[str]]:
    """PNG and caption by file name, and a note for each file that could not be debugged."""
    from edgeseq.diagnostics.quant_debug import debug_file, plot  # noqa: PLC0415
    from edgeseq.core.manifest import read_manifest  # noqa: PLC0415
    from edgeseq.golden import samples_for_file  # noqa: PLC0415

    figures: dict[str, tuple[bytes, str]] = {}
    notes: list[str] = []
    targets = wanted(rows)
    if not targets:
        return figures, notes
    for row in targets:
        name = f"quant-debug-{Path(row.path).stem}.png"
        try:
            same_file(Path(row.path), row.sha256)          # the file validate judged, not another since
            samples = samples_for_file(Path(row.path), read_manifest(Path(row.path)))   # MNIST: the sample
            result = debug_file(Path(row.path), None, samples, DIGITS)    # checked against its manifest first
            figures[name] = (plot(result), f"{Path(row.path).name} ({row.delta_accuracy_pp:+.2f} pp, {row.outcome or 'fail'}):"
                                           f" error per layer and per timestep against {Path(result.reference).name},"
                                           f" {result.digits} {'sample digits' if samples.spec.mnist else f'{samples.units} ({samples.source})'}."
                                           f" {result.summary()}")
        except EdgeseqError as err:
            notes.append(f"{Path(row.path).name} ({row.delta_accuracy_pp:+.2f} pp): quant-debug could not run: {err}")
    return figures, notes
