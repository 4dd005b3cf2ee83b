"""The recipe search's per-layer phase (edgeseq.export.search): from a first per-layer file, quant-debug ranks the
layers against the float file of the same graph, the layer making the most error is raised one step (TFLite: int8 ->
int16 activations -> float, with ai-edge-quantizer, edgeseq.export.selective; static ONNX: float, through
onnxruntime's nodes_to_exclude), the new file is judged by the search's gate and ranked again, until a file meets
the budget, every layer would be float, or the time is spent. Also the per-layer tables the search record keeps
(error and clipping rate per layer on the test split) and the refusal's named layer."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeseq.data import Dataset
from edgeseq.export.exporter import ExportSpec, export_one
from edgeseq.export.selective import INPUT, OUTPUT, Mix, Precision
from edgeseq.core.progress import Progress
from edgeseq.recipes import GRAPHS, Format, OnnxQuantizer, Quant, recipe as recipe_row


def mixes_apply(spec: ExportSpec) -> bool:
    """Per-layer mixes are made for calibrated TFLite recipes on the unrolled and hoisted graphs, and for static
    ONNX (float layers only: onnxruntime's nodes_to_exclude)."""
    if spec.step or spec.graph is None or not spec.recipe.calibrated:
        return False
    if spec.recipe.format is Format.ONNX:
        return spec.recipe.onnx is not None and spec.recipe.onnx.quantizer is OnnxQuantizer.STATIC
    return not GRAPHS[spec.graph].fused


@dataclass(frozen=True)
class LayerError:
    """One layer's quantization error in an attempt, from quant-debug on the test split."""
    layer: str
    relative_rmse: float | None
    clipping: float | None
    added: float | None = None          # relative_rmse minus the layer before's: the error made in this layer
    first: bool = False                 # the first layer of the graph (reads the model's input)
    last: bool = False                  # the last layer of the graph (feeds the model's output)


@dataclass
class Guide:
    """What the per-layer phase learned: the layers by error in the last attempt judged (and in the first: the
    diagnosis before any layer was raised), and the float file."""
    errors: list[LayerError]
    reference: Path | None
    note: str | None = None
    first: list[LayerError] | None = None
    floats: frozenset[str] = frozenset()     # the layers in float in the last mix tried


CLIPPING_FLAG = 0.01   # a layer clipping more than 1 % of its test values: calibration does not cover them


def layer_errors(path: Path, reference: Path, dataset: Dataset) -> list[LayerError]:
    """quant-debug's per-layer error of `path` against the float `reference` (the first 200 test sequences), the
    layers a mix can raise (recurrent and dense), ranked by the error each adds to the layer before it (where
    error is made, not inherited: the relative error only grows down the graph), then by its own. The output op
    (the softmax) is its own row in the record, raised with the last layer."""
    from edgeseq.diagnostics.quant_debug import debug_file  # noqa: PLC0415

    result = debug_file(path, reference, dataset, verify=False)
    rows = [(OUTPUT if r.kind == "output" else r.layer, r) for r in result.layers
            if r.kind in ("recurrent", "dense", "output") and r.relative_rmse is not None]
    layers = [name for name, _ in rows if name != OUTPUT]
    added = {name: r.relative_rmse - (rows[i - 1][1].relative_rmse if i else 0) for i, (name, r) in enumerate(rows)}
    errors = [LayerError(name, r.relative_rmse, r.clipping, added[name], name == layers[0], name == layers[-1])
              for name, r in rows if layers]
    return sorted(errors, key=lambda e: (e.layer == OUTPUT, -(e.added or 0), -(e.relative_rmse or 0)))


@dataclass
class Climb:
    """The per-layer phase: from a first file, quant-debug ranks the layers against the float file of the same graph,
    the layer making the most error is raised one step, the new file judged and ranked again, until a file meets
    the budget, every layer is float, or the time is spent."""
    spec: ExportSpec
    source: Path
    dataset: Dataset
    work: Path
    run: Any            # (label, spec) -> (Attempt, path or None)
    met: Any
    out_of_time: Any
    skipped: list[str]
    progress: Progress

    def tflite(self) -> Guide:
        """Every layer int8 (int16 for int16x8) with ai-edge-quantizer first, then int16 activations, then float,
        for the layer making the most error."""
        base = Precision.INT16 if self.spec.recipe.quant is Quant.INT16X8 else Precision.INT8
        calibration = max(self.spec.calibration_size, 1000)
        mix = Mix(base)
        attempt, path = self.run(mix.label, replace(self.spec, mix=mix, calibration_size=calibration))

        def raise_one(error: LayerError) -> tuple[str, ExportSpec] | None:
            nonlocal mix
            now = mix.precision_of(error.layer)
            if error.layer == OUTPUT or now is Precision.FLOAT:
                return None
            higher = Precision.INT16 if now is Precision.INT8 else Precision.FLOAT
            mix = mix.raised(error.layer, higher)
            mix = mix.raised(INPUT, higher) if error.first else mix      # the input goes with the first layer
            mix = mix.raised(OUTPUT, higher) if error.last else mix      # the output with the last
            return mix.label, replace(self.spec, mix=mix, calibration_size=calibration)

        return self._climb(path if attempt.status == "ok" else None, raise_one)

    def onnx(self, best: tuple[Any, Path] | None) -> Guide:       # (search.Attempt, its file)
        """From the most accurate attempt's settings, its layers left in float one at a time (onnxruntime's
        nodes_to_exclude), the layer making the most error first; the output softmax is in the last layer."""
        if best is None:
            return Guide([], None)
        attempt, path = best
        kept = {k: v for k, v in (attempt.onnx_settings or {}).items() if k in ("calibrate_method", "per_channel")}
        calibration = attempt.calibration_size or self.spec.calibration_size
        floats: tuple[str, ...] = ()

        def raise_one(error: LayerError) -> tuple[str, ExportSpec] | None:
            nonlocal floats
            if error.layer == OUTPUT or error.layer in floats:
                return None
            floats = (*floats, error.layer)
            settings = (*kept.items(), ("float_layers", floats))
            return (f"float layers {', '.join(floats)} (nodes_to_exclude), from attempt {attempt.number}'s settings",
                    replace(self.spec, calibration_size=calibration, onnx_settings=settings))

        return self._climb(path, raise_one)

    def _climb(self, path: Path | None, raise_one: Any) -> Guide:
        guide = Guide([], None)
        if path is None or self.met():
            return guide
        fmt = self.spec.recipe.format
        reference_spec = ExportSpec(self.spec.arch, recipe_row(fmt, Quant.FP32), self.spec.graph)
        self.progress.log(f"      the float file of the {self.spec.graph.value} graph, to compare layers with")
        reference = export_one(reference_spec, self.source, self.work / "float", self.dataset,
                               Path(tempfile.mkdtemp(dir=self.work)))
        if reference.status != "ok" or reference.path is None:
            guide.note = f"no float file to compare layers with: {reference.reason}"
            return guide
        guide.reference = Path(reference.path)
        while not self.met():
            guide.errors = layer_errors(path, guide.reference, self.dataset)
            guide.first = guide.first if guide.first is not None else guide.errors
            step = next((s for s in map(raise_one, guide.errors) if s is not None), None)
            if step is None or _all_float(step[1], [e.layer for e in guide.errors if e.layer != OUTPUT]):
                break                       # every layer float: that is the fp32 recipe, not a mix
            if self.out_of_time():
                self.skipped.append("further per-layer mixes")
                break
            attempt, made = self.run(*step)
            guide.floats = _floats(step[1])
            path = made if attempt.status == "ok" and made is not None else path
        return guide


def _floats(spec: ExportSpec) -> frozenset[str]:
    """The layers `spec` leaves in float (a TFLite mix's, or ONNX float_layers)."""
    if spec.mix is not None:
        return frozenset(layer for layer, p in spec.mix.layers if p is Precision.FLOAT)
    return frozenset(dict(spec.onnx_settings).get("float_layers", ()))


def _all_float(spec: ExportSpec, layers: list[str]) -> bool:
    """Whether `spec` leaves every one of `layers` in float (a TFLite mix or ONNX float_layers)."""
    return set(layers) <= _floats(spec)


def layer_table(errors: list[LayerError], dataset: Dataset) -> dict[str, Any]:
    return {"measured_on": f"the first {min(200, len(dataset.y_test))} test {dataset.units}",
            "relative_rmse": {e.layer: e.relative_rmse for e in errors},
            "clipping": {e.layer: e.clipping for e in errors},
            "clipping_flagged": [e.layer for e in errors if (e.clipping or 0) > CLIPPING_FLAG],
            "flag_above": CLIPPING_FLAG}


def kept_layers(kept_path: Path, guide: Guide | None, dataset: Dataset) -> dict[str, Any] | None:
    """The kept file's error and clipping rate per layer on the test split (quant-debug against the float file of
    its graph), the layers clipping more than CLIPPING_FLAG flagged; None where no per-layer phase ran."""
    if guide is None or guide.reference is None:
        return None
    return layer_table(layer_errors(kept_path, guide.reference, dataset), dataset)


def holder(guide: Guide | None) -> str:
    """Which layer holds the error, where the per-layer phase measured it."""
    if guide is None or not guide.errors:
        return "" if guide is None or not guide.note else f"; {guide.note}"
    quantized = [e for e in guide.errors if e.layer not in guide.floats and e.layer != OUTPUT]
    worst = (quantized or guide.errors)[0]          # the layer still quantized that makes the most error
    where = "of the layers still quantized, " if quantized else ""
    return (f"; {where}the most error is made in layer {worst.layer} (relative RMSE {(worst.relative_rmse or 0) * 100:.2f} %"
            f" of its float range, clipping {(worst.clipping or 0) * 100:.2f} % of its test values)")
