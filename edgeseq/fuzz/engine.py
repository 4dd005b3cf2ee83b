"""`edgeseq fuzz`: every file x runtime x kernel setting on generated inputs (edgeseq.fuzz.inputs), against the
file's reference and against the file's first case (its first runtime and setting), with each disagreement
shrunk to a small reproducer (edgeseq.fuzz.shrink) saved as an .npz that `edgeseq fuzz FILE --replay NPZ` replays.

What counts as a disagreement with the reference, per input, is read from the file's own tolerance (its manifest):
  - an output that is NaN or infinite;
  - max |file - reference| over the classes above the tolerance's max_abs_diff, where it has one;
  - a different top-1 answer, unless the tolerance's max_abs_diff explains it (the reference's top-2 margin is
    at most twice that limit: a tie the allowed error may break). A quantized file's tolerance has no
    max_abs_diff: every different answer counts.
Against the first case, a disagreement is a different top-1 answer (or NaN in one of the two).
A disagreement is shrunk to an input that still disagrees and keeps at least half its max |Δp| (KEEP_SEVERITY):
without that floor, shrinking drifts toward inputs where the reference itself is a near tie (a blank input often
is), which any rounding flips and which say nothing about the original.
A case passes when no output is NaN or infinite, its largest difference is within max_abs_diff and its top-1
agreement at or above min_agreement (where its tolerance has them, or as overridden), and its agreement with the
first case at or above --min-pairwise-agreement when asked.

The reference: <arch>.keras where TensorFlow is installed, else the fp32 file of the same model (either format),
as validate finds it (edgeseq.parity.reference; golden outputs answer only their own samples, so fuzz cannot use
them). Files run through guard.Predictor: isolated runtimes in one child process that keeps them loaded.
Importing this module imports no runtime library and never TensorFlow.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import golden, runtimes
from edgeseq.artifacts import collect_files
from edgeseq.core import layout
from edgeseq.core.errors import EdgeseqError, shown
from edgeseq.core.fileio import sha256_file, write_bytes_atomic
from edgeseq.core.manifest import read_manifest
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.data import Dataset, spec_of_manifest
from edgeseq.fuzz.inputs import FAMILIES, Generated, generate
from edgeseq.fuzz.shrink import Shrunk, shrink
from edgeseq.integrity import check as check_integrity
from edgeseq.parity.reference import FUZZ, resolve_reference
from edgeseq.recipes import Tolerance, tolerance_of
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.guard import Predictor
from edgeseq.runtimes.table import kernel_settings

DEFAULT_COUNT = 1000
DEFAULT_SHRINK = 5            # reproducers per case and comparison, worst first
REPRODUCER_KIND = "edgeseq fuzz reproducer"
KEEP_SEVERITY = 0.5           # a shrunk input keeps at least half the original's max |Δp| (not a mere near tie)


@dataclass(frozen=True)
class Options:
    count: int = DEFAULT_COUNT
    seed: int = 0
    shrink: int = DEFAULT_SHRINK
    min_agreement: float | None = None            # overrides every file's tolerance
    max_abs_diff: float | None = None
    min_pairwise_agreement: float | None = None   # each case against its file's first case: not gated by default
    verify: bool = True


@dataclass(frozen=True)
class Comparison:
    """One case against the reference or against another case of the same file, on the same inputs."""
    against: str                   # "reference" or "<runtime>[/<kernels>]"
    agreement: float               # same top-1 answer, over all inputs
    flips: int
    max_abs_diff: float
    disagreements: int             # beyond tolerance (module docstring)
    by_family: dict[str, dict[str, Any]]
    reproducers: tuple[dict[str, Any], ...] = ()
    not_shrunk: int = 0            # disagreements over the --shrink limit


@dataclass(frozen=True)
class FuzzCase:
    path: str
    runtime: str
    kernels: str | None
    passed: bool
    reason: str | None = None
    sha256: str | None = None
    backend: str | None = None
    reference: str | None = None
    reference_kind: str | None = None
    tolerance: dict[str, Any] | None = None
    inputs: int = 0
    nonfinite: int = 0
    vs_reference: Comparison | None = None
    vs_first: Comparison | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return self.runtime + (f"/{self.kernels}" if self.kernels else "")

    @property
    def error(self) -> bool:
        """It could not be run at all (no figures)."""
        return self.vs_reference is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FuzzReport:
    cases: tuple[FuzzCase, ...]
    inputs: dict[str, Any]                     # count, seed, families, range, samples, notes
    out: str | None
    seconds: float

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def reproducers(self) -> list[dict[str, Any]]:
        return [r for c in self.cases for comp in (c.vs_reference, c.vs_first) if comp for r in comp.reproducers]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "inputs": self.inputs, "out": self.out, "seconds": self.seconds,
                "cases": [c.to_dict() for c in self.cases]}


def _max_diff(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per input, max |p - q| over the classes (inf where either is NaN)."""
    return np.nan_to_num(np.abs(p - q).max(axis=1), nan=np.inf)


def _top_margin(p: np.ndarray) -> np.ndarray:
    top2 = np.sort(p, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def beyond_tolerance(p: np.ndarray, ref: np.ndarray, tol: Tolerance) -> np.ndarray:
    """Per input, whether `p` disagrees with `ref` beyond the tolerance (module docstring)."""
    finite = np.isfinite(p).all(axis=1)
    diff = np.where(finite, np.abs(np.nan_to_num(p) - ref).max(axis=1), np.inf)
    flips = p.argmax(axis=1) != ref.argmax(axis=1)
    out = ~finite | flips
    if tol.max_abs_diff is not None:
        out = ~finite | (diff > tol.max_abs_diff) | (flips & (_top_margin(ref) > 2 * tol.max_abs_diff))
    return out


def pairwise_disagree(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (np.isfinite(p).all(axis=1) != np.isfinite(q).all(axis=1)) | (p.argmax(axis=1) != q.argmax(axis=1))


def _compare(against: str, p: np.ndarray, q: np.ndarray, bad: np.ndarray, families: tuple[str, ...]
             ) -> Comparison:
    finite = np.isfinite(p).all(axis=1)
    diff = np.where(finite, np.abs(np.nan_to_num(p) - q).max(axis=1), np.inf)
    same = (p.argmax(axis=1) == q.argmax(axis=1)) & finite
    fam = np.array(families)
    by_family = {}
    for name in FAMILIES:
        pick = fam == name
        if pick.any():
            by_family[name] = {"inputs": int(pick.sum()), "agreement": float(same[pick].mean()),
                               "flips": int((~same[pick]).sum()), "max_abs_diff": float(diff[pick].max()),
                               "disagreements": int(bad[pick].sum())}
    return Comparison(against, float(same.mean()), int((~same).sum()), float(diff.max()), int(bad.sum()), by_family)


@dataclass
class _Side:
    """What a case's predictions are compared with: the reference, or the file's first case."""
    label: str
    path: Path
    runtime: RuntimeName
    kernels: str | None
    probabilities: np.ndarray = field(repr=False)


class _Run:
    """One fuzz run: the Predictor, the generated inputs per contract, the reference's answers per file."""

    def __init__(self, predictor: Predictor, dataset: Dataset | None, reference: Path | None, options: Options,
                 out: Path | None, progress: Any) -> None:
        self.predictor, self.dataset, self.given, self.options = predictor, dataset, reference, options
        self.out, self.progress = out, progress
        self.generated: dict[str, Generated] = {}
        self.references: dict[tuple[str, int], np.ndarray] = {}

    def inputs_for(self, path: Path, manifest: Any) -> Generated:
        spec = spec_of_manifest(manifest)
        if self.dataset is not None and manifest is not None:
            spec.require(self.dataset.spec, f"{shown(path.name)} cannot be fuzzed from {self.dataset.name}")
        samples = self.dataset if self.dataset is not None else golden.samples_for_file(path, manifest)
        key = json.dumps([spec.to_dict(), samples.name, samples.source], sort_keys=True)
        if key not in self.generated:
            self.generated[key] = generate(spec, self.options.count, self.options.seed, samples)
            made = self.generated[key]
            counts = ", ".join(f"{n} {name}" for name, n in made.counts().items() if n)
            self.progress.log(f"inputs: {len(made)} for {spec.describe()} ({counts}); samples: {samples.name};"
                              f" range: {made.range.source}")
        return self.generated[key]

    def case(self, path: Path, runtime: RuntimeName, kernels: str | None, first: _Side | None
             ) -> tuple[FuzzCase, _Side | None]:
        started = time.perf_counter()
        common: dict[str, Any] = {"path": str(path), "runtime": runtime.value, "kernels": kernels}
        try:
            manifest = read_manifest(path)
            common["sha256"] = sha256_file(path)
            check_integrity(path, self.options.verify, manifest, common["sha256"])
            made = self.inputs_for(path, manifest)
            found = resolve_reference(path, self.given, FUZZ)
            tol, _ = tolerance_of(manifest, layout.format_of(path))
            tol = replace(tol, **{k: v for k, v in (("min_agreement", self.options.min_agreement),
                                                    ("max_abs_diff", self.options.max_abs_diff)) if v is not None})
            ref_runtime = runtimes.runtimes_for(found.path)[0]
            ref_key = (str(found.path), id(made))          # `made` lives in self.generated for the whole run
            if ref_key not in self.references:
                self.references[ref_key] = self.predictor.predict(found.path, ref_runtime, made.x)[0]
            reference = _Side("reference", found.path, ref_runtime, None, self.references[ref_key])
            p, backend = self.predictor.predict(path, runtime, made.x, kernels)
        except EdgeseqError as err:
            return FuzzCase(**common, passed=False, reason=str(err),
                            seconds=round(time.perf_counter() - started, 2)), first
        mine = _Side(f"{runtime.value}" + (f"/{kernels}" if kernels else ""), path, runtime, kernels, p)
        bad = beyond_tolerance(p, reference.probabilities, tol)
        vs_ref = self._shrunk(_compare("reference", p, reference.probabilities, bad, made.family), mine, reference,
                              made, bad, lambda a, b: beyond_tolerance(a, b, tol))
        vs_first = None
        if first is not None:
            pair = pairwise_disagree(p, first.probabilities)
            vs_first = self._shrunk(_compare(first.label, p, first.probabilities, pair, made.family), mine, first,
                                    made, pair, pairwise_disagree)
        nonfinite = int((~np.isfinite(p).all(axis=1)).sum())
        reason = self._gate(tol, vs_ref, vs_first, nonfinite)
        case = FuzzCase(**common, passed=reason is None, reason=reason, backend=backend, reference=str(found.path),
                        reference_kind=found.kind, tolerance=tol.to_dict(), inputs=len(made), nonfinite=nonfinite,
                        vs_reference=vs_ref, vs_first=vs_first, seconds=round(time.perf_counter() - started, 2))
        return case, first or mine

    def _gate(self, tol: Tolerance, vs_ref: Comparison, vs_first: Comparison | None, nonfinite: int) -> str | None:
        reasons = []
        if nonfinite:
            reasons.append(f"{nonfinite} output(s) NaN or infinite")
        if tol.max_abs_diff is not None and vs_ref.max_abs_diff > tol.max_abs_diff:
            reasons.append(f"max |Δp| {vs_ref.max_abs_diff:.3g} > {tol.max_abs_diff:g}")
        if tol.min_agreement is not None and vs_ref.agreement < tol.min_agreement:
            reasons.append(f"top-1 agreement {vs_ref.agreement:.4f} < {tol.min_agreement:g}")
        least = self.options.min_pairwise_agreement
        if least is not None and vs_first is not None and vs_first.agreement < least:
            reasons.append(f"agreement with {vs_first.against} {vs_first.agreement:.4f} < {least:g}")
        return "; ".join(reasons) or None

    def _shrunk(self, comparison: Comparison, mine: _Side, other: _Side, made: Generated, bad: np.ndarray,
                disagree: Any) -> Comparison:
        """The comparison with its worst disagreements (largest |Δp| first) shrunk and saved (up to --shrink)."""
        found = np.flatnonzero(bad)
        if not found.size or self.options.shrink <= 0 or self.out is None:
            return replace(comparison, not_shrunk=int(found.size))
        p, q = mine.probabilities, other.probabilities
        order = np.argsort(-_max_diff(p[found], q[found]), kind="stable")
        picked = found[order][: self.options.shrink]
        saved = []
        for index in picked:
            self.progress.log(f"shrinking input {index} ({made.family[index]}: {made.description[index]}):"
                              f" {mine.label} vs {other.label}")

            severity = KEEP_SEVERITY * _max_diff(p[index:index + 1], q[index:index + 1])[0]

            def fails(batch: np.ndarray) -> np.ndarray:
                ours = self.predictor.predict(mine.path, mine.runtime, batch, mine.kernels)[0]
                theirs = self.predictor.predict(other.path, other.runtime, batch, other.kernels)[0]
                return disagree(ours, theirs) & (_max_diff(ours, theirs) >= severity)
            shrunk = shrink(made.x[index], made.range.baseline, fails)
            saved.append(self._save(shrunk, int(index), mine, other, made))
        return replace(comparison, reproducers=tuple(saved), not_shrunk=int(found.size - len(picked)))

    def _save(self, shrunk: Shrunk, index: int, mine: _Side, other: _Side, made: Generated) -> dict[str, Any]:
        assert self.out is not None
        x = shrunk.x[None]
        ours = self.predictor.predict(mine.path, mine.runtime, x, mine.kernels)[0][0]
        theirs = self.predictor.predict(other.path, other.runtime, x, other.kernels)[0][0]
        against = "reference" if other.label == "reference" else other.label.replace("/", "-")
        name = f"{mine.path.name}.{mine.label.replace('/', '-')}.vs-{against}.{index:05d}.npz"
        meta = {"kind": REPRODUCER_KIND, "file": mine.path.name, "sha256": sha256_file(mine.path),
                "runtime": mine.runtime.value, "kernels": mine.kernels,
                "against": {"label": other.label, "file": other.path.name, "runtime": other.runtime.value,
                            "kernels": other.kernels},
                "index": index, "family": made.family[index], "description": made.description[index],
                "seed": made.seed, "original_size": shrunk.original_size, "size": shrunk.size,
                "steps": shrunk.steps, "rounds": shrunk.rounds, "reproduced": shrunk.reproduced,
                "answers": {"file": int(np.argmax(ours)), "against": int(np.argmax(theirs))},
                "max_abs_diff": float(_max_diff(ours[None], theirs[None])[0]),
                "against_margin": float(_top_margin(theirs[None])[0])}
        import io  # noqa: PLC0415

        buffer = io.BytesIO()
        np.savez_compressed(buffer, x=x.astype(np.float32), original=made.x[index][None],
                            file_probabilities=ours[None], against_probabilities=theirs[None],
                            meta=np.array(json.dumps(meta)))
        target = self.out / name
        write_bytes_atomic(target, buffer.getvalue())
        command = f"edgeseq fuzz {shown(str(mine.path))} --replay {shown(str(target))}"
        return {**meta, "npz": str(target), "command": command}


def fuzz(paths: list[Path], dataset: Dataset | None = None, reference: Path | None = None,
         wanted: list[RuntimeName] | None = None, tflite_kernels: tuple[str, ...] | None = None,
         options: Options = Options(), out: Path | None = None, threads: int = 1, tflite_backend: str = "auto",
         progress: ProgressLike = None) -> FuzzReport:
    """One case per file x runtime x kernel setting (module docstring)."""
    progress = as_progress(progress)
    started = time.perf_counter()
    files = collect_files(paths, runtimes.ARTIFACT_SUFFIXES)
    plan = [(path, name, kernels) for path in files for name in runtimes.runtimes_for(path, wanted) or [None]
            for kernels in (kernel_settings(name, tflite_kernels) if name else [None])]
    cases: list[FuzzCase] = []
    firsts: dict[Path, _Side | None] = {}
    with Predictor(threads, tflite_backend) as predictor, \
            progress.stage("fuzz", total=len(plan), unit="cases") as stage:
        run = _Run(predictor, dataset, reference, options, out, progress)
        for path, name, kernels in plan:
            stage.begin(f"{path} ({name.value if name else 'none'}{'/' + kernels if kernels else ''})")
            if name is None:
                cases.append(FuzzCase(str(path), "none", None, passed=False,
                                      reason=runtimes.not_loadable(path, wanted)))
                stage.advance(detail="FAILED")
                continue
            case, firsts[path] = run.case(path, name, kernels, firsts.get(path))
            cases.append(case)
            stage.advance(detail=_detail(case))
        made = list(run.generated.values())
    inputs = {"count": options.count, "seed": options.seed,
              "contracts": [{"families": g.counts(), "range": g.range.source, "notes": list(g.notes)} for g in made]}
    return FuzzReport(tuple(cases), inputs, str(out) if out else None, round(time.perf_counter() - started, 2))


def _detail(case: FuzzCase) -> str:
    if case.vs_reference is None:
        return f"FAILED: {case.reason}"
    vs = case.vs_reference
    return (f"agreement {vs.agreement:.4f}, max |Δp| {vs.max_abs_diff:.2g}, {vs.disagreements} beyond tolerance"
            + ("" if case.passed else f": FAILED: {case.reason}"))
