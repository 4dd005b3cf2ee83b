"""Shared fixtures: the models trained and exported once per session (the quick run), venvs built once, and
the CLI run in a subprocess or in this process."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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

import scheduling  # noqa: E402
from edgeseq import data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# session fixtures that take minutes (the quick run that trains and exports the models, the virtual environments
# pip builds): every test that uses one, directly or through another fixture, is marked slow when collected
SLOW_FIXTURES = frozenset({"quick_run", "trained", "exported", "runtime_python", "tflite_runtime_python"})


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    scheduling.order(config, items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist loadgroup (pyproject's addopts): groups and order from scheduling.py."""
    return scheduling.make_scheduler(config, log) if config.getvalue("dist") == "loadgroup" else None


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder NAME made by `build(folder)` once per test session. Under pytest-xdist each worker has a
    temporary folder of its own inside the session's: the first worker to ask builds in the session's folder,
    under a lock; the others wait for the lock and reuse the folder (or fail with the builder's error)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder, done, failed = base / name, base / f"{name}.done", base / f"{name}.failed"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if failed.exists():
            pytest.fail(f"building {name} failed in another worker:\n{failed.read_text()}", pytrace=False)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except Exception:
                failed.write_text(traceback.format_exc())
                raise
            done.touch()
    return folder


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


def venv_with(extra: str) -> Callable[[Path], None]:
    """A builder for `built_once`: a fresh venv in the folder with edgeseq installed as the CI guide says while
    nothing publishes it: its wheel built (`pip wheel --no-deps`), then `pip install "<wheel>[EXTRA]"` (this
    environment's pip installs into it, so the venv itself needs no pip)."""
    def build(venv: Path) -> None:
        wheels = venv.parent / f"{venv.name}-wheel"
        shutil.rmtree(wheels, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
                        "-w", str(wheels), str(REPO)], check=True, timeout=600)
        (wheel,) = wheels.glob("edgeseq-*.whl")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                        "--disable-pip-version-check", f"{wheel}[{extra}]"], check=True, timeout=1200)
    return build


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh venv with `pip install .[runtime]` (EDGESEQ_RUNTIME_PYTHON reuses one already made)."""
    given = os.environ.get("EDGESEQ_RUNTIME_PYTHON")
    if given:
        return given
    return str(built_once(tmp_path_factory, "runtime-venv", venv_with("runtime")) / "bin" / "python")


@pytest.fixture(scope="session")
def sample() -> data.Dataset:
    return data.load("sample")


DECOY_MESSAGE = "the decoy edgeseq/ in the current folder was imported instead of the installed package"


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """`edgeseq run --quick --out OUT --json` on the shipped sample, once per session (`built_once`): the
    end-to-end test (test_run.py) checks it, and its models and exported files are the `trained` and `exported`
    fixtures (3 epochs on the sample's 6,000 digits: good enough for parity to mean something; calibration on 100
    digits). Returns OUT and the finished command."""
    def build(folder: Path) -> None:
        # run as a user runs it, from a folder that holds a decoy `edgeseq/` (the folder above a clone): every
        # child process must import the installed package (edgeseq.core.procs.python_command), not the decoy
        decoy = folder / "cwd"
        (decoy / "edgeseq").mkdir(parents=True)
        (decoy / "edgeseq" / "__init__.py").write_text(f"raise ImportError({DECOY_MESSAGE!r})\n")
        script = Path(sys.executable).with_name("edgeseq")
        done = subprocess.run([str(script), "run", "--quick", "--out", str(folder / "run"), "--json"],
                              capture_output=True, text=True, cwd=decoy, check=False, timeout=1800)
        (folder / "command.json").write_text(json.dumps([done.returncode, done.stdout, done.stderr]))
        if (folder / "run" / "train.json").is_file():   # beside the models, as `trained` promises
            shutil.copy(folder / "run" / "train.json", folder / "run" / "models" / "train.json")

    folder = built_once(tmp_path_factory, "quick-run", build)
    returncode, stdout, stderr = json.loads((folder / "command.json").read_text())
    return folder / "run", subprocess.CompletedProcess(["edgeseq", "run", "--quick"], returncode, stdout, stderr)


def _stage_output(quick_run: tuple[Path, subprocess.CompletedProcess], name: str) -> Path:
    out, done = quick_run
    assert (out / name).is_file(), f"`edgeseq run --quick` wrote no {name}:\n{done.stderr[-3000:]}"
    return out / name


@pytest.fixture(scope="session")
def trained(quick_run: tuple[Path, subprocess.CompletedProcess]) -> Path:
    """OUT/<arch>/<arch>.keras for both architectures, and OUT/train.json (what `edgeseq train --json` prints):
    the quick run's models folder (its exported files are there too)."""
    return _stage_output((quick_run[0] / "models", quick_run[1]), "train.json").parent


@pytest.fixture(scope="session")
def exported(trained: Path, quick_run: tuple[Path, subprocess.CompletedProcess]) -> tuple[Path, list[dict]]:
    """Every recipe of both architectures exported into the trained folder, with the per-recipe results (what
    `edgeseq export --json` prints): the quick run's export step."""
    return trained, json.loads(_stage_output(quick_run, "export.json").read_text())


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
