"""Export orchestration: for each (architecture, recipe), convert in a worker process, check the file,
write its manifest, and move it into place only when complete."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq import __version__, golden
from edgeseq import data as data_module
from edgeseq.artifacts import read_facts
from edgeseq.data import Dataset, DataSpec, spec_of_manifest
from edgeseq.embedded import essentials
from edgeseq.core.errors import EdgeseqError, ModelError
from edgeseq.export import app, tensor_order
from edgeseq.export.embed import embed
from edgeseq.export.record import exported_manifest
from edgeseq.export.standard_metadata import write as write_standard_metadata
from edgeseq.core.fileio import ensure_dir, sha256_file
from edgeseq.core.keras_archive import check_keras_archive
from edgeseq.core.layout import exported_path, golden_path, model_path
from edgeseq.core.manifest import Manifest, commit_with_manifest, read_manifest
from edgeseq.models import Arch, Variant, variant
from edgeseq.portability import measure, portability
from edgeseq.core.procs import WorkerError, WorkerSession, run_worker
from edgeseq.recipes import GRAPHS, Format, Graph, Recipe
from edgeseq.core.rows import from_dict
from edgeseq.runtimes.guard import SharedChild
from edgeseq.step_contract import StepContract, is_step_facts

WORKER = "edgeseq.export.worker"
WORKER_TIMEOUT_S = 1200


@dataclass(frozen=True)
class ExportSpec:
    arch: Variant                        # a seed (Arch) or a variant name is accepted and kept as its Variant
    recipe: Recipe
    graph: Graph | None                  # None: the table knows no working graph (recipe.notes says why)
    calibration_size: int = 500
    calibration_seed: int = 0
    onnx_settings: tuple[tuple[str, Any], ...] = ()   # OnnxSettings fields a recipe search changes
    candidate: bool = False              # a graph candidate (export --graph auto): <arch>-<recipe>@<graph>.<format>
    picked: Any = None                   # export --pick-from: the export.pick.Pick that chose the graph
    mix: Any = None                      # a selective.Mix: quantized per layer with ai-edge-quantizer (search)
    app: bool = False                    # export --app: the app-ready variant <arch>-<recipe>[-step]-app.tflite

    def __post_init__(self) -> None:
        object.__setattr__(self, "arch", variant(self.arch))

    @property
    def step(self) -> bool:
        """The step model of the recipe (streaming), not the whole-sequence file."""
        return self.graph is Graph.STEP

    @property
    def tag(self) -> str | None:
        """The graph in a candidate's file name, None for the recipe's own file."""
        return self.graph.value if self.candidate and self.graph else None

    def settings(self) -> dict[str, Any] | None:
        """The quantizer's settings this spec converts with (the recipe's, changed by onnx_settings)."""
        if self.recipe.onnx is None:
            return None
        return replace(self.recipe.onnx, **dict(self.onnx_settings)).to_dict()


@dataclass(frozen=True)
class ExportResult:
    model: str
    format: str
    recipe: str
    graph: str | None
    status: str                 # ok | unsupported | failed | crashed (the converter's process died)
    path: str | None
    size_bytes: int | None
    sha256: str | None
    reason: str | None
    recurrent_op: str | None
    seconds: float
    portability: dict[str, Any] | None = None   # the manifest's section: where the file ran, where it did not
    search: dict[str, Any] | None = None        # export --max-loss-pp: every attempt and the one kept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "ExportResult":
        return from_dict(cls, row)


def source_model(root: Path, arch: Arch | Variant | str) -> Path:
    name = variant(arch).name
    path = model_path(root, name)
    if not path.is_file():
        raise ModelError(f"no trained {name} model at {path}; run `edgeseq train --model {name} --out {root}` first")
    return path


def _check(path: Path, recipe: Recipe, step: bool = False, contract: dict[str, Any] | None = None,
           io_dtype: str | None = None, mix: Any = None) -> tuple[dict[str, Any], str | None]:
    """Structural checks on a converted file: returns its facts and a failure reason (or None). `contract`: a step
    model's (its tensor order is checked against it); `io_dtype`: the I/O type promised, the recipe's if None (a
    `mix`'s where there is one: its input's precision, selective.INPUT)."""
    facts = read_facts(path)
    if facts.custom_ops:
        return facts.to_dict(), f"needs non-builtin ops ({', '.join(facts.custom_ops)})"
    if step:
        floats = all(t.dtype == "float32" for t in (*facts.inputs, *facts.outputs))
        if not (is_step_facts(facts) and floats):
            return facts.to_dict(), "the step model's tensors are not the step contract's (float32 row and state)"
        return facts.to_dict(), tensor_order.problem(facts, StepContract.from_dict(contract) if contract else None)
    if len(facts.inputs) != 1 or len(facts.outputs) != 1:
        return facts.to_dict(), f"expected one input and one output, found {len(facts.inputs)}/{len(facts.outputs)}"
    promised = io_dtype or (mix.input_dtype if mix is not None else recipe.io_dtype)
    if facts.inputs[0].dtype != promised:
        return facts.to_dict(), f"input dtype {facts.inputs[0].dtype}, the recipe promises {promised}"
    return facts.to_dict(), tensor_order.problem(facts, None)


def unavailable_graph(spec: ExportSpec) -> str | None:
    """Why the spec's graph cannot be built for its architecture and recipe, or None."""
    return spec.recipe.graph_problem(spec.arch, spec.graph)


def plan_streaming(archs: list[Variant], chosen: list[Recipe], named: bool, calibration_size: int = 500,
                   calibration_seed: int = 0) -> list[ExportSpec]:
    """The step models export --streaming adds: for every chosen recipe when the user named them (`named`),
    else for the recipes the table marks `streaming`."""
    return [ExportSpec(arch, r, Graph.STEP, calibration_size, calibration_seed)
            for arch in archs for r in chosen if named or r.streaming]


def plan(archs: list[Variant], chosen: list[Recipe], graph: Graph | None = None, calibration_size: int = 500,
         calibration_seed: int = 0) -> list[ExportSpec]:
    """One spec per (model, recipe): the table's graph for the model's family, or `graph` for all of them. A
    forced graph that some pair cannot take is an EdgeseqError naming the graphs valid for every pair."""
    specs = [ExportSpec(arch, r, graph or r.graph_for(arch), calibration_size, calibration_seed)
             for arch in archs for r in chosen]
    conflicts = [problem for problem in map(unavailable_graph, specs) if problem]
    if conflicts:
        valid = [g.value for g in Graph if not any(unavailable_graph(replace(s, graph=g)) for s in specs)]
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise EdgeseqError(f"{conflicts[0]}{more}; valid for the chosen models and recipes:"
                           f" {', '.join(valid) or 'none (choose fewer models or formats)'}")
    return specs


def plan_app(archs: list[Variant], chosen: list[Recipe], graph: Graph | None = None, streaming: bool = False,
             calibration_size: int = 500, calibration_seed: int = 0) -> list[ExportSpec]:
    """export --app: per (model, TFLite recipe) the app-ready variant (export.app), with the recipe's app graph
    (Recipe.app_graph_for) or `graph`, and with `streaming` its step model's too. ONNX recipes have none: their
    default files load in every app runtime measured. A forced graph an app runtime cannot load is an
    EdgeseqError."""
    tflite = [r for r in chosen if r.format is Format.TFLITE]
    if not tflite:
        raise EdgeseqError("export --app writes .tflite files only: every .onnx file already loads in the app"
                           " runtimes measured (onnxruntime-node/-web); choose --format tflite or all")
    if graph is not None and (problem := GRAPHS[graph].app_problem) is not None:
        raise EdgeseqError(f"graph {graph.value} {problem}: not app-ready")
    specs = [ExportSpec(arch, r, graph or r.app_graph_for(arch), calibration_size, calibration_seed, app=True)
             for arch in archs for r in tflite]
    conflicts = [problem for problem in map(unavailable_graph, specs) if problem]
    if conflicts:
        raise EdgeseqError(conflicts[0])
    return specs + [ExportSpec(arch, r, Graph.STEP, calibration_size, calibration_seed, app=True)
                    for arch in archs for r in tflite if streaming]


def plan_candidates(archs: list[Variant], chosen: list[Recipe], calibration_size: int = 500,
                    calibration_seed: int = 0) -> list[ExportSpec]:
    """export --graph auto: per (model, recipe) one candidate per whole-sequence graph the recipe allows, the
    table's graph first; a graph that cannot be built for the model stays in the plan and exports as
    `unsupported` with the reason (`graph_problem`)."""
    return [ExportSpec(arch, r, graph, calibration_size, calibration_seed, candidate=True)
            for arch in archs for r in chosen for graph, _ in r.candidates(arch)]


def plan_picked(archs: list[Variant], chosen: list[Recipe], picks: dict[tuple[str, str, str], Any],
                calibration_size: int = 500, calibration_seed: int = 0) -> list[ExportSpec]:
    """export --pick-from: one spec per (model, recipe), with the graph bench chose (`picks`, export.pick); a
    picked graph the recipes table does not allow for the model is an EdgeseqError."""
    specs = []
    for arch in archs:
        for r in chosen:
            chosen_pick = picks[(arch.value, r.format.value, r.name)]
            try:
                graph = Graph(chosen_pick.graph)
            except ValueError as err:
                raise EdgeseqError(f"the bench file chose graph {chosen_pick.graph!r} for {arch.value} {r.key}:"
                                   " not a graph this edgeseq knows") from err
            spec = ExportSpec(arch, r, graph, calibration_size, calibration_seed, picked=chosen_pick)
            if (problem := unavailable_graph(spec)) is not None:
                raise EdgeseqError(f"the bench file chose it, but {problem}")
            specs.append(spec)
    return specs


def _finish(manifest: Manifest, partial: Path, spec: ExportSpec, golden_file: Path, target: Path,
            shared: SharedChild | None = None) -> Manifest:
    """Embed the file's essentials in it and write the standard metadata (in that order: the TFLite metadata
    writer keeps other entries, and appends the labels file after the flatbuffer, which a later re-pack would
    drop), then add what depends on its final bytes: size, sha256, the golden outputs it is checked against,
    and where it runs (measured on those sequences, here; its reasons name `target`, not the partial file)."""
    embed(partial, essentials(manifest, __version__))
    standard = write_standard_metadata(partial, manifest, __version__)
    facts = read_facts(partial)
    final = manifest.replace(size_bytes=partial.stat().st_size, sha256=sha256_file(partial),
                             embedded=facts.embedded, standard_metadata=standard)
    if spec.picked is not None:     # the same bytes as the candidate measured, or a conversion that differs
        final = final.replace(graph_choice=final.graph_choice | {
            "same_bytes_as_measured": spec.picked.measured_sha256() == final.sha256})
    if not golden_file.is_file():
        return final.replace(golden=None, portability=portability(facts, [], "not measured: no golden outputs"))
    reference = golden.read(golden_file)
    samples = reference.dataset()
    cells = measure(partial, samples.x_test, samples.y_test, reference.probabilities, spec.recipe.tolerance,
                    unit=samples.units, shown_as=target.name, shared=shared)
    accuracy = float(np.mean(np.argmax(reference.probabilities, 1) == reference.labels))
    return final.replace(
        golden={"file": golden_file.name, "sha256": sha256_file(golden_file), "samples": reference.info["digits"],
                "count": reference.count, "reference_accuracy": round(accuracy, 6)},
        portability=portability(facts, cells, reference.info["digits"]),
    )


def worker_verdict(error: WorkerError) -> tuple[str, str]:
    """The status and reason of a conversion the worker did not answer. Only the worker's own refusal (an error it
    reported: the converter raised) is `unsupported`; the source model unusable (ModelError), and a worker that
    crashed, was killed, hung or ended without an answer (an ImportError before it served) are `failed`, with
    the last line it wrote: `crashed` for a worker that died (a failure, except a --graph auto candidate beside a
    sibling graph that exported: edgeseq.export.plan.not_exported)."""
    reason = error.describe("converter")
    if error.kind == "error":
        return ("failed" if error.error_type == "ModelError" else "unsupported"), reason
    if error.stderr_tail and error.stderr_tail not in reason:
        reason += f": {error.stderr_tail[:200]}"
    return "crashed", reason


def as_final(reason: str | None, partial: Path, target: Path) -> str | None:
    """A reason that names the file being written (`.NAME.partial.SUFFIX`) names it as the user will see it."""
    if reason is None:
        return None
    return reason.replace(str(partial), str(target)).replace(partial.name, target.name)


def _write_golden(answer: dict[str, Any], workdir: Path, golden_file: Path, source: Path,
                  samples: Dataset) -> None:
    """The source model's outputs on the golden samples, computed by the worker, as the sidecar."""
    if answer.get("golden"):
        golden.write(golden_file, np.load(workdir / answer["golden"], allow_pickle=False), samples.y_test,
                     {"name": source.name, "sha256": sha256_file(source)}, samples.sha256, samples)


def source_spec(source: Path, dataset: Dataset | None) -> DataSpec:
    """The data contract the source model was trained for (its manifest), checked against `dataset`."""
    spec = spec_of_manifest(read_manifest(source))
    if dataset is not None:
        spec.require(dataset.spec, f"{source.name} cannot be exported with {dataset.name}")
    return spec


def export_one(spec: ExportSpec, source: Path, out: Path, dataset: Dataset | None, workdir: Path,
               session: WorkerSession | None = None, shared: SharedChild | None = None) -> ExportResult:
    """Convert one recipe for one architecture into `out`; never leaves a partial file behind. The golden
    outputs of the architecture are written beside it first unless they are there for this source model.
    `session`: the export's converter process (else a fresh one for this recipe); `shared`: the guard child that
    measures where the file runs (else a fresh one per runtime)."""
    started = time.perf_counter()
    recipe = spec.recipe
    target = exported_path(out, spec.arch.value, recipe.format.value, recipe.name, spec.step, spec.tag, spec.app)
    golden_file = golden_path(target.parent, spec.arch.value)
    partial = target.with_name(f".{target.name}.partial{target.suffix}")

    def result(status: str, reason: str | None = None, facts: dict[str, Any] | None = None,
               portable: dict[str, Any] | None = None) -> ExportResult:
        ok = status == "ok"
        return ExportResult(spec.arch.value, recipe.format.value, recipe.name, spec.graph.value if spec.graph else None,
                            status,
                            str(target) if ok else None, target.stat().st_size if ok else None,
                            sha256_file(target) if ok else None, as_final(reason, partial, target),
                            facts["recurrent_op"] if facts else None, round(time.perf_counter() - started, 2),
                            portable)

    if spec.graph is None:
        return result("unsupported", recipe.note_for(spec.arch))
    if (problem := unavailable_graph(spec)) is not None:
        return result("unsupported", problem)
    try:
        check_keras_archive(source)  # a corrupt source fails here, not in a worker that imports TensorFlow
    except ModelError as err:
        return result("failed", str(err))
    try:
        contract = source_spec(source, dataset)
        samples = golden.golden_inputs(contract, dataset)
    except EdgeseqError as err:
        return result("failed", str(err))
    calibration_info = None
    request: dict[str, Any] = {"arch": spec.arch.value, "format": recipe.format.value, "recipe": recipe.name,
                               "graph": spec.graph.value, "source": str(source),
                               "onnx_settings": dict(spec.onnx_settings), "step": spec.step,
                               "own_model": not isinstance(spec.arch, Variant),   # the worker reads its layers
                               "app": spec.app,
                               **({"mix": spec.mix.to_dict()} if spec.mix is not None else {})}
    if recipe.calibrated:
        if dataset is None:
            return result("failed", "calibration data is required")
        calibration = data_module.calibration_sample(dataset, spec.calibration_size, spec.calibration_seed)
        np.save(workdir / "calibration.npy", calibration, allow_pickle=False)
        request["calibration"] = str(workdir / "calibration.npy")
        calibration_info = {"size": int(len(calibration)), "seed": spec.calibration_seed, "split": "train",
                            "data": dataset.identity()}
    ensure_dir(target.parent)
    if not golden.is_current(golden_file, sha256_file(source), samples):
        np.save(workdir / "golden-samples.npy", samples.x_test, allow_pickle=False)
        request["golden_samples"] = str(workdir / "golden-samples.npy")
    request["output"] = str(partial)
    try:
        answer = session.run(request, WORKER_TIMEOUT_S, workdir) if session is not None \
            else run_worker(WORKER, request, WORKER_TIMEOUT_S, workdir)
        if isinstance(answer, WorkerError):
            return result(*worker_verdict(answer))
        try:
            _write_golden(answer, workdir, golden_file, source, samples)
        except ModelError as err:      # the source answers NaN (a diverged training): this recipe fails, not the run
            return result("failed", str(err))
        if not partial.is_file():
            return result("unsupported", "the converter wrote no file")
        facts, problem = _check(partial, recipe, spec.step, answer.get("contract"), "float32" if spec.app else None,
                                spec.mix)
        if problem is None and spec.app and (left := app.blockers(read_facts(partial))):
            problem = f"the app-ready variant is not: {'; '.join(left)}"
        if problem:
            return result("failed", problem, facts)
        manifest = exported_manifest(spec, source, partial, facts, calibration_info, answer["zero_input_output"],
                                     target, answer.get("contract"), contract)
        try:
            manifest = _finish(manifest, partial, spec, golden_file, target, shared)
        except EdgeseqError as err:
            return result("failed", str(err), facts)
        commit_with_manifest(partial, target, manifest)
        return result("ok", None, facts, manifest.portability)
    finally:
        partial.unlink(missing_ok=True)
