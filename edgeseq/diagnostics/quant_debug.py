"""`quant-debug`: where a quantized file's error comes from, layer by layer and timestep by timestep.

`debug_file(path, reference, dataset, limit, progress)` runs the quantized file and its float reference (the
fp32 file of the same architecture and format beside it, as edgeseq.parity.reference resolves it) on the same
digits, captures every layer's output in both (edgeseq.diagnostics.capture), matches the layers by structure
(edgeseq.diagnostics.graph) and reports for each:
  rmse           root mean square of quantized - float
  relative_rmse  rmse / (max - min) of the float values
  clipping       the fraction of float values outside the range the quantized tensor can represent,
                 [scale * (qmin - zp), scale * (qmax - zp)] (None where the quantized tensor is float)
Recurrent layers get a row per timestep (their hidden state h_t) and a row for the whole layer (all timesteps
pooled). `plot(result)` draws the error per layer and per timestep as PNG bytes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeseq.core import layout
from edgeseq.artifacts import read_facts
from edgeseq.data import Dataset, spec_of_manifest
from edgeseq.core.errors import EdgeseqError, IntegrityError, ModelError, shown
from edgeseq.core.manifest import read_manifest
from edgeseq.integrity import check as check_integrity
from edgeseq.parity.reference import EXPORT_FORMATS, QUANT_DEBUG, is_float, resolve_reference
from edgeseq.core.plotting import png, pyplot
from edgeseq.core.progress import ProgressLike, as_progress
from edgeseq.diagnostics import layer_compare as compare
from edgeseq.diagnostics.layer_compare import QuantDebugRow
from edgeseq.step_contract import is_step_facts

DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class QuantDebugResult:
    path: str
    reference: str
    format: str
    model: str | None
    recipe: str | None
    digits: int
    rows: list[QuantDebugRow]
    backend: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def layers(self) -> list[QuantDebugRow]:
        return [r for r in self.rows if r.timestep is None]

    @property
    def worst(self) -> QuantDebugRow | None:
        scored = [r for r in self.layers if r.relative_rmse is not None]
        return max(scored, key=lambda r: r.relative_rmse) if scored else None

    @property
    def largest_increase(self) -> tuple[QuantDebugRow, float] | None:
        """The layer whose relative error grew most over the layer before it (in percentage points): where
        error is made rather than inherited."""
        scored = [r for r in self.layers if r.relative_rmse is not None]
        steps = [(b, (b.relative_rmse - a.relative_rmse) * 100) for a, b in zip([None, *scored], scored)
                 if a is not None] if len(scored) > 1 else []
        first = [(scored[0], scored[0].relative_rmse * 100)] if scored else []
        return max(first + steps, key=lambda item: item[1]) if scored else None

    def summary(self) -> str:
        worst = self.worst
        if worst is None:
            return "no layer could be compared"
        text = f"largest relative error: layer {worst.layer} ({worst.relative_rmse * 100:.2f} %)"
        if (grown := self.largest_increase) is not None and grown[0] is not worst:
            text += f"; largest increase over the layer before: {grown[0].layer} ({grown[1]:+.2f} pp)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"summary": self.summary()}


def _file_and_reference(path: Path, reference: Path | None,
                        verify: bool = True) -> tuple[Path, layout.FileKey | None]:
    """(reference file, the quantized file's key). Refuses a step model or an fp32 file (nothing to debug) in
    one line; the reference is the one edgeseq.parity.reference resolves for quant-debug."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"file not found: {path}")
    fmt = layout.format_of(path)
    if fmt not in EXPORT_FORMATS:
        raise ModelError(f"{path}: quant-debug takes an exported .tflite or .onnx file")
    checked = check_integrity(path, verify)             # size, sha256, structure, embedded facts: as validate
    if is_step_facts(checked.facts):
        raise EdgeseqError(f"{path} is a step model: quant-debug takes whole-sequence files; `edgeseq drift"
                           f" {path}` shows a step model's error row by row")
    key = layout.key_of(path, checked.manifest)
    if key is not None and is_float(key.recipe):
        raise EdgeseqError(f"{path} is a float file ({key.recipe}): nothing is quantized in it, nothing to debug"
                           f" (give a quantized file, e.g. {key.model}-int8.{fmt})")
    found = resolve_reference(path, reference, QUANT_DEBUG).path
    check_integrity(found, verify)
    return found, key


def debug_file(path: Path, reference: Path | None, dataset: Dataset, limit: int | None = DEFAULT_LIMIT,
               progress: ProgressLike = None, verify: bool = True) -> QuantDebugResult:
    """Compare the quantized `path` with its float `reference` (default: the fp32 file beside it) on the first
    `limit` test digits of `dataset`, layer by layer (see the module docstring)."""

    started = time.perf_counter()
    progress = as_progress(progress)
    path = Path(path)
    reference, key = _file_and_reference(path, reference, verify)
    facts, ref_facts = read_facts(path), read_facts(reference)        # one line for a corrupt file
    if [d for d in facts.inputs[0].shape[1:]] != [d for d in ref_facts.inputs[0].shape[1:]]:
        raise EdgeseqError(f"{reference} takes input {ref_facts.inputs[0].shape}, {path} {facts.inputs[0].shape}:"
                           " not the same model")
    manifest = read_manifest(path)
    if manifest is not None and (problem := manifest.contradicted_by(facts)):
        raise IntegrityError(f"{shown(path.name)}: {problem}")
    spec_of_manifest(manifest).require(dataset.spec, f"{path.name} cannot be compared on {dataset.name}")
    sequences = dataset.x_test[:limit]
    if len(sequences) == 0:
        raise EdgeseqError(f"no test {dataset.units} to compare on")
    capture = compare.CAPTURES[layout.format_of(path)]
    timesteps = int(sequences.shape[1])
    captured = {}
    with progress.stage("quant-debug", total=2, unit="files") as stage:
        for role, file in (("reference", reference), ("quantized", path)):
            stage.begin(f"{file} ({role}, {len(sequences)} {dataset.units})")
            t0 = time.perf_counter()
            def tick(n: int, name: str = file.name) -> None:
                stage.describe(f"{name}: {dataset.spec.unit} {n}/{len(sequences)}")
            captured[role] = compare.capture_layers(file, capture, sequences, timesteps, tick)
            stage.advance(detail=f"{len(captured[role][1])} layers found in {time.perf_counter() - t0:.1f} s")
    rows, notes = compare.compare_layers(captured["quantized"], captured["reference"])
    return QuantDebugResult(
        path=str(path), reference=str(reference), format=layout.format_of(path) or "", model=key.model if key else None,
        recipe=key.recipe if key else None, digits=len(sequences), rows=rows, backend=captured["quantized"][0].backend,
        seconds=round(time.perf_counter() - started, 2), notes=notes,
        data=dataset.identity() | {"digits_used": len(sequences)})


def plot(result: QuantDebugResult) -> bytes:
    """A PNG: relative RMSE per layer (worst in red), and per timestep for each recurrent layer."""
    plt = pyplot()
    layers = [r for r in result.layers if r.relative_rmse is not None]
    series: dict[str, list[tuple[int, float]]] = {}
    for r in result.rows:
        if r.timestep is not None and r.relative_rmse is not None:
            series.setdefault(r.layer, []).append((r.timestep, r.relative_rmse * 100))
    fig, axes = plt.subplots(1, 2 if series else 1, figsize=(11 if series else 6, 4), squeeze=False)
    left = axes[0][0]
    worst = result.worst
    left.bar([r.layer for r in layers], [r.relative_rmse * 100 for r in layers],
             color=["tab:red" if r is worst else "tab:blue" for r in layers])
    left.set_ylabel("RMSE / float range (%)")
    left.set_title("error per layer")
    left.tick_params(axis="x", rotation=30)
    if series:
        right = axes[0][1]
        for name, points in series.items():
            right.plot([t for t, _ in points], [v for _, v in points], marker=".", label=name)
        right.set_xlabel("timestep (image row)")
        right.set_ylabel("RMSE / float range (%)")
        right.set_title("recurrent state error per timestep")
        right.legend()
    fig.suptitle(f"{Path(result.path).name} vs {Path(result.reference).name} ({result.digits} test samples)")
    fig.tight_layout()
    return png(fig, dpi=100, tight=False)
