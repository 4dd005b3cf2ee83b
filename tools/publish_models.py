"""Copy a run's deliverables into the repository: the .keras models, every exported file that passed
parity (each with its sidecars: manifest, training history, golden outputs), and the report.

The run's results name its files by path (RUN/models/rnn/rnn-int8.tflite); the published copies name
them relative to the repository (models/rnn/rnn-int8.tflite), so no committed file names a machine's
folders.

    python tools/publish_models.py runs/full --models models --report docs/report
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from edgeseq.core import layout

RESULT_FILES = ("train.json", "export.json", "validate.json", "bench.json", "run.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--report", type=Path, default=Path("docs/report"))
    args = parser.parse_args()
    passed = {r["path"] for r in json.loads((args.run / "validate.json").read_text()) if r["passed"]}
    trained = [Path(r["path"]) for r in json.loads((args.run / "train.json").read_text())]
    for source in trained + sorted(Path(p) for p in passed):
        key = layout.key_of(source, json.loads(layout.manifest_path(source).read_text()))
        target = layout.arch_dir(args.models, key.model) / key.filename
        target.parent.mkdir(parents=True, exist_ok=True)
        for path in [source, *layout.sidecars(source)]:
            shutil.copy2(path, target.parent / path.name)
        print(f"{source} -> {target}")
    if args.report.exists():
        shutil.rmtree(args.report)
    shutil.copytree(args.run / "report", args.report)
    for name in RESULT_FILES:
        shutil.copy2(args.run / name, args.report / name)
    prefixes = sorted({f"{args.run.resolve()}/", f"{args.run}/"}, key=len, reverse=True)
    for path in sorted(args.report.iterdir()):
        if path.suffix in (".json", ".md", ".html"):
            text = path.read_text(encoding="utf-8")
            for prefix in prefixes:
                text = text.replace(prefix, "")
            path.write_text(text, encoding="utf-8")
    print(f"report -> {args.report} (paths relative to the repository)")


if __name__ == "__main__":
    main()
