"""The graph choice over several bench rounds of the same candidates (the measurement behind the recipes table's
default graphs: `edgeseq.recipes`, `notes`).

    edgeseq export --graph auto --from models --out CANDS --data ../shared/data/mnist
    for round in 1 2 3; do edgeseq bench CANDS --runtime litert,onnxruntime --out ROUNDS/$round; done
    python tools/graph_rounds.py ROUNDS/1/bench.json ROUNDS/2/bench.json ROUNDS/3/bench.json [--json OUT.json]

Each file's batch-1 p50 is the median of its rounds (running the rounds one after another interleaves the files:
each round visits every file once); the choice is bench's own (edgeseq.bench.graph_choice.choose) on those
medians, and every round's own choice is printed beside it, so that a choice that flips between rounds shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from edgeseq.bench import BenchResult
from edgeseq.bench.graph_choice import choose
from edgeseq.core.fileio import read_json


def read_round(path: Path) -> list[BenchResult]:
    return [BenchResult.from_dict(row) for row in read_json(path, "bench results")]


def medians(rounds: list[list[BenchResult]]) -> list[BenchResult]:
    """The first round's rows, each ok batch-1 row's p50 replaced by the median over the rounds (by sha256, runtime,
    threads)."""
    def key(r: BenchResult) -> tuple:
        return r.sha256, r.runtime, r.threads, r.batch

    by_key: dict[tuple, list[float]] = {}
    for rows in rounds:
        for r in rows:
            if r.status == "ok" and r.p50_us is not None:
                by_key.setdefault(key(r), []).append(r.p50_us)
    return [replace(r, p50_us=round(statistics.median(by_key[key(r)]), 1)) if key(r) in by_key else r
            for r in rounds[0]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rounds", nargs="+", type=Path, help="bench.json of each round")
    parser.add_argument("--json", type=Path, help="also write the choices on the medians here")
    args = parser.parse_args(argv)
    rounds = [read_round(p) for p in args.rounds]
    per_round = [{(c.model, c.format, c.recipe, c.runtime, c.threads): c for c in choose(rows)} for rows in rounds]
    choices = choose(medians(rounds))
    for c in sorted(choices, key=lambda c: (c.model, c.format, c.recipe, c.runtime)):
        k = (c.model, c.format, c.recipe, c.runtime, c.threads)
        each = [r[k].fastest if k in r else "-" for r in per_round]
        p50 = ", ".join(f"{g} {v:.1f}" for g, v in c.p50_us)
        gain = f"{c.gain_over_default:.2f}x" if c.gain_over_default else f"- ({c.why_no_gain()})"
        excluded = "; ".join(f"{g}: {why}" for g, why in c.excluded)
        print(f"{c.model} {c.format}/{c.recipe} {c.runtime} t{c.threads}: fastest {c.fastest} (rounds: "
              f"{', '.join(str(e) for e in each)}); table {c.default_graph}; gain {gain}\n    p50 µs: {p50}"
              + (f"\n    not chosen: {excluded}" if excluded else ""))
    if args.json:
        args.json.write_text(json.dumps([c.to_dict() for c in choices], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
