"""Where the app runtimes under Node live: `node` on PATH, the bridge edgeseq-runner.mjs and the npm packages in
node_modules beside it (`edgeseq setup js`, or tools/install-js.sh in a source checkout). Checked without starting Node; imports nothing of edgeseq."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

JS_DIR_ENV = "EDGESEQ_JS_DIR"          # where the bridge and its node_modules are (edgeseq setup js --dir)
BRIDGE = "edgeseq-runner.mjs"
JS_INSTALL = "edgeseq setup js (Node 20+ and npm)"


def user_js_dir() -> Path:
    """Where `edgeseq setup js` installs by default: edgeseq/js under $XDG_DATA_HOME, else ~/.local/share."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "edgeseq" / "js"


def js_dir() -> Path:
    """EDGESEQ_JS_DIR; else a source checkout's js/ where tools/install-js.sh filled it; else the user's."""
    named = os.environ.get(JS_DIR_ENV)
    if named:
        return Path(named)
    checkout = Path(__file__).resolve().parents[2] / "js"
    return checkout if (checkout / BRIDGE).is_file() else user_js_dir()


def missing(npm: str) -> str | None:
    """Why Node cannot run this npm package here (no node, no bridge, the package not in js/node_modules), or None."""
    if shutil.which("node") is None:
        return f"node is not installed (Debian: apt-get install nodejs npm; then {JS_INSTALL})"
    if not (js_dir() / BRIDGE).is_file():
        return f"{BRIDGE} is not in {js_dir()} ({JS_INSTALL})"
    if not (js_dir() / "node_modules" / npm / "package.json").is_file():
        return f"{npm} is not installed in {js_dir() / 'node_modules'} ({JS_INSTALL})"
    return None
