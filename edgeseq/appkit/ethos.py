"""A .tflite compiled for an Arm Ethos-U NPU by Vela (PyPI ethos-u-vela: `pip install 'edgeseq[ethos]'`, no
TensorFlow), and what Vela says of it: which of the file's operators run on the NPU and which fall back to the
CPU (by name, with Vela's reason), the SRAM, flash and DRAM it uses, the MACs, and its estimate of one
inference's time at the system's clock.

Vela runs in a child process (`python -m ethosu.vela`, with a timeout): a file that crashes it is one line. It is
given the accelerator, and a system configuration and memory mode from Arm's own vela.ini (ACCELERATORS): the
embedded systems with weights in off-chip flash and tensors in SRAM the NPU shares with the Cortex-M (Shared_Sram),
so that the figures of the four accelerators compare. (Vela's own defaults for the U65 and U85 are larger systems
with DRAM: Ethos_U65_Client_Server, Ethos_U85_SYS_DRAM_Mid.)

What is read, and from where:
  npu_ops, cpu_ops, fallbacks   from the files themselves: the operators left in the compiled file besides its
                                `ethos-u` custom ops run on the CPU (TFLM's kernels); the rest of the source's
                                operators were compiled into the ethos-u ops (Vela may fuse or drop some, such as
                                reshapes). Vela's own "NPU operators = N" counts its lowered operations, and the
                                count changes with --show-cpu-operations (Vela 5.2.0), so it is not used.
  fallback_reasons              Vela's "Warning (supported operators)" lines, first reason per op
  sram/flash/dram bytes, macs,  Vela's summary CSV (<stem>_summary_<system>.csv): *_memory_used (KiB), nn_macs,
  estimated_cycles/_seconds     cycles_total, inference_time: Vela's performance model of the NPU's work at
                                core_clock, not a measurement; CPU operators are not in it

The compiled file `<stem>-vela-<accelerator>.tflite` is written beside its source (or in `out_dir`) with a plain
JSON sidecar `<file>.vela.json`, not a manifest: the manifest schema (edgeseq.core.manifest KINDS) has no kind for
a file that only an Ethos-U system runs, and an exported-model manifest would tell validate and bench to run it
in LiteRT. The file holds an `ethos-u` custom op: it runs only in TFLM built with the Ethos-U kernel and Arm's
ethos-u-core-driver on a device with the NPU (the CPU fallbacks need TFLM's own kernels beside it).
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import Enum
from importlib import metadata, util
from pathlib import Path
from typing import Any

from edgeseq.core.errors import ModelError, RuntimeUnavailable, shown
from edgeseq.core.layout import VELA_SIDECAR_SUFFIX

INSTALL_HINT = "pip install 'edgeseq[ethos]'"
VELA_MODULE = "ethosu.vela"
VELA_CONFIG = "Arm/vela.ini"          # the configuration file Vela ships (resolved in its config_files folder)
VELA_TIMEOUT_S = 600
ETHOS_U_OP = "CUSTOM:ethos-u"
SIDECAR_SUFFIX = VELA_SIDECAR_SUFFIX      # folders given to validate and bench skip the files that have one
SIDECAR_KIND = "ethos-u-compiled"
RUNS_WITH = ("only TFLM built with the Ethos-U custom op kernel (Register_ETHOSU) and Arm's ethos-u-core-driver, on a"
             " device with this NPU: the file holds an `ethos-u` custom op that neither LiteRT nor TFLM alone runs;"
             " the operators left for the CPU need TFLM's own kernels beside it")
ESTIMATE = ("Vela's estimate: its performance model of the NPU's work at the system configuration's clock, not a"
            " measurement; operators that fall back to the CPU are not in it")
NOT_A_MANIFEST = ("a plain sidecar, not a manifest: the manifest schema has no kind for a file only an Ethos-U"
                  " system runs, and an exported-model manifest would have validate and bench run it in LiteRT")
REASON = re.compile(r"Warning \(supported operators\) operator: (?P<op>\w+), ofm: .*\n(?:Reason: )?(?P<why>[^\n]*)")


class Accelerator(str, Enum):
    U55_128 = "ethos-u55-128"
    U55_256 = "ethos-u55-256"
    U65_256 = "ethos-u65-256"
    U85_256 = "ethos-u85-256"


@dataclass(frozen=True)
class AcceleratorRow:
    accelerator: Accelerator
    system_config: str            # a [System_Config.*] of Vela's Arm/vela.ini
    memory_mode: str              # a [Memory_Mode.*] of the same file
    system: str                   # what that system is, as vela.ini describes it


ACCELERATORS: dict[Accelerator, AcceleratorRow] = {
    Accelerator.U55_128: AcceleratorRow(Accelerator.U55_128, "Ethos_U55_High_End_Embedded", "Shared_Sram",
                                        "500 MHz; SRAM 4 GB/s, off-chip flash 0.5 GB/s"),
    Accelerator.U55_256: AcceleratorRow(Accelerator.U55_256, "Ethos_U55_High_End_Embedded", "Shared_Sram",
                                        "500 MHz; SRAM 4 GB/s, off-chip flash 0.5 GB/s"),
    Accelerator.U65_256: AcceleratorRow(Accelerator.U65_256, "Ethos_U65_Embedded", "Shared_Sram",
                                        "500 MHz; SRAM 8 GB/s, off-chip flash 0.5 GB/s"),
    Accelerator.U85_256: AcceleratorRow(Accelerator.U85_256, "Ethos_U85_SYS_Flash_High", "Shared_Sram",
                                        "500 MHz; two SRAM ports 16 GB/s, off-chip flash 0.5 GB/s"),
}
DEFAULT_ACCELERATOR = Accelerator.U55_128


def accelerator_of(value: str | Accelerator) -> Accelerator:
    """An accelerator by its Vela name; an unknown one is a ValueError listing the valid ones."""
    try:
        return Accelerator(value)
    except ValueError:
        raise ValueError(f"unknown accelerator {value!r} (choose from {', '.join(a.value for a in Accelerator)})") \
            from None


@dataclass(frozen=True)
class EthosResult:
    """One file compiled for one accelerator (see the module's docstring for where each figure comes from)."""
    source: str
    compiled: str                    # <stem>-vela-<accelerator>.tflite
    sidecar: str                     # <compiled>.vela.json
    accelerator: str
    system_config: str
    memory_mode: str
    clock_hz: int
    npu_ops: int                     # the source's operators compiled into ethos-u custom ops
    cpu_ops: int                     # the operators left for the CPU
    fallbacks: dict[str, int]        # op -> count, of those left for the CPU
    fallback_reasons: dict[str, str]  # op -> Vela's reason
    ethos_u_ops: int                 # ethos-u custom ops in the compiled file (one per NPU section)
    sram_bytes: int
    flash_bytes: int                 # on-chip and off-chip flash
    dram_bytes: int
    macs: int
    estimated_cycles: int
    estimated_seconds: float
    source_bytes: int
    compiled_bytes: int
    compiler: str                    # "ethos-u-vela <version>"
    warnings: tuple[str, ...] = ()
    estimate: str = field(default=ESTIMATE)
    runs_with: str = field(default=RUNS_WITH)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"warnings": list(self.warnings)}


def compiled_path(path: Path, accelerator: Accelerator, out_dir: Path | None = None) -> Path:
    path = Path(path)
    return Path(out_dir or path.parent) / f"{path.stem}-vela-{accelerator.value}.tflite"


def vela_version() -> str:
    """Vela's version; RuntimeUnavailable when it is not installed."""
    try:
        found = util.find_spec("ethosu") is not None and util.find_spec(VELA_MODULE) is not None
        version = metadata.version("ethos-u-vela") if found else None
    except (ImportError, metadata.PackageNotFoundError):
        version = None
    if version is None:
        raise RuntimeUnavailable(f"Vela (ethos-u-vela) is not installed: {INSTALL_HINT}")
    return version


def compile_for_ethos(path: Path, accelerator: str | Accelerator = DEFAULT_ACCELERATOR,
                      out_dir: Path | None = None) -> EthosResult:
    """Compile `path` with Vela for `accelerator`; write the compiled file and its sidecar (both or neither)."""
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.core.fileio import (  # noqa: PLC0415
        check_output_dir, commit, json_bytes, sha256_file, staged, write_bytes)
    from edgeseq.core.tflite_schema import tflite_operator_names  # noqa: PLC0415

    path, row = Path(path), ACCELERATORS[accelerator_of(accelerator)]
    if path.suffix != ".tflite":
        raise ModelError(f"{shown(path)}: Vela compiles TFLite files (.tflite), not"
                         f" {path.suffix + ' files' if path.suffix else 'a file without a suffix'}")
    facts = read_facts(path)                      # a malformed file: one line, before Vela sees it
    if ETHOS_U_OP in facts.ops:
        raise ModelError(f"{shown(path)}: already compiled by Vela (it holds an ethos-u custom op); compile its source")
    version = vela_version()
    target = compiled_path(path, row.accelerator, out_dir)
    check_output_dir(target.parent)
    with tempfile.TemporaryDirectory(prefix="edgeseq-vela-") as work:
        compiled_tmp, summary = _run_vela(path, row, Path(work))
        compiled = compiled_tmp.read_bytes()
    source_ops = Counter(tflite_operator_names(path.read_bytes()))
    left = Counter(tflite_operator_names(compiled))
    ethos_u = left.pop(ETHOS_U_OP, 0)
    reasons = {found["op"]: found["why"].strip() for found in reversed(list(REASON.finditer(summary["log"])))}
    warnings = [] if ethos_u else ["no operator runs on the NPU: Vela maps int8 and int16 (int16x8) quantized"
                                   " operators to it, and this file's are not (see fallback_reasons)"]
    if facts.stateful:
        warnings.append("the file keeps state in variable tensors (a fused recurrent op): reset them before every"
                        " sequence on the device")
    result = EthosResult(
        str(path), str(target), str(target) + SIDECAR_SUFFIX, row.accelerator.value, row.system_config,
        row.memory_mode, int(summary["core_clock"]), max(sum(source_ops.values()) - sum(left.values()), 0),
        sum(left.values()), dict(sorted(left.items())), {op: reasons[op] for op in sorted(left) if op in reasons},
        ethos_u, _bytes(summary["sram_memory_used"]),
        _bytes(summary["on_chip_flash_memory_used"]) + _bytes(summary["off_chip_flash_memory_used"]),
        _bytes(summary["dram_memory_used"]), int(summary["nn_macs"]), int(summary["cycles_total"]),
        summary["inference_time"], path.stat().st_size, len(compiled), f"ethos-u-vela {version}", tuple(warnings))
    sidecar = {"kind": SIDECAR_KIND, "file": target.name, "sha256": None, "size_bytes": len(compiled),
               "source": {"name": path.name, "sha256": sha256_file(path)}, "why_not_a_manifest": NOT_A_MANIFEST,
               **{k: v for k, v in result.to_dict().items() if k not in ("source", "compiled", "sidecar")}}
    with staged(target) as file_tmp, staged(Path(result.sidecar)) as sidecar_tmp:
        write_bytes(file_tmp, compiled, target)
        sidecar["sha256"] = sha256_file(file_tmp)
        write_bytes(sidecar_tmp, json_bytes(sidecar), Path(result.sidecar))
        commit((file_tmp, target), (sidecar_tmp, Path(result.sidecar)))
    return result


def _bytes(kib: float) -> int:
    return int(round(float(kib) * 1024))


def _run_vela(path: Path, row: AcceleratorRow, work: Path) -> tuple[Path, dict[str, Any]]:
    """Vela on `path` in a child process: (the compiled file in `work`, its summary CSV's row, with its log)."""
    import subprocess  # noqa: PLC0415

    from edgeseq.core.procs import python_command, run_child  # noqa: PLC0415

    command = python_command(VELA_MODULE, str(path.resolve()), "--config", VELA_CONFIG,
                             "--accelerator-config", row.accelerator.value, "--system-config", row.system_config,
                             "--memory-mode", row.memory_mode, "--output-dir", str(work))
    try:
        done = run_child(command, VELA_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ModelError(f"{shown(path)}: Vela did not finish within {VELA_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
        last = next((line for line in reversed(said) if not line.startswith(("File ", "^", "~"))), "no message")
        how = f"exit {done.returncode}" if done.returncode > 0 else f"killed by signal {-done.returncode}"
        raise ModelError(f"{shown(path)}: Vela could not compile it for {row.accelerator.value} ({how}: {last[:200]})")
    compiled = work / f"{path.stem}_vela.tflite"
    summaries = sorted(work.glob(f"{path.stem}_summary_*.csv"))
    if not compiled.is_file() or not summaries:
        raise ModelError(f"{shown(path)}: Vela wrote no compiled file or summary ({done.stdout.strip()[-160:]!r})")
    rows = list(csv.DictReader(io.StringIO(summaries[0].read_text(encoding="utf-8"))))
    wanted = ("core_clock", "sram_memory_used", "dram_memory_used", "on_chip_flash_memory_used",
              "off_chip_flash_memory_used", "nn_macs", "cycles_total", "inference_time")
    try:
        summary: dict[str, Any] = {key: float(rows[0][key]) for key in wanted}
    except (IndexError, KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{shown(path)}: Vela's summary {summaries[0].name} lacks {err} (a newer Vela?)") from None
    summary["log"] = done.stdout + "\n" + done.stderr
    return compiled, summary
