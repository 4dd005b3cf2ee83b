"""Reproduce the published 3-epoch result on full MNIST and time `edgeseq train` against bare Keras.

    python tools/reproduce_published.py --data ../shared/data/mnist --out runs/reproduce \
        --table docs/results/reproduce.md

For each architecture, in one run: a bare Keras script (same data, model, seed, fit, save) and
`edgeseq train`, each in its own process, timed wall-clock from start to exit; with --rounds N the two
alternate (bare first in odd rounds, edgeseq first in even ones) and the medians are compared. Prints a
Markdown table of test accuracy per epoch, seconds per epoch, and the ratio of the median wall times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PUBLISHED = {"rnn": {"accuracy": 0.9034, "epoch_seconds": 10}, "lstm": {"accuracy": 0.9652, "epoch_seconds": 152}}
TARGET = {"rnn": 0.903, "lstm": 0.965}

BARE_SCRIPT = """
import json, sys, time, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
from edgeseq import data, models
arch, data_spec, epochs, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ds = data.load(data_spec)
keras.utils.set_random_seed(seed)
model = models.build(models.Arch(arch))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
times = []
class T(keras.callbacks.Callback):
    def on_epoch_begin(self, e, logs=None): self.t = time.perf_counter()
    def on_epoch_end(self, e, logs=None): times.append(time.perf_counter() - self.t)
h = model.fit(ds.x_train, ds.y_train, epochs=epochs, batch_size=32, validation_data=(ds.x_test, ds.y_test),
              verbose=0, callbacks=[T()])
model.save(out)
print(json.dumps({"val_accuracy": h.history["val_accuracy"], "epoch_seconds": times}))
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/mnist")
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--models", default="rnn,lstm")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", default="1", help="rounds per model, e.g. 2 or rnn=2,lstm=1")
    parser.add_argument("--table", default=None, help="also write the Markdown table here")
    args = parser.parse_args()
    rounds = {arch: int(args.rounds) for arch in args.models.split(",")} if "=" not in args.rounds else \
        {k: int(v) for k, v in (part.split("=") for part in args.rounds.split(","))}
    rows = []
    for arch in args.models.split(","):
        bare_times, tool_times = [], []
        for number in range(rounds.get(arch, 1)):
            order = ("bare", "tool") if number % 2 == 0 else ("tool", "bare")
            for side in order:
                if side == "bare":
                    with tempfile.TemporaryDirectory() as tmp:
                        seconds, out = timed([sys.executable, "-c", BARE_SCRIPT, arch, args.data, str(args.epochs),
                                              str(args.seed), str(Path(tmp) / "bare.keras")])
                    bare_times.append(seconds)
                    bare = json.loads(out.strip().splitlines()[-1])
                else:
                    seconds, out = timed([sys.executable, "-m", "edgeseq", "train", "--model", arch, "--data",
                                          args.data, "--epochs", str(args.epochs), "--seed", str(args.seed),
                                          "--out", args.out, "--json"])
                    tool_times.append(seconds)
                    tool = json.loads(out)[0]
                print(f"{arch} round {number + 1} {side}: {seconds:.1f} s", file=sys.stderr, flush=True)
        rows.append((arch, bare, statistics.median(bare_times), tool, statistics.median(tool_times),
                     len(bare_times)))
    lines = [
        f"# Published result vs edgeseq (data: {tool['data']['name']}, {args.epochs} epochs, batch 32,"
        f" seed {args.seed})",
        "",
        "| model | published acc | edgeseq acc (per epoch) | target | met | edgeseq s/epoch | published s/epoch "
        "| bare Keras acc | edgeseq wall s | bare Keras wall s | ratio | rounds |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arch, bare, bare_s, tool, tool_s, count in rows:
        accs = " / ".join(f"{e['val_accuracy'] * 100:.2f}" for e in tool["history"])
        secs = " / ".join(f"{e['seconds']:.0f}" for e in tool["history"])
        met = "yes" if tool["test_accuracy"] >= TARGET[arch] else "no"
        lines.append(
            f"| {arch} | {PUBLISHED[arch]['accuracy'] * 100:.2f} % | {accs} % | ≥ {TARGET[arch] * 100:.1f} % | {met} "
            f"| {secs} | {PUBLISHED[arch]['epoch_seconds']} | {bare['val_accuracy'][-1] * 100:.2f} % "
            f"| {tool_s:.1f} | {bare_s:.1f} | {tool_s / bare_s:.3f} | {count} |")
    lines += ["", "Wall times are whole processes (import, data loading, fit, save), measured in the same run;"
              " with several rounds, the median of each side.",
              "The ratio target is ≤ 1.05."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.table:
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        Path(args.table).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
