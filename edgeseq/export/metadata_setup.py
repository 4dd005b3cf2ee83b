"""`edgeseq setup metadata`: the metadata venv where edgeseq is installed, not only in a source checkout.
tflite-support (TFLITE_METADATA's writer and reader) cannot live beside TensorFlow and onnx (its last release
declares protobuf<4) and has wheels for Python 3.10 and 3.11 only, so it gets a venv of its own, made with the
first Python 3.10/3.11 found (or $EDGESEQ_METADATA_BASE_PYTHON), from the pins that ship in the package
(metadata-requirements.txt), and probed as export will use it. Default place: standard_metadata.user_metadata_venv()
(under $XDG_DATA_HOME, else ~/.local/share); only that folder is written."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Callable

from edgeseq.core.errors import EdgeseqError
from edgeseq.export.standard_metadata import _probe, user_metadata_venv

BASE_ENV = "EDGESEQ_METADATA_BASE_PYTHON"
CANDIDATES = ("python3.11", "python3.10", "python3")
FITS = "import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 11) else 1)"
PIP_TIMEOUT_S = 1800


def base_python() -> str:
    for candidate in filter(None, (os.environ.get(BASE_ENV), *CANDIDATES)):
        found = shutil.which(candidate)
        if found and subprocess.run([found, "-c", FITS], capture_output=True, check=False).returncode == 0:
            return found
    raise EdgeseqError(f"no Python 3.10 or 3.11 found (tflite-support 0.4.4 has no wheel for 3.12+); set {BASE_ENV}")


def _run(command: list[str], what: str, say: Callable[[str], None]) -> None:
    say(what)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=PIP_TIMEOUT_S,
                          env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")})
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        cause = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
        raise EdgeseqError(f"{what} failed: {cause or f'exit status {done.returncode}'}")


def setup_metadata(venv: Path | None = None, say: Callable[[str], None] = lambda _: None) -> tuple[Path, str]:
    """Make (or refresh) the metadata venv; (its python, the writer's version the probe reports)."""
    venv = Path(venv) if venv is not None else user_metadata_venv()
    base = base_python()
    python = venv / "bin" / "python"
    _run([base, "-m", "venv", str(venv)], f"a venv at {venv} ({base})", say)
    requirements = resources.files("edgeseq.export").joinpath("metadata-requirements.txt").read_text()
    with tempfile.TemporaryDirectory() as tmp:
        pins = Path(tmp) / "requirements.txt"
        pins.write_text(requirements)
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(pins)],
             "pip install tflite-support 0.4.4 and its pins", say)
    found = _probe(str(python))
    if isinstance(found, str):
        raise EdgeseqError(found)
    return python, found.version
