"""fuzz's cases as a JUnit XML report, shaped as validate's (edgeseq.parity.junit): one <testcase> per file x
runtime x kernel setting; a case out of its gate is a <failure>, a case that could not be run an <error>. The
testcase's <system-out> holds the figures and each reproducer's replay command, a line each."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeseq.core.errors import shown
from edgeseq.fuzz.engine import Comparison, FuzzCase, FuzzReport

SUITE_NAME = "edgeseq fuzz"


def _lines(comparison: Comparison | None, units: str) -> list[str]:
    if comparison is None:
        return []
    lines = [f"vs {comparison.against}: top-1 agreement {comparison.agreement:.4f} ({comparison.flips} flips),"
             f" max |dp| {comparison.max_abs_diff:.3g}, {comparison.disagreements} {units} beyond tolerance"]
    lines += [f"reproducer ({r['size']} cells, {r['family']}: {r['description']}): {r['command']}"
              for r in comparison.reproducers]
    if comparison.not_shrunk:
        lines.append(f"{comparison.not_shrunk} more not shrunk (--shrink)")
    return lines


def figures(case: FuzzCase) -> list[str]:
    lines = [f"inputs: {case.inputs}", f"backend: {case.backend}", f"reference: {case.reference}",
             f"non-finite outputs: {case.nonfinite}"]
    return [shown(line) for line in lines + _lines(case.vs_reference, "inputs") + _lines(case.vs_first, "inputs")]


def render(report: FuzzReport, timestamp: datetime | None = None, properties: dict[str, Any] | None = None) -> bytes:
    cases = list(report.cases)
    failures = sum(not c.passed and not c.error for c in cases)
    errors = sum(c.error for c in cases)
    total = f"{report.seconds:.3f}"
    root = ET.Element("testsuites", name=SUITE_NAME, tests=str(len(cases)), failures=str(failures),
                      errors=str(errors), time=total)
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME, tests=str(len(cases)), failures=str(failures),
                          errors=str(errors), skipped="0", time=total,
                          timestamp=(timestamp or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
                          hostname=shown(socket.gethostname() or "unknown"))
    listed = ET.SubElement(suite, "properties")
    for name, value in {**(properties or {}), "inputs": report.inputs["count"], "seed": report.inputs["seed"]}.items():
        ET.SubElement(listed, "property", name=shown(name), value=shown(value))
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=shown(Path(case.path).stem),
                                name=shown(f"{case.path} [{case.label}]"), time=f"{case.seconds:.3f}")
        if not case.passed:
            kind, type_ = ("error", "not-run") if case.error else ("failure", "fuzz")
            ET.SubElement(element, kind, type=type_, message=shown(case.reason or "failed")).text = \
                shown(case.reason or "failed")
        ET.SubElement(element, "system-out").text = "\n".join(figures(case)) + "\n"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
