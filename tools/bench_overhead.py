"""Harness overhead of `edgeseq bench`: its p50 for a file against a bare loop calling the same runtime.

    python tools/bench_overhead.py models/rnn/rnn-fp32.tflite models/lstm/lstm-dynamic.onnx \
        --rounds 3 --table docs/results/bench_overhead.md

In one run, alternating, each in a fresh process: `edgeseq bench FILE --json` (batch 1, one thread) and a
bare loop (the runtime's own API: set_tensor/invoke/get_tensor, or session.run; per-call perf_counter_ns;
the same warm-up and run count). Prints the median p50 of each side and their ratio; target ≤ 1.05.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

BARE = r"""
import sys, time, json
import numpy as np
from edgeseq import data
path, warmup, runs, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
x = data.load("sample").x_test[:1]
if path.endswith(".tflite"):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=1); it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    if i["dtype"] != np.float32:
        s, z = i["quantization"]; x = np.clip(np.round(x / s + z), -128, 127).astype(i["dtype"])
    stateful = "UNIDIRECTIONAL_SEQUENCE_LSTM" in {d["op_name"] for d in it._get_ops_details()}
    def call():
        if stateful: it.reset_all_variables()
        it.set_tensor(i["index"], x); it.invoke(); return it.get_tensor(o["index"])
else:
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name, out = sess.get_inputs()[0].name, [sess.get_outputs()[0].name]
    def call(): return sess.run(out, {name: x})[0]
for _ in range(warmup): call()
t = []; clock = time.perf_counter_ns; end = clock() + int(seconds * 1e9)
while len(t) < runs or clock() < end:
    s = clock(); call(); t.append(clock() - s)
print(json.dumps({"p50_us": float(np.percentile(np.array(t) / 1000, 50)), "runs": len(t)}))
"""


def bare(path: str, warmup: int, runs: int, seconds: float) -> dict:
    out = subprocess.run([sys.executable, "-c", BARE, path, str(warmup), str(runs), str(seconds)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def edgeseq(path: str, warmup: int, runs: int, seconds: float) -> dict:
    out = subprocess.run([sys.executable, "-m", "edgeseq", "bench", path, "--json", "--no-verify", "--threads", "1",
                          "--batch", "1", "--warmup", str(warmup), "--min-runs", str(runs), "--min-seconds",
                          str(seconds)], capture_output=True, text=True, check=True)
    (row,) = [r for r in json.loads(out.stdout) if r["status"] == "ok"]
    return {"p50_us": row["p50_us"], "runs": row["runs"], "backend": row["backend"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--min-runs", type=int, default=300)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--table", default=None)
    args = parser.parse_args()
    lines = ["| file | edgeseq bench p50 µs (median of rounds) | bare loop p50 µs | ratio | rounds | backend |",
             "|---|---|---|---|---|---|"]
    for path in args.files:
        tool, loop = [], []
        for _ in range(args.rounds):
            loop.append(bare(path, args.warmup, args.min_runs, args.min_seconds)["p50_us"])
            result = edgeseq(path, args.warmup, args.min_runs, args.min_seconds)
            tool.append(result["p50_us"])
        t, b = statistics.median(tool), statistics.median(loop)
        lines.append(f"| {path} | {t:.2f} | {b:.2f} | {t / b:.3f} | {args.rounds} | {result['backend']} |")
        print(lines[-1], file=sys.stderr, flush=True)
    text = "\n".join(["# edgeseq bench harness overhead (target: ratio ≤ 1.05)", "",
                      f"Rounds alternate bare loop and `edgeseq bench`, each in a fresh process; batch 1, one thread,"
                      f" warm-up {args.warmup}, at least {args.min_runs} runs and {args.min_seconds} s.", "", *lines]) + "\n"
    print(text)
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
