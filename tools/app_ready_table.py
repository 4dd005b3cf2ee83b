"""The table of docs/results/app-ready.md: per recipe, the default file beside its app-ready variant (export --app):
graph, batch, I/O type, size, p50 (edgeseq bench, LiteRT Interpreter), parity (edgeseq validate) and whether
LiteRT CompiledModel and LiteRT.js ran it (tools/compiled_model_check.py, tools/litertjs_check.mjs outputs).

    python tools/app_ready_table.py DEFAULT_DIR APP_DIR RESULTS_DIR

RESULTS_DIR holds bench.json and validate.json (both folders' rows), compiled.txt and litertjs.txt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from edgeseq.core import layout


def _lines(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        name, status, *rest = line.split("\t")
        found[name] = "yes" if status == "pass" else f"no ({rest[0][:60]})" if rest else "no"
    return found


def _cell(manifest: dict, bench: dict | None, check: dict | None, compiled: str, js: str) -> list[str]:
    p50 = "-" if not bench or bench.get("p50_us") is None else (
        f"{bench['step_p50_us']:.1f} / step" if bench.get("step") and bench.get("step_p50_us") else
        f"{bench['p50_us']:.1f}")
    parity = "-" if not check else (
        f"{'pass' if check['passed'] else check.get('outcome') or 'fail'}: agreement {check['agreement']:.3f},"
        f" max diff {check['max_abs_diff']:.1e}" if check.get("agreement") is not None else check.get("reason", "-"))
    io = manifest["inputs"][0]["dtype"]
    return [manifest["graph"], manifest["batch"].split(" ")[0], io, f"{manifest['size_bytes'] / 1000:.0f}", p50,
            parity, compiled, js]


def main(default_dir: Path, app_dir: Path, results: Path) -> None:
    bench = {Path(r["path"]).name: r for r in json.loads((results / "bench.json").read_text())
             if r.get("threads") in (1, None) and r.get("batch") in (1, None)}
    checks = {Path(r["path"]).name: r for r in json.loads((results / "validate.json").read_text())}
    compiled, js = _lines(results / "compiled.txt"), _lines(results / "litertjs.txt")
    print("| file | graph | batch | input | KB | p50 µs | parity (validate) | CompiledModel | LiteRT.js |")
    print("|---|---|---|---|---|---|---|---|---|")
    for app_file in sorted(app_dir.glob("*/*-app.tflite")):
        key = layout.parse(app_file)
        default = default_dir / key.model / layout.FileKey(key.model, key.format, key.recipe, key.step).filename
        for path in (default, app_file):
            if not path.is_file():
                print(f"| {path.name} | not exported | | | | | | | |")
                continue
            manifest = json.loads(layout.manifest_path(path).read_text())
            cells = _cell(manifest, bench.get(path.name), checks.get(path.name), compiled.get(path.name, "-"),
                          js.get(path.name, "-"))
            print(f"| {'**' + path.name + '**' if path == app_file else path.name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
