"""report's "On a microcontroller" section and the --ram / --flash budgets, built from small JSON results in tmp_path
(test_report's make_results, plus tflm rows as `bench --runtime tflm` and `validate --runtime tflm` write them): what
fits, what does not, the computed RNN-vs-LSTM sentence, the files TFLM refuses, and the budgets' parsing."""

import json
from pathlib import Path

import click
import pytest
from conftest import invoke_cli
from test_report import FILES, digest, make_results

from edgeseq.cli.numbers import BYTES
from edgeseq.core.errors import DataError, EdgeseqError
from edgeseq.report import Budgets, build_report, file_rows, read_inputs, verdicts
from edgeseq.report.allowance import STACK_BYTES, TFLM_CODE_FLASH_BYTES

K = 1024


def footprint(path: str, arena: int, flash: int) -> dict:
    """A footprint as edgeseq.bench.runner writes it (TflmFootprint.to_dict())."""
    return {"path": path, "arena_bytes": arena, "recorded_bytes": arena - 512, "persistent_bytes": arena - 1024,
            "nonpersistent_bytes": 512, "flash_bytes": flash, "file_bytes": flash - 4, "ops": {"FULLY_CONNECTED": 2},
            "library": "tflite-micro 0.dev20261023182759", "host": "x86_64",
            "method": "arena_bytes bisected on arena_size; the rest printed by TFLM's RecordingMicroAllocator"}


REFUSAL = ("TFLM cannot run it: op FULLY_CONNECTED (node 3) failed to prepare: hybrid (dynamic-range) FULLY_CONNECTED,"
           " float32 input with int8 weights: TFLM has no hybrid kernels")
# model, recipe -> what TFLM did with models/<model>/<model>-<recipe>.tflite (FILES: its LiteRT rows)
TFLM = {
    ("rnn", "fp32"): {"arena": 2300, "flash": 32208, "p50": 95.0, "parity": "pass"},
    ("rnn", "int16x8"): {"arena": 28216, "flash": 35280, "p50": 72.5, "parity": "fail"},
    ("lstm", "fp32"): {"arena": 8192, "flash": 870944, "p50": 9700.0, "parity": "pass"},
    ("lstm", "dynamic"): {"refused": True},
}


def add_tflm(folder, files=TFLM, bench_into=None):
    """Append a tflm validate row and a tflm bench row per file of `files` to folder's results (the bench rows to
    `bench_into`/bench.json instead when given: device results)."""
    bench = json.loads((folder / "bench.json").read_text())
    validate = json.loads((folder / "validate.json").read_text())
    rows = []
    for (model, recipe), what in files.items():
        path = f"models/{model}/{model}-{recipe}.tflite"
        check = next(r for r in validate if r["path"] == path) | {"runtime": "tflm"}
        litert = next(r for r in bench if r["path"] == path)
        if what.get("refused"):
            reason = f"{path}: {REFUSAL}"
            validate.append(check | {"passed": False, "outcome": None, "reason": reason, "backend": None,
                                     **{k: None for k in ("accuracy", "delta_accuracy_pp", "agreement", "delta_ci_pp",
                                                          "correct", "reference_correct")}})
            rows.append(litert | {"runtime": "tflm", "status": "failed", "reason": reason, "batch": None,
                                  **{k: None for k in ("p50_us", "p90_us", "p99_us", "mean_us", "min_us")}})
            continue
        passed = what["parity"] == "pass"
        validate.append(check | {"passed": passed, "outcome": what["parity"],
                                 "reason": None if passed else "fail: delta_accuracy_pp -81.23 < -1"})
        rows.append(litert | {"runtime": "tflm", "p50_us": what["p50"], "p99_us": what["p50"] * 1.2,
                              "backend": "tflite-micro 0.dev, TFLM's kernels on the host, batch 1",
                              "footprint": footprint(path, what["arena"], what["flash"])})
    (folder / "validate.json").write_text(json.dumps(validate))
    if bench_into is None:
        (folder / "bench.json").write_text(json.dumps(bench + rows))
    else:
        bench_into.mkdir(parents=True, exist_ok=True)
        (bench_into / "bench.json").write_text(json.dumps(rows))
    return folder


@pytest.fixture
def results(tmp_path):
    return add_tflm(make_results(tmp_path / "results", FILES))


def section(result) -> str:
    text = Path(result.markdown_path).read_text(encoding="utf-8")
    return text.split("## On a microcontroller")[1].split("\n## ")[0]


def test_the_section_shows_each_file_fits_parity_and_host_time(results, tmp_path):
    result = build_report(results, tmp_path / "out", Budgets(ram_bytes=256 * K, flash_bytes=512 * K))
    text = section(result)
    files = {f.file: f for f in result.microcontroller.files}
    rnn, lstm = files["rnn-fp32.tflite"], files["lstm-fp32.tflite"]
    assert (rnn.arena_bytes, rnn.ram_needed_bytes, rnn.flash_needed_bytes) == (2300, 2300 + STACK_BYTES,
                                                                               32208 + TFLM_CODE_FLASH_BYTES)
    assert (rnn.fits_ram, rnn.fits_flash, lstm.fits_ram, lstm.fits_flash) == (True, True, True, False)
    assert (rnn.parity, files["rnn-int16x8.tflite"].parity) == ("pass", "fail")
    assert (rnn.tflm_p50_us, rnn.litert_p50_us) == (95.0, 20.0)          # beside LiteRT on the same file
    row = next(line for line in text.splitlines() if line.startswith("| lstm-fp32.tflite |"))
    assert "| yes: 12.0 ≤ 256.0 |" in row and "| no: 872.5 > 512.0 |" in row and "| 9,700 | 300.0 |" in row
    assert "host time of the microcontroller kernels" in text and "never a device's time" in text
    assert "4 KB for the app's stack" in text and "22 KB for TFLM's code" in text          # the allowance, sourced
    assert "Zephyr" in text and "README" in text
    saved = json.loads((tmp_path / "out" / "report.json").read_text())["microcontroller"]
    assert [f["file"] for f in saved["files"]] == ["rnn-fp32.tflite", "rnn-int16x8.tflite", "lstm-fp32.tflite"]
    assert saved["allowance"]["stack_bytes"] == STACK_BYTES and saved["text"] == result.microcontroller.text


def test_the_rnn_vs_lstm_sentence_is_computed_from_the_figures(results, tmp_path):
    plain = build_report(results, tmp_path / "plain", Budgets()).microcontroller.text
    assert plain.startswith("The smallest RNN file TFLM runs within parity (rnn-fp32.tflite) needs 2.2 KB of arena"
                            " and 31.5 KB of flash; the LSTM's (lstm-fp32.tflite) 8.0 KB and 850.5 KB.")
    assert plain.endswith("No --ram or --flash budget was given.")
    tight = build_report(results, tmp_path / "tight", Budgets(ram_bytes=256 * K, flash_bytes=512 * K))
    assert tight.microcontroller.text.endswith(
        "Under RAM ≤ 256K and flash ≤ 512K, with the allowance: the RNN fits (rnn-fp32.tflite: 6.2 KB of RAM,"
        " 53.5 KB of flash); the LSTM does not (its smallest file within parity, lstm-fp32.tflite, needs 872.5 KB"
        " of flash > 512K).")
    roomy = build_report(results, tmp_path / "roomy", Budgets(flash_bytes=1024 * K)).microcontroller.text
    assert "Under flash ≤ 1M, with the allowance: the RNN fits" in roomy
    assert "the LSTM fits (lstm-fp32.tflite" in roomy
    # figures changed, sentence changed: nothing is written by hand
    files = dict(TFLM) | {("lstm", "fp32"): {"arena": 100 * K, "flash": 870944, "p50": 9700.0, "parity": "fail"}}
    other = add_tflm(make_results(tmp_path / "other", FILES), files)
    text = build_report(other, tmp_path / "out", Budgets()).microcontroller.text
    assert "no LSTM file runs in TFLM within parity (1 fail, 1 refused)" in text


def test_a_refused_file_is_listed_with_its_reason(results, tmp_path):
    result = build_report(results, tmp_path / "out", Budgets())
    text = section(result)
    listed = text.split("### Files TFLM does not run")[1]
    assert f"- lstm-dynamic.tflite: {REFUSAL}" in listed
    assert "| lstm-dynamic.tflite |" not in text                          # not in the table of files it runs
    saved = json.loads((tmp_path / "out" / "report.json").read_text())["microcontroller"]
    assert saved["refused"] == [{"file": "lstm-dynamic.tflite", "path": "models/lstm/lstm-dynamic.tflite",
                                 "reason": REFUSAL}]
    assert "| no budget given |" in text


def test_without_tflm_rows_the_section_says_how_to_get_them(tmp_path):
    result = build_report(make_results(tmp_path / "results", FILES), tmp_path / "out", Budgets(ram_bytes=256 * K))
    text = section(result)
    assert "edgeseq bench FILES --runtime tflm" in text and "pip install 'edgeseq[mcu]'" in text
    assert result.microcontroller.files == () and result.microcontroller.text == ""


def test_ram_and_flash_budgets_judge_only_files_tflm_measured(results):
    rows = file_rows(read_inputs(results))
    lstm_fp32 = {r.runtime: r for r in rows if (r.model, r.format, r.recipe) == ("lstm", "tflite", "fp32")}
    assert lstm_fp32["litert"].tflm_footprint["arena_bytes"] == 8192      # the file's, on every runtime's row
    assert Budgets(flash_bytes=512 * K).misses(lstm_fp32["litert"]) == ["flash"]
    assert Budgets(ram_bytes=8 * K).misses(lstm_fp32["litert"]) == ["ram"]                  # 8 KB + 4 KB stack
    assert Budgets(ram_bytes=12 * K, flash_bytes=1024 * K).misses(lstm_fp32["litert"]) == []
    onnx = next(r for r in rows if (r.model, r.format) == ("lstm", "onnx"))
    assert onnx.tflm_footprint is None and Budgets(ram_bytes=1, flash_bytes=1).misses(onnx) == []
    picked = {budgets: {x.model: x.recommended.label for x in verdicts(rows, budgets)}["rnn"]
              for budgets in (Budgets(), Budgets(ram_bytes=4 * K), Budgets(flash_bytes=50 * K))}
    assert picked == {Budgets(): "rnn tflite/fp32",                      # 6.2 KB of RAM, 53.5 KB of flash in TFLM
                      Budgets(ram_bytes=4 * K): "rnn onnx/fp32",          # TFLM never measured the ONNX file
                      Budgets(flash_bytes=50 * K): "rnn onnx/fp32"}


def test_none_fits_says_which_budget_tflm_files_miss(tmp_path):
    files = [f for f in FILES if f["format"] == "tflite"]
    folder = add_tflm(make_results(tmp_path, files), {k: v for k, v in TFLM.items() if k[0] == "rnn"})
    v = {x.model: x for x in verdicts(file_rows(read_inputs(folder)), Budgets(ram_bytes=4 * K))}
    assert v["rnn"].recommended is None
    assert v["rnn"].none_fits == ("none fits: every passing rnn file TFLM measured needs more RAM than the 4K budget"
                                  " (the least: 6.2 KB)")


def test_tflm_rows_in_device_results_count_too(tmp_path):
    """`edgeseq bench FILES --runtime tflm --out DIR`, then `edgeseq report RUN DIR`: the rows join on sha256."""
    results = make_results(tmp_path / "results", FILES)
    add_tflm(results, bench_into=tmp_path / "mcu")
    result = build_report(results, tmp_path / "out", Budgets(flash_bytes=50 * K), (tmp_path / "mcu",))
    assert {f.file for f in result.microcontroller.files if f.arena_bytes} == {
        "rnn-fp32.tflite", "rnn-int16x8.tflite", "lstm-fp32.tflite"}
    rnn = next(v for v in result.verdict if v.model == "rnn")       # rnn-fp32.tflite needs 53.5 KB of flash
    assert rnn.recommended.label == "rnn onnx/fp32" and rnn.recommended.sha256 == digest("models/rnn/rnn-fp32.onnx")
    same_machine = next(f for f in result.microcontroller.files if f.file == "rnn-fp32.tflite")
    assert same_machine.litert_p50_us == 20.0                       # LiteRT's row from the run, on the same device


def test_a_bad_footprint_is_a_one_line_error(tmp_path):
    folder = make_results(tmp_path, FILES)
    rows = json.loads((folder / "bench.json").read_text())
    rows[0]["footprint"] = {"arena_bytes": "lots", "flash_bytes": 10}
    (folder / "bench.json").write_text(json.dumps(rows))
    with pytest.raises(DataError, match="bench.json row 1 .*footprint without positive integer arena_bytes"):
        read_inputs(folder)


@pytest.mark.parametrize(("text", "size"), [("256K", 256 * K), ("256k", 256 * K), ("1M", K * K), ("1.5M", 1536 * K),
                                            ("512000", 512000), ("0.5K", 512)])
def test_byte_sizes_parse(text, size):
    assert BYTES.convert(text, None, None) == size


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "256KB", "1G", "K", "1e3", "", "nan"])
def test_bad_byte_sizes_are_refused(text):
    with pytest.raises(click.BadParameter, match="not a size in bytes"):
        BYTES.convert(text, None, None)


def test_budgets_on_the_command_line(results, tmp_path):
    done = invoke_cli("report", results, "--ram", "256K", "--flash", "1.5M", "--out", tmp_path / "out", "--json")
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)
    assert (saved["budgets"]["ram_bytes"], saved["budgets"]["flash_bytes"]) == (256 * K, 1536 * K)
    assert "Budgets: RAM ≤ 256K, flash ≤ 1.5M" in (tmp_path / "out" / "report.md").read_text()
    bad = invoke_cli("report", results, "--ram", "256 kilobytes", "--out", tmp_path / "bad")
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and not (tmp_path / "bad").exists()
    assert lines[-1].startswith("Error: Invalid value for '--ram': '256 kilobytes' is not a size in bytes")


def test_budgets_refuse_nonsense_bytes():
    for bad in (0, -5, 1.5, True):
        with pytest.raises(EdgeseqError, match="positive number of bytes"):
            Budgets(ram_bytes=bad)
    assert Budgets(ram_bytes=256 * K, flash_bytes=K * K).describe() == "RAM ≤ 256K, flash ≤ 1M"
