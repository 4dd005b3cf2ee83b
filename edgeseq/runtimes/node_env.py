"""Where the app runtimes under Node live: `node` on PATH, the bridge js/edgeseq-runner.mjs and the npm packages in
js/node_modules (installed by tools/install-js.sh). Checked without starting Node; imports nothing of edgeseq."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

JS_DIR_ENV = "EDGESEQ_JS_DIR"          # where js/ is (default: the source checkout's, beside the package)
BRIDGE = "edgeseq-runner.mjs"
JS_INSTALL = "tools/install-js.sh (Node 20+ and npm, in a source checkout)"


def js_dir() -> Path:
    return Path(os.environ.get(JS_DIR_ENV) or Path(__file__).resolve().parents[2] / "js")


def missing(npm: str) -> str | None:
    """Why Node cannot run this npm package here (no node, no bridge, the package not in js/node_modules), or None."""
    if shutil.which("node") is None:
        return f"node is not installed (Debian: apt-get install nodejs npm; then {JS_INSTALL})"
    if not (js_dir() / BRIDGE).is_file():
        return f"{BRIDGE} is not in {js_dir()} (the app runtimes need edgeseq's source checkout)"
    if not (js_dir() / "node_modules" / npm / "package.json").is_file():
        return f"{npm} is not installed in js/node_modules ({JS_INSTALL})"
    return None
