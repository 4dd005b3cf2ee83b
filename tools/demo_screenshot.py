"""Build the demo page from the committed step models and take its screenshot (docs/demo.png) in headless
Chromium, as tests/test_demo.py drives it: a digit drawn with the mouse, read by both models to its last row.

    python tools/demo_screenshot.py [--models models] [--out docs/demo.png]

Needs js/node_modules (tools/install-js.sh) and Debian's chromium."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edgeseq.appkit.demo import build  # noqa: E402
from edgeseq.appkit.serve import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=REPO / "models")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "demo.png")
    parser.add_argument("--show", type=int, default=None,
                        help="show this test sequence (0-9: one per class) instead of the drawn digit")
    args = parser.parse_args()
    files = [args.models / "rnn" / "rnn-fp32-step.onnx", args.models / "lstm" / "lstm-fp32-step.onnx"]
    with tempfile.TemporaryDirectory() as tmp:
        page = build(files, Path(tmp) / "page")
        with serve(page.out) as url:
            show = [] if args.show is None else ["--show", str(args.show)]
            done = subprocess.run(["node", str(REPO / "tools" / "demo_browser.mjs"), url, "--draw", *show,
                                   "--screenshot", str(args.out.resolve())],
                                  capture_output=True, text=True, cwd=REPO / "js", check=False,
                                  env={**os.environ, "NODE_PATH": str(REPO / "js" / "node_modules")})
    if done.returncode != 0:
        sys.exit(f"the browser run failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?'}")
    shown = json.loads(done.stdout)
    drawn = {file: max(range(10), key=lambda k: r["probabilities"][k]) for file, r in shown["results"]["drawn"].items()}
    print(f"wrote {args.out} (drawn digit read as {drawn}; page errors: {shown['errors'] or 'none'})")


if __name__ == "__main__":
    main()
