"""The main job end to end: `edgeseq run --quick` on the shipped sample, in a temporary folder. The run is the
session's `quick_run` fixture (conftest): its models and exported files are what the other slow tests use, so
that the session trains and exports once."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # trains, exports, validates, benchmarks and reports: minutes


def test_run_quick_end_to_end(quick_run):
    out, done = quick_run
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    for name in ("train.json", "export.json", "validate.json", "bench.json", "run.json"):
        assert (out / name).is_file(), name
    report = out / "report"
    for name in ("report.md", "report.html", "report.json", "accuracy-vs-latency.png"):
        assert (report / name).is_file(), name
    assert Path(summary["report"]) == report / "report.md"
    markdown = (report / "report.md").read_text()
    measured = [r for r in json.loads((out / "bench.json").read_text()) if r["status"] == "ok"]
    assert measured
    for row in measured:
        label = f"| {row['model']} | {row['format']} | {row['recipe']} | {row['runtime']} |"
        assert label in markdown, label
    assert "data:image/png;base64," in (report / "report.html").read_text()
    for phase in ("[1/5] train", "[2/5] export", "[3/5] validate", "[4/5] bench", "[5/5] report"):
        assert phase in done.stderr
    # green from scratch: no exported file fails parity (a fresh folder, every session)
    parity = json.loads((out / "validate.json").read_text())
    assert parity and summary["passed"] and not any(r["outcome"] == "fail" for r in parity), \
        [(r["path"], r["reason"]) for r in parity if r["outcome"] == "fail"]
    # what the 1,000 digits cannot judge is listed, never passed
    unsure = {r["path"] for r in parity if r["outcome"] == "inconclusive"}
    assert set(summary["inconclusive_files"]) == unsure
    assert not any(r["passed"] for r in parity if r["outcome"] == "inconclusive")
    assert summary["data"]["name"] == "sample" and "limited" in summary["data"]["note"]


def test_run_from_a_folder_holding_a_decoy_edgeseq_is_the_same_job(quick_run):
    """The quick run ran from a folder holding a decoy `edgeseq/` (conftest): no child imported it (every recipe
    exported or was refused by the converter itself, nothing crashed), and the report says what every run's says:
    each model's training health and the tested RNN-vs-LSTM step."""
    from conftest import DECOY_MESSAGE

    out, done = quick_run
    assert done.returncode == 0 and DECOY_MESSAGE not in done.stderr
    exported = json.loads((out / "export.json").read_text())
    assert all(r["status"] in ("ok", "unsupported") for r in exported), \
        [(r["recipe"], r["status"], r["reason"]) for r in exported if r["status"] not in ("ok", "unsupported")]
    assert sum(r["status"] == "ok" for r in exported) >= 10
    assert not any(DECOY_MESSAGE in (r["reason"] or "") for r in exported)
    summary = json.loads(done.stdout)
    assert [line.split(":")[0] for line in summary["health"]] == ["RNN", "LSTM"]
    assert summary["conclusion"].startswith("Going from the RNN's")
    markdown = (out / "report" / "report.md").read_text()
    assert "## Training health" in markdown and summary["conclusion"][:80] in markdown
