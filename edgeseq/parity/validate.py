"""`validate`: every exported file against its reference model on the test split, with a verdict."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import golden, runtimes
from edgeseq.core import layout
from edgeseq.artifacts import collect_files, is_step_file
from edgeseq.data import Dataset, spec_of_manifest, units_of
from edgeseq.core.errors import EdgeseqError, shown
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import Manifest, read_manifest
from edgeseq.integrity import check as check_integrity
from edgeseq.parity.check import check
from edgeseq.parity.compare import FAIL, PASS, ParityReport, correct_bits, kernels_agreement
from edgeseq.parity.reference import GOLDEN_KIND, VALIDATE, resolve_reference
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.recipes import tolerance_of
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.guard import Evaluator, SharedChild
from edgeseq.runtimes.table import default_kernels, kernel_settings

__all__ = ["GOLDEN_KIND", "validate"]


def validate(paths: list[Path], dataset: Dataset, reference: Path | None = None,
             wanted: list[RuntimeName] | None = None, threads: int = 1, tflite_backend: str = "auto",
             overrides: dict[str, float] | None = None, verify: bool = True,
             progress: ProgressLike = None, tflite_kernels: tuple[str, ...] | None = None) -> list[ParityReport]:
    """One report per file, runtime and kernel setting (LiteRT: each of `tflite_kernels` its row in the runtimes
    table honours; default: its default; one progress step each). TFLite and ONNX files run in a child process
    (runtimes.guard): a file that crashes its runtime is a failed report, not a dead command. Where a file ran
    on several settings, each setting's row after the first also compares its probabilities with the first's
    (`vs_kernels`)."""
    progress = as_progress(progress)
    files = collect_files(paths, runtimes.ARTIFACT_SUFFIXES)
    pairs = [(path, name, kernels) for path in files for name in runtimes.runtimes_for(path, wanted) or [None]
             for kernels in (kernel_settings(name, tflite_kernels) if name else [None])]
    references: dict[Path, np.ndarray] = {}
    first: dict[tuple[Path, RuntimeName], tuple[str, np.ndarray]] = {}   # the first setting's probabilities
    reports = []
    with contextlib.ExitStack() as stack, progress.stage("validate", total=len(pairs), unit="files") as stage:
        evaluators = _Evaluators(stack, dataset, threads, tflite_backend)
        for path, runtime_name, kernels in pairs:
            label = runtime_name.value if runtime_name else "none"
            shown_kernels = f", {kernels} kernels" if runtime_name and kernels != default_kernels(label) else ""
            stage.begin(f"{path} ({label}{shown_kernels})")
            report = _check(path, runtime_name, dataset, evaluators, references, reference, overrides or {},
                            verify, wanted, kernels, first)
            reports.append(report)
            if report.accuracy is None:
                stage.advance(detail=f"FAILED: {report.reason}")
            else:
                verdict = "ok" if report.passed else report.reason if report.inconclusive \
                    else f"FAILED: {report.reason}"
                stage.advance(detail=f"acc {report.accuracy:.4f} ({report.delta_accuracy_pp:+.2f} pp),"
                                     f" agreement {report.agreement:.4f}, max diff {report.max_abs_diff:.2g}:"
                                     f" {verdict}")
    return reports


class _Evaluators:
    """One Evaluator per set of sequences: the requested test split, and the golden samples when a file is
    checked against golden outputs (made on first use); both run isolated runtimes in one shared guard child."""

    def __init__(self, stack: contextlib.ExitStack, dataset: Dataset, threads: int, tflite_backend: str) -> None:
        self._stack, self._threads, self._backend = stack, threads, tflite_backend
        self._shared = stack.enter_context(SharedChild())
        self.main = stack.enter_context(Evaluator(dataset.x_test, threads, tflite_backend, self._shared))
        self._golden: Evaluator | None = None

    def golden(self, samples: np.ndarray) -> Evaluator:
        if self._golden is None:
            self._golden = self._stack.enter_context(Evaluator(samples, self._threads, self._backend,
                                                               self._shared))
        return self._golden


def _sha256(path: Path) -> str | None:
    """The file's sha256, the key results are joined on; None when it cannot be read (reported below)."""
    try:
        return sha256_file(path)
    except OSError:
        return None


def _identity(path: Path, manifest: dict[str, Any] | None) -> dict[str, Any]:
    """What the file is (whether it is a step model: from its tensors, the one predicate)."""
    key = layout.key_of(path, manifest)
    return {"model": key.model if key else None, "format": layout.format_of(path),
            "recipe": key.recipe if key else None, "step": is_step_file(path)}


def _own_samples(path: Path, manifest: Manifest | None, dataset: Dataset) -> Path | None:
    """A file made for data other than MNIST, checked with MNIST data (the default --data, the sample: a device
    or CI job without the user's data): its golden outputs, whose sidecar stores its samples. None otherwise."""
    if manifest is None or not dataset.spec.mnist or spec_of_manifest(manifest).mnist:
        return None
    return layout.named_golden(path, manifest)


def _check(path: Path, runtime_name: RuntimeName | None, dataset: Dataset, evaluators: _Evaluators,
           references: dict[Path, np.ndarray], reference: Path | None, overrides: dict[str, float],
           verify: bool, wanted: list[RuntimeName] | None = None, kernels: str | None = None,
           first: dict[tuple[Path, RuntimeName], tuple[str, np.ndarray]] | None = None) -> ParityReport:
    """The file against its manifest's size and sha256, then its structure (a corrupt file is reported as
    such, before any reference is looked for), then its embedded facts against the manifest, then the file
    against its reference (`references` caches reference predictions; `first`, the first kernel setting's
    probabilities of each file × runtime, which a later setting is compared with)."""
    started = time.perf_counter()
    label = runtime_name.value if runtime_name else "none"
    manifest = None
    integrity = "skipped (--no-verify)"
    common: dict[str, Any] = {"path": str(path), "runtime": label, "data": dataset.identity(), "kernels": kernels}
    try:
        if runtime_name is None:
            raise EdgeseqError(runtimes.not_loadable(path, wanted))
        manifest = read_manifest(path)
        common |= _identity(path, manifest) | {"sha256": _sha256(path)}
        integrity = check_integrity(path, verify, manifest, common["sha256"]).integrity   # size, sha256, facts
        found = resolve_reference(path, reference or _own_samples(path, manifest, dataset), VALIDATE)
        ref_path, ref_kind = found.path, found.kind
        tolerance, tolerance_source = tolerance_of(manifest, common["format"])
        if overrides:
            tolerance = replace(tolerance, **overrides)
            tolerance_source += f", overridden: {', '.join(sorted(overrides))}"
        if ref_kind == GOLDEN_KIND:
            recorded = (manifest.golden if manifest else None) or {}
            stored = golden.read(ref_path, recorded.get("sha256") if verify else None, recorded.get("count"))
            digits = stored.dataset()
            common["data"] = digits.identity()
            checked = check(evaluators.golden(digits.x_test), path, runtime_name, stored.probabilities,
                            stored.labels, tolerance, digits.units, hygiene=True, kernels=kernels)
            bits = {"correct": correct_bits(checked.outcome.probabilities, stored.labels),
                    "reference_correct": correct_bits(stored.probabilities, stored.labels)}
        else:
            if manifest is not None:
                spec_of_manifest(manifest).require(dataset.spec,
                                                   f"{shown(path.name)} cannot be checked on {dataset.name}")
            if ref_path not in references:
                references[ref_path] = evaluators.main.run(ref_path, runtimes.runtimes_for(ref_path)[0]).probabilities
            checked = check(evaluators.main, path, runtime_name, references[ref_path], dataset.y_test, tolerance,
                            dataset.units, hygiene=True, kernels=kernels)
            bits = {"correct": correct_bits(checked.outcome.probabilities, dataset.y_test),
                    "reference_correct": correct_bits(references[ref_path], dataset.y_test)}
    except EdgeseqError as err:
        return ParityReport(**common, passed=False, reason=str(err), integrity=integrity,
                            seconds=round(time.perf_counter() - started, 2))
    candidate, figures, judgement = checked.outcome, checked.figures, checked.judgement
    vs_kernels = None
    if kernels is not None and first is not None:
        base = first.setdefault((path, runtime_name), (kernels, candidate.probabilities))
        vs_kernels = kernels_agreement(candidate.probabilities, base[1], base[0]) if base[0] != kernels else None
    outcome, reason = judgement.outcome, judgement.reason
    if judgement.passed and not candidate.state_hygiene:
        outcome, reason = FAIL, f"state hygiene: the same {units_of(common['data'])[:-1]} gave different outputs across invokes"
    if reason is None and manifest is None:
        integrity = "no-manifest (warning: unverified file)"
    return ParityReport(
        **common, backend=candidate.backend, reference=str(ref_path), reference_kind=ref_kind,
        model_test_accuracy=((manifest.source_keras if manifest else None) or {}).get("test_accuracy"),
        tolerance=tolerance.to_dict(), tolerance_source=tolerance_source, state_hygiene=candidate.state_hygiene,
        passed=outcome == PASS, reason=reason, outcome=outcome, integrity=integrity,
        seconds=round(time.perf_counter() - started, 2), vs_kernels=vs_kernels, **figures, **bits)
