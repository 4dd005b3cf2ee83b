"""Atomic writes, hashes and manifests: nothing edgeseq writes is ever left half-written."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from edgeseq.errors import EdgeseqError, IntegrityError, OutputError

MANIFEST_SUFFIX = ".json"


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


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block succeeds.

    The temporary name keeps the target's suffix (converters and Keras look at suffixes).
    """
    target = Path(target)
    ensure_dir(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".partial{target.suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OutputError(f"nothing was written for {target}")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as err:
            raise OutputError(f"cannot write {target}: {err.strerror or err}") from err


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: Path, payload: Any) -> None:
    write_text_atomic(target, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def manifest_path(artifact: Path) -> Path:
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + MANIFEST_SUFFIX)


def read_json(path: Path, what: str = "JSON file") -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise EdgeseqError(f"{what} not found: {path}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise EdgeseqError(f"cannot read {what} {path}: {err}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise EdgeseqError(f"{what} {path} is not valid JSON (line {err.lineno}: {err.msg})") from err


def read_manifest(artifact: Path) -> dict[str, Any] | None:
    """The manifest beside `artifact`, or None when there is none. A malformed one is an error."""
    path = manifest_path(artifact)
    if not path.exists():
        return None
    payload = read_json(path, "manifest")
    if not isinstance(payload, dict):
        raise IntegrityError(f"manifest {path} is not a JSON object")
    return payload


def verify_against_manifest(artifact: Path, manifest: dict[str, Any] | None) -> str:
    """Check size and sha256 against the manifest. Returns 'verified', or 'no-manifest'."""
    if manifest is None:
        return "no-manifest"
    expected = manifest.get("sha256")
    if not isinstance(expected, str):
        raise IntegrityError(f"manifest of {artifact} has no sha256")
    actual = sha256_file(artifact)
    if actual != expected:
        raise IntegrityError(
            f"{artifact} does not match its manifest (sha256 {actual[:12]}…, manifest says {expected[:12]}…);"
            " re-export it or pass --no-verify"
        )
    return "verified"
