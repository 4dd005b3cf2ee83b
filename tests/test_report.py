"""report: rendering from the four --json outputs. Built from small JSON files in tmp_path (trimmed real rows
under tests/golden/report_results, or rows made from them); no trained model, no session fixture."""

import copy
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edgeseq import report
from edgeseq.bench import BenchResult
from edgeseq.errors import EdgeseqError
from edgeseq.export.exporter import ExportResult
from edgeseq.parity import ParityReport
from edgeseq.report import Budgets, build_report, file_rows, read_inputs, verdicts
from edgeseq.train import TrainResult

GOLDEN = Path(__file__).parent / "golden"
REAL = GOLDEN / "report_results"
SCHEMA = GOLDEN / "report_input_schema.json"


def real(name: str) -> list[dict]:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def template(name: str, **match: str) -> dict:
    return copy.deepcopy(next(r for r in real(name) if all(r[k] == v for k, v in match.items())))


def make_results(folder: Path, files: list[dict]) -> Path:
    """Write train/export/validate/bench.json for `files` (model, format, recipe, accuracy, passed, p50,
    size, ...), each row a real row with its figures replaced; the Keras baselines are the real rows."""
    folder.mkdir(parents=True, exist_ok=True)
    runtime = {"tflite": "litert", "onnx": "onnxruntime"}
    export, validate, bench = [], [], []
    for f in files:
        name = f"{f['model']}-{f['recipe']}.{f['format']}"
        path = f"models/{f['model']}/{name}"
        ident = {"model": f["model"], "format": f["format"], "recipe": f["recipe"]}
        exported = f.get("export_status", "ok") == "ok"
        export.append(template("export.json", model="rnn", format="tflite", recipe="fp32") | ident | {
            "path": path if exported else None, "size_bytes": f.get("size") if exported else None,
            "status": f.get("export_status", "ok"), "reason": None if exported else "converter said no"})
        if not exported:
            continue
        validate.append(template("validate.json", model="rnn", format="tflite", recipe="fp32") | ident | {
            "path": path, "runtime": runtime[f["format"]], "accuracy": f["accuracy"],
            "delta_accuracy_pp": round((f["accuracy"] - 0.9132) * 100, 4), "passed": f.get("passed", True),
            "reason": None if f.get("passed", True) else "delta_accuracy_pp -81.23 < -1"})
        row = template("bench.json", model="rnn", format="tflite", recipe="fp32") | ident | {
            "path": path, "runtime": runtime[f["format"]], "size_bytes": f.get("size")}
        if f.get("bench_status", "ok") == "ok":
            bench.append(row | {"p50_us": f["p50"], "p99_us": f["p50"] * 1.5, "batch": 1})
        else:
            bench.append(row | {"status": "failed", "reason": "the runtime crashed", "batch": None,
                                **{k: None for k in ("p50_us", "p90_us", "p99_us", "mean_us", "min_us")}})
    bench += [r for r in real("bench.json") if r["format"] == "keras" and r["batch"] == 1]
    for name, rows in [("train.json", real("train.json")), ("export.json", export),
                       ("validate.json", validate), ("bench.json", bench)]:
        (folder / name).write_text(json.dumps(rows), encoding="utf-8")
    return folder


FILES = [
    {"model": "rnn", "format": "tflite", "recipe": "fp32", "accuracy": 0.9132, "p50": 20.0, "size": 32196},
    {"model": "rnn", "format": "tflite", "recipe": "int16x8", "accuracy": 0.1009, "passed": False,
     "p50": 15.0, "size": 35280},
    {"model": "rnn", "format": "onnx", "recipe": "fp32", "accuracy": 0.9132, "p50": 30.0, "size": 42665},
    {"model": "lstm", "format": "tflite", "recipe": "fp32", "accuracy": 0.9797, "p50": 300.0, "size": 870940},
    {"model": "lstm", "format": "tflite", "recipe": "dynamic", "accuracy": 0.9798, "p50": 310.0,
     "size": 226792},
    {"model": "lstm", "format": "onnx", "recipe": "dynamic", "accuracy": 0.9799, "p50": 500.0,
     "size": 232357},
    {"model": "lstm", "format": "tflite", "recipe": "int8", "export_status": "unsupported"},
]


def verdict_of(folder: Path, budgets: Budgets = Budgets()) -> dict[str, report.ArchVerdict]:
    return {v.model: v for v in verdicts(file_rows(read_inputs(folder)), budgets)}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[report.ReportResult, Path]:
    """One full report from the trimmed real results (the only test that draws figures)."""
    out = tmp_path_factory.mktemp("report") / "out"
    results = tmp_path_factory.mktemp("results")
    for name in report.INPUT_FILES:
        (results / name).write_bytes((REAL / name).read_bytes())
    return build_report(results, out), out


def test_outputs_exist_and_html_is_self_contained(built):
    result, out = built
    for name in ("report.md", "report.html", "report.json", *(Path(p).name for p in result.plots)):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(result.plots) == 3
    for plot in result.plots:
        assert Path(plot).read_bytes().startswith(b"\x89PNG")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", page, re.I)
    assert "<script" not in page and "<link" not in page
    assert not list(out.glob(".*partial*"))


def test_markdown_mentions_every_measured_file_and_json_matches(built):
    result, out = built
    text = (out / "report.md").read_text(encoding="utf-8")
    for row in real("bench.json"):
        if row["status"] == "ok":
            line = f"| {row['model']} | {row['format']} | {row['recipe']} | {row['runtime']} |"
            assert line in text, line
    written = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(result.to_dict()))
    for name in ("accuracy-vs-latency.png", "size-per-recipe.png", "latency-per-runtime.png"):
        assert f"]({name})" in text
    assert "AMD EPYC" in text and "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be" in text


def test_real_verdict_and_conclusion_use_the_input_figures(built):
    result, _ = built
    by_model = {v.model: v for v in result.verdict}
    assert [r.label for r in by_model["rnn"].failed] == ["rnn tflite/int16x8"]
    assert by_model["rnn"].recommended.label != "rnn tflite/int16x8"
    lstm = {(r["format"], r["recipe"]): r for r in real("validate.json") if r["model"] == "lstm"}
    assert by_model["lstm"].most_accurate.accuracy == max(r["accuracy"] for r in lstm.values())
    c = result.conclusion
    assert (c.from_model, c.to_model) == ("rnn", "lstm")
    assert c.accuracy_gain_pp == pytest.approx((c.to_file["accuracy"] - c.from_file["accuracy"]) * 100)
    assert c.extra_latency_us == pytest.approx(c.to_file["p50_us"] - c.from_file["p50_us"])
    assert c.pp_per_us == pytest.approx(c.accuracy_gain_pp / c.extra_latency_us)
    assert c.to_file["file"] in c.text and c.from_file["file"] in c.text
    keras = next(r for r in result.files if r.baseline and r.model == "lstm")
    assert keras.accuracy == lstm[("tflite", "fp32")]["reference_accuracy"]
    assert "reference_accuracy" in keras.accuracy_source


def test_recommendation_without_budgets_is_most_accurate_ties_by_latency(tmp_path):
    v = verdict_of(make_results(tmp_path, FILES))
    assert v["rnn"].recommended.label == "rnn tflite/fp32"  # ties with onnx/fp32 at 91.32 %: 20 µs < 30 µs
    assert v["lstm"].recommended.label == "lstm onnx/dynamic"
    assert v["rnn"].fastest.label == "rnn tflite/fp32"            # int16x8 is faster but failed parity
    assert v["rnn"].smallest.label == "rnn tflite/fp32"
    assert [r.label for r in v["lstm"].left_out] == ["lstm tflite/int8"]


def test_budgets_pick_the_right_file(tmp_path):
    v = verdict_of(make_results(tmp_path, FILES), Budgets(max_latency_us=400))
    assert v["lstm"].recommended.label == "lstm tflite/dynamic"
    v = verdict_of(tmp_path, Budgets(max_latency_us=400, max_size_kb=230))
    assert v["lstm"].recommended.label == "lstm tflite/dynamic"
    v = verdict_of(tmp_path, Budgets(min_accuracy=0.9798, max_size_kb=500))
    assert v["lstm"].recommended.label == "lstm onnx/dynamic" and v["rnn"].recommended is None


@pytest.mark.parametrize(("budgets", "model", "expected"), [
    (Budgets(max_latency_us=100), "lstm", "none fits: fastest passing lstm file is 300.0 µs > 100 µs budget"),
    (Budgets(max_latency_us=10), "rnn", "none fits: fastest passing rnn file is 20.0 µs > 10 µs budget"),
    (Budgets(max_size_kb=100), "lstm", "none fits: smallest passing lstm file is 221.5 KB > 100 KB budget"),
    (Budgets(min_accuracy=0.99), "lstm",
     "none fits: most accurate passing lstm file is 97.99 % < 99 % budget"),
    (Budgets(max_latency_us=320, max_size_kb=300, min_accuracy=0.97), "lstm", None),
    (Budgets(max_latency_us=305, max_size_kb=800), "lstm",
     "none fits: no passing lstm file meets all budgets (p50 ≤ 305 µs, size ≤ 800 KB) at once"),
])
def test_none_fits_says_why(tmp_path, budgets, model, expected):
    v = verdict_of(make_results(tmp_path, FILES), budgets)[model]
    if expected is None:
        assert v.recommended.label == "lstm tflite/dynamic" and v.none_fits is None
    else:
        assert v.recommended is None and v.none_fits == expected


def test_a_parity_failed_file_is_never_recommended_even_when_best(tmp_path):
    files = [dict(f) for f in FILES]
    files[1] |= {"accuracy": 0.99, "p50": 5.0, "size": 1000}     # best on every figure, but failed parity
    budget_sets = (Budgets(), Budgets(max_latency_us=10), Budgets(max_size_kb=2), Budgets(min_accuracy=0.95))
    for budgets in budget_sets:
        v = verdict_of(make_results(tmp_path, files), budgets)["rnn"]
        picks = [v.recommended, v.fastest, v.smallest, v.most_accurate]
        assert all(p is None or p.label != "rnn tflite/int16x8" for p in picks)
        assert [r.label for r in v.failed] == ["rnn tflite/int16x8"]
    assert verdict_of(tmp_path, Budgets(max_latency_us=10))["rnn"].none_fits.startswith("none fits")


def test_failed_bench_rows_are_shown_not_invented(tmp_path):
    files = [dict(f) for f in FILES]
    files[3] |= {"bench_status": "failed"}
    folder = make_results(tmp_path, files)
    rows = {r.label: r for r in file_rows(read_inputs(folder))}
    row = rows["lstm tflite/fp32"]
    assert row.bench_status == "failed" and row.p50_us is None and row.bench_reason == "the runtime crashed"
    v = verdict_of(folder)["lstm"]
    assert row in v.left_out and v.fastest.label == "lstm tflite/dynamic"


def test_conclusion_from_rnn_to_lstm(tmp_path):
    rows = file_rows(read_inputs(make_results(tmp_path, FILES)))
    c = report.conclude(verdicts(rows), {"rnn": 2282, "lstm": 216426})
    assert c.from_file["file"] == "rnn tflite/fp32" and c.to_file["file"] == "lstm onnx/dynamic"
    assert c.accuracy_gain_pp == pytest.approx(6.67)
    assert c.extra_latency_us == pytest.approx(480.0)
    assert c.extra_size_kb == pytest.approx((232357 - 32196) / 1024)
    assert c.pp_per_us == pytest.approx(6.67 / 480)
    assert "6.67 pp" in c.text and "+480.0 µs" in c.text


def test_unloadable_file_of_no_known_architecture_is_listed_not_judged(tmp_path):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / "validate.json").read_text())
    rows.append({k: None for k in rows[0]} | {"path": "/x/broken.onnx", "runtime": "onnxruntime", "passed": False,
                                              "reason": "cannot load", "integrity": "no-manifest",
                                              "data": rows[0]["data"]})
    (folder / "validate.json").write_text(json.dumps(rows))
    inputs = read_inputs(folder)
    verdict = verdicts(file_rows(inputs), Budgets(), report.architectures(inputs))
    assert [v.model for v in verdict] == ["rnn", "lstm"]
    assert "broken" in {r.model for r in file_rows(inputs)}


def test_missing_results_folder(tmp_path):
    with pytest.raises(EdgeseqError, match="results folder not found"):
        build_report(tmp_path / "nowhere", tmp_path / "out")


@pytest.mark.parametrize("name", report.INPUT_FILES)
def test_missing_file_names_it(tmp_path, name):
    folder = make_results(tmp_path, FILES)
    (folder / name).unlink()
    with pytest.raises(EdgeseqError, match=re.escape(name)) as info:
        build_report(folder, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("name", "content", "says"), [
    ("bench.json", "", "not valid JSON"),
    ("validate.json", "[{\"path\": ", "not valid JSON"),
    ("export.json", "{\"rows\": []}", "is a JSON dict, expected the list"),
    ("train.json", "[]", "has no rows"),
    ("bench.json", "[1, 2]", "row 1 is a int"),
])
def test_malformed_file_names_it(tmp_path, name, content, says):
    folder = make_results(tmp_path, FILES)
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(EdgeseqError, match=re.escape(name)) as info:
        read_inputs(folder)
    assert says in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("name", "key"), [("bench.json", "p50_us"), ("validate.json", "passed"),
                                           ("export.json", "size_bytes"), ("train.json", "test_accuracy")])
def test_row_lacking_a_required_key_names_file_and_key(tmp_path, name, key):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / name).read_text())
    del rows[-1][key]
    (folder / name).write_text(json.dumps(rows))
    with pytest.raises(EdgeseqError, match=rf"{re.escape(name)} row {len(rows)} .*lacks {key}"):
        read_inputs(folder)


def test_wrong_types_are_one_line_errors(tmp_path):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / "bench.json").read_text())
    rows[0]["p50_us"] = "fast"
    (folder / "bench.json").write_text(json.dumps(rows))
    with pytest.raises(EdgeseqError, match=r"bench.json row 1: p50_us should be a number"):
        read_inputs(folder)


def test_budgets_reject_nonsense():
    with pytest.raises(EdgeseqError, match="fraction"):
        Budgets(min_accuracy=97)
    with pytest.raises(EdgeseqError, match="positive"):
        Budgets(max_latency_us=0)
    expected = {"max_latency_us": None, "max_size_kb": 200, "min_accuracy": None}
    assert Budgets(max_size_kb=200).to_dict() == expected


def test_golden_schema_matches_the_code_and_the_result_dataclasses():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    schema = {k: v for k, v in schema.items() if not k.startswith("_")}
    assert {name: tuple(entry["required_keys"]) for name, entry in schema.items()} == report.REQUIRED_KEYS
    classes = {"train.json": TrainResult, "export.json": ExportResult, "validate.json": ParityReport,
               "bench.json": BenchResult}
    for name, cls in classes.items():
        assert schema[name]["dataclass"] == f"{cls.__module__}.{cls.__qualname__}"
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = set(schema[name]["required_keys"]) - fields
        assert not missing, f"{cls.__name__} lost {sorted(missing)}: update edgeseq.report and the schema"


def test_golden_rows_carry_every_dataclass_field():
    """The trimmed real rows are what to_dict() writes today (so the fixtures stay realistic)."""
    classes = {"train.json": TrainResult, "export.json": ExportResult, "validate.json": ParityReport,
               "bench.json": BenchResult}
    for name, cls in classes.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        for row in real(name):
            assert set(row) == fields, name


def test_importing_report_loads_neither_matplotlib_nor_tensorflow():
    code = ("import sys, edgeseq.report; "
            "print([m for m in ('matplotlib', 'tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
