"""`edgeseq sweep` on a tiny grid: a few hundred digits, one epoch, two recipes. Without Ray (this machine's
process pool) and with Ray in local mode the same results come out; a resumed sweep redoes nothing; and no
benchmark overlaps a task or another benchmark (the timestamps the workers recorded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import invoke_cli, run_cli

GRID = "rnn-16x1-relu,gru-16x1-tanh"
TINY = ("--data", "sample", "--epochs", "1", "--limit-train", "600", "--limit", "200", "--bench-seconds", "0",
        "--workers", "2", "--min-accuracy", "0.05", "--json")
RECIPES = ("fp32", "dynamic")

pytestmark = pytest.mark.slow


def sweep(out: Path, *extra: str, variants: str = GRID, recipes: tuple[str, ...] = RECIPES) -> dict:
    quant = [arg for recipe in recipes for arg in ("--quant", recipe)]
    done = run_cli("sweep", "--variants", variants, *TINY, *quant, "--out", out, *extra)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sweep-local")
    return out, sweep(out)


def results(found: dict) -> set[tuple[str, str, str, str]]:
    return {(p["variant"], p["format"], p["recipe"], p["runtime"]) for p in found["points"]}


def test_a_tiny_sweep_measures_every_variant_and_answers(local):
    out, found = local
    assert [v["variant"] for v in found["variants"]] == GRID.split(",")
    assert all(v["status"] == "ok" and not v["reused"] and v["points"] > 0 for v in found["variants"])
    # fp32 and dynamic in both formats, in litert and onnxruntime at least, for each variant
    assert {(v, f, r) for v, f, r, _ in results(found)} == {
        (v, f, r) for v in GRID.split(",") for f in ("tflite", "onnx") for r in ("fp32", "dynamic")}
    assert set(found["fastest"]) == {"0.9034", "0.9652", "0.0500"}
    assert found["fastest"]["0.0500"]["p50_us"] == min(p["p50_us"] for p in found["points"] if p["accuracy"] >= 0.05)
    frontier = found["frontier_latency"]
    assert frontier and all(a["p50_us"] <= b["p50_us"] and a["accuracy"] < b["accuracy"]
                            for a, b in zip(frontier, frontier[1:]))
    for name in ("sweep.json", "sweep.md", "sweep-frontier.png"):
        assert (out / name).is_file()


def test_no_benchmark_overlaps_another_job(local):
    _, found = local
    tasks = [(t["started"], t["ended"]) for t in found["timeline"] if t["kind"] == "task"]
    benches = sorted((t["started"], t["ended"]) for t in found["timeline"] if t["kind"] == "bench")
    assert len(tasks) == len(benches) == 2
    assert min(start for start, _ in benches) >= max(end for _, end in tasks)       # after every task ended
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(benches, benches[1:]))   # one at a time


def test_a_resumed_sweep_redoes_nothing(local):
    out, first = local
    again = sweep(out)
    assert all(v["reused"] for v in again["variants"])
    assert [t for t in again["timeline"]] == [t | {"reused": True} for t in first["timeline"]]
    assert results(again) == results(first)


def test_ray_in_local_mode_gives_the_same_results(local, tmp_path):
    """The grid's first variant and first recipe again, as a Ray task (one task shows the engine: the pool's
    sweep above ran the grid): the same files measured in the same runtimes."""
    pytest.importorskip("ray")
    _, first = local
    variant = GRID.split(",")[0]
    found = sweep(tmp_path / "ray", "--ray", "local", variants=variant, recipes=RECIPES[:1])
    assert found["engine"] == "ray"
    assert results(found) == {r for r in results(first) if r[0] == variant and r[2] == RECIPES[0]}
    assert {v["variant"]: v["test_accuracy"] is not None for v in found["variants"]} == {variant: True}


def test_bad_inputs_are_one_line(tmp_path):
    for args, expected in ((("--variants", "lstm-7x9-soft"), "--variants"), (("--quant", "int4"), "--quant"),
                           (("--workers", "0"), "--workers"), (("--min-accuracy", "97"), "--min-accuracy")):
        done = invoke_cli("sweep", *args, "--out", tmp_path / "bad")
        assert done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not (tmp_path / "bad").exists()
