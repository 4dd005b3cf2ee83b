import json

import numpy as np

from edgeseq import models
from edgeseq.models import Arch
from edgeseq.core.tfsupport import load_keras_model
from edgeseq.train import TrainConfig, train

from conftest import run_cli


def test_train_cli_end_to_end(tmp_path):
    done = run_cli("train", "--model", "rnn", "--epochs", "2", "--limit-train", "300", "--limit", "100",
                   "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["model"] == "rnn" and result["epochs"] == 2 and 0.0 <= result["test_accuracy"] <= 1.0
    correct = result["test_accuracy"] * 100  # a count of the 100 test digits, the last epoch's validation
    assert abs(correct - round(correct)) < 1e-4 and result["test_accuracy"] == result["history"][-1]["val_accuracy"]
    assert result["seconds"] > 0 and result["path"].endswith("rnn/rnn.keras")
    assert [e["epoch"] for e in result["history"]] == [1, 2]
    assert set(result["history"][0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert "rnn epoch 1/2" in done.stderr and "rnn epoch 2/2" in done.stderr  # progress on stderr
    manifest = json.loads((tmp_path / "rnn" / "rnn.keras.json").read_text())
    assert manifest["parameters"] == 2282 and manifest["data"]["name"] == "sample"
    assert manifest["data"]["train_count"] == 300 and manifest["seed"] == 0 and manifest["batch_size"] == 32
    assert "keras" in manifest["library_versions"]
    assert len(json.loads((tmp_path / "rnn" / "history.json").read_text())) == 2
    assert sorted(p.name for p in (tmp_path / "rnn").iterdir()) == ["history.json", "rnn.keras", "rnn.keras.json"]


def test_same_seed_same_weights(tmp_path, sample):
    small = sample.limited(train=200, test=50)
    first = train(TrainConfig(Arch.RNN, epochs=1, seed=7), small, tmp_path / "a", progress=lambda _: None)
    second = train(TrainConfig(Arch.RNN, epochs=1, seed=7), small, tmp_path / "b", progress=lambda _: None)
    other = train(TrainConfig(Arch.RNN, epochs=1, seed=8), small, tmp_path / "c", progress=lambda _: None)
    weights = [load_keras_model(r.path).get_weights() for r in (first, second, other)]
    assert all(np.array_equal(a, b) for a, b in zip(weights[0], weights[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))


def test_trained_model_round_trips(trained, sample):
    model = load_keras_model(trained / "lstm" / "lstm.keras")
    assert model.count_params() == models.ARCHITECTURES[Arch.LSTM].parameters
    assert np.allclose(model(sample.x_test[:2], training=False).numpy().sum(axis=1), 1.0, atol=1e-5)
