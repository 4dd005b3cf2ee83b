"""An honest verdict on any data: training health (edgeseq.health), the tested RNN-versus-LSTM step
(edgeseq.report.paired) and a verdict that refuses a failed training. Built from constructed histories and
small JSON results (tests/test_report.py's make_results); the real training cases are marked slow."""

import json
import subprocess
import sys

import numpy as np
import pytest

from edgeseq import models, report
from edgeseq.health import Health, assess, wilson_low
from edgeseq.parity.compare import bits_of, correct_bits
from edgeseq.report import file_rows, read_inputs, verdicts
from edgeseq.report.paired import difference
from test_report import FILES, make_results

TEN = [str(i) for i in range(10)]
BALANCED = np.repeat(np.arange(10), 100)


def epochs(*losses: float) -> list[dict]:
    return [{"epoch": i, "loss": loss, "val_loss": loss} for i, loss in enumerate(losses, 1)]


def test_a_loss_that_explodes_is_divergence_with_advice_the_project_offers():
    health = assess("lstm", epochs(4_029_968.0, 1.9, 1.8), 0.3295, np.repeat(np.arange(7), 30),
                    list("abcdefg"), models.variant("lstm"))
    assert not health.healthy and [f.check for f in health.findings] == ["diverged"]
    assert "4.03e+06" in health.findings[0].text and "--model lstm-128x2-tanh" in health.findings[0].advice
    models.variant("lstm-128x2-tanh")            # the advice names a model edgeseq can train


def test_a_nan_loss_is_divergence():
    history = epochs(0.9) + [{"epoch": 2, "loss": None, "val_loss": None}]
    health = assess("rnn", history, None, BALANCED, TEN, models.variant("rnn"))
    assert {f.check for f in health.findings} == {"diverged", "chance"}
    assert "not a number" in health.findings[0].text


def test_a_loss_that_rises_over_training_is_divergence():
    health = assess("rnn", epochs(0.8, 1.0, 1.6), 0.6, BALANCED, TEN, models.variant("rnn"))
    assert [f.check for f in health.findings] == ["diverged"] and "rose from 0.8" in health.findings[0].text


def test_accuracy_near_chance_on_few_sequences_is_not_a_result():
    """The 52-class set: 3.37 % (7 of 208 sequences), chance 1.92 %: the interval reaches chance; 4.33 % (9 of
    208) is, just, significantly above it, and only its stalled loss is said."""
    labels = [f"c{i}" for i in range(52)]
    y = np.repeat(np.arange(52), 4)
    health = assess("rnn", epochs(3.96, 3.95), 7 / 208, y, labels, models.variant("rnn"))
    assert {f.check for f in health.findings} == {"stalled", "chance"}
    chance = next(f for f in health.findings if f.check == "chance")
    assert "1.92 %" in chance.text and "208 test sequences" in chance.text and "--epochs" in chance.advice
    lstm = assess("lstm", epochs(3.96, 3.95), 9 / 208, y, labels, models.variant("lstm"))
    assert [f.check for f in lstm.findings] == ["stalled"]


def test_chance_is_the_majority_class_when_it_is_larger_than_one_over_k():
    y = np.array([0] * 80 + [1] * 20)
    assert not assess("m", (), 0.80, y, ["a", "b"]).healthy          # always answering 'a' is 80 %
    assert assess("m", (), 0.95, y, ["a", "b"]).healthy


def test_a_model_that_learned_is_healthy_and_round_trips():
    health = assess("rnn", epochs(0.8, 0.4, 0.3), 0.9034, np.repeat(np.arange(10), 1000), TEN,
                    models.variant("rnn"), "digits")
    assert health.healthy and Health.from_dict(json.loads(json.dumps(health.to_dict()))) == health
    assert 0.89 < health.accuracy_low < 0.9034


def test_wilson_interval_is_below_the_estimate_and_shrinks_with_n():
    assert wilson_low(90, 100) < 0.9 and wilson_low(900, 1000) > wilson_low(90, 100)
    assert wilson_low(0, 10) == 0.0


def test_correct_bits_round_trip():
    probabilities = np.eye(3)[[0, 1, 2, 1, 0, 2, 2, 1, 0]]
    labels = np.array([0, 1, 1, 1, 0, 2, 0, 1, 0])
    assert bits_of(correct_bits(probabilities, labels), 9).tolist() == (np.argmax(probabilities, 1) == labels).tolist()
    with pytest.raises(ValueError):
        bits_of(correct_bits(probabilities, labels), 17)


# ---------------------------------------------------------------- the tested step

def with_bits(folder, model_bits: dict[str, np.ndarray]) -> None:
    """Give every validate row of each model the per-sequence results `model_bits[model]` (its Keras reference
    the same), on the rows' own data."""
    rows = json.loads((folder / "validate.json").read_text())
    for row in rows:
        right = model_bits[row["model"]]
        packed = correct_bits(np.eye(2)[right.astype(int)], np.ones(len(right), int))
        row.update(correct=packed, reference_correct=packed, digits=len(right), accuracy=float(right.mean()),
                   reference_accuracy=float(right.mean()))
    (folder / "validate.json").write_text(json.dumps(rows))


def conclusion_of(folder):
    inputs = read_inputs(folder)
    return report.conclude(verdicts(file_rows(inputs), models=report.architectures(inputs)),
                           {"rnn": 2282, "lstm": 216426})


def test_a_real_gain_is_more_accurate_and_priced(tmp_path):
    rng = np.random.default_rng(0)
    rnn = rng.random(1000) < 0.90
    lstm = rnn | (rng.random(1000) < 0.6)               # the LSTM right wherever the RNN is, and more
    folder = make_results(tmp_path, FILES)
    with_bits(folder, {"rnn": rnn, "lstm": lstm})
    c = conclusion_of(folder)
    assert c.real_gain is True and c.difference["paired"] and c.difference["low_pp"] > 0
    assert "is more accurate" in c.text and "each pp it adds costs" in c.text and c.pp_per_us is not None


def test_a_null_difference_is_said_and_not_priced(tmp_path):
    """The 52-class case: 2 of 208 sequences apart."""
    rng = np.random.default_rng(1)
    rnn = rng.random(208) < 0.05
    lstm = rnn.copy()
    lstm[np.flatnonzero(~rnn)[:2]] = True
    folder = make_results(tmp_path, FILES)
    with_bits(folder, {"rnn": rnn, "lstm": lstm})
    c = conclusion_of(folder)
    assert c.real_gain is False and c.difference["low_pp"] < 0 < c.difference["high_pp"]
    assert "no measurable difference" in c.text and "208 sequences" in c.text
    assert "costs" not in c.text and c.pp_per_us is None and c.pp_per_kb is None


def test_paired_difference_counts_only_discordant_sequences(tmp_path):
    folder = make_results(tmp_path, FILES)
    a = np.array([True] * 50 + [False] * 50)
    b = np.array([True] * 50 + [True] * 10 + [False] * 40)
    with_bits(folder, {"rnn": a, "lstm": b})
    rows = {r.label: r for r in file_rows(read_inputs(folder))}
    found = difference(rows["rnn tflite/fp32"], rows["lstm tflite/fp32"])
    assert found.paired and (found.only_a, found.only_b, found.n) == (0, 10, 100) and found.real
    assert found.gain_pp == pytest.approx(10.0)


def test_without_per_sequence_results_the_interval_is_unpaired_and_wider(tmp_path):
    folder = make_results(tmp_path, FILES)         # the fixture's rows carry no bits
    rows = {r.label: r for r in file_rows(read_inputs(folder))}
    found = difference(rows["rnn tflite/fp32"], rows["lstm tflite/fp32"])
    assert found is not None and not found.paired and "unpaired" in found.interval()


# ---------------------------------------------------------------- the verdict refuses a failed training

def test_a_failed_training_gets_no_recommendation_and_no_verdict(tmp_path):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / "train.json").read_text())
    lstm = next(r for r in rows if r["model"] == "lstm")
    lstm["history"][0]["loss"] = 4_029_968.0
    lstm["health"] = assess("lstm", lstm["history"], lstm["test_accuracy"], BALANCED, TEN,
                            models.variant("lstm")).to_dict()
    (folder / "train.json").write_text(json.dumps(rows))
    out = report.build_report(folder, tmp_path / "out")
    by_model = {v.model: v for v in out.verdict}
    assert by_model["lstm"].recommended is None and "training failed its health checks" in by_model["lstm"].none_fits
    assert by_model["rnn"].recommended is not None
    assert out.conclusion.text.startswith("No verdict on the LSTM") and out.conclusion.pp_per_us is None
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Training health" in text and "LSTM: training failed its health checks" in text
    assert text.index("Training health") < text.index("## Verdict")


def test_inconclusive_files_are_not_listed_as_failed(tmp_path):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / "validate.json").read_text())
    for row in rows:
        if row["model"] == "lstm" and row["format"] == "onnx":
            row.update(passed=False, outcome="inconclusive", reason="inconclusive: the interval straddles -1 pp")
    (folder / "validate.json").write_text(json.dumps(rows))
    out = report.build_report(folder, tmp_path / "out")
    lstm = next(v for v in out.verdict if v.model == "lstm")
    assert [r.label for r in lstm.inconclusive] == ["lstm onnx/dynamic"]
    assert all(r.label != "lstm onnx/dynamic" for r in lstm.failed)
    text = (tmp_path / "out" / "report.md").read_text()
    failed_section = text.split("### Files that failed parity")[1].split("###")[0]
    assert "lstm onnx/dynamic" not in failed_section and "inconclusive: never recommended" in text


# ---------------------------------------------------------------- a real training

@pytest.mark.slow
def test_training_on_shuffled_labels_reports_chance(tmp_path):
    """A data set no model can learn: the labels are shuffled. `edgeseq train` says so, in train.json and the
    manifest, and names what to try."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 12, 3)).astype(np.float32)
    y = rng.integers(0, 4, 400)
    np.savez(tmp_path / "noise.npz", x_train=x[:300], y_train=y[:300], x_test=x[300:], y_test=y[300:])
    done = subprocess.run([sys.executable, "-m", "edgeseq", "train", "--model", "rnn", "--epochs", "2",
                           "--data", str(tmp_path / "noise.npz"), "--out", str(tmp_path / "m"), "--json"],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not significantly above chance" in done.stderr
    row = json.loads(done.stdout)[0]
    assert row["health"]["findings"] and row["health"]["findings"][-1]["check"] == "chance"
    manifest = json.loads((tmp_path / "m" / "rnn" / "rnn.keras.json").read_text())
    assert manifest["training_health"] == row["health"]


@pytest.mark.slow
def test_a_real_run_that_diverges_is_said_and_json_stays_clean(tmp_path):
    """The seed LSTM (relu) on OSULeaf (427 timesteps, a real UCR set sktime ships) reaches a NaN loss in its third
    epoch: the run says so in its health, stops, and `--json` stays one JSON document (Keras' TerminateOnNaN would
    print to stdout)."""
    pytest.importorskip("sktime")
    done = subprocess.run([sys.executable, "-m", "edgeseq", "train", "--model", "lstm", "--data", "uea:OSULeaf",
                           "--out", str(tmp_path / "m"), "--json"],
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout)[0]
    checks = [f["check"] for f in row["health"]["findings"]]
    assert checks[0] == "diverged" and "not a number" in row["health"]["findings"][0]["text"]
    assert row["test_loss"] is None and any(e["loss"] is None for e in row["history"])
    assert "Training diverged" in done.stderr and "lstm-128x2-tanh" in done.stderr
