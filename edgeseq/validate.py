"""`validate`: every exported file against its reference model on the test split, with a verdict."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq import runtimes
from edgeseq.data import Dataset
from edgeseq.artifacts import collect_files
from edgeseq.environment import installed
from edgeseq.errors import EdgeseqError
from edgeseq.export.recipes import Tolerance, recipe_for_file
from edgeseq.fileio import read_manifest, sha256_file, verify_against_manifest
from edgeseq.parity import ParityReport, check_tolerance, compare, state_hygiene
from edgeseq.runtimes import RuntimeName

Progress = Callable[[str], None]


def tensorflow_installed() -> bool:
    return installed("tensorflow")


def resolve_reference(path: Path, manifest: dict[str, Any] | None, explicit: Path | None) -> tuple[Path, str]:
    """(reference file, kind). Keras where TensorFlow is installed, else the fp32 file of the same architecture."""
    if explicit is not None:
        return explicit, "keras model" if explicit.suffix == ".keras" else "fp32 file"
    arch = (manifest or {}).get("architecture") or path.stem.split("-")[0]
    keras_path = path.parent / f"{arch}.keras"
    if tensorflow_installed() and keras_path.is_file():
        expected = ((manifest or {}).get("source_keras") or {}).get("sha256")
        if expected and sha256_file(keras_path) != expected:
            raise EdgeseqError(f"{keras_path} is not the model {path.name} was exported from (sha256 differs)")
        return keras_path, "keras model"
    own = path.parent / f"{arch}-fp32{path.suffix}"
    other = [path.parent / f"{arch}-fp32{s}" for s in runtimes.ARTIFACT_SUFFIXES if s != path.suffix]
    for candidate in [own, *other]:
        if candidate.is_file() and candidate.resolve() != path.resolve():
            return candidate, "fp32 file"
    why = "TensorFlow is not installed" if not tensorflow_installed() else f"no {keras_path.name} beside it"
    raise EdgeseqError(f"no reference for {path} ({why}, and no other fp32 file of {arch}); pass --reference")


def _failure(path: Path, runtime: str, manifest: dict[str, Any] | None, reason: str, integrity: str,
             data: dict[str, Any], started: float) -> ParityReport:
    m = manifest or {}
    return ParityReport(str(path), m.get("architecture"), m.get("format"), m.get("recipe"), runtime, None, None, None,
                        None, None, None, None, None, None, None, None, None, False, reason, integrity, 0,
                        round(time.perf_counter() - started, 2), data)


def validate(paths: list[Path], dataset: Dataset, reference: Path | None = None,
             wanted: list[RuntimeName] | None = None, threads: int = 1, tflite_backend: str = "auto",
             overrides: dict[str, float] | None = None, verify: bool = True,
             progress: Progress = lambda _: None) -> list[ParityReport]:
    files = collect_files(paths, runtimes.ARTIFACT_SUFFIXES)
    x, y = dataset.x_test, dataset.y_test
    references: dict[Path, np.ndarray] = {}
    reports = []
    for number, path in enumerate(files, 1):
        for runtime_name in runtimes.runtimes_for(path, wanted) or [None]:
            started = time.perf_counter()
            label = runtime_name.value if runtime_name else "none"
            progress(f"[{number}/{len(files)}] {path} ({label}) ...")
            manifest = None
            integrity = "skipped (--no-verify)"
            try:
                if runtime_name is None:
                    raise EdgeseqError("none of the requested runtimes loads this file type")
                manifest = read_manifest(path)
                if verify:
                    integrity = verify_against_manifest(path, manifest)
                ref_path, ref_kind = resolve_reference(path, manifest, reference)
                if ref_path not in references:
                    ref_runtime = runtimes.load(ref_path, runtimes.runtimes_for(ref_path)[0], threads=threads,
                                                tflite_backend=tflite_backend)
                    references[ref_path] = runtimes.predict_in_batches(ref_runtime, x)
                candidate = runtimes.load(path, runtime_name, threads=threads, tflite_backend=tflite_backend)
                probabilities = runtimes.predict_in_batches(candidate, x)
                if probabilities.shape != (len(x), 10):
                    raise EdgeseqError(f"output shape {probabilities.shape}, expected ({len(x)}, 10)")
                figures = compare(probabilities, references[ref_path], y)
                hygiene = state_hygiene(candidate, x)
            except EdgeseqError as err:
                reports.append(_failure(path, label, manifest, str(err), integrity, dataset.identity(), started))
                progress(f"      FAILED: {err}")
                continue
            recipe = recipe_for_file((manifest or {}).get("format", path.suffix[1:]), (manifest or {}).get("recipe", ""))
            tolerance = recipe.tolerance if recipe else Tolerance(max_abs_diff=1e-4, min_agreement=0.999)
            tolerance = replace(tolerance, **(overrides or {}))
            reason = check_tolerance(tolerance, figures["delta_accuracy_pp"], figures["agreement"],
                                     figures["max_abs_diff"])
            if reason is None and not hygiene:
                reason = "state hygiene: the same digit gave different outputs across invokes"
            if reason is None and manifest is None:
                integrity = "no-manifest (warning: unverified file)"
            reports.append(ParityReport(
                str(path), (manifest or {}).get("architecture"), (manifest or {}).get("format", path.suffix[1:]),
                (manifest or {}).get("recipe"), label, candidate.backend, str(ref_path), ref_kind,
                tolerance=tolerance.to_dict(), state_hygiene=hygiene, passed=reason is None, reason=reason,
                integrity=integrity, digits=len(x), seconds=round(time.perf_counter() - started, 2),
                data=dataset.identity(), **figures))
            verdict = "ok" if reason is None else f"FAILED: {reason}"
            progress(f"      acc {figures['accuracy']:.4f} ({figures['delta_accuracy_pp']:+.2f} pp), agreement"
                     f" {figures['agreement']:.4f}, max diff {figures['max_abs_diff']:.2g}: {verdict}")
    return reports
