"""The report's "On a microcontroller" section: every .tflite file TensorFlow Lite Micro ran (or refused) on this
host, from the rows with runtime tflm: bench's (its footprint: TFLM's arena and the model's flash bytes, and the
host time of TFLM's kernels) and validate's (its parity in TFLM). Rows come from RESULTS (bench.json,
validate.json) and from the device results given to `report` (`edgeseq bench --runtime tflm --out DIR`), joined to
the run's files on sha256 (else on the path).

Per file: the arena and flash TFLM measured, what a board needs with the allowance of edgeseq.report.allowance,
whether that fits the --ram and --flash budgets, TFLM's parity, and the p50 of TFLM's kernels beside LiteRT's for
the same file on the same machine: host time, never a microcontroller's. Then, per architecture, the smallest file
TFLM runs within parity (the least arena + flash), and which architecture fits the budgets: computed, never
written by hand.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from edgeseq.bench.runner import BenchResult
from edgeseq.parity.compare import ParityReport
from edgeseq.report.allowance import (
    STACK_BYTES,
    TFLM_CODE_FLASH_BYTES,
    described,
    flash_needed,
    ram_needed,
    size_text,
)
from edgeseq.report.inputs import Inputs
from edgeseq.report.join import FileRow
from edgeseq.report.units import KB, kb, us
from edgeseq.report.verdict import Budgets
from edgeseq.runtimes.table import RUNTIMES, RuntimeName, off_default

Block = tuple[Any, ...]
TFLM = RuntimeName.TFLM.value
LITERT = RuntimeName.LITERT.value
REFUSED = f"{RUNTIMES[RuntimeName.TFLM].libraries[0].label} cannot run it"   # how the adapter's refusals read
HOW = ("TFLM rows come from `edgeseq bench FILES --runtime tflm --out DIR` (each file's arena, flash bytes and host"
       " time; `edgeseq report RUN DIR` merges them) and `edgeseq validate FILES --runtime tflm --json` (its parity"
       " in TFLM: rows of RUN/validate.json). TFLM's host interpreter is the `mcu` extra: `pip install"
       " 'edgeseq[mcu]'` (Linux x86_64).")


@dataclass(frozen=True)
class McuFile:
    """One .tflite file in TFLM: what it needs on a board, whether that fits, its parity and host time."""
    file: str
    path: str | None
    sha256: str | None
    model: str | None
    recipe: str | None
    step: bool
    arena_bytes: int | None              # TFLM's measured arena (None: not measured)
    flash_bytes: int | None              # the model's flash bytes (16-byte aligned file)
    ram_needed_bytes: int | None         # arena + the stack allowance
    flash_needed_bytes: int | None       # flash + TFLM's code allowance
    fits_ram: bool | None                # None: no --ram budget, or not measured
    fits_flash: bool | None
    parity: str                          # pass | fail | inconclusive | refused | not computed | not validated
    parity_reason: str | None
    tflm_p50_us: float | None            # host time of TFLM's kernels, batch 1
    litert_p50_us: float | None          # LiteRT on the same file, same machine, batch 1
    refused: str | None                  # why TFLM does not run it (its one line), or None

    @property
    def within_parity(self) -> bool:
        return self.parity == "pass" and self.arena_bytes is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Microcontroller:
    files: tuple[McuFile, ...]
    text: str                            # the RNN-vs-LSTM view on a microcontroller, from the figures

    def to_dict(self) -> dict[str, Any]:
        return {"allowance": {"stack_bytes": STACK_BYTES, "tflm_code_flash_bytes": TFLM_CODE_FLASH_BYTES,
                              "described": described()},
                "text": self.text, "files": [f.to_dict() for f in self.files if f.refused is None],
                "refused": [{"file": f.file, "path": f.path, "reason": f.refused} for f in self.files if f.refused]}


def _reason(text: str | None, path: str | None) -> str | None:
    """A row's reason without the leading 'PATH: ' the adapters write (the table names the file)."""
    if text and path and text.startswith(f"{path}: "):
        return text[len(path) + 2:]
    return text


def _parity(check: ParityReport | None) -> tuple[str, str | None]:
    if check is None:
        return "not validated", None
    reason = _reason(check.reason, check.path)
    if check.passed:
        return "pass", None
    if check.outcome in ("fail", "inconclusive"):
        return check.outcome, reason.removeprefix(f"{check.outcome}: ") if reason else None
    return ("refused" if reason and REFUSED in reason else "not computed"), reason


def _fits(need: int | None, budget: int | None) -> bool | None:
    return None if need is None or budget is None else need <= budget


def _device(row: BenchResult) -> str:
    return str(row.environment.get("device") or row.environment.get("cpu") or "")


def _file(key: str, checks: list[ParityReport], benches: list[BenchResult], litert: dict[tuple[str, str], float],
          budgets: Budgets) -> McuFile:
    check = checks[-1] if checks else None
    measured = next((r for r in benches if r.status == "ok" and r.batch == 1 and r.footprint), None)
    failed = next((r for r in benches if r.status != "ok"), None)
    parity, why = _parity(check)
    about = measured or check or benches[0]
    path = about.path
    plan = measured.footprint if measured else None
    ram, flash = (ram_needed(plan), flash_needed(plan)) if plan else (None, None)
    refused = None                       # not measured, and validate did not run it either
    if measured is None and parity in ("refused", "not computed"):
        refused = why or (_reason(failed.reason, failed.path) if failed else None) or parity
    elif measured is None and parity == "not validated" and failed is not None:
        refused = _reason(failed.reason, failed.path) or failed.status
    return McuFile(
        Path(path).name if path else key, path, about.sha256, about.model, about.recipe, bool(about.step),
        plan["arena_bytes"] if plan else None, plan["flash_bytes"] if plan else None, ram, flash,
        _fits(ram, budgets.ram_bytes), _fits(flash, budgets.flash_bytes), parity, why,
        measured.p50_us if measured else None,
        litert.get((key, _device(measured))) if measured else None, refused)


def mcu_files(validate: tuple[ParityReport, ...], bench: tuple[BenchResult, ...], budgets: Budgets) -> list[McuFile]:
    """One McuFile per .tflite file with a tflm validate or bench row, in the rows' order."""
    def key(row: ParityReport | BenchResult) -> str:
        return row.sha256 or row.path
    checks: dict[str, list[ParityReport]] = {}
    benches: dict[str, list[BenchResult]] = {}
    for row in validate:
        if row.runtime == TFLM:
            checks.setdefault(key(row), []).append(row)
    for row in bench:
        if row.runtime == TFLM:
            benches.setdefault(key(row), []).append(row)
    litert = {(key(r), _device(r)): r.p50_us for r in bench
              if r.runtime == LITERT and r.status == "ok" and r.batch == 1 and not off_default(r.runtime, r.kernels)}
    keys = list(dict.fromkeys([*checks, *benches]))
    return [_file(k, checks.get(k, []), benches.get(k, []), litert, budgets) for k in keys]


def _smallest(files: list[McuFile]) -> McuFile | None:
    return min(files, key=lambda f: (f.arena_bytes + f.flash_bytes, f.arena_bytes), default=None)


def _budget_clause(budgets: Budgets, model: str, files: list[McuFile]) -> str:
    """Whether `model` fits the --ram/--flash budgets: its smallest file that does, or why its smallest does not."""
    name = model.upper()
    passing = [f for f in files if f.within_parity]
    fitting = [f for f in passing if f.fits_ram is not False and f.fits_flash is not False]
    if fitting:
        f = _smallest(fitting)
        return f"the {name} fits ({f.file}: {kb(f.ram_needed_bytes)} KB of RAM, {kb(f.flash_needed_bytes)} KB of flash)"
    if not passing:
        measured = [f for f in files if f.arena_bytes is not None and f.fits_ram is not False
                    and f.fits_flash is not False]
        f = _smallest(measured)
        return f"the {name} has no file TFLM runs within parity" + (
            f" (its smallest measured file that fits, {f.file}, is {f.parity} in TFLM)" if f else "")
    f = _smallest(passing)
    over = [f"{kb(need)} KB of {what} > {size_text(budget)}" for need, budget, what in (
        (f.ram_needed_bytes, budgets.ram_bytes, "RAM"), (f.flash_needed_bytes, budgets.flash_bytes, "flash"))
        if budget is not None and need > budget]
    return f"the {name} does not (its smallest file within parity, {f.file}, needs {' and '.join(over)})"


def sentence(files: list[McuFile], models: list[str], budgets: Budgets) -> str:
    """The RNN-vs-LSTM view on a microcontroller, computed from the files' figures."""
    named = list(dict.fromkeys([*models, *(f.model for f in files if f.model)]))
    ran = [m for m in named if any(f.model == m for f in files)]
    parts = []
    for m in ran:
        best = _smallest([f for f in files if f.model == m and f.within_parity])
        if best is None:
            states = Counter(f.parity if f.refused is None else "refused" for f in files if f.model == m)
            parts.append(f"no {m.upper()} file runs in TFLM within parity"
                         f" ({', '.join(f'{n} {state}' for state, n in states.items())})")
        elif not any(p.startswith("the smallest") for p in parts):
            parts.append(f"the smallest {m.upper()} file TFLM runs within parity ({best.file}) needs"
                         f" {kb(best.arena_bytes)} KB of arena and {kb(best.flash_bytes)} KB of flash")
        else:
            parts.append(f"the {m.upper()}'s ({best.file}) {kb(best.arena_bytes)} KB and {kb(best.flash_bytes)} KB")
    text = "; ".join(parts)
    text = (text[:1].upper() + text[1:] + ".") if text else ""
    if budgets.ram_bytes is None and budgets.flash_bytes is None:
        return text + " No --ram or --flash budget was given."
    given = " and ".join(f"{what} ≤ {size_text(b)}" for what, b in (("RAM", budgets.ram_bytes),
                                                                   ("flash", budgets.flash_bytes)) if b is not None)
    clauses = [_budget_clause(budgets, m, [f for f in files if f.model == m]) for m in ran]
    return f"{text} Under {given}, with the allowance: {'; '.join(clauses)}."


def tflm_rows(inputs: Inputs, extra: tuple[BenchResult, ...]) -> tuple[BenchResult, ...]:
    """The run's bench rows and the device results' tflm and LiteRT rows about the run's files (on sha256)."""
    known = {r.sha256 for r in (*inputs.train, *inputs.export, *inputs.validate) if r.sha256}
    return (*inputs.bench, *(r for r in extra if r.runtime in (TFLM, LITERT) and r.sha256 in known))


def with_footprints(rows: tuple[FileRow, ...], bench: tuple[BenchResult, ...]) -> tuple[FileRow, ...]:
    """`rows` with the TFLM footprint of their file where a tflm row in `bench` measured it (device results
    too): what the --ram and --flash budgets judge, on every runtime's row of the file."""
    plans = {r.sha256: r.footprint for r in bench if r.runtime == TFLM and r.footprint and r.sha256}
    return tuple(replace(r, tflm_footprint=plans[r.sha256]) if r.tflm_footprint is None and r.sha256 in plans
                 else r for r in rows)


def section(inputs: Inputs, bench: tuple[BenchResult, ...], budgets: Budgets, models: list[str]) -> Microcontroller:
    """The section's files and sentence from the run's validate rows and `bench` (tflm_rows)."""
    files = mcu_files(inputs.validate, bench, budgets)
    return Microcontroller(tuple(files), sentence(files, models, budgets) if files else "")


def _fit_cell(need: int | None, budget: int | None) -> str:
    if need is None:
        return "not measured"
    if budget is None:
        return "no budget given"
    return f"yes: {kb(need)} ≤ {kb(budget)}" if need <= budget else f"no: {kb(need)} > {kb(budget)}"


def blocks(mcu: Microcontroller, budgets: Budgets) -> list[Block]:
    head: list[Block] = [("h", 2, "On a microcontroller")]
    if not mcu.files:
        return head + [("p", "No file was run in TensorFlow Lite Micro (no tflm rows in these results). " + HOW)]
    ran = [f for f in mcu.files if f.refused is None]
    refused = [f for f in mcu.files if f.refused is not None]
    ram, flash = (size_text(b) if b else "none" for b in (budgets.ram_bytes, budgets.flash_bytes))
    out = head + [
        ("p", "TensorFlow Lite Micro's interpreter (`--runtime tflm`) on this host. The arena (the smallest TFLM"
              " allocates and invokes each file in) and the flash bytes are what a board needs for the model: they"
              " transfer to a microcontroller, where the arena is at most this 64-bit host's figure (TFLM's"
              " persistent structs hold pointers). " + described() + " A file's size here is its arena + flash (the"
              " smallest file is the least of it). The times are host time of the"
              " microcontroller kernels (TFLM's reference kernels built for this CPU), never a device's time; LiteRT's"
              f" p50 of the same file is beside it. Budgets: RAM {ram}, flash {flash} (KB of {KB} bytes)."),
        ("p", mcu.text),
    ]
    if ran:
        out.append(("table", ["file", "arena KB", "flash KB", f"RAM needed KB (+{STACK_BYTES // KB} stack)",
                              "fits RAM", f"flash needed KB (+{TFLM_CODE_FLASH_BYTES // KB} TFLM code)", "fits flash",
                              "TFLM parity", "TFLM p50 µs (host time of the microcontroller kernels)",
                              "LiteRT p50 µs (same file)"],
                    [[f.file, kb(f.arena_bytes), kb(f.flash_bytes), kb(f.ram_needed_bytes),
                      _fit_cell(f.ram_needed_bytes, budgets.ram_bytes), kb(f.flash_needed_bytes),
                      _fit_cell(f.flash_needed_bytes, budgets.flash_bytes),
                      f.parity + (f": {f.parity_reason}" if f.parity_reason else ""),
                      us(f.tflm_p50_us), us(f.litert_p50_us)] for f in ran]))
    if refused:
        out += [("h", 3, "Files TFLM does not run"), ("ul", [f"{f.file}: {f.refused}" for f in refused])]
    return out
