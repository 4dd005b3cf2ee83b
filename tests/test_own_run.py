"""A whole `edgeseq run` on real non-MNIST data (issue 21): JapaneseVowels, the UEA/UCR set the `ts` extra's library
ships (12 channels, sequences of 7 to 29 steps, 9 classes): trained, exported, validated, benchmarked and reported,
and a file copied alone that still says how to turn raw values into its input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow
DATA = "uea:JapaneseVowels"


@pytest.fixture(scope="module")
def vowels_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sktime")
    out = tmp_path_factory.mktemp("vowels") / "run"
    done = run_cli("run", "--data", DATA, "--epochs", "15", "--out", out, "--json")   # --quick's 3 epochs are too few
    assert done.returncode in (0, 1), done.stderr[-3000:]             # 1: a parity failure, reported below
    assert "Traceback" not in done.stderr
    (out / "stdout.json").write_text(done.stdout)
    return out


def test_the_run_trains_both_seeds_for_the_data(vowels_run):
    summary = json.loads((vowels_run / "stdout.json").read_text())
    assert summary["data"]["name"] == "ts:JapaneseVowels" and summary["data"]["shape"] == [29, 12]
    assert summary["data"]["variable_length"] is True and summary["data"]["classes"] == 9
    trained = json.loads((vowels_run / "train.json").read_text())
    assert [r["model"] for r in trained] == ["rnn", "lstm"]
    for row in trained:
        manifest = json.loads((vowels_run / "models" / row["model"] / f"{row['model']}.keras.json").read_text())
        assert manifest["data_spec"]["timesteps"] == 29 and manifest["data_spec"]["features"] == 12
        assert manifest["data_spec"]["labels"] == [str(i) for i in range(1, 10)]
        assert "left-padded" in manifest["data_spec"]["lengths"]
        assert manifest["description"].endswith("Dense(9, softmax)")
        assert row["test_accuracy"] > 1 / 9 + 0.2                   # learned something in 3 epochs


def test_every_exported_file_carries_the_contract_and_golden_samples(vowels_run):
    exported = json.loads((vowels_run / "export.json").read_text())
    ok = [r for r in exported if r["status"] == "ok"]
    assert len(ok) >= 12, [(r["model"], r["recipe"], r["status"], r["reason"]) for r in exported]
    for row in ok:
        manifest = json.loads(Path(f"{row['path']}.json").read_text())
        assert manifest["data_spec"]["features"] == 12 and "labels" not in manifest
        assert manifest["golden"]["count"] == 370 and "class-balanced" in manifest["golden"]["samples"]
        assert manifest["inputs"][0]["shape"][1:] == [29, 12]
    validated = json.loads((vowels_run / "validate.json").read_text())
    assert validated and all(r["data"]["name"] == "ts:JapaneseVowels" for r in validated)
    assert all(r["accuracy"] is not None for r in validated), [r["reason"] for r in validated if r["accuracy"] is None]
    benched = json.loads((vowels_run / "bench.json").read_text())
    assert benched and all(r["status"] == "ok" for r in benched), [r["reason"] for r in benched if r["status"] != "ok"]


def test_the_report_speaks_of_sequences_and_publishes_no_mnist_figure(vowels_run):
    report = (vowels_run / "report" / "report.md").read_text()
    assert "ts:JapaneseVowels" in report and "29 × 12, 9, unequal lengths" in report
    assert "published" not in report.lower()
    assert "digit" not in report.lower() and ".partial" not in report     # sequences, and files as users see them
    assert "## Training health" in report
    data = json.loads((vowels_run / "report" / "report.json").read_text())
    assert data["published"] == {} and data["verdict"]


def test_a_file_copied_alone_turns_raw_values_into_the_same_answers(vowels_run, tmp_path):
    """The app's view: only the .tflite, its embedded contract and the raw .ts values."""
    from edgeseq import data, runtimes
    from edgeseq.artifacts import read_facts
    from edgeseq.data import DataSpec
    from edgeseq.ts_format import read_ts, shipped_ts

    alone = tmp_path / "lstm-fp32.tflite"
    shutil.copy(vowels_run / "models" / "lstm" / "lstm-fp32.tflite", alone)
    spec = DataSpec.from_dict(read_facts(alone).embedded["data_spec"])
    raw = read_ts(shipped_ts("JapaneseVowels")).arrays
    x, lengths = raw["x_test"][:50], raw["lengths_test"][:50]
    fed = np.zeros((len(x), spec.timesteps, spec.features), np.float32)
    for i, n in enumerate(lengths):                              # the rule the contract states: left-padded zeros
        fed[i, spec.timesteps - n:] = spec.normalisation.apply(x[i, :n])
    runtime = runtimes.load(alone, runtimes.runtimes_for(alone)[0])
    theirs = runtimes.predict_in_batches(runtime, fed)
    ours = runtimes.predict_in_batches(runtime, data.load(DATA).x_test[:50])
    assert np.allclose(theirs, ours, atol=1e-6)
    assert [spec.labels[i] for i in theirs.argmax(1)][:5] and spec.variable_length


def test_a_device_without_the_data_judges_on_the_golden_samples(vowels_run, tmp_path, without_tensorflow):
    """The CI job of the README on files made for other data: no --data (the sample is MNIST), no TensorFlow:
    every file is judged on the samples its golden sidecar stores, never on MNIST digits."""
    models = tmp_path / "models"
    shutil.copytree(vowels_run / "models" / "rnn", models / "rnn",
                    ignore=shutil.ignore_patterns("*.keras", "*.keras.json", "history.json"))
    done = run_cli("validate", models, "--runtime", "litert", "--json", env=without_tensorflow)
    rows = [r for r in json.loads(done.stdout) if r["path"].endswith(".tflite")]   # .onnx: not a litert file
    assert rows and all(r["reference_kind"] == "golden outputs" for r in rows), [r["reason"] for r in rows]
    assert all(r["data"]["name"] == "golden" and r["digits"] == 370 for r in rows)
    assert {Path(r["path"]).name for r in rows if r["outcome"] == "pass"} >= {"rnn-fp32.tflite", "rnn-fp16.tflite"}
