"""The memory a bench worker's file costs, read so that no other process's figure leaks in.

`resource.getrusage(RUSAGE_SELF).ru_maxrss` is the wrong reading on Linux: the kernel carries the parent's
high-water mark into a forked child and across exec (signal_struct.maxrss), so a worker started by a 1 GiB
process reports at least 1 GiB whatever it loads. `VmHWM` in /proc/self/status belongs to the process's own
address space, which exec replaces; and writing "5" to /proc/self/clear_refs (Linux >= 4.0) resets it to the
current RSS, so that after the runtime's import the peak can be restarted and what follows (load and
inference) measured alone.

    probe = MemoryProbe.start()      # before the runtime's import
    probe.imported()                 # after it: the baseline, and the peak restarted
    ...load, infer...
    probe.result()                   # {rss_after_import_bytes, peak_rss_bytes, file_memory_bytes, ...}

Where /proc is missing (macOS) the reading is ru_maxrss and the method says so; the difference is then only
what the peak rose above the baseline.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")

# what `memory_method` says, by how the peak was read
OWN_PEAK_RESET = "VmHWM, restarted after the runtime's import"
OWN_PEAK = "VmHWM of the worker process (its peak since it started: the import's peak included)"
RUSAGE = "ru_maxrss (no /proc here: may include the parent's peak)"


def _status_bytes(field: str) -> int | None:
    """A `kB` line of /proc/self/status in bytes (VmRSS, VmHWM), or None where there is no /proc."""
    try:
        text = STATUS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def current_rss() -> int:
    """This process's resident set size now (its peak so far where /proc is missing)."""
    value = _status_bytes("VmRSS")
    return value if value is not None else _rusage_peak()


def own_peak() -> int:
    """This process's own high-water mark (VmHWM), or ru_maxrss where /proc is missing."""
    value = _status_bytes("VmHWM")
    return value if value is not None else _rusage_peak()


def _rusage_peak() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * (1 if sys.platform == "darwin" else 1024)


def restart_peak() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


@dataclass
class MemoryProbe:
    """The readings of one worker: at start, after the runtime's import, and at the end."""
    rss_at_start: int
    proc: bool
    rss_after_import: int | None = None
    restarted: bool = False

    @classmethod
    def start(cls) -> "MemoryProbe":
        return cls(rss_at_start=current_rss(), proc=_status_bytes("VmHWM") is not None)

    def imported(self) -> None:
        """The runtime is imported: its baseline, and the peak restarted."""
        self.rss_after_import = current_rss()
        self.restarted = self.proc and restart_peak()

    @property
    def method(self) -> str:
        return (OWN_PEAK_RESET if self.restarted else OWN_PEAK) if self.proc else RUSAGE

    def result(self) -> dict[str, int | str | None]:
        """The figures bench records: the baseline after import, the peak after load and inference (the whole
        process's own peak where it could not be restarted), their difference (the file's cost)."""
        if self.rss_after_import is None:
            raise RuntimeError("MemoryProbe.result() before imported()")
        peak = own_peak()
        return {"rss_before_import_bytes": self.rss_at_start, "rss_after_import_bytes": self.rss_after_import,
                "peak_rss_bytes": peak,
                "file_memory_bytes": max(0, peak - self.rss_after_import), "memory_method": self.method}
