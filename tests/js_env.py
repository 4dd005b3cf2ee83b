"""The app runtimes under Node (onnxruntime-node, onnxruntime-web, LiteRT.js): present when `node` is on PATH and
tools/install-js.sh has filled js/node_modules. Where they are absent a test that needs them is skipped with the
install command, unless EDGESEQ_REQUIRE_JS=1 (.ci/run sets it): then it fails."""

from __future__ import annotations

import os

import pytest

from edgeseq.runtimes.node_env import missing

PACKAGES = ("onnxruntime-node", "onnxruntime-web", "@litertjs/core")


def absent(message: str) -> None:
    """What a test does when something it needs beyond Python is absent: skip, or fail where EDGESEQ_REQUIRE_JS=1."""
    if os.environ.get("EDGESEQ_REQUIRE_JS") == "1":
        pytest.fail(f"{message} (EDGESEQ_REQUIRE_JS=1)")
    pytest.skip(message)


def require_js(*packages: str) -> None:
    """Skip (fail, where EDGESEQ_REQUIRE_JS=1) unless node and these npm packages (default: all) are installed."""
    reasons = [why for why in (missing(p) for p in packages or PACKAGES) if why is not None]
    if reasons:
        absent(f"the app runtimes under Node are not installed: {reasons[0]}")
