"""Shared fixtures: tiny models trained once per session on a slice of the shipped sample."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from edgeseq import data  # noqa: E402
from edgeseq.models import Arch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# session fixtures that train and export models (minutes): every test that uses one, directly or through
# another fixture, is marked slow when collected
SLOW_FIXTURES = frozenset({"trained", "exported"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            python: str = sys.executable) -> subprocess.CompletedProcess:
    """Run `python -m edgeseq ARGS` in a subprocess, as a user would."""
    return subprocess.run([python, "-m", "edgeseq", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, check=False, timeout=1800)


@dataclass(frozen=True)
class Ran:
    """What `invoke_cli` returns: the fields of a CompletedProcess that the tests read."""
    returncode: int
    stdout: str
    stderr: str


def invoke_cli(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> Ran:
    """`edgeseq ARGS` in this process (Click's CliRunner), for a command that fails before any work: no
    interpreter to start, nothing to import again. The current folder is `cwd` for the call, and an exception
    that escapes the command shows as a traceback on stderr, as it would in a subprocess."""
    from click.testing import CliRunner

    from edgeseq.cli import cli

    # flags the group writes into the environment (--debug, --verbose) are put back after the call
    isolated = {"EDGESEQ_DEBUG": None, "EDGESEQ_VERBOSE": None, **(env or {})}
    before = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        done = CliRunner().invoke(cli, [str(a) for a in args], prog_name="edgeseq", env=isolated)
    finally:
        os.chdir(before)
    stderr = done.stderr
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*done.exc_info))
    return Ran(done.exit_code, done.stdout, stderr)


# `python -c WITH_DEFAULT_SIGINT -m edgeseq ...`: SIGINT unblocked and at its default, as in a terminal, then
# exec (same process id: the test signals and inspects the command itself). Not preexec_fn: this process may
# hold TensorFlow's threads, and preexec_fn is unsafe after threads exist.
WITH_DEFAULT_SIGINT = ("import os, signal, sys;"
                       " signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT]);"
                       " signal.signal(signal.SIGINT, signal.SIG_DFL);"
                       " os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 600) -> Any:
    """Poll `condition` until it returns something true (returned), or fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh venv with `pip install .[runtime]` (EDGESEQ_RUNTIME_PYTHON reuses one already made)."""
    given = os.environ.get("EDGESEQ_RUNTIME_PYTHON")
    if given:
        return given
    venv = tmp_path_factory.mktemp("runtime-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", f"{REPO}[runtime]"], check=True, timeout=1200)
    return python


@pytest.fixture(scope="session")
def sample() -> data.Dataset:
    return data.load("sample")


@pytest.fixture(scope="session")
def tiny_data(sample: data.Dataset) -> data.Dataset:
    return sample.limited(train=3000, test=300)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_data: data.Dataset) -> Path:
    """OUT/<arch>/<arch>.keras for both architectures (3 epochs on 3,000 digits: good enough for parity to mean
    something), and OUT/train.json: what `edgeseq train --json` prints."""
    import json

    from edgeseq.train import TrainConfig, train

    out = tmp_path_factory.mktemp("models")
    results = [train(TrainConfig(arch, epochs=3, batch_size=32, seed=0), tiny_data, out, progress=lambda _: None)
               for arch in Arch]
    (out / "train.json").write_text(json.dumps([r.to_dict() for r in results]))
    return out


@pytest.fixture(scope="session")
def exported(trained: Path) -> tuple[Path, list[dict]]:
    """Every recipe of both architectures exported into the trained folder, with the per-recipe results."""
    import json

    done = run_cli("export", "--from", trained, "--out", trained, "--calibration-size", "100", "--json")
    assert done.stdout, done.stderr
    return trained, json.loads(done.stdout)


BLOCK_TENSORFLOW = """import sys
class _Block:
    def find_spec(self, name, *args):
        if name.split('.')[0] in ('tensorflow', 'keras'):
            raise ImportError('TensorFlow is blocked by the test')
        return None
sys.meta_path.insert(0, _Block())
"""


@pytest.fixture(scope="session")
def without_tensorflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment variables for a subprocess in which TensorFlow and Keras cannot be imported."""
    folder = tmp_path_factory.mktemp("block-tensorflow")
    (folder / "sitecustomize.py").write_text(BLOCK_TENSORFLOW)
    return {"PYTHONPATH": f"{folder}{os.pathsep}{REPO}"}
