"""The sweep's points come from the report's join (edgeseq.report.join) and its page from the report's table
renderer (edgeseq.report.document): on the committed full-MNIST results, a point per file × runtime that did not
fail parity and was measured at batch 1, exactly."""

import json

from conftest import REPO

from edgeseq.sweep.frontier import fastest_at_or_above, pareto, points
from edgeseq.sweep.runner import SweepResult, markdown

RESULTS = REPO / "docs" / "report"


def rows(name: str) -> list[dict]:
    return json.loads((RESULTS / name).read_text())


def test_points_are_the_files_that_did_not_fail_and_were_measured_at_batch_one():
    validate, bench = rows("validate.json"), rows("bench.json")
    found = points(validate, bench, "rnn", True)
    measured = {(r["sha256"], r["runtime"]): r for r in bench
                if r["status"] == "ok" and r["batch"] == 1 and not r.get("step")}
    expected = {(r["path"], r["runtime"], r["accuracy"], measured[(r["sha256"], r["runtime"])]["p50_us"])
                for r in validate if (r["sha256"], r["runtime"]) in measured and r.get("accuracy") is not None
                and r.get("outcome") != "fail" and not r.get("step")}
    assert len(found) == len(expected) > 10
    assert {(p.path, p.runtime, p.accuracy, p.p50_us) for p in found} == expected
    assert all(p.parity in ("pass", "inconclusive") and p.size_bytes > 0 for p in found)


def test_the_sweep_page_is_rendered_by_the_reports_tables():
    found = points(rows("validate.json"), rows("bench.json"), "rnn", True)
    latency, size = pareto(found, lambda p: p.p50_us), pareto(found, lambda p: p.size_bytes)
    result = SweepResult("out", "process", {"name": "mnist", "train_count": 60000, "test_count": 10000}, 12.0,
                         [{"variant": "rnn", "seed": True, "status": "ok", "reason": None, "test_accuracy": 0.9,
                           "parameters": 1386, "points": len(found), "seconds": 3.0, "reused": False}],
                         found, latency, size, {"0.9000": fastest_at_or_above(found, 0.9), "0.9999": None})
    page = markdown(result)
    assert page.startswith("# edgeseq sweep\n\n") and "![accuracy vs latency](sweep-frontier.png)" in page
    tables = [block for block in page.split("\n\n") if block.startswith("| ")]
    assert len(tables) == 4
    for table in tables:
        lines = table.splitlines()
        assert lines[1] == "|---" * (lines[0].count(" | ") + 1) + "|" and len(lines) > 2
    assert f"| {latency[0].label} | {latency[0].runtime} |" in page
    assert "| 99.99 % | none | – | – | – |" in page
