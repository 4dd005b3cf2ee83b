"""A Kotlin compiler for the tests of the plain-Kotlin sources a pack writes (Preprocess.kt, Classifier.kt,
Golden.kt): the JVM's `java` (Debian's default-jdk-headless) and the Kotlin compiler that kotlin-jupyter-kernel ships
on PyPI (its jars: the compiler, kotlin-stdlib, kotlinx-serialization-json). Where they are absent a test that needs
them is skipped, unless EDGESEQ_REQUIRE_KOTLIN=1 (.ci/run sets it): then it fails."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _absent(message: str) -> None:
    if os.environ.get("EDGESEQ_REQUIRE_KOTLIN") == "1":
        pytest.fail(f"{message} (EDGESEQ_REQUIRE_KOTLIN=1)")
    pytest.skip(message)


def jars() -> dict[str, Path]:
    """The compiler's jars by role, or skip/fail the test."""
    if shutil.which("java") is None:
        _absent("java is not installed (apt install default-jdk-headless)")
    spec = importlib.util.find_spec("run_kotlin_kernel")
    if spec is None or spec.origin is None:
        _absent("the Kotlin compiler is not installed (pip install kotlin-jupyter-kernel)")
    folder = Path(spec.origin).parent / "jars"
    found = {}
    for role, prefix in (("compiler", "kotlin-jupyter-kernel-"), ("stdlib", "kotlin-stdlib-"),
                         ("reflect", "kotlin-reflect-"), ("script", "kotlin-script-runtime-"),
                         ("annotations", "annotations-"), ("json", "kotlinx-serialization-json-jvm-"),
                         ("serialization", "kotlinx-serialization-core-jvm-")):
        matches = sorted(folder.glob(f"{prefix}*.jar"))
        if not matches:
            _absent(f"kotlin-jupyter-kernel has no {prefix}*.jar in {folder}")
        found[role] = matches[0]
    return found


def compile_kotlin(sources: list[Path], out: Path) -> list[Path]:
    """Compile `sources` into `out` (assertion on failure, with the compiler's message); returns the run classpath."""
    found = jars()
    libraries = [found["stdlib"], found["json"], found["serialization"]]
    tool = os.pathsep.join(str(found[r]) for r in ("compiler", "stdlib", "reflect", "script", "annotations"))
    done = subprocess.run(["java", "-Xmx1g", "-cp", tool, "org.jetbrains.kotlin.cli.jvm.K2JVMCompiler",
                           "-no-stdlib", "-no-reflect", "-classpath", os.pathsep.join(map(str, libraries)),
                           "-d", str(out), *map(str, sources)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return [out, *libraries]


def kotlin_version() -> str:
    return jars()["stdlib"].stem.removeprefix("kotlin-stdlib-")
