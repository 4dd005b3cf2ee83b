"""`export --max-loss-pp`: the accuracy-aware recipe search, on the committed full-MNIST SimpleRNN (its
calibration is deterministic: seed 0) with a recipe broken on purpose: static ONNX calibrated on one digit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from edgeseq.export.search import REJECTED, REMEDIES
from edgeseq.core.fileio import sha256_file
from edgeseq.core.layout import manifest_path

pytestmark = pytest.mark.slow  # converts and judges several attempts (about a minute)

BROKEN = ("export", "--from", REPO / "models", "--model", "rnn", "--format", "onnx", "--quant", "static",
          "--calibration-size", "1", "--json")


def test_the_search_widens_a_one_digit_calibration_and_records_its_attempts(tmp_path):
    done = run_cli(*BROKEN, "--out", tmp_path, "--max-loss-pp", "1.0")
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(done.stdout)
    search = result["search"]
    first, kept = search["attempts"][0], search["attempts"][search["kept"]]
    assert first["calibration_size"] == 1 and first["outcome"] == "fail" and first["delta_accuracy_pp"] < -1.0, first
    assert search["met"] and search["kept"] > 0 and kept["calibration_size"] >= 1000, search
    assert kept["delta_accuracy_pp"] >= -1.0 and kept["outcome"] != "fail" and kept["p50_us"] > 0, kept
    assert all(a["remedy"] in {r.name for r in REMEDIES} for a in search["attempts"])
    assert search["judged_on"]["name"] == "sample" and search["calibrated_on"] == "training split"
    path = Path(result["path"])
    manifest = json.loads(manifest_path(path).read_text())
    assert path == tmp_path / "rnn" / "rnn-static.onnx" and manifest["sha256"] == sha256_file(path)
    assert manifest["search"] == search and manifest["calibration"]["size"] == kept["calibration_size"]
    assert not list(tmp_path.glob(".edgeseq-*")) and not (tmp_path / "rnn" / REJECTED).exists()
    assert "attempt 0 (as configured)" in done.stderr
    inspected = run_cli("inspect", path)
    assert f"kept attempt {search['kept']} of {len(search['attempts'])}" in inspected.stdout, inspected.stdout
    validated = run_cli("validate", path, "--reference", REPO / "models" / "rnn" / "rnn.keras", "--runtime",
                        "onnxruntime", "--json")
    (row,) = json.loads(validated.stdout)
    assert row["delta_accuracy_pp"] == kept["delta_accuracy_pp"] and row["outcome"] != "fail", row


def test_when_nothing_meets_the_budget_the_best_attempt_is_kept_out_of_the_model_folder(tmp_path):
    """A time budget spent after the first (broken) attempt: nothing meets, the recipe fails with its figures
    and the attempt is kept in .rejected, where validate and bench of the folder do not look."""
    done = run_cli(*BROKEN, "--out", tmp_path, "--max-loss-pp", "1.0", "--search-seconds", "0.001")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    (result,) = json.loads(done.stdout)
    assert result["status"] == "failed" and result["path"] is None
    assert "no attempt of 1 met the 1 pp budget" in result["reason"] and REJECTED in result["reason"]
    search = result["search"]
    assert not search["met"] and len(search["attempts"]) == 1 and search["not_tried_time_budget"], search
    kept = tmp_path / "rnn" / REJECTED / "rnn-static.onnx"
    assert kept.is_file() and json.loads(manifest_path(kept).read_text())["search"] == search
    assert not (tmp_path / "rnn" / "rnn-static.onnx").exists()
