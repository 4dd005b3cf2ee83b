"""Step models (export --streaming, --graph step): the contract in files and manifests, parity of 28 rows fed one by one
against the whole-sequence file, sequences longer than the trained 28, per-step latency, and the report's
streaming section. Tiny models trained on the shipped sample (conftest), both formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from edgeseq import runtimes
from edgeseq.core import layout
from edgeseq.core.errors import ModelError
from edgeseq.core.fileio import sha256_file
from edgeseq.core.manifest import read_manifest
from edgeseq.runtimes import RuntimeName
from edgeseq.step_contract import CONTRACT
from edgeseq.artifacts import is_step_file
from edgeseq.runtimes.step import StepRunner, contract_of

STATES = {"rnn": [("h1", 32)], "lstm": [("h1", 128), ("c1", 128), ("h2", 128), ("c2", 128)]}
RECIPES = ("fp32", "dynamic")
FORMATS = ("tflite", "onnx")


@pytest.fixture(scope="module")
def streamed(exported: tuple[Path, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """fp32 and dynamic in both formats for both models, with their step models; and the results folder of
    export, validate and bench (--json) on them. The whole-sequence files are the session's (conftest's
    `exported`), copied with their manifests and golden outputs; the step models are exported beside them from
    the same Keras models (`export --graph step`: the step models alone, which --streaming adds)."""
    folder, rows = exported
    out = tmp_path_factory.mktemp("streamed")
    results = tmp_path_factory.mktemp("streamed-results")
    whole = []
    for row in rows:
        if row["status"] == "ok" and row["recipe"] in RECIPES and row["graph"] != "step":
            source = Path(row["path"])
            (out / source.parent.name).mkdir(exist_ok=True)
            for path in (source, *layout.sidecars(source)):
                shutil.copy2(path, out / source.parent.name / path.name)
            whole.append(row | {"path": str(out / source.parent.name / source.name)})
    assert len(whole) == len(STATES) * len(FORMATS) * len(RECIPES), rows
    done = run_cli("export", "--from", folder, "--out", out, "--graph", "step", "--quant", "fp32", "--quant", "dynamic",
                   "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    (results / "export.json").write_text(json.dumps(whole + json.loads(done.stdout)))
    shutil.copy(folder / "train.json", results / "train.json")
    done = run_cli("validate", out, "--json")
    assert done.returncode in (0, 1), done.stderr[-2000:]   # 1: a quantized file may fail against its model
    (results / "validate.json").write_text(done.stdout)
    return out, results


def test_streaming_adds_a_step_model_per_chosen_recipe():
    """What `export --streaming` adds to the plan (the fixture above exports the same step models with
    `--graph step`): every recipe named with --quant, or else the ones the recipes table marks streaming."""
    from edgeseq import models
    from edgeseq.export.exporter import plan_streaming
    from edgeseq.recipes import RECIPES as TABLE, Graph

    seeds = models.select("all")
    named = [r for r in TABLE.values() if r.quant.value in RECIPES]
    specs = plan_streaming(seeds, named, named=True)
    assert {(s.arch.value, s.recipe.format.value, s.recipe.name) for s in specs} == {
        (arch, fmt, recipe) for arch in STATES for fmt in FORMATS for recipe in RECIPES}
    assert {s.graph for s in specs} == {Graph.STEP}
    by_default = plan_streaming(seeds, list(TABLE.values()), named=False)
    assert {s.recipe.key for s in by_default} == {r.key for r in TABLE.values() if r.streaming}
    assert len(plan_streaming(seeds, list(TABLE.values()), named=True)) == len(seeds) * len(TABLE)


def step_files(out: Path) -> list[Path]:
    return [layout.exported_path(out, arch, fmt, recipe, step=True)
            for arch in STATES for fmt in FORMATS for recipe in RECIPES]


def test_export_writes_a_step_model_per_recipe_with_its_contract(streamed):
    out, _ = streamed
    for path in step_files(out):
        assert path.is_file() and is_step_file(path), path
        manifest = read_manifest(path)
        assert manifest.kind == layout.STEP_KIND and manifest.graph == "step"
        assert [(s["name"], s["units"]) for s in manifest.step["states"]] == STATES[manifest.architecture]
        assert manifest.step["state_in_variables"] is False and manifest.usage_note == CONTRACT
        whole = path.parent / manifest.whole_sequence["file"]
        assert whole == layout.exported_path(out, manifest.architecture, manifest.format, manifest.recipe)
        assert manifest.whole_sequence["sha256"] == sha256_file(whole)
        # every tensor is float32: the state goes back in unchanged, whatever the recipe
        assert {t["dtype"] for t in (*manifest.inputs, *manifest.outputs)} == {"float32"}
        assert {layout.parse(path).step, layout.key_of(path, manifest).step} == {True}
        assert contract_of(path).input_names == ["row", *(name for name, _ in STATES[manifest.architecture])]


def test_rows_fed_one_by_one_answer_as_the_whole_sequence_file(streamed):
    out, results = streamed
    rows = [r for r in json.loads((results / "validate.json").read_text()) if r["step"]]
    checked = {(Path(r["path"]).name, r["runtime"]) for r in rows}
    assert {(p.name, "litert" if p.suffix == ".tflite" else "onnxruntime") for p in step_files(out)} <= checked
    for row in rows:
        if row["recipe"] == "fp32":                 # a float step model: against its own whole-sequence file
            assert row["reference_kind"] == "whole-sequence file", row
            assert Path(row["reference"]).name == Path(row["path"]).name.replace("-step", ""), row
        else:                                       # a quantized one: against a float reference, never its sibling
            assert row["reference_kind"] in ("keras model", "fp32 file"), row
        if row["recipe"] == "fp32":
            assert row["passed"] and row["max_abs_diff"] < 1e-4, row
        else:
            assert row["outcome"] != "fail" and row["agreement"] >= 0.9, row


def test_a_step_model_runs_sequences_longer_than_it_was_trained_on(streamed, sample):
    out, _ = streamed
    path = layout.exported_path(out, "lstm", "onnx", "fp32", step=True)
    runner = runtimes.load(path, RuntimeName.ONNXRUNTIME)
    assert isinstance(runner, StepRunner)
    digits = sample.x_test[:8]
    doubled = np.concatenate([digits, sample.x_test[8:16]], axis=1)     # two digits, one after the other: 56 rows
    long = runner.trace(doubled, keep_states=True)
    short = runner.trace(digits, keep_states=True)
    assert long.probabilities.shape == (56, 8, 10) and set(long.states) == {"h1", "c1", "h2", "c2"}
    np.testing.assert_allclose(long.probabilities[:28], short.probabilities, atol=1e-6)
    np.testing.assert_allclose(long.probabilities.sum(axis=2), 1.0, atol=1e-4)
    whole = runtimes.load(layout.exported_path(out, "lstm", "onnx", "fp32"), RuntimeName.ONNXRUNTIME)
    np.testing.assert_allclose(short.probabilities[-1], whole.predict(digits), atol=1e-4)


def test_a_step_model_refuses_a_sequence_of_the_wrong_width(streamed, sample):
    out, _ = streamed
    runner = runtimes.load(layout.exported_path(out, "rnn", "tflite", "fp32", step=True), RuntimeName.LITERT)
    with pytest.raises(ModelError, match=r"takes sequences \(N, T, 28\)"):
        runner.trace(sample.x_test[:2, :, :27])


def test_a_malformed_contract_in_the_manifest_is_one_line(streamed, tmp_path):
    out, _ = streamed
    source = layout.exported_path(out, "rnn", "onnx", "fp32", step=True)
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    manifest = read_manifest(source)
    layout.manifest_path(copy).write_text(json.dumps(manifest.to_dict() | {"step": manifest.step | {"states": "h1"}}))
    done = run_cli("validate", copy, "--reference", layout.exported_path(out, "rnn", "onnx", "fp32"),
                   "--runtime", "onnxruntime")
    assert done.returncode == 1
    assert "step contract is malformed" in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_bench_times_one_step_and_the_report_has_a_streaming_section(streamed):
    out, results = streamed
    done = run_cli("bench", out, "--runtime", "litert,onnxruntime", "--min-runs", "20", "--min-seconds", "0",
                   "--warmup", "2", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    steps = [r for r in rows if r["step"]]
    assert len(steps) == len(step_files(out))
    for row in steps:
        assert row["status"] == "ok" and 0 < row["step_p50_us"] <= row["step_p99_us"], row
        assert row["p50_us"] > row["step_p50_us"], row    # a whole sequence is 28 steps
    assert all(r["step_p50_us"] is None for r in rows if not r["step"])
    (results / "bench.json").write_text(done.stdout)
    report = results / "report"
    done = run_cli("report", results, "--out", report, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    streaming = [r for r in json.loads(done.stdout)["streaming"] if r["runtime"] in ("litert", "onnxruntime")]
    assert {(r["file"], r["runtime"]) for r in streaming} == {
        (f"{arch} {fmt}/{recipe} step", "litert" if fmt == "tflite" else "onnxruntime")
        for arch in STATES for fmt in FORMATS for recipe in RECIPES}
    for row in streaming:
        assert row["overhead"] == pytest.approx(28 * row["step_p50_us"] / row["whole_sequence_us"])
    text = (report / "report.md").read_text()
    assert "## Streaming: step models" in text
    verdict = text.split("## Verdict")[1].split("##")[0]
    assert " step" not in verdict      # a step model is never a candidate
