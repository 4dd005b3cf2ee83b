"""Child processes (conversion, benchmark and guard workers): run one to the end or kill it, always reap it,
and name the signal that killed it."""

from __future__ import annotations

import signal
import subprocess
from typing import Sequence


def run_child(command: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`subprocess.run` with captured text output, except that on any exception (a timeout, Ctrl-C) the child
    is killed and waited for before the exception goes on: it can neither outlive nor race the caller's
    clean-up of its files. (subprocess.run does not wait for the child after a KeyboardInterrupt.)"""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException:
            child.kill()
            child.wait()
            raise
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)


def signal_name(returncode: int) -> str:
    """'SIGSEGV' for a process killed by signal 11 (returncode -11), else 'signal N'."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def no_core_dumps() -> None:
    """For a child process that may crash on a malformed file or in a converter: the crash is reported as
    one line, so a core file (in the user's current folder) would only be litter."""
    try:
        import resource  # noqa: PLC0415  (POSIX only)

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        return
