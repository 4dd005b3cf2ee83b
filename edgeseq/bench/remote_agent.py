"""The far side of `edgeseq bench --host`: sent over ssh as source text and run by the host's Python.

It needs nothing but the standard library, so that it can say what is missing on a host without edgeseq. It
reads one request (the last argument, JSON): `bench_args`, the arguments of the runtime-only `edgeseq bench` to run,
and `runtime_modules`, the modules of which the host needs one (from the runtimes table, edgeseq.runtimes.table). Its
stdin carries a line with a byte count, then that many bytes of a tar archive (the files, their manifests and
sidecars), then stays open: end of file on it means the caller is gone (Ctrl-C, a dropped connection), and
the bench is stopped. It unpacks into a fresh temporary folder, runs `python -m edgeseq bench ... --json` there
(its progress lines pass through on stderr; that folder holds only the files, so no edgeseq/ there can shadow the
installed one), removes the folder whatever happens, and prints one JSON object
on stdout: {"ok": true, "rows": [...], ...} or {"ok": false, "kind": ..., "message": ...}.

Kept compatible with old Pythons (3.6+: no walrus, no `X | Y` types): it must run far enough to say what is wrong.
"""

import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading

STOP_GRACE_S = 5.0


def answer(reply):
    reply.setdefault("python", platform.python_version())
    reply.setdefault("executable", sys.executable)
    try:
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # the caller is gone


def say(line):
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def edgeseq_version():
    if importlib.util.find_spec("edgeseq") is None:
        return None
    try:
        from importlib import metadata
        return metadata.version("edgeseq")
    except Exception:  # noqa: BLE001 - a source checkout on sys.path has no metadata
        return "unknown"


def read_archive(stream):
    header = stream.readline()
    try:
        size = int(header.strip() or b"-1")
    except ValueError:
        size = -1
    if size < 0:
        raise ValueError("the archive's byte count is missing")
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise ValueError(f"the connection ended after {len(data)} of {size} bytes")
        data += chunk
    return data


def unpack(data, folder):
    import io
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        members = archive.getmembers()
        for member in members:
            parts = member.name.split("/")
            if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                raise ValueError(f"unsafe entry in the archive: {member.name!r}")
        if hasattr(tarfile, "data_filter"):
            archive.extractall(folder, members=members, filter="data")
        else:
            archive.extractall(folder, members=members)
    return sum(1 for m in members if m.isfile())


def stop(child):
    """SIGTERM to the bench's process group (it and its workers), SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def watch_caller(stream, child, gone):
    """Blocks on stdin; its end (the caller gone) stops the bench."""
    try:
        while stream.read(4096):
            pass
    except (OSError, ValueError):
        pass
    gone.set()
    stop(child)


def forward(stream, tail):
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        if line.strip():
            tail[:] = [line]
        say(line)


def leave(signum, frame):
    raise SystemExit(128 + signum)  # runs the clean-up below (SIGHUP: the session is gone)


def main():
    for name in ("SIGHUP", "SIGTERM"):
        signal.signal(getattr(signal, name), leave)
    request = json.loads(sys.argv[-1])  # argv: -c, the source, the request
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]   # `python -c` puts the login folder first: an edgeseq/ there (a clone) is not an install
    version = edgeseq_version()
    if version is None:
        answer({"ok": False, "kind": "no-edgeseq",
                "message": f"has no edgeseq (Python {platform.python_version()} at {sys.executable})"})
        return 3
    runtimes = [m for m in request["runtime_modules"] if importlib.util.find_spec(m) is not None]
    if not runtimes:
        answer({"ok": False, "kind": "no-runtime", "edgeseq": version,
                "message": f"has edgeseq {version} but no TFLite or ONNX runtime"
                           f" (Python {platform.python_version()} at {sys.executable})"})
        return 3
    stdin = sys.stdin.buffer
    try:
        data = read_archive(stdin)
    except (OSError, ValueError) as err:
        answer({"ok": False, "kind": "transfer", "message": f"could not receive the files: {err}"})
        return 4
    folder = tempfile.mkdtemp(prefix="edgeseq-bench-")
    child = None
    try:
        count = unpack(data, folder)
        say(f"remote folder: {folder} ({count} files, {len(data)} bytes)")
        command = [sys.executable, "-m", "edgeseq", "bench"] + list(request["bench_args"]) + ["--json"]
        child = subprocess.Popen(command, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
        gone = threading.Event()
        tail = []
        threading.Thread(target=watch_caller, args=(stdin, child, gone), daemon=True).start()
        forwarder = threading.Thread(target=forward, args=(child.stderr, tail), daemon=True)
        forwarder.start()
        out = child.stdout.read()
        child.wait()
        forwarder.join(timeout=STOP_GRACE_S)
        if gone.is_set():
            return 5
        try:
            rows = json.loads(out.decode("utf-8")) if out.strip() else None
        except ValueError:
            rows = None
        if not isinstance(rows, list):
            answer({"ok": False, "kind": "bench-failed", "edgeseq": version, "returncode": child.returncode,
                    "message": tail[0] if tail else f"edgeseq bench exited with status {child.returncode}"})
            return 1
        answer({"ok": True, "rows": rows, "edgeseq": version, "returncode": child.returncode,
                "runtimes": runtimes, "message": tail[0] if tail else ""})
        return 0
    except (OSError, ValueError, tarfile.TarError) as err:
        answer({"ok": False, "kind": "transfer", "message": f"could not unpack the files: {err}"})
        return 4
    finally:
        if child is not None and child.poll() is None:
            stop(child)
        shutil.rmtree(folder, ignore_errors=True)
        say(f"remote folder removed: {folder}")


def run():
    """main(), then a hard exit: the thread blocked on stdin must not hold up the interpreter's shutdown."""
    code = 1
    try:
        code = main()
    except SystemExit as stop_:
        code = stop_.code if isinstance(stop_.code, int) else 1
    except BaseException:  # noqa: BLE001 - shown, then the exit status says it failed
        import traceback
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
