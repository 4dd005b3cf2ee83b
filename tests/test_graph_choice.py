"""The graph chosen where it runs (issue 24, part 3): graph candidates (`export --graph auto`), their names, the
choice bench records, the report's section and `export --pick-from`."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import REPO, invoke_cli, run_cli
from edgeseq.core import layout
from edgeseq.bench import BenchConfig, BenchResult, bench
from edgeseq.bench.graph_choice import GraphChoice, annotate, choose, eligible, parity_at_export, with_choices
from edgeseq.core.errors import IntegrityError
from edgeseq.recipes import Format, Graph, Quant, recipe
from edgeseq.report import build_report
from edgeseq.runtimes import RuntimeName
from edgeseq.core.manifest import Manifest, read_manifest

MODELS = REPO / "models"
RESULTS = REPO / "tests" / "golden" / "report_results"


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("model", ["rnn", "lstm", "lstm-64x2-tanh"])
@pytest.mark.parametrize("graph", [g.value for g in Graph if g is not Graph.STEP])
def test_a_candidate_name_says_model_format_recipe_and_graph(tmp_path, model, graph):
    path = layout.exported_path(tmp_path, model, "tflite", "dynamic", graph=graph)
    assert path.name == f"{model}-dynamic@{graph}.tflite"
    key = layout.FileKey(model, "tflite", "dynamic", graph=graph)
    assert layout.parse(path) == key and layout.key_of(path, None) == key
    assert key.label == f"{model} tflite/dynamic @{graph}"
    assert layout.parse(layout.exported_path(tmp_path, model, "onnx", "fp32")) == layout.FileKey(model, "onnx", "fp32")


def test_the_manifest_says_which_candidate_a_file_is(tmp_path):
    renamed = tmp_path / "lstm-dynamic.tflite"      # a candidate copied under the recipe's own name
    section = {"graph": "hoisted", "table_graph": "fused"}
    candidate = Manifest(kind="exported-model", architecture="lstm", recipe="dynamic", graph_candidate=section)
    assert layout.key_of(renamed, candidate) \
        == layout.FileKey("lstm", "tflite", "dynamic", graph="hoisted")
    tagged = tmp_path / "lstm-dynamic@hoisted.tflite"
    plain = Manifest(kind="exported-model", architecture="lstm", recipe="dynamic")
    assert layout.key_of(tagged, plain).graph == "hoisted"
    with pytest.raises(IntegrityError, match="is a path"):
        layout.key_of(tagged, plain.replace(graph_candidate={"graph": "../x"}))
    assert layout.parse(tmp_path / "lstm-dynamic@.tflite") is None
    assert layout.parse(tmp_path / "lstm-dynamic@a@b.tflite") is None
    with pytest.raises(IntegrityError):
        layout.FileKey("ls@tm", "tflite", "dynamic")


def test_candidates_are_every_allowed_whole_sequence_graph_the_table_first():
    lstm_int8 = recipe(Format.TFLITE, Quant.INT8).candidates("lstm")
    assert lstm_int8[0] == (Graph.UNROLLED_B1, None)          # the table's graph first
    assert Graph.STEP not in dict(lstm_int8)
    assert "full-integer kernel" in dict(lstm_int8)[Graph.FUSED]  # relu: said why, not dropped
    rnn = recipe(Format.TFLITE, Quant.DYNAMIC).candidates("rnn")
    assert "not available" in dict(rnn)[Graph.FUSED] and dict(rnn)[Graph.HOISTED] is None
    assert [g for g, _ in recipe(Format.ONNX, Quant.DYNAMIC).candidates("lstm")] == [Graph.LOOP, Graph.UNROLLED]


# ---------------------------------------------------------------- the choice, on hand-written rows

def row(graph: str | None, p50: float | None, parity: str | None = "pass", **changes) -> BenchResult:
    """A bench row of the LSTM's fp32 TFLite file (the table's graph: fused) in one graph."""
    base = BenchResult(path=f"x/lstm-fp32@{graph}.tflite", model="lstm", format="tflite", recipe="fp32",
                       runtime="litert", status="ok", reason=None, sha256=f"sha-{graph}", batch=1, p50_us=p50,
                       threads=1, environment={"device": "pi"}, graph=graph, export_parity=parity)
    return replace(base, **changes)


def test_the_fastest_graph_that_passed_parity_is_chosen_with_its_gain_over_the_table():
    rows = [row("fused", 335.0), row("hoisted", 100.0), row("unrolled-b1", 120.0), row("loop", 90.0, "fail"),
            row("hoisted", 900.0, batch=8), row("unrolled", None, status="failed", reason="crashed")]
    [choice] = choose(rows)
    assert choice.fastest == "hoisted" and choice.default_graph == "fused"
    assert choice.p50_us == (("hoisted", 100.0), ("unrolled-b1", 120.0), ("fused", 335.0))
    assert choice.gain_over_default == 3.35 and choice.default_p50_us == 335.0
    excluded = dict(choice.excluded)
    assert "parity at export fail" in excluded["loop"] and "p50 90.0" in excluded["loop"]
    assert excluded["unrolled"] == "bench failed: crashed"
    assert dict(choice.sha256)["hoisted"] == "sha-hoisted"
    assert GraphChoice.from_dict(json.loads(json.dumps(choice.to_dict()))) == choice


def test_choices_are_per_device_runtime_and_thread_count_and_need_two_graphs():
    rows = [row("fused", 300.0), row("hoisted", 310.0),
            row("fused", 500.0, threads=2), row("hoisted", 200.0, threads=2),
            row("fused", 400.0, environment={"device": "laptop"}),
            row("hoisted", 100.0, environment={"device": "laptop"}),
            row("fused", 50.0, model="rnn"),                             # one graph only: nothing to choose
            row("hoisted", 10.0, step=True), row("fused", 12.0, step=True),  # step models are no candidates
            row(None, 5.0)]                                              # no manifest: graph unknown
    found = {(c.device, c.model, c.threads): c.fastest for c in choose(rows)}
    assert found == {("pi", "lstm", 1): "fused", ("pi", "lstm", 2): "hoisted", ("laptop", "lstm", 1): "hoisted"}


def test_an_inconclusive_graph_is_chosen_only_when_the_tables_graph_is_inconclusive_too():
    assert eligible("pass", None) and eligible("inconclusive", "inconclusive")
    assert not eligible("inconclusive", "pass") and not eligible("fail", "fail") and not eligible(None, "pass")
    [choice] = choose([row("fused", 300.0, "inconclusive"), row("hoisted", 100.0, "inconclusive")])
    assert choice.fastest == "hoisted" and dict(choice.parity) == {"fused": "inconclusive", "hoisted": "inconclusive"}
    [choice] = choose([row("fused", 300.0), row("hoisted", 100.0, "inconclusive")])
    assert choice.fastest == "fused" and "inconclusive" in dict(choice.excluded)["hoisted"]
    [choice] = choose([row("fused", 300.0, "fail"), row("hoisted", 100.0, None)])
    assert choice.fastest is None and choice.gain_over_default is None and choice.p50_us == ()
    assert "not known" in dict(choice.excluded)["hoisted"]


def test_parity_at_export_is_read_in_the_library_that_ran_the_file():
    manifest = read_manifest(MODELS / "lstm" / "lstm-dynamic.tflite")
    assert parity_at_export(manifest, "litert", "ai-edge-litert 2.3.0, XNNPACK, 1 thread(s)") == "pass"
    cells = manifest.portability
    cells["does_not_run_on"].append(cells["runs_on"].pop(0) | {"status": "fail", "reason": "agreement 0.1"})
    assert parity_at_export(manifest, "litert", "ai-edge-litert 2.3.0, XNNPACK, 1 thread(s)") == "fail"
    assert parity_at_export(manifest, "litert", "tf.lite 2.21.0") == "pass"
    assert parity_at_export(manifest, "litert", "tflite-runtime 2.14.0") == "fail"   # not measured there: the runtime's
    assert parity_at_export(manifest, "onnxruntime", "onnxruntime 1.32.0") is None
    assert parity_at_export(None, "litert", None) is None


# ---------------------------------------------------------------- bench on files (no TensorFlow)

def fake_candidates(folder: Path) -> Path:
    """Two 'graphs' of rnn tflite/fp32 from the committed file: the same bytes, each manifest naming its graph and
    candidate tag (what bench reads), so that bench compares them."""
    source = MODELS / "rnn" / "rnn-fp32.tflite"
    manifest = json.loads(layout.manifest_path(source).read_text())
    for graph in ("unrolled", "loop"):
        target = layout.exported_path(folder, "rnn", "tflite", "fp32", graph=graph)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        layout.manifest_path(target).write_text(json.dumps(manifest | {
            "graph": graph, layout.CANDIDATE_SECTION: {"graph": graph, "table_graph": "unrolled"}}))
    shutil.copy(MODELS / "rnn" / "rnn.golden.npz", folder / "rnn")
    return folder


def test_bench_records_the_fastest_graph_on_each_row_and_in_its_table(tmp_path):
    folder = fake_candidates(tmp_path / "cands")
    rows = bench([folder], BenchConfig(runtimes=(RuntimeName.LITERT,), warmup=2, min_runs=20, min_seconds=0.0,
                                       device_name="here"))
    assert {r.graph for r in rows} == {"unrolled", "loop"} and {r.export_parity for r in rows} == {"pass"}
    choices = {json.dumps(r.graph_choice, sort_keys=True) for r in rows}
    assert len(choices) == 1
    choice = GraphChoice.from_dict(rows[0].graph_choice)
    p50 = {r.graph: r.p50_us for r in rows}
    assert choice.fastest == min(p50, key=p50.get) and dict(choice.p50_us) == p50
    assert choice.device == "here" and choice.default_graph == "unrolled"
    assert choice.gain_over_default == round(p50["unrolled"] / min(p50.values()), 3)
    done = invoke_cli("bench", folder, "--runtime", "litert", "--warmup", "2", "--min-runs", "20",
                      "--min-seconds", "0", "--device", "here")
    assert done.returncode == 0, done.stderr
    assert "graph chosen on here" in done.stdout and "@loop" in done.stdout


def test_annotate_keeps_what_the_row_says_when_the_manifest_is_about_other_bytes(tmp_path):
    folder = fake_candidates(tmp_path / "cands")
    path = layout.exported_path(folder, "rnn", "tflite", "fp32", graph="loop")
    measured = row(None, 10.0, None, path=str(path), model="rnn", recipe="fp32", sha256="other bytes")
    assert annotate([measured]) == [measured]
    [same] = annotate([replace(measured, sha256=json.loads(layout.manifest_path(path).read_text())["sha256"],
                               backend="ai-edge-litert 2.3.0, XNNPACK")])
    assert (same.graph, same.export_parity) == ("loop", "pass")
    assert with_choices([same])[0].graph_choice is None     # one graph: no choice


# ---------------------------------------------------------------- the report

def choice_rows(device: str, fastest_p50: float) -> list[dict]:
    rows = with_choices([row("fused", 335.0, environment={"device": device}),
                         row("hoisted", fastest_p50, environment={"device": device})])
    return [r.to_dict() for r in rows]


def test_the_report_recommends_a_graph_per_device(tmp_path):
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(choice_rows("pi", 900.0) + choice_rows("epyc", 100.0)))
    result = build_report(RESULTS, tmp_path / "report", device_results=(devices,))
    text = Path(result.markdown_path).read_text()
    section = text[text.index("## Graph per device"):]
    assert "| epyc | LSTM | tflite/fp32 | litert | 1 | hoisted | 100.0 | fused | 335.0 | 3.35x |" in section
    assert "| pi | LSTM | tflite/fp32 | litert | 1 | fused | 335.0 | fused | 335.0 | 1.00x | hoisted 900.0 |" \
        in section
    saved = json.loads(Path(result.json_path).read_text())["graph_choices"]
    assert {(c["device"], c["fastest"]) for c in saved} == {("pi", "fused"), ("epyc", "hoisted")}


def test_a_broken_graph_choice_in_device_results_is_one_error(tmp_path):
    rows = choice_rows("pi", 100.0)
    rows[0]["graph_choice"]["p50_us"] = {"hoisted": "fast"}
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(rows))
    done = invoke_cli("report", RESULTS, devices, "--out", tmp_path / "report")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "p50_us holds a value" in done.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------- export --pick-from, its errors

PICK = ("export", "--model", "lstm", "--format", "tflite", "--quant", "fp32", "--from", MODELS)


@pytest.mark.parametrize("rows, extra, expect", [
    ([row("fused", 300.0).to_dict()], [], "records no graph choice"),
    (choice_rows("pi", 100.0) + choice_rows("epyc", 90.0), [], "2 devices (pi, epyc): pass --device NAME"),
    (choice_rows("pi", 100.0), ["--device", "laptop"], "no results of device 'laptop' (it has pi)"),
    ([r | {"recipe": "fp16"} | {"graph_choice": r["graph_choice"] | {"recipe": "fp16"}}
      for r in choice_rows("pi", 100.0)], [], "no graph candidates of lstm tflite/fp32 measured on pi"),
    ([r.to_dict() for r in with_choices([row("fused", 1.0, "fail"), row("hoisted", 2.0, "fail")])], [],
     "no graph candidate of lstm tflite/fp32 passed parity"),
    ([r.to_dict() for r in with_choices([row("fused", 1.0), row("hoisted", 2.0),
                                         row("fused", 3.0, threads=2), row("hoisted", 2.0, threads=2)])], [],
     "depends on the runtime or thread count"),
    ([{"path": "x"}], [], "lacks"),
])
def test_pick_from_refuses_in_one_line(tmp_path, rows, extra, expect):
    bench_file = tmp_path / "bench.json"
    bench_file.write_text(json.dumps(rows))
    done = invoke_cli(*PICK, "--pick-from", bench_file, *extra, "--out", tmp_path / "out")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[-1].startswith("Error") and expect in lines[-1], done.stderr
    assert not (tmp_path / "out").exists()


def test_pick_from_does_not_go_with_graph(tmp_path):
    bench_file = tmp_path / "bench.json"
    bench_file.write_text(json.dumps(choice_rows("pi", 100.0)))
    done = invoke_cli(*PICK, "--pick-from", bench_file, "--graph", "fused", "--out", tmp_path / "out")
    assert done.returncode == 2 and "do not go together" in done.stderr


# ---------------------------------------------------------------- the whole path, with TensorFlow (slow)

@pytest.mark.slow
def test_auto_candidates_then_bench_then_pick_from(tmp_path):
    """--graph auto on the committed RNN (fp32: four graphs, fused said unavailable), a real bench of the
    candidates, then --pick-from: the picked graph exported as the recipe's own file."""
    cands = tmp_path / "cands"
    done = run_cli("export", "--graph", "auto", "--model", "rnn", "--format", "tflite", "--quant", "fp32",
                   "--from", MODELS, "--out", cands, "--json")
    assert done.returncode == 0, done.stderr
    results = {r["graph"]: r for r in json.loads(done.stdout)}
    assert set(results) == {"unrolled", "loop", "unrolled-b1", "fused", "hoisted"}
    assert results["fused"]["status"] == "unsupported" and "not available" in results["fused"]["reason"]
    written = sorted(p.name for p in (cands / "rnn").glob("*.tflite"))
    assert written == ["rnn-fp32@hoisted.tflite", "rnn-fp32@loop.tflite", "rnn-fp32@unrolled-b1.tflite",
                       "rnn-fp32@unrolled.tflite"]
    for graph in ("unrolled", "loop", "unrolled-b1", "hoisted"):
        path = layout.exported_path(cands, "rnn", "tflite", "fp32", graph=graph)
        manifest = json.loads(layout.manifest_path(path).read_text())
        assert manifest["graph"] == graph and manifest[layout.CANDIDATE_SECTION]["table_graph"] == "unrolled"
        assert manifest["portability"]["runs_on"], manifest["portability"]      # its parity, recorded
        assert f"[{list(results).index(graph) + 1}/5] rnn tflite/fp32 ({graph} graph)" in done.stderr
    assert done.stderr.count("parity pass") == 4
    measured = run_cli("bench", cands, "--runtime", "litert", "--warmup", "5", "--min-runs", "50",
                       "--min-seconds", "0.1", "--device", "here", "--out", tmp_path / "here")
    assert measured.returncode == 0, measured.stderr
    rows = json.loads((tmp_path / "here" / "bench.json").read_text())
    choice = rows[0]["graph_choice"]
    assert set(choice["p50_us"]) == {"unrolled", "loop", "unrolled-b1", "hoisted"}
    assert choice["fastest"] == min(choice["p50_us"], key=choice["p50_us"].get)
    out = tmp_path / "picked"
    picked = run_cli("export", "--model", "rnn", "--format", "tflite", "--quant", "fp32", "--from", MODELS,
                     "--pick-from", tmp_path / "here" / "bench.json", "--out", out, "--json")
    assert picked.returncode == 0, picked.stderr
    [result] = json.loads(picked.stdout)
    assert result["graph"] == choice["fastest"] and result["path"].endswith("rnn/rnn-fp32.tflite")
    manifest = json.loads(layout.manifest_path(Path(result["path"])).read_text())
    assert manifest["graph"] == choice["fastest"] and layout.CANDIDATE_SECTION not in manifest
    assert manifest["graph_choice"]["measured"][0] == choice
    assert manifest["graph_choice"]["bench"]["file"] == "bench.json"
    same = manifest["sha256"] == choice["sha256"][choice["fastest"]]
    assert manifest["graph_choice"]["same_bytes_as_measured"] is same
    assert str(tmp_path) not in json.dumps(manifest)           # no machine paths in the manifest
