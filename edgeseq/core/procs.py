"""One protocol for "run this in a child process and tell me what happened" (conversions, benchmarks, guarded
evaluations): a crash, a hang or Ctrl-C in the child never takes the caller down.

Parent:  result = run_worker("edgeseq.bench.worker", request, timeout=...)   # a dict, or a WorkerError
Child:   if __name__ == "__main__": serve(handle)    # handle(request, workdir) -> dict

The request is written to WORKDIR/request.json and the child runs `python -m MODULE WORKDIR/request.json` (built by
`python_command`: the installed edgeseq, whatever the current folder holds). It
answers with WORKDIR/response.json: {"ok": true, "result": {...}} or {"ok": false, "error_type", "message"}.
Large arrays travel as .npy files in WORKDIR. No response means the child died: a signal, a timeout or an
exit status, each a field of the WorkerError.

Many requests to one module: `with WorkerSession(module) as session: session.run(request, timeout, workdir)`
answers the same, from one child that serves them in turn (its imports paid once); a child that dies or hangs
costs the request in flight only, and the next request starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from edgeseq.core.quiet import VERBOSE_ENV

REQUEST, RESPONSE = "request.json", "response.json"


@dataclass(frozen=True)
class WorkerError:
    """Why a worker gave no result. kind: error (the child reported an exception), crashed (killed by a
    signal), timeout, or exited (ended without answering)."""
    kind: str
    message: str
    error_type: str | None = None      # the exception class the child reported (kind "error")
    signal: str | None = None          # e.g. SIGSEGV (kind "crashed")
    timeout_s: float | None = None     # (kind "timeout")
    returncode: int | None = None
    stderr_tail: str | None = None     # the child's last stderr line, for "exited" and "crashed"

    def describe(self, subject: str, crashed: str = "crashed") -> str:
        """One line for the user: '<subject> crashed (SIGSEGV)', '<subject> timed out after 900 s',
        '<subject> exited with status 1 ...', or the child's own message for an error it reported."""
        if self.kind == "crashed":
            return f"{subject} {crashed} ({self.signal})"
        if self.kind == "error":
            return self.message
        return f"{subject} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Python 3.10 has no -P: the same by hand. `python -c CODE MODULE ARGS` puts '' (the current folder) first on
# sys.path; CODE drops it and runs MODULE as `-m` would, with sys.argv[1:] = ARGS.
_SAFE_PATH_RUN = ("import runpy, sys; del sys.path[0];"
                  " runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")


def python_command(module: str, *args: str, safe_path_flag: bool = sys.version_info >= (3, 11)) -> list[str]:
    """The command line of every Python child edgeseq starts: `python -P -m MODULE ARGS` in this interpreter.
    Without -P, `-m` puts the current folder first on sys.path, and a folder holding an `edgeseq/` (the folder
    above a clone, any decoy) would be imported instead of the installed package. Not -I: it would also drop
    PYTHONPATH and the other PYTHON* variables a caller sets on purpose. (`safe_path_flag` False: the 3.10 way.)"""
    if safe_path_flag:
        return [sys.executable, "-P", "-m", module, *args]
    return [sys.executable, "-c", _SAFE_PATH_RUN, module, *args]


def run_child(command: Sequence[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`subprocess.run` with captured text output, except that on any exception (a timeout, Ctrl-C) the child
    is killed and waited for before the exception goes on: it can neither outlive nor race the caller's
    clean-up of its files. (subprocess.run does not wait for the child after a KeyboardInterrupt.)"""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          stdin=subprocess.DEVNULL) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException:
            child.kill()
            child.wait()
            raise
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)


def run_worker(module: str, request: dict[str, Any], timeout: float, workdir: Path | None = None,
               env: dict[str, str] | None = None) -> dict[str, Any] | WorkerError:
    """Run `python -m module` on `request` in a child; its result dict, or a WorkerError saying why not.

    `workdir` (created by the caller, who removes it) holds the request, the response and any arrays;
    without one a temporary folder is used and removed here."""
    own = workdir is None
    folder = Path(tempfile.mkdtemp(prefix="edgeseq-worker-")) if own else Path(workdir)
    try:
        (folder / REQUEST).write_text(json.dumps(request), encoding="utf-8")
        (folder / RESPONSE).unlink(missing_ok=True)
        try:
            done = run_child(python_command(module, str(folder / REQUEST)), timeout,
                             dict(os.environ, **(env or {})))
        except subprocess.TimeoutExpired:
            return WorkerError("timeout", f"timed out after {timeout:g} s", timeout_s=timeout)
        return _outcome(folder, done.returncode, _last_line(done.stderr))
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


class WorkerSession:
    """A child that serves requests one after another (`python -m MODULE --session`), so that what it imports
    (TensorFlow: about 5 s) is paid once, not per request. Isolation is kept per request: a crash, a hang or an
    exit costs only the request in flight (its WorkerError is what run_worker would give), and the next request
    starts a fresh child. Use it as a context manager: the child is ended on the way out, Ctrl-C included.

    The request is written to WORKDIR/request.json and its path sent as one line on the child's stdin; the
    child answers with WORKDIR/response.json, as in run_worker. Its stdout and stderr go to a log file (the
    last line of a request's part of it is the WorkerError's stderr_tail)."""

    def __init__(self, module: str, env: dict[str, str] | None = None) -> None:
        self.module = module
        self.env = dict(os.environ, **(env or {}))
        self.folder = Path(tempfile.mkdtemp(prefix="edgeseq-session-"))
        self.log = self.folder / "child.log"
        self.child: subprocess.Popen[str] | None = None
        self.started = 0                          # children started: 1 unless one died or hung

    def __enter__(self) -> "WorkerSession":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._end()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _end(self) -> None:
        child, self.child = self.child, None
        if child is None:
            return
        if child.poll() is None:
            with contextlib.suppress(OSError):
                child.stdin.close()                # end of requests: the child exits by itself
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _child(self) -> subprocess.Popen[str]:
        if self.child is None or self.child.poll() is not None:
            self.child = None
            with open(self.log, "a", encoding="utf-8") as log:
                self.child = subprocess.Popen(python_command(self.module, "--session"), text=True,
                                              stdin=subprocess.PIPE, stdout=log, stderr=log, env=self.env)
            self.started += 1
        return self.child

    def run(self, request: dict[str, Any], timeout: float, workdir: Path) -> dict[str, Any] | WorkerError:
        """What run_worker(module, request, timeout, workdir) answers, from the session's child."""
        folder = Path(workdir)
        (folder / REQUEST).write_text(json.dumps(request), encoding="utf-8")
        (folder / RESPONSE).unlink(missing_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        try:
            try:
                child = self._send(folder / REQUEST)
            except OSError:                         # it died between requests: one more start
                self.child = None
                child = self._send(folder / REQUEST)
            deadline = time.monotonic() + timeout
            while not (folder / RESPONSE).exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        except BaseException:
            if self.child is not None:
                self.child.kill()
                self.child.wait()
                self.child = None
            raise
        tail = self._tail(offset)
        if not (folder / RESPONSE).exists() and child.poll() is None:   # no answer in time: the next starts anew
            child.kill()
            child.wait()
            self.child = None
            return WorkerError("timeout", f"timed out after {timeout:g} s", timeout_s=timeout)
        if child.poll() is not None:
            self.child = None
        return _outcome(folder, child.returncode, tail)      # returncode: None while it serves on

    def _send(self, request: Path) -> subprocess.Popen[str]:
        """The request's path to the child (started if there is none), on its stdin."""
        child = self._child()
        child.stdin.write(f"{request}\n")
        child.stdin.flush()
        return child

    def _tail(self, offset: int) -> str | None:
        """The last non-empty line the child wrote since `offset`."""
        try:
            with open(self.log, encoding="utf-8", errors="replace") as log:
                log.seek(offset)
                return _last_line(log.read())
        except OSError:
            return None


def _last_line(stderr: str) -> str | None:
    """A child's last non-empty line of stderr (all of it shown with --verbose): a WorkerError's stderr_tail."""
    if os.environ.get(VERBOSE_ENV) == "1":
        sys.stderr.write(stderr)
    return next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), None)


def _outcome(folder: Path, returncode: int | None, tail: str | None) -> dict[str, Any] | WorkerError:
    """What a child that has answered or ended gives: its result, or the WorkerError saying why not (killed by a
    signal, ended without an answer, or the error it reported). `returncode` is None for a child still serving."""
    if returncode is not None and returncode < 0:
        name = signal_name(returncode)
        return WorkerError("crashed", f"crashed ({name})", signal=name, returncode=returncode, stderr_tail=tail)
    response = _read_response(folder / RESPONSE)
    if response is None:
        return WorkerError("exited", f"exited with status {returncode} without an answer"
                           + (f": {tail[:200]}" if tail else ""), returncode=returncode, stderr_tail=tail)
    if response.get("ok"):
        return response.get("result") or {}
    return WorkerError("error", str(response.get("message") or "failed"), error_type=response.get("error_type"),
                       returncode=returncode)


def _read_response(path: Path) -> dict[str, Any] | None:
    try:
        response = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return response if isinstance(response, dict) else None


def serve(handle: Callable[[dict[str, Any], Path], dict[str, Any]], describe: Callable[[BaseException], str]
          | None = None) -> None:
    """The child's side: read the request named on the command line, call `handle(request, workdir)`, write
    the response, exit 0. An exception becomes an error response ({error_type, message}); `describe` turns
    it into the one-line message (default: the line naming its cause, errors.cause_line)."""
    no_core_dumps()
    from edgeseq.core.quiet import quiet_native_logs  # noqa: PLC0415

    quiet_native_logs()
    if sys.argv[1:] == ["--session"]:               # WorkerSession: one request path per line, until stdin ends
        for line in sys.stdin:
            if line.strip():
                _answer(Path(line.strip()), handle, describe)
        sys.exit(0)
    _answer(Path(sys.argv[1]), handle, describe)
    sys.exit(0)


def _answer(request_path: Path, handle: Callable[[dict[str, Any], Path], dict[str, Any]],
            describe: Callable[[BaseException], str] | None) -> None:
    from edgeseq.core.errors import cause_line  # noqa: PLC0415

    workdir = request_path.parent
    try:
        request = json.loads(request_path.read_text(encoding="utf-8"))
        response: dict[str, Any] = {"ok": True, "result": handle(request, workdir)}
    except Exception as err:  # noqa: BLE001  (reported to the parent as one line)
        if os.environ.get(VERBOSE_ENV) == "1":
            import traceback  # noqa: PLC0415

            traceback.print_exc()
        message = describe(err) if describe else cause_line(err, 500)
        response = {"ok": False, "error_type": type(err).__name__, "message": message[:500]}
    (workdir / f".{RESPONSE}.partial").write_text(json.dumps(response), encoding="utf-8")
    os.replace(workdir / f".{RESPONSE}.partial", workdir / RESPONSE)


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
