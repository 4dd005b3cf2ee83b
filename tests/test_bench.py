"""bench: schema, ordering of percentiles, folders, unloadable files. No timing assertions."""

import json

from conftest import REPO, run_cli

FAST = ("--warmup", "2", "--min-runs", "20", "--min-seconds", "0")
ROW_KEYS = {"path", "model", "format", "recipe", "runtime", "status", "reason", "backend", "batch", "p50_us", "p90_us",
            "p99_us", "mean_us", "std_us", "min_us", "runs", "throughput_dps", "load_ms", "first_inference_ms",
            "peak_rss_bytes", "size_bytes", "recurrent_op", "integrity", "threads", "environment"}


def test_bench_folder_measures_every_file_in_every_runtime(exported, tmp_path):
    folder, results = exported
    csv_path = tmp_path / "bench.csv"
    done = run_cli("bench", folder / "rnn", "--batch", "1,4", "--runtime", "litert,onnxruntime", *FAST, "--json",
                   "--csv", csv_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    expected = {r["path"] for r in results if r["status"] == "ok" and r["model"] == "rnn"}
    assert {r["path"] for r in rows} == expected
    for row in rows:
        assert set(row) >= ROW_KEYS and row["status"] == "ok"
        assert row["min_us"] <= row["p50_us"] <= row["p90_us"] <= row["p99_us"]
        assert row["runs"] >= 20 and row["peak_rss_bytes"] > 0 and row["load_ms"] > 0
        assert row["integrity"] == "verified" and row["threads"] == 1
        assert {"cpu", "cores", "machine", "os", "python", "libraries"} <= set(row["environment"])
        library = {"litert": "ai-edge-litert ", "onnxruntime": "onnxruntime "}[row["runtime"]]
        assert row["backend"].startswith(library) and row["backend"].endswith(", 1 thread(s)"), row["backend"]
    assert {r["batch"] for r in rows} == {1, 4}
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("path,model,format") and len(lines) == len(rows) + 1


def test_batch_one_only_file_says_so(exported):
    folder, _ = exported
    done = run_cli("bench", folder / "lstm" / "lstm-fp32.tflite", "--batch", "1,8", *FAST, "--json")
    rows = json.loads(done.stdout)
    assert [r["batch"] for r in rows] == [1]
    assert "batch-1-only" in rows[0]["batch_note"] and rows[0]["recurrent_op"] == "fused LSTM op"


def test_unloadable_file_gives_a_reasoned_row(exported, tmp_path):
    folder, _ = exported
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not an onnx model")
    done = run_cli("bench", bad, folder / "rnn" / "rnn-fp32.tflite", *FAST, "--json")
    assert done.returncode == 0, done.stderr  # something was measured
    rows = {r["path"]: r for r in json.loads(done.stdout)}
    broken = rows[str(bad)]
    assert broken["status"] == "failed" and broken["reason"] and broken["p50_us"] is None
    assert broken["integrity"] == "no-manifest"
    only_bad = run_cli("bench", bad, *FAST, "--json")
    assert only_bad.returncode == 1 and "nothing could be measured" in only_bad.stderr


def test_keras_baseline_through_compiled_function(exported):
    folder, _ = exported
    done = run_cli("bench", folder / "rnn" / "rnn.keras", *FAST, "--json")
    (row,) = json.loads(done.stdout)
    assert row["status"] == "ok" and "tf.function" in row["backend"]


def test_results_carry_the_device_name(tmp_path):
    """--device names the machine in every row (default: the hostname); an empty name is refused."""
    import socket


    source = REPO / "models" / "rnn" / "rnn-int8.tflite"
    named = run_cli("bench", source, *FAST, "--device", "pi5-kitchen", "--json", "--out", "pi", cwd=tmp_path)
    assert named.returncode == 0, named.stderr
    assert {r["environment"]["device"] for r in json.loads(named.stdout)} == {"pi5-kitchen"}
    assert json.loads((tmp_path / "pi" / "bench.json").read_text()) == json.loads(named.stdout)   # --out
    default = run_cli("bench", source, *FAST, "--json", cwd=tmp_path)
    assert {r["environment"]["device"] for r in json.loads(default.stdout)} == {socket.gethostname()}
    empty = run_cli("bench", source, *FAST, "--device", " ", cwd=tmp_path)
    assert empty.returncode == 2          # a bad option value: a usage error, when parsed (cli/numbers.one_line_text)
    assert empty.stderr.strip().splitlines()[-1] == "Error: Invalid value for '--device': must not be empty"
