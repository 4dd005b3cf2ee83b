"""`edgeseq setup js` and `edgeseq setup metadata` where edgeseq is installed (a venv with `pip install .[runtime]`,
run from a folder outside the checkout): the app runtimes under Node then run there, and the metadata venv probes
as export uses it. Each writes only its folder ($XDG_DATA_HOME points into the test's), and fails in one line."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import REPO
from js_env import absent

MODELS = REPO / "models"


def _run(python: str, *args: str, cwd, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "edgeseq", *args], capture_output=True, text=True, cwd=cwd, timeout=1800,
                          env={**os.environ, **env}, check=False)


@pytest.mark.slow
def test_setup_js_makes_the_node_runtimes_work_in_an_installed_edgeseq(runtime_python, tmp_path):
    if shutil.which("npm") is None or shutil.which("node") is None:
        absent("node and npm are not installed (Debian: apt-get install nodejs npm)")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "EDGESEQ_JS_DIR": ""}
    done = _run(runtime_python, "setup", "js", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    folder = tmp_path / "data" / "edgeseq" / "js"
    assert f"the app runtimes are in {folder}" in done.stdout and "npm ci in" in done.stderr
    assert (folder / "edgeseq-runner.mjs").read_bytes() == (REPO / "edgeseq" / "runtimes" / "js" /
                                                            "edgeseq-runner.mjs").read_bytes()
    checked = _run(runtime_python, "validate", str(MODELS / "rnn" / "rnn-fp32.onnx"), "--runtime",
                   "onnxruntime-node", "--limit", "20", cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "onnxruntime-node" in checked.stdout and "PASS" in checked.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]                 # nothing written elsewhere


def test_setup_errors_are_one_line(tmp_path):
    from conftest import invoke_cli

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = invoke_cli("setup", "js", "--dir", blocker / "js", env={"PATH": os.environ["PATH"]})
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1].startswith("Error: ")
    assert "cannot write" in done.stderr or "not installed" in done.stderr
    unknown = invoke_cli("setup", "android")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr


@pytest.mark.slow
def test_setup_metadata_makes_a_venv_export_can_write_with(runtime_python, tmp_path):
    from edgeseq.export.metadata_setup import BASE_ENV, CANDIDATES, FITS

    fits = [c for c in filter(None, (os.environ.get(BASE_ENV), *CANDIDATES)) if shutil.which(c) and
            subprocess.run([shutil.which(c), "-c", FITS], capture_output=True, check=False).returncode == 0]
    if not fits:
        pytest.skip("no Python 3.10 or 3.11 here: tflite-support 0.4.4 has no wheel for newer ones")
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    done = _run(runtime_python, "setup", "metadata", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    python = tmp_path / "data" / "edgeseq" / "metadata-venv" / "bin" / "python"
    assert f"the metadata venv is ready: {python} (tflite-support 0.4.4)" in done.stdout
    probe = subprocess.run([runtime_python, "-c", "from edgeseq.export.standard_metadata import tflite_writer;"
                            " print(tflite_writer())"], capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, **env}, timeout=300, check=False)
    assert "tflite-support 0.4.4" in probe.stdout and str(python) in probe.stdout, probe.stdout + probe.stderr
