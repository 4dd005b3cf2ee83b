"""`edgeseq setup js`: the app runtimes under Node where edgeseq is installed, not only in a source checkout. The
bridge (js/edgeseq-runner.mjs) and the pinned npm packages (package.json, package-lock.json) travel inside the
package (edgeseq/runtimes/js); this copies them into a folder the user can write (node_env.user_js_dir(): under
$XDG_DATA_HOME, else ~/.local/share; or --dir) and runs `npm ci` there. Only that folder is written. npm's
install scripts are not run (--ignore-scripts; ONNXRUNTIME_NODE_INSTALL=skip): onnxruntime-node's would fetch
binaries from outside the npm registry, and its CPU ones are in its package."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Callable

from edgeseq.core.errors import EdgeseqError
from edgeseq.runtimes.node_env import BRIDGE, user_js_dir

SHIPPED = (BRIDGE, "package.json", "package-lock.json")
NPM_TIMEOUT_S = 1800


def shipped(name: str) -> bytes:
    return resources.files("edgeseq.runtimes").joinpath("js", name).read_bytes()


def setup_js(folder: Path | None = None, say: Callable[[str], None] = lambda _: None) -> Path:
    """Copy the bridge and the lock into `folder` (default: the user's) and `npm ci` there; the folder."""
    folder = Path(folder) if folder is not None else user_js_dir()
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise EdgeseqError(f"{tool} is not installed (Node 20+ and npm; Debian: apt-get install nodejs npm)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED:
            (folder / name).write_bytes(shipped(name))
    except OSError as err:
        raise EdgeseqError(f"cannot write {folder}: {err.strerror or err}") from err
    say(f"npm ci in {folder} (onnxruntime-node, onnxruntime-web, @litertjs/core, playwright-core; pinned)")
    env = {**os.environ, "ONNXRUNTIME_NODE_INSTALL": "skip"}
    with subprocess.Popen(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=folder, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as npm:
        lines = []
        assert npm.stdout is not None
        for line in npm.stdout:
            if line.strip():
                lines.append(line.strip())
                say(f"npm: {line.strip()}")
        try:
            code = npm.wait(timeout=NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired as err:
            npm.kill()
            raise EdgeseqError(f"npm ci in {folder} did not end in {NPM_TIMEOUT_S} s") from err
    if code != 0:
        cause = next((ln for ln in reversed(lines) if "ERR" in ln), lines[-1] if lines else f"exit status {code}")
        raise EdgeseqError(f"npm ci in {folder} failed: {cause}")
    return folder
