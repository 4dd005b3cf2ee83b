"""report: rendering from the four --json outputs. Built from small JSON files in tmp_path (trimmed real rows
under tests/golden/report_results, or rows made from them); no trained model, no session fixture."""

import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from edgeseq import report
from edgeseq.bench import BenchResult
from edgeseq.core.errors import EdgeseqError
from edgeseq.export.exporter import ExportResult
from edgeseq.models import ARCHITECTURES, Arch
from edgeseq.parity import ParityReport
from edgeseq.report import Budgets, build_report, file_rows, read_inputs, verdicts
from edgeseq.report.figures import device_figure_name
from edgeseq.train import TrainResult

GOLDEN = Path(__file__).parent / "golden"
REAL = GOLDEN / "report_results"
CLASSES = {"train.json": TrainResult, "export.json": ExportResult, "validate.json": ParityReport,
           "bench.json": BenchResult}
SAMPLE = {"name": "sample", "source": "edgeseq/sample/mnist-sample.npz (stratified real MNIST, seed 0)",
          "train_count": 6000, "test_count": 1000, "sha256": {"mnist-sample.npz": "ab" * 32}}


def real(name: str) -> list[dict]:
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def template(name: str, **match: str) -> dict:
    return copy.deepcopy(next(r for r in real(name) if all(r[k] == v for k, v in match.items())))


def digest(path: str) -> str:
    """A made-up sha256 for the file at `path` (the same in every row about it)."""
    return hashlib.sha256(path.encode()).hexdigest()


def make_results(folder: Path, files: list[dict]) -> Path:
    """Write train/export/validate/bench.json for `files` (model, format, recipe, accuracy, passed, p50,
    size, ...), each row a real row with its figures replaced, every row about a file carrying its sha256;
    the Keras baselines are the real rows (train.json and the Keras bench rows share the model's sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    runtime = {"tflite": "litert", "onnx": "onnxruntime"}
    export, validate, bench = [], [], []
    for f in files:
        name = f"{f['model']}-{f['recipe']}.{f['format']}"
        path = f"models/{f['model']}/{name}"
        ident = {"model": f["model"], "format": f["format"], "recipe": f["recipe"]}
        exported = f.get("export_status", "ok") == "ok"
        export.append(template("export.json", model=f["model"], format="tflite", recipe="fp32") | ident | {
            "path": path if exported else None, "size_bytes": f.get("size") if exported else None,
            "sha256": digest(path) if exported else None,
            "status": f.get("export_status", "ok"), "reason": None if exported else "converter said no"})
        if not exported:
            continue
        check = template("validate.json", model=f["model"], format="tflite", recipe="fp32")
        validate.append(check | ident | {
            "path": path, "sha256": digest(path), "runtime": runtime[f["format"]], "accuracy": f["accuracy"],
            "delta_accuracy_pp": round((f["accuracy"] - check["reference_accuracy"]) * 100, 4),
            "passed": f.get("passed", True),
            "reason": None if f.get("passed", True) else "delta_accuracy_pp -81.23 < -1"})
        row = template("bench.json", model=f["model"], format="tflite", recipe="fp32") | ident | {
            "path": path, "sha256": digest(path), "runtime": runtime[f["format"]],
            "size_bytes": f.get("size")}
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
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", page, re.IGNORECASE)
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
    broken = ParityReport("/x/broken.onnx", "onnxruntime", False, "cannot load", "no-manifest",
                          sha256="cd" * 32, data=rows[0]["data"])
    rows.append(broken.to_dict())
    (folder / "validate.json").write_text(json.dumps(rows))
    inputs = read_inputs(folder)
    verdict = verdicts(file_rows(inputs), Budgets(), report.architectures(inputs))
    assert [v.model for v in verdict] == ["rnn", "lstm"]
    stray = [r for r in file_rows(inputs) if r.path == "/x/broken.onnx"]
    assert len(stray) == 1 and stray[0].model == "?" and stray[0].format == "onnx"   # names are not parsed
    assert stray[0].passed is False and stray[0].parity_reason == "cannot load"
    assert all(stray[0] not in (*v.failed, *v.left_out) for v in verdict)


# ---------------------------------------------------------------- joining rows about the same file

def rewrite(folder: Path, name: str, change) -> None:
    """Apply `change(row)` to every row of RESULTS/name."""
    rows = json.loads((folder / name).read_text())
    for row in rows:
        change(row)
    (folder / name).write_text(json.dumps(rows))


def by_label(folder: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in file_rows(read_inputs(folder)):
        out.setdefault(row.label, []).append(row)
    return out


def test_a_bench_row_joins_its_validate_row_by_sha256_whatever_its_path(tmp_path):
    """Bench run on another folder, on a copy without a manifest (no model or recipe): the sha256 joins it."""
    folder = make_results(tmp_path, FILES)
    before = {label: rows[0] for label, rows in by_label(folder).items()}

    def elsewhere(row):
        if row["sha256"] == digest("models/rnn/rnn-fp32.tflite"):
            row |= {"path": "/mnt/device/copied/model.tflite", "model": None, "recipe": None}
    rewrite(folder, "bench.json", elsewhere)
    after = by_label(folder)
    assert set(after) == set(before) and all(len(rows) == 1 for rows in after.values())
    row = after["rnn tflite/fp32"][0]
    assert row.passed is True and row.p50_us == 20.0 and row.accuracy == 0.9132
    assert row.sha256 == digest("models/rnn/rnn-fp32.tflite") and row.path == "models/rnn/rnn-fp32.tflite"
    assert verdict_of(folder)["rnn"].recommended.label == "rnn tflite/fp32"


def test_rows_about_files_of_the_same_name_but_other_bytes_do_not_join(tmp_path):
    folder = make_results(tmp_path, FILES)

    def other_bytes(row):
        if row["path"] == "models/rnn/rnn-fp32.tflite":
            row["sha256"] = "0" * 64
    rewrite(folder, "bench.json", other_bytes)
    rows = by_label(folder)["rnn tflite/fp32"]
    assert len(rows) == 2
    validated = next(r for r in rows if r.sha256 == digest("models/rnn/rnn-fp32.tflite"))
    measured = next(r for r in rows if r.sha256 == "0" * 64)
    assert validated.passed is True and validated.p50_us is None and validated.export_status == "ok"
    assert measured.passed is None and measured.p50_us == 20.0 and measured.export_status is None
    v = verdict_of(folder)["rnn"]
    assert v.fastest.label == "rnn onnx/fp32"                     # neither half is a candidate on its own
    assert validated in v.left_out and measured in v.left_out


def test_rows_without_sha256_join_on_model_format_recipe(tmp_path):
    """Results written before rows carried sha256 (docs/report): the FileKey from the row's own fields."""
    folder = make_results(tmp_path / "with", FILES)
    with_sha = {label: rows[0].to_dict() for label, rows in by_label(folder).items()}
    for name in ("validate.json", "bench.json"):
        rewrite(folder, name, lambda row: row.pop("sha256"))
    without = by_label(folder)
    assert set(without) == set(with_sha) and all(len(rows) == 1 for rows in without.values())
    for label, (row,) in without.items():
        assert {**row.to_dict(), "sha256": None} == {**with_sha[label], "sha256": None}, label


def test_a_row_without_sha256_is_not_guessed_onto_one_of_two_files(tmp_path):
    folder = make_results(tmp_path, FILES)
    bench = json.loads((folder / "bench.json").read_text())
    twin = next(r for r in bench if r["path"] == "models/rnn/rnn-fp32.tflite")
    bench.append(twin | {"sha256": "0" * 64, "path": "/elsewhere/rnn-fp32.tflite"})
    (folder / "bench.json").write_text(json.dumps(bench))
    rewrite(folder, "validate.json", lambda row: row.pop("sha256"))
    inputs = read_inputs(folder)
    notes = report.join.join_notes(inputs)
    assert len(notes) == 1 and "validate.json" in notes[0] and "models/rnn/rnn-fp32.tflite" in notes[0]
    rows = [r for r in file_rows(inputs) if r.label == "rnn tflite/fp32"]
    assert len(rows) == 3 and [r.passed for r in rows].count(True) == 1
    assert all(r.p50_us is None for r in rows if r.passed)


# ---------------------------------------------------------------- beside the published results

def test_accuracies_beside_the_published_ones(built):
    result, out = built
    train = {r["model"]: r for r in real("train.json")}
    published = result.to_dict()["published"]
    assert set(published) == {"rnn", "lstm"}
    for model, entry in published.items():
        assert entry["published_accuracy"] == ARCHITECTURES[Arch(model)].published_accuracy
        assert entry["accuracy"] == pytest.approx(train[model]["test_accuracy"], abs=1e-4)  # validate agrees
        assert entry["source"] == "validate.json reference_accuracy (Keras reference)"
        difference = (entry["accuracy"] - entry["published_accuracy"]) * 100
        assert entry["difference_pp"] == pytest.approx(difference)
    assert published["rnn"]["published_accuracy"] == 0.9034
    assert published["lstm"]["published_accuracy"] == 0.9652
    text = (out / "report.md").read_text(encoding="utf-8")
    top = text[:text.index("## Verdict")]
    assert "RNN 91.32 % (published 90.34 %, +0.98 pp), LSTM 97.97 % (published 96.52 %, +1.45 pp)" in top
    assert result.sample_note is None and "sample" not in top and result.to_dict()["sample_note"] is None


def test_a_keras_model_other_than_the_trained_one_gets_no_accuracy(tmp_path):
    folder = make_results(tmp_path, FILES)

    def other_model(row):
        if row["format"] == "keras":
            row["sha256"] = digest(f"another {row['model']}.keras")
    rewrite(folder, "bench.json", other_model)
    rows = [r for r in file_rows(read_inputs(folder)) if r.baseline and r.model == "rnn"]
    assert len(rows) == 2
    trained = next(r for r in rows if r.sha256 == template("train.json", model="rnn")["sha256"])
    benched = next(r for r in rows if r.sha256 == digest("another rnn.keras"))
    assert trained.accuracy == 0.9132 and trained.p50_us is None
    assert benched.accuracy is None and benched.p50_us is not None


def test_results_on_the_shipped_sample_say_they_are_not_comparable(tmp_path):
    folder = make_results(tmp_path / "results", FILES)
    for name in ("train.json", "validate.json"):
        rewrite(folder, name, lambda row: row.update(data=SAMPLE))
    result = build_report(folder, tmp_path / "out")
    text = Path(result.markdown_path).read_text(encoding="utf-8")
    top = text[:text.index("## Verdict")]
    note = result.sample_note
    assert note and note in top and note == result.to_dict()["sample_note"]
    assert "not comparable with the published" in note.lower()
    assert "trained on 6,000 digits, tested on 1,000" in note
    assert "`edgeseq run --data PATH/TO/mnist`" in note and "docs/report/report.md" in note
    assert "four official MNIST IDX files" in note and "mnist.npz" in note
    assert "RNN 91.32 % (published 90.34 %" in top and "LSTM 97.97 % (published 96.52 %" in top  # still shown
    page = Path(result.html_path).read_text(encoding="utf-8")
    assert "docs/report/report.md" in page and "PATH/TO/mnist" in page


# ---------------------------------------------------------------- bad inputs

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
    ("bench.json", "[1, 2]", "bench.json row 1 is a number, expected an object"),
])
def test_malformed_file_names_it(tmp_path, name, content, says):
    folder = make_results(tmp_path, FILES)
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(EdgeseqError, match=re.escape(name)) as info:
        read_inputs(folder)
    assert says in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("name", "key"), [("bench.json", "status"), ("validate.json", "passed"),
                                           ("export.json", "size_bytes"), ("train.json", "test_accuracy")])
def test_row_lacking_a_required_field_names_file_row_and_field(tmp_path, name, key):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / name).read_text())
    del rows[-1][key]
    (folder / name).write_text(json.dumps(rows))
    about = rows[-1]["path"] or rows[-1]["model"]
    expected = rf"^{re.escape(name)} row {len(rows)} \({re.escape(about)}\) lacks {key}$"
    with pytest.raises(EdgeseqError, match=expected):
        read_inputs(folder)


@pytest.mark.parametrize(("name", "change", "says"), [
    ("bench.json", {"p50_us": "fast"}, "p50_us should be a number, found 'fast'"),
    ("validate.json", {"passed": "yes"}, "passed should be true or false, found 'yes'"),
    ("train.json", {"data": []}, "data should be an object, found array"),
    ("export.json", {"size_bytes": 1.5}, "size_bytes should be a number, found 1.5"),
    ("validate.json", {"accuracy": None}, "passed without an accuracy"),
    ("bench.json", {"p50_us": None}, "status ok without batch and p50_us"),
    ("export.json", {"path": None}, "status ok without a path"),
])
def test_wrong_types_and_contradictions_are_one_line_errors_naming_the_row(tmp_path, name, change, says):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / name).read_text())
    rows[0] |= change
    (folder / name).write_text(json.dumps(rows))
    with pytest.raises(EdgeseqError, match=rf"^{re.escape(name)} row 1( \(.*\))?: ") as info:
        read_inputs(folder)
    assert str(info.value).endswith(says) and "\n" not in str(info.value)


def test_rows_are_read_as_the_result_dataclasses(tmp_path):
    inputs = read_inputs(make_results(tmp_path, FILES))
    for name, cls in CLASSES.items():
        rows = getattr(inputs, name.removesuffix(".json"))
        assert rows and all(type(r) is cls for r in rows), name


def test_budgets_reject_nonsense():
    with pytest.raises(EdgeseqError, match="fraction"):
        Budgets(min_accuracy=97)
    with pytest.raises(EdgeseqError, match="positive"):
        Budgets(max_latency_us=0)
    expected = {"max_latency_us": None, "max_size_kb": 200, "min_accuracy": None, "ram_bytes": None,
                "flash_bytes": None}
    assert Budgets(max_size_kb=200).to_dict() == expected


def test_golden_rows_are_what_the_result_dataclasses_write():
    """The trimmed real rows read back through from_dict and written again are unchanged (so the fixtures
    stay realistic: every field the dataclass writes, nothing else)."""
    for name, cls in CLASSES.items():
        for row in real(name):
            assert cls.from_dict(row).to_dict() == row, name


def test_golden_rows_about_one_file_share_its_sha256():
    exported = {(r["model"], r["format"], r["recipe"]): r["sha256"]
                for r in real("export.json") if r["sha256"]}
    exported |= {(r["model"], "keras", "fp32"): r["sha256"] for r in real("train.json")}
    for name in ("validate.json", "bench.json"):
        for row in real(name):
            assert row["sha256"] == exported[row["model"], row["format"], row["recipe"]], (name, row["path"])


def test_importing_report_loads_neither_matplotlib_nor_tensorflow():
    code = ("import sys, edgeseq.report; "
            "print([m for m in ('matplotlib', 'tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _device_rows(name: str, scale: float) -> list[dict]:
    rows = copy.deepcopy(real("bench.json"))
    for row in rows:
        row["environment"] = dict(row["environment"], device=name)
        for figure in ("p50_us", "p90_us", "p99_us", "mean_us", "min_us"):
            if row.get(figure) is not None:
                row[figure] = row[figure] * scale
    return rows


def test_other_devices_get_a_verdict_each_joined_on_sha256(tmp_path):
    """A second device where the LSTM's dynamic-range TFLite file is far faster: its verdict, and only its,
    changes."""
    pi = _device_rows("pi5", 3.0)
    fastest = next(r for r in pi if r["model"] == "lstm" and r["recipe"] == "dynamic" and r["runtime"] == "litert")
    fastest["p50_us"] = 1.0
    (tmp_path / "pi").mkdir()
    (tmp_path / "pi" / "bench.json").write_text(json.dumps(pi))
    result = build_report(REAL, tmp_path / "out", Budgets(), (tmp_path / "pi",))
    devices = {d.device: d for d in result.devices}
    assert len(devices) == 2 and "pi5" in devices
    lstm = {name: next(v for v in d.verdict if v.model == "lstm") for name, d in devices.items()}
    assert (lstm["pi5"].fastest.format, lstm["pi5"].fastest.recipe, lstm["pi5"].fastest.p50_us) \
        == ("tflite", "dynamic", 1.0)
    here = next(name for name in devices if name != "pi5")
    assert lstm[here].fastest.p50_us != 1.0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Per device" in text and "pi5 p50 µs" in text
    assert [d["device"] for d in json.loads((tmp_path / "out" / "report.json").read_text())["devices"]] \
        == [d.device for d in result.devices]
    plots = {Path(p).name for p in result.plots}
    for index, device in enumerate(result.devices):  # one accuracy-vs-latency plot per device, in both documents
        name = device_figure_name(index, device.device)
        assert name in plots and (tmp_path / "out" / name).read_bytes().startswith(b"\x89PNG"), name
        assert f"]({name})" in text and f"{device.device}: accuracy vs p50 latency" in text
    assert "| pi5 |" in text and "ai-edge-litert" in text.split("## Per device")[1]   # each device's runtimes


def test_device_results_about_a_file_nobody_built_are_an_error(tmp_path):
    stranger = _device_rows("pi5", 1.0)
    stranger[0]["sha256"] = "f" * 64
    (tmp_path / "bench.json").write_text(json.dumps(stranger))
    with pytest.raises(EdgeseqError, match="did not build"):
        build_report(REAL, tmp_path / "out", Budgets(), (tmp_path / "bench.json",))
    assert not (tmp_path / "out").exists()


def test_files_that_lose_more_than_half_a_point_get_a_quant_debug_plot(tmp_path):
    """A quantized file that lost more than 0.5 pp gets quant-debug's plot in the report; one the report cannot
    reach gets a note saying why (the real rows' int16x8 SimpleRNN is the saturated unrolled file, -81 pp: the
    committed models/rnn/rnn-int16x8.tflite is another, the hoisted one, whose sha256 differs)."""
    results = tmp_path / "results"
    shutil.copytree(REAL, results)
    rows = real("validate.json")
    lossy = next(r for r in rows if r["path"].endswith("lstm-dynamic.tflite"))
    int8 = REPO / "models" / "lstm" / "lstm-int8.tflite"       # the row is about it: its sha256 too
    lossy |= {"path": str(int8), "recipe": "int8", "sha256": hashlib.sha256(int8.read_bytes()).hexdigest(),
              "delta_accuracy_pp": -0.7, "outcome": "inconclusive", "passed": False}
    (results / "validate.json").write_text(json.dumps(rows))
    result = build_report(results, tmp_path / "out")
    text = Path(result.markdown_path).read_text()
    assert "## Where the quantization error comes from" in text
    assert (tmp_path / "out" / "quant-debug-lstm-int8.png").read_bytes().startswith(b"\x89PNG")
    assert "](quant-debug-lstm-int8.png)" in text and "largest relative error: layer" in text
    assert "rnn-int16x8.tflite (-81.23 pp): quant-debug could not run" in text


def test_every_file_table_shows_each_files_own_memory_and_the_runtimes_baseline(built):
    """The memory column is bench's file_memory_bytes / rss_after_import_bytes, in MiB, on the file's line."""
    _, out = built
    lines = (out / "report.md").read_text(encoding="utf-8").splitlines()
    assert any("memory MiB: file / runtime" in line for line in lines)
    shown = 0
    for row in real("bench.json"):
        if row["status"] != "ok" or row["batch"] != 1 or row.get("file_memory_bytes") is None:
            continue
        cell = f"| {row['file_memory_bytes'] / 2**20:.1f} / {row['rss_after_import_bytes'] / 2**20:.0f} |"
        start = f"| {row['model']} | {row['format']} | {row['recipe']} | {row['runtime']} |"
        assert any(line.startswith(start) and cell in line for line in lines), (start, cell)
        shown += 1
    assert shown >= 3


# ---------------------------------------------------------------- the compute bound beside the latency

def test_each_file_shows_its_bound_and_ratio_and_the_peak_it_used(tmp_path):
    """Rows with a bound show it beside the p50, a row whose FLOPs are unknown says so in the cell and why below,
    and the report names the peak and the device it was measured on."""
    folder = make_results(tmp_path / "results", FILES)
    peak = {"device": "bench-box", "fp32_gemm_peak_gflops": 100.0, "fp32_gemm_peak_readings_gflops": [99.0, 101.0],
            "fp32_gemm_peak_method": "numpy float32 512x512 matmul"}

    def with_bound(row):
        row["environment"] = row["environment"] | peak
        if row["format"] == "keras":
            return                                              # as bench.json from before the bound
        if row["path"].endswith("lstm-fp32.tflite"):
            row |= {"flops": None, "flops_source": "FLOPs unknown: a TFLite graph is not counted"}
        else:
            flops = 4_000_000
            row |= {"flops": flops, "flops_source": "Keras config", "bound_us": flops / 1e5,
                    "bound_ratio": row["p50_us"] / (flops / 1e5) if row["p50_us"] else None}

    rewrite(folder, "bench.json", with_bound)
    build_report(folder, tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    table = text.split("## Every file")[1]
    header = next(line for line in table.splitlines() if line.startswith("| model"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    at = cells.index("p50 µs (b1)")
    assert cells[at + 1:at + 3] == ["bound µs (b1)", "p50/bound"]

    def row_of(fmt, recipe, model="lstm"):
        line = next(line for line in table.splitlines() if line.startswith(f"| {model} | {fmt} | {recipe} |"))
        return [c.strip() for c in line.strip("|").split("|")]

    dynamic = row_of("tflite", "dynamic")                       # p50 310 µs, bound 40 µs
    assert dynamic[at:at + 3] == ["310.0", "40.0", "7.75"]
    assert row_of("tflite", "fp32")[at + 1:at + 3] == ["FLOPs unknown", "–"]
    assert row_of("keras", "fp32")[at + 1] == "not measured"
    assert "lstm tflite/fp32 (litert): FLOPs unknown: a TFLite graph is not counted" in table
    assert "bench-box, 1 thread(s) run: 100.0 GFLOP/s (99.0, 101.0)" in table
    assert "| fp32 GEMM peak (1 thread) | 100.0 GFLOP/s (99.0, 101.0) |" in text
    files = json.loads((tmp_path / "out" / "report.json").read_text())["files"]
    assert next(f for f in files if f["label"] == "lstm tflite/dynamic")["bound_ratio"] == pytest.approx(7.75)


def test_results_from_before_the_bound_say_the_peak_was_not_measured(built):
    _, out = built
    text = (out / "report.md").read_text()
    assert "run: not measured" in text.split("## Every file")[1]
    assert "| fp32 GEMM peak (1 thread) | not measured |" in text


def test_two_bench_runs_on_one_machine_are_one_environment_whatever_their_peak():
    from edgeseq.report.inputs import input_warnings

    data = {"train": {}, "validate": []}
    one = {"device": "box", "cpu": "Xeon", "threads": 1, "fp32_gemm_peak_gflops": 140.0,
           "fp32_gemm_peak_readings_gflops": [139.0, 141.0]}
    again = one | {"fp32_gemm_peak_gflops": 120.0, "fp32_gemm_peak_readings_gflops": [118.0, 122.0]}
    assert input_warnings((one, again), data) == ()
    other = again | {"cpu": "EPYC"}
    assert input_warnings((one, other), data) == (
        "bench.json rows come from 2 different environments: latencies may not compare",)
