"""validate's reports as a JUnit XML report, the file CI systems read (GitLab's `artifacts:reports:junit`,
Jenkins, GitHub test-reporter actions): one <testcase> per file x runtime.

A pass is a bare testcase. A file out of tolerance is a <failure>; a report that could not be computed (the
file does not load, does not match its manifest, has no reference, no requested runtime loads it) is an
<error>; an inconclusive one is <skipped> (the digits cannot judge it), or a <failure> with --strict, where it
fails the command. So the report's failures and errors are not zero exactly when validate exits 1. Each
message holds the reason, the change in accuracy with its 95 % interval, and the tolerance; the testcase's
<system-out> holds the key figures a line each, and the suite's <properties> what the run used.

Rendered with the standard library (xml.etree.ElementTree) and shaped to Jenkins' JUnit schema (the tests fetch it:
tests/junit_schema.py): <testsuites> without a skipped count, no properties on a testcase, <skipped> as text.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from edgeseq.core.errors import shown
from edgeseq.data import units_of
from edgeseq.parity.compare import ParityReport

SUITE_NAME = "edgeseq validate"


@dataclass(frozen=True)
class Verdict:
    """What one report becomes: no element (a pass), or failure / error / skipped with a type and message."""
    element: str | None          # failure | error | skipped | None
    type: str | None = None
    message: str | None = None


def verdict(report: ParityReport, strict: bool = False) -> Verdict:
    """The JUnit element of one report, as validate's exit code counts it."""
    if report.passed:
        return Verdict(None)
    if report.outcome is None:                                  # no figures: it could not be checked
        return Verdict("error", "not-checked", _text(report.reason or "not checked"))
    message = _message(report)
    if report.inconclusive:
        return Verdict("failure", "inconclusive", f"{message}; --strict fails it") if strict \
            else Verdict("skipped", "inconclusive", message)
    return Verdict("failure", "parity", message)


def _message(report: ParityReport) -> str:
    """The reason, then the figures it does not already name: the change in accuracy with its 95 % interval,
    and the tolerance it was held to."""
    reason = report.reason or "failed"
    parts = [reason]
    if report.delta_ci_pp and "95 % CI" not in reason:
        low, high = report.delta_ci_pp
        parts.append(f"delta {report.delta_accuracy_pp:+.2f} pp, 95 % CI [{low:+.2f}, {high:+.2f}] on"
                     f" {report.digits} {units_of(report.data)}")
    parts.append(f"tolerance: {_tolerance(report)}")
    return _text("; ".join(parts))


def _tolerance(report: ParityReport) -> str:
    """`max_abs_diff <= 0.0001, agreement >= 0.999 (manifest)`: the limits checked, and where they came from."""
    limits = report.tolerance or {}
    shown_limits = [text for key, text in (("max_abs_diff", "max_abs_diff <= {:g}"),
                                           ("min_agreement", "agreement >= {:g}"),
                                           ("min_delta_accuracy_pp", "delta >= {:+g} pp"))
                    if limits.get(key) is not None for text in [text.format(limits[key])]]
    source = f" ({report.tolerance_source})" if report.tolerance_source else ""
    return (", ".join(shown_limits) or "none") + source


def figures(report: ParityReport) -> list[str]:
    """The key figures of one report, a line each (the testcase's system-out)."""
    lines = [f"file: {report.path}" + (f" (sha256 {report.sha256})" if report.sha256 else ""),
             f"runtime: {report.runtime}" + (f" ({report.backend})" if report.backend else ""),
             f"integrity: {report.integrity}"]
    if report.reference:
        lines.append(f"reference: {report.reference_kind} {report.reference}")
    if report.accuracy is not None:
        lines.append(f"accuracy: {report.accuracy:.2%} (reference {report.reference_accuracy:.2%})"
                     f" on {report.digits} {units_of(report.data)} ({report.data.get('name', '?')})")
    if report.delta_ci_pp:
        low, high = report.delta_ci_pp
        lines.append(f"delta: {report.delta_accuracy_pp:+.2f} pp, 95 % CI [{low:+.2f}, {high:+.2f}]")
    if report.discordant:
        lines.append(f"discordant {units_of(report.data)}: reference only right {report.discordant['reference_only']}, file only"
                     f" right {report.discordant['candidate_only']}; exact McNemar p {report.mcnemar_p:.3g}")
    if report.agreement is not None:
        lines.append(f"top-1 agreement: {report.agreement:.2%}; max abs diff {report.max_abs_diff:.3g}")
    if report.state_hygiene is not None:
        lines.append(f"state hygiene: {'ok' if report.state_hygiene else 'FAILED'}")
    if report.tolerance is not None:
        lines.append(f"tolerance: {_tolerance(report)}")
    outcome = report.outcome or "not checked"
    reason = report.reason.removeprefix(f"{outcome}: ") if report.reason else None
    lines.append(f"verdict: {outcome.upper()}" + (f": {reason}" if reason else ""))
    return [_text(line) for line in lines]


def render(reports: Iterable[ParityReport], strict: bool = False, seconds: float | None = None,
           timestamp: datetime | None = None, hostname: str | None = None,
           properties: dict[str, Any] | None = None) -> bytes:
    """The JUnit XML document (UTF-8, with its declaration). `seconds`: the run's wall time (default: the sum of
    the reports'); `timestamp`: when it started (default: now, UTC); `hostname`: default this machine's name;
    `properties`: what the run used (edgeseq's version, the data, ...), written on the suite."""
    reports = list(reports)
    verdicts = [verdict(r, strict) for r in reports]
    counts = {kind: sum(v.element == kind for v in verdicts) for kind in ("failure", "error", "skipped")}
    total = f"{seconds if seconds is not None else sum(r.seconds for r in reports):.3f}"
    started = (timestamp or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    root = ET.Element("testsuites", name=SUITE_NAME, tests=str(len(reports)), failures=str(counts["failure"]),
                      errors=str(counts["error"]), time=total)
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME, tests=str(len(reports)),
                          failures=str(counts["failure"]), errors=str(counts["error"]),
                          skipped=str(counts["skipped"]), time=total, timestamp=started,
                          hostname=_text(hostname or socket.gethostname() or "unknown"))
    listed = ET.SubElement(suite, "properties")
    for name, value in {**(properties or {}), "strict": str(strict).lower()}.items():
        ET.SubElement(listed, "property", name=_text(name), value=_text(value))
    for report, judged in zip(reports, verdicts):
        case = ET.SubElement(suite, "testcase", classname=_text(report.model or Path(report.path).stem),
                             name=_text(f"{report.path} [{report.runtime}]"), time=f"{report.seconds:.3f}")
        if judged.element == "skipped":           # Jenkins' schema: <skipped> holds text only, no attributes
            ET.SubElement(case, "skipped").text = judged.message
        elif judged.element:
            ET.SubElement(case, judged.element, type=judged.type or "", message=judged.message or "").text = \
                judged.message
        ET.SubElement(case, "system-out").text = "\n".join(figures(report)) + "\n"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _text(value: Any) -> str:
    """One line XML 1.0 can hold: control characters (and lone surrogates from undecodable file names) escaped
    as edgeseq's one-line errors show them."""
    return shown(value)
