"""What the app tests need beyond Python: Node 20+, the JS packages in js/node_modules (tools/install-js.sh) and
Debian's chromium. A test that needs one skips with the reason when it is absent, except with EDGESEQ_REQUIRE_JS=1
(CI): then it fails (js_env.absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import REPO
from js_env import absent as _missing

NODE_MODULES = REPO / "js" / "node_modules"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def node() -> str:
    """The node executable (20+), else skip (or fail under EDGESEQ_REQUIRE_JS=1)."""
    found = shutil.which("node")
    if found is None:
        _missing("node is not installed (Debian: apt-get install nodejs)")
    version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        _missing(f"node {version} is older than 20")
    return found


def js_package(name: str) -> Path:
    """js/node_modules/<name>, else skip (or fail)."""
    path = NODE_MODULES / name
    if not (path / "package.json").is_file():
        _missing(f"{name} is not installed in js/node_modules (run tools/install-js.sh)")
    return path


def chromium() -> Path:
    if not CHROMIUM.is_file():
        _missing(f"chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)")
    return CHROMIUM


def node_env() -> dict[str, str]:
    """The environment a node script runs in: NODE_PATH to js/node_modules, no proxy settings needed."""
    return {**os.environ, "NODE_PATH": str(NODE_MODULES)}
