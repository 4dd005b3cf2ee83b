"""Running a file on digits where a runtime crash cannot take edgeseq down.

The TFLite runtime can crash the process that loads a malformed file (SIGSEGV or SIGABRT, measured on
mutated .tflite files that pass every structural check), or corrupt that process's memory so that it
crashes on a later file; no try/except catches either. For the runtimes marked `isolated` in the runtimes
table, `Evaluator.run` loads and runs the file in a child process,

    python -m edgeseq.runtimes.guard REQUEST.json

and a child that dies is one ModelError naming the file and the signal. The others run in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import runtimes
from edgeseq.errors import EdgeseqError, ModelError, first_line
from edgeseq.procs import no_core_dumps, run_child, signal_name
from edgeseq.runtimes import RuntimeName
from edgeseq.tfsupport import VERBOSE_ENV

CHILD_TIMEOUT_S = 3600
FAILED = 3  # the child's exit status for an orderly EdgeseqError (its message is the last stderr line)


@dataclass(frozen=True)
class Outcome:
    probabilities: np.ndarray          # (N, 10) float32
    state_hygiene: bool | None         # None when not asked for
    backend: str


def evaluate(path: Path, runtime: RuntimeName, digits: np.ndarray, threads: int = 1, tflite_backend: str = "auto",
             hygiene: bool = False) -> Outcome:
    """Load `path` in this process and predict `digits` (and check state hygiene if asked)."""
    from edgeseq.parity import state_hygiene  # noqa: PLC0415

    loaded = runtimes.load(path, runtime, threads=threads, tflite_backend=tflite_backend)
    probabilities = runtimes.predict_in_batches(loaded, digits)
    if probabilities.shape != (len(digits), 10):
        raise ModelError(f"{path}: output shape {probabilities.shape}, expected ({len(digits)}, 10)")
    return Outcome(probabilities, state_hygiene(loaded, digits) if hygiene else None, loaded.backend)


class Evaluator:
    """`evaluate` for many files on the same digits, in a child process for isolated runtimes.

    Use it as a context manager: the digits are written once to a scratch folder the children read.
    """

    def __init__(self, digits: np.ndarray, threads: int = 1, tflite_backend: str = "auto") -> None:
        self.digits, self.threads, self.tflite_backend = digits, threads, tflite_backend
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> "Evaluator":
        self._scratch = tempfile.TemporaryDirectory(prefix="edgeseq-guard-")
        np.save(Path(self._scratch.name) / "digits.npy", self.digits, allow_pickle=False)
        return self

    def __exit__(self, *_: Any) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()

    def run(self, path: Path, runtime: RuntimeName, hygiene: bool = False) -> Outcome:
        if not runtimes.RUNTIMES[runtime].isolated or self._scratch is None:
            return evaluate(path, runtime, self.digits, self.threads, self.tflite_backend, hygiene)
        with tempfile.TemporaryDirectory(dir=self._scratch.name) as out:
            request = {"path": str(path), "runtime": runtime.value, "threads": self.threads, "hygiene": hygiene,
                       "tflite_backend": self.tflite_backend, "out": out,
                       "digits": str(Path(self._scratch.name) / "digits.npy")}
            (Path(out) / "request.json").write_text(json.dumps(request), encoding="utf-8")
            _run_child(Path(path), runtime, Path(out) / "request.json")
            result = json.loads((Path(out) / "result.json").read_text(encoding="utf-8"))
            probabilities = np.load(Path(out) / "probabilities.npy", allow_pickle=False)
        return Outcome(probabilities, result["state_hygiene"], result["backend"])


def _run_child(path: Path, runtime: RuntimeName, request: Path) -> None:
    try:
        done = run_child([sys.executable, "-m", "edgeseq.runtimes.guard", str(request)], CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise ModelError(f"{path}: {runtime.value} did not finish in {CHILD_TIMEOUT_S} s") from err
    if os.environ.get(VERBOSE_ENV) == "1":
        sys.stderr.write(done.stderr)
    if done.returncode < 0:
        raise ModelError(f"{path}: {runtime.value} crashed running it ({signal_name(done.returncode)}):"
                         " the file is corrupt or not what edgeseq exported")
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        if done.returncode == FAILED and lines:
            raise ModelError(lines[-1])
        raise ModelError(f"{path}: {runtime.value} failed (exit status {done.returncode})"
                         + (f": {lines[-1][:200]}" if lines else ""))


def _child(request_path: str) -> int:
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    out = Path(request["out"])
    try:
        outcome = evaluate(Path(request["path"]), RuntimeName(request["runtime"]),
                           np.load(request["digits"], allow_pickle=False), request["threads"],
                           request["tflite_backend"], request["hygiene"])
    except EdgeseqError as err:
        print(first_line(err), file=sys.stderr)
        return FAILED
    np.save(out / "probabilities.npy", outcome.probabilities, allow_pickle=False)
    (out / "result.json").write_text(json.dumps({"state_hygiene": outcome.state_hygiene,
                                                 "backend": outcome.backend}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    from edgeseq.tfsupport import quiet_native_logs

    no_core_dumps()
    quiet_native_logs()
    sys.exit(_child(sys.argv[1]))
