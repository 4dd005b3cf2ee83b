"""Atomic writes, hashes and JSON reading: nothing edgeseq writes is ever left half-written (a manifest with its file:
edgeseq.core.manifest.commit_with_manifest)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from edgeseq.core.errors import EdgeseqError, OutputError
from edgeseq.core.layout import shown



def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) or raise OutputError with one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {path}: {err.strerror or err}") from err
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {path} is not writable")
    return path


def check_output_dir(path: Path) -> Path:
    """Fail early, creating nothing, when `path` cannot be (or become) a writable folder."""
    path = Path(path)
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise OutputError(f"cannot create output folder {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {existing} is not writable")
    return path


def check_output_file(path: Path) -> Path:
    """Fail early, creating nothing, when the file `path` could not be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    check_output_dir(path.parent)
    return path


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block is done, then deliver it: a commit of several renames is
    never cut in half. Only the main thread receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            os.kill(os.getpid(), signal.SIGINT)


@contextlib.contextmanager
def work_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A scratch folder made in `parent` and removed after the block, Ctrl-C or not. Its removal is not cut
    short by a Ctrl-C (held until it is done), so no half-removed work folder is left behind."""
    import shutil  # noqa: PLC0415

    with interrupts_deferred():
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        yield folder
    finally:
        with interrupts_deferred():
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield a new temporary path beside `target` (same suffix: converters and Keras look at suffixes).
    Whatever is left at that path when the block ends, committed or not, is removed."""
    target = Path(target)
    ensure_dir(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def commit(*moves: tuple[Path, Path]) -> None:
    """Rename each complete temporary file onto its target, all with Ctrl-C held until the last is done."""
    for tmp, target in moves:
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OutputError(f"nothing was written for {target}")
    with interrupts_deferred():
        for tmp, target in moves:
            os.replace(tmp, target)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block succeeds."""
    with staged(target) as tmp:
        yield tmp
        commit((tmp, Path(target)))


def check_new_folder(path: Path) -> Path:
    """Fail early, creating nothing, unless `path` is a folder that does not exist yet, or is empty, and can be
    created or written (a command that writes a whole folder: pack, demo)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write into {shown(path)}: it is not a folder")
    if path.is_dir() and any(path.iterdir()):
        raise OutputError(f"output folder {shown(path)} is not empty; name a new or an empty folder")
    return check_output_dir(path)


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a new temporary folder beside `target` (a new or empty folder, check_new_folder); when the block
    succeeds it becomes `target` in one rename, else it is removed: a folder is never left half-written."""
    import shutil  # noqa: PLC0415

    target = Path(target)
    check_new_folder(target)
    ensure_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        with interrupts_deferred():
            if target.is_dir():
                target.rmdir()                 # empty (checked): rename onto it
            os.rename(tmp, target)
    finally:
        with interrupts_deferred():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes(tmp: Path, data: bytes, target: Path) -> None:
    try:
        tmp.write_bytes(data)
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err


def json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode("utf-8")


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        write_bytes(tmp, data, target)


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path, payload: Any) -> None:
    write_bytes_atomic(target, json_bytes(payload))


class NotFinite(ValueError):
    """A JSON number that is not finite (NaN, Infinity, 1e999): refused where JSON is read."""


def _not_finite(text: str) -> Any:
    raise NotFinite(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotFinite(text)
    return number


def read_json(path: Path, what: str = "JSON file") -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise EdgeseqError(f"{what} not found: {path}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise EdgeseqError(f"cannot read {what} {path}: {err}") from err
    try:
        return json.loads(text, parse_constant=_not_finite, parse_float=_finite_float)
    except NotFinite as err:
        raise EdgeseqError(f"{what} {shown(path)} holds {err}: every number edgeseq reads must be"
                           " finite") from err
    except json.JSONDecodeError as err:
        raise EdgeseqError(f"{what} {path} is not valid JSON (line {err.lineno}: {err.msg})") from err
    except RecursionError as err:
        raise EdgeseqError(f"{what} {path} is not valid JSON (nested too deeply)") from err
