"""Ctrl-C and killed converters during `edgeseq export`: the command ends, and what is left in the output
folder is complete files with matching manifests: no partial file, no work folder, no orphaned worker.

The tests set SIGINT's disposition themselves: a runner may start the suite with SIGINT ignored (`pytest &`
in a non-interactive shell) or blocked, children inherit both, and Python then raises no KeyboardInterrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, WITH_DEFAULT_SIGINT, wait_for

from edgeseq.core.fileio import sha256_file
from edgeseq.core.layout import manifest_path

def start_export(trained: Path, out: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WITH_DEFAULT_SIGINT, "-m", "edgeseq", "export",
                             "--from", str(trained), "--out", str(out), "--calibration-size", "20", "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out.parent)


@pytest.fixture
def keyboard_interrupt() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in this process for the test's duration (then restored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def export_workers(parent: int) -> list[int]:
    """The `edgeseq.export.worker` children of process `parent` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), None)
        if ppid == parent and b"edgeseq.export.worker" in command:
            found.append(int(entry.name))
    return found


def finish(proc: subprocess.Popen) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_only_complete_files(out: Path) -> None:
    everything = list(out.rglob("*"))
    assert not [p for p in everything if ".partial" in p.name], everything
    assert not [p for p in everything if p.name.startswith(".edgeseq-export-")], everything
    for path in everything:
        if path.suffix in (".tflite", ".onnx"):
            manifest = json.loads(manifest_path(path).read_text())
            assert manifest["sha256"] == sha256_file(path) and manifest["size_bytes"] == path.stat().st_size, path


def test_ctrl_c_during_a_conversion(trained, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = start_export(trained, out, "--model", "rnn", "--format", "tflite", "--quant", "fp32", "--quant", "fp16",
                        "--quant", "dynamic")
    try:
        wait_for(lambda: manifest_path(out / "rnn" / "rnn-fp32.tflite").exists() or proc.poll() is not None,
                 "the first recipe to be exported")
        (worker,) = wait_for(lambda: export_workers(proc.pid), "the second conversion to start")
        wait_for(lambda: list(out.glob(".edgeseq-export-*/request.json")), "the second conversion's work folder")
        proc.send_signal(signal.SIGINT)
        _, stderr = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted" and "Traceback" not in stderr, stderr
    assert not Path(f"/proc/{worker}").exists(), "the conversion worker outlived the command"
    assert_only_complete_files(out)
    assert (out / "rnn" / "rnn-fp32.tflite").is_file() and not (out / "rnn" / "rnn-dynamic.tflite").exists()


def test_a_killed_converter_is_a_failed_recipe_and_the_export_goes_on(trained, tmp_path):
    """The first recipe's worker (fp32: recipes are exported in the table's order) is killed while it is still
    starting (importing TensorFlow takes seconds, so the kill cannot miss); that recipe is reported with the
    signal, the next one (dynamic) still exports, and the work folder (where the dynamic recipe keeps its float
    graph) is gone."""
    out = tmp_path / "out"
    out.mkdir()
    proc = start_export(trained, out, "--model", "rnn", "--format", "onnx", "--quant", "dynamic", "--quant", "fp32")
    try:
        (worker,) = wait_for(lambda: export_workers(proc.pid), "the first conversion worker")
        os.kill(worker, signal.SIGKILL)
        stdout, stderr = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    results = {r["recipe"]: r for r in json.loads(stdout)}
    assert list(results) == ["fp32", "dynamic"], results
    killed, survivor = results["fp32"], results["dynamic"]
    assert killed["status"] == "crashed" and "SIGKILL" in killed["reason"] and killed["path"] is None, killed
    assert survivor["status"] == "ok", survivor
    lines = stderr.strip().splitlines()
    assert proc.returncode == 1 and lines[-1].startswith("Error") and "SIGKILL" in lines[-1], stderr
    assert_only_complete_files(out)
    assert sorted(p.name for p in (out / "rnn").iterdir()) == ["rnn-dynamic.onnx", "rnn-dynamic.onnx.json",
                                                              "rnn.golden.npz"]


def test_ctrl_c_is_held_until_a_commit_is_complete(tmp_path, monkeypatch, keyboard_interrupt):
    """A file and its manifest are renamed into place together: Ctrl-C arriving in between waits for both."""
    from edgeseq.core.fileio import staged
    from edgeseq.core.manifest import commit_with_manifest, read_manifest

    target = tmp_path / "model.tflite"
    real_replace = os.replace

    def replace_then_interrupt(source, destination):
        real_replace(source, destination)
        os.kill(os.getpid(), signal.SIGINT)  # after the first rename, before the second

    with pytest.raises(KeyboardInterrupt), staged(target) as tmp:
        tmp.write_bytes(b"model")
        monkeypatch.setattr(os, "replace", replace_then_interrupt)
        commit_with_manifest(tmp, target, read_manifest(REPO / "models" / "rnn" / "rnn.keras").replace(
            sha256=sha256_file(tmp), size_bytes=tmp.stat().st_size))
    assert json.loads(manifest_path(target).read_text())["sha256"] == sha256_file(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite", "model.tflite.json"]


def test_a_work_folder_is_removed_whole_when_ctrl_c_arrives_during_its_removal(tmp_path, monkeypatch,
                                                                               keyboard_interrupt):
    """fileio.work_folder: a Ctrl-C that lands while the folder is being removed (a fast conversion's answer
    just written) waits until it is gone, then interrupts."""
    import shutil

    from edgeseq.core.fileio import work_folder

    real_rmtree = shutil.rmtree

    def rmtree_interrupted(path, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)          # as if Ctrl-C came now
        real_rmtree(path, *args, **kwargs)

    with pytest.raises(KeyboardInterrupt), work_folder(tmp_path, ".edgeseq-export-") as folder:
        (folder / "request.json").write_text("{}")
        (folder / "response.json").write_text("{}")
        monkeypatch.setattr(shutil, "rmtree", rmtree_interrupted)
    assert list(tmp_path.iterdir()) == []
