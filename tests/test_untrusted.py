"""Untrusted inputs (issue 25): model files, manifests, golden sidecars, results and device results travel, and
edgeseq treats each as untrusted.

- A name read from a file is a name, never a path (layout.plain_name): every place where such a name meets the
  filesystem refuses a separator, `..`, an absolute path or a control character in one line, and reads or
  writes nothing outside the folder the name came from (or outside --out).

Every case is in-process (Click's CliRunner) and fails before any model runs; the inputs are copies of the
committed RNN files (models/rnn) with one field changed, or small JSON files written here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, invoke_cli

MODELS = REPO / "models" / "rnn"
RESULTS = REPO / "tests" / "golden" / "report_results"

PATH_NAMES = ["../outside/rnn", "/tmp/rnn", "rnn/..", "..", "a\\b", "rnn\nx", "rnn\x00", "c:rnn", ""]


def copy(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(MODELS / name, folder / name)
        if (MODELS / f"{name}.json").is_file():
            shutil.copy(MODELS / f"{name}.json", folder / f"{name}.json")
    return folder / names[0]


def edit_manifest(path: Path, **fields: object) -> None:
    manifest_file = path.with_name(path.name + ".json")
    manifest = json.loads(manifest_file.read_text())
    for name, value in fields.items():
        target = manifest
        *parents, last = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    manifest_file.write_text(json.dumps(manifest))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def one_line_error(done, *expect: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("Error"), done.stderr
    assert all(e in lines[-1] for e in expect), done.stderr
    return lines[-1]


# --- the rule itself ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PATH_NAMES + ["x" * 101, 3, None])
def test_a_name_from_a_file_is_never_a_path(name):
    from edgeseq.core.errors import IntegrityError
    from edgeseq.core.layout import FileKey, child, plain_name

    with pytest.raises(IntegrityError) as err:
        plain_name(name, "architecture", Path("m/rnn-int8.tflite.json"))
    assert "\n" not in str(err.value) and "\x00" not in str(err.value)
    assert str(err.value).startswith("m/rnn-int8.tflite.json: ")
    with pytest.raises(IntegrityError):
        child(Path("out"), name, "figure name")
    with pytest.raises(IntegrityError):
        FileKey(name, "tflite", "int8")
    with pytest.raises(IntegrityError):
        FileKey("rnn", "tflite", name)


@pytest.mark.parametrize("name", ["rnn", "lstm-64x2-tanh", "rnn.golden.npz", "drift-tflite-int8.png", "a b"])
def test_plain_names_pass(name):
    from edgeseq.core.layout import child, plain_name

    assert plain_name(name, "x") == name
    assert child(Path("out"), name, "x") == Path("out") / name


def test_a_file_named_against_the_rule_has_no_key(tmp_path):
    from edgeseq.core.layout import parse

    assert parse(tmp_path / "..-fp32.tflite") is None
    assert parse(tmp_path / "rnn-int8.tflite").model == "rnn"


def test_golden_and_model_folders_stay_in_their_folder():
    """layout.golden_path (export's search puts a sidecar beside the kept file from its manifest's architecture)
    and arch_dir/model_path/exported_path (train, export) refuse a path for a name."""
    from edgeseq.core import layout
    from edgeseq.core.errors import IntegrityError

    for build in (lambda: layout.golden_path(Path("out"), "../x"),
                  lambda: layout.arch_dir(Path("out"), "/etc"),
                  lambda: layout.model_path(Path("out"), ".."),
                  lambda: layout.exported_path(Path("out"), "rnn", "tflite", "../../int8")):
        with pytest.raises(IntegrityError):
            build()


# --- manifests: the architecture and recipe that find a file's reference --------------------------------

def outside_reference(tmp_path: Path) -> Path:
    """What a manifest naming `../outside/rnn` would reach: rnn/../outside/rnn-fp32*.tflite, with manifests
    that say so too (so a command that followed the name would run it and exit 0)."""
    outside = tmp_path / "in" / "outside"
    for name in ("rnn-fp32.tflite", "rnn-fp32-step.tflite"):
        copy(outside, name)
        edit_manifest(outside / name, architecture="../outside/rnn")
    return outside


@pytest.mark.parametrize("command, name, extra", [
    ("quant-debug", "rnn-int8.tflite", ["--limit", "5"]),
    ("drift", "rnn-dynamic-step.tflite", ["--limit", "5"]),
    ("validate", "rnn-int8.tflite", ["--limit", "5", "--no-verify"]),
    ("validate", "rnn-int8.tflite", ["--limit", "5"]),
])
@pytest.mark.parametrize("architecture", ["../outside/rnn", "/abs/outside/rnn"])
def test_manifest_architecture_is_a_name_not_a_path(tmp_path, command, name, extra, architecture):
    outside_reference(tmp_path)
    file = copy(tmp_path / "in" / "rnn", name)
    edit_manifest(file, architecture=architecture)
    before = snapshot(tmp_path)
    done = invoke_cli(command, file, *extra, cwd=tmp_path)
    line = one_line_error(done, "architecture")
    assert "is a path, not a name" in line or "contradicts its manifest" in line   # validate checks embedded facts first
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command, name", [("quant-debug", "rnn-int8.tflite"), ("drift", "rnn-dynamic-step.tflite")])
def test_manifest_recipe_is_a_name_not_a_path(tmp_path, command, name):
    file = copy(tmp_path / "in" / "rnn", name)
    edit_manifest(file, recipe="../../int8")
    done = invoke_cli(command, file, "--limit", "5", cwd=tmp_path)
    line = one_line_error(done, "recipe", "'../../int8'")
    assert "is a path, not a name" in line or "contradicts its manifest" in line     # integrity comes first
    done = invoke_cli(command, file, "--limit", "5", "--no-verify", cwd=tmp_path)
    one_line_error(done, "recipe", "is a path, not a name")


def test_manifest_golden_file_is_a_name_not_a_path(tmp_path):
    """validate's last reference, the golden outputs its manifest names: `golden.file` is a name beside it."""
    shutil.copy(REPO / "models" / "rnn" / "rnn.golden.npz", tmp_path / "rnn.golden.npz")   # outside the folder
    file = copy(tmp_path / "in" / "rnn", "rnn-int8.tflite")
    edit_manifest(file, **{"golden.file": "../../rnn.golden.npz"})
    done = invoke_cli("validate", file, "--limit", "5", "--json", cwd=tmp_path)
    rows = json.loads(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "golden.file '../../rnn.golden.npz' is a path, not a name" in rows[0]["reason"]
    assert rows[0].get("reference_kind") is None


# --- results: the names that become figure names in the report ---------------------------------------------

def drift_result(recipe: str = "dynamic", format: str = "tflite", model: str = "rnn") -> dict:
    from edgeseq.diagnostics.drift_report import Diff, DriftFile, DriftReport, DriftRow, Growth

    mine = DriftFile("x.tflite", "x.tflite", "0" * 64, format, model, recipe, "litert", "litert", 0.9, 20)
    ref = DriftFile("r.tflite", "r.tflite", "1" * 64, format, model, "fp32", "litert", "litert", 0.9, 20)
    rows = tuple(DriftRow(t, 0.5, 0.5, 1.0, Diff(0.01, 0.02), Diff(0.01, 0.02), {"h1": Diff(0.01, 0.02)})
                 for t in range(1, 29))
    flat = Growth("state", 0.01, 0.01, 1.0, 0.0, 1, "flat")
    return DriftReport(mine, ref, 20, 28, {}, rows, flat, flat, False, 1.0).to_dict()


def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in" / "results"
    shutil.copytree(RESULTS, folder)
    return folder


@pytest.mark.parametrize("field", ["recipe", "format", "model"])
def test_drift_result_names_never_write_outside_out(tmp_path, field):
    """report/streaming.py names a figure drift-{format}-{recipe}.png from drift.json: the report refuses a path
    there before anything is written (it wrote `report-escaped.png` four folders up)."""
    results = results_folder(tmp_path)
    out = tmp_path / "a" / "b" / "c" / "out"
    (results / "drift.json").write_text(json.dumps([drift_result(**{field: "x/../../../../markers/report-escaped"})]))
    before = snapshot(tmp_path)
    done = invoke_cli("report", results, "--out", out, cwd=tmp_path)
    one_line_error(done, "drift.json", f"file.{field}", "is a path, not a name")
    assert snapshot(tmp_path) == before
    assert not list(tmp_path.rglob("*escaped*")) and not out.exists()


@pytest.mark.parametrize("input_file", ["validate.json", "bench.json", "export.json"])
def test_results_row_names_are_names(tmp_path, input_file):
    results = results_folder(tmp_path)
    rows = json.loads((results / input_file).read_text())
    rows[0]["recipe"] = "../../escaped"
    (results / input_file).write_text(json.dumps(rows))
    done = invoke_cli("report", results, "--out", tmp_path / "out", cwd=tmp_path)
    one_line_error(done, f"{input_file} row 1", "recipe", "is a path, not a name")
    assert not (tmp_path / "out").exists()


def test_device_results_row_names_are_names(tmp_path):
    results = results_folder(tmp_path)
    rows = json.loads((results / "bench.json").read_text())
    rows[0]["model"] = "/etc/passwd"
    device = tmp_path / "in" / "pi" / "bench.json"
    device.parent.mkdir(parents=True)
    device.write_text(json.dumps(rows))
    done = invoke_cli("report", results, device.parent, "--out", tmp_path / "out", cwd=tmp_path)
    one_line_error(done, "bench.json row 1", "model", "is a path, not a name")
    assert not (tmp_path / "out").exists()


def test_report_figures_are_written_only_inside_out(tmp_path, monkeypatch):
    """The last guard: whatever a figure is named, the report writes it as a name inside --out."""
    from edgeseq import report
    from edgeseq.core.errors import IntegrityError

    monkeypatch.setattr(report, "figures", lambda *a, **k: {"../escaped.png": b"png"})
    with pytest.raises(IntegrityError, match="figure name"):
        report.build_report(results_folder(tmp_path), tmp_path / "out")
    assert not (tmp_path / "escaped.png").exists()


# --- numbers: every float option finite and in range, every count under a stated maximum -------------------

def cli_options(kind: type) -> list[tuple[str, str]]:
    """(command, option) for every option of every command whose click type is a `kind`."""
    import click

    from edgeseq.cli import cli

    return sorted((name, param.opts[0]) for name, command in cli.commands.items() for param in command.params
                  if isinstance(param, click.Option) and isinstance(param.type, kind))


def _float_options() -> list[tuple[str, str]]:
    import click

    return cli_options(click.types.FloatParamType)


def _int_options() -> list[tuple[str, str]]:
    import click

    return cli_options(click.types.IntParamType)


def test_every_float_option_is_finite_typed():
    """One type for every float option (edgeseq.cli.numbers.Finite): a new float option that is not one fails
    here."""
    import click

    from edgeseq.cli import cli
    from edgeseq.cli.numbers import Finite

    floats = [(name, param) for name, command in cli.commands.items() for param in command.params
              if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType)]
    assert len(floats) >= 11
    assert [f"{name} {param.opts[0]}" for name, param in floats if not isinstance(param.type, Finite)] == []


@pytest.mark.parametrize("command, option", _float_options() + [("sweep", "--min-accuracy")])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_float_options_refuse_what_is_not_finite(tmp_path, command, option, value):
    done = invoke_cli(command, f"{option}={value}", cwd=tmp_path)
    assert done.returncode == 2
    one_line_error(done, option, "is not a finite number")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command, option, value", [
    ("validate", "--min-delta-pp", "-101"), ("validate", "--min-agreement", "1.5"),
    ("validate", "--max-abs-diff", "-1"), ("export", "--max-loss-pp", "-1"), ("export", "--max-loss-pp", "101"),
    ("report", "--max-latency-us", "0"), ("report", "--min-accuracy", "97"), ("bench", "--min-seconds", "-1"),
    ("bench", "--min-seconds", "86401"), ("sweep", "--bench-seconds", "-0.5"), ("export", "--search-seconds", "0"),
    ("sweep", "--min-accuracy", "0"),
])
def test_float_options_refuse_out_of_range(tmp_path, command, option, value):
    done = invoke_cli(command, f"{option}={value}", cwd=tmp_path)
    assert done.returncode == 2
    one_line_error(done, option)


@pytest.mark.parametrize("command, option", _int_options())
def test_every_count_has_a_stated_maximum(tmp_path, command, option):
    done = invoke_cli(command, option, "1000000000000", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    one_line_error(done, option)


@pytest.mark.parametrize("command, option, value, expect", [
    ("bench", "--threads", "1000000000", "more than 256"),
    ("bench", "--threads", "257", "more than 256"),
    ("validate", "--threads", "100000", "more than 256"),
    ("drift", "--threads", "100000", "more than 256"),
    ("run", "--threads", "100000", "more than 256"),
    ("bench", "--batch", "1000000000", "more than 4096"),
    ("train", "--seed", "99999999999", "0<=x<=4294967295"),
    ("export", "--calibration-seed", "-1", "0<=x<=4294967295"),
])
def test_count_lists_and_seeds_are_bounded(tmp_path, command, option, value, expect):
    done = invoke_cli(command, option, value, cwd=tmp_path)
    assert done.returncode == 2
    one_line_error(done, option, expect)


def test_bench_refuses_a_batch_larger_than_the_digits_it_measures(tmp_path):
    """bench measures on the shipped sample's test digits: a larger batch would report a figure it did not
    measure (batch 10^9 at 4.5e11 digits/s), so it is refused, before any file is loaded."""
    from edgeseq import data
    from edgeseq.cli.numbers import SAMPLE_TEST_DIGITS

    assert len(data.load("sample").y_test) == SAMPLE_TEST_DIGITS
    copy(tmp_path / "in", "rnn-fp32.onnx")
    done = invoke_cli("bench", tmp_path / "in", "--batch", f"1,{SAMPLE_TEST_DIGITS + 1}", cwd=tmp_path)
    assert done.returncode == 2
    one_line_error(done, "--batch", "1,000 test digits")


def test_scaling_and_cli_agree_on_the_thread_maximum():
    from edgeseq.bench import scaling
    from edgeseq.cli.numbers import MAX_BATCH, MAX_THREADS

    assert scaling.MAX_BATCH == MAX_BATCH
    with pytest.raises(Exception):
        scaling.ScalingConfig(threads=(MAX_THREADS + 1,))


# --- figures read from files: finite and in range, checked where they are read ----------------------------

@pytest.mark.parametrize("field, value, expect", [
    ("p50_us", "-5.0", "p50_us is -5.0, not at least 0"),
    ("p50_us", "NaN", "holds NaN"),
    ("p50_us", "Infinity", "holds Infinity"),
    ("p99_us", "-Infinity", "holds -Infinity"),
    ("p50_us", "1e999", "holds 1e999"),
    ("throughput_dps", "-1", "throughput_dps is -1"),
    ("batch", "0", "batch is 0, not positive"),
])
@pytest.mark.parametrize("where", ["run", "device"])
def test_bench_figures_from_files_are_checked(tmp_path, field, value, expect, where):
    results = results_folder(tmp_path)
    rows = json.loads((results / "bench.json").read_text())
    ok = next(r for r in rows if r["status"] == "ok")
    ok[field] = "__X__"
    text = json.dumps(rows).replace('"__X__"', value)
    if where == "run":
        (results / "bench.json").write_text(text)
        extra = []
    else:
        device = tmp_path / "in" / "pi"
        device.mkdir()
        (device / "bench.json").write_text(text)
        extra = [device]
    done = invoke_cli("report", results, *extra, "--out", tmp_path / "out", cwd=tmp_path)
    line = one_line_error(done, expect)
    assert ("pi/bench.json" in line) == (where == "device")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("field, value, expect", [
    ("accuracy", "1.5", "accuracy is 1.5, not a fraction from 0 to 1"),
    ("agreement", "NaN", "holds NaN"),
    ("max_abs_diff", "-0.1", "max_abs_diff is -0.1"),
    ("delta_accuracy_pp", "-400", "delta_accuracy_pp is -400"),
])
def test_validate_figures_from_files_are_checked(tmp_path, field, value, expect):
    results = results_folder(tmp_path)
    rows = json.loads((results / "validate.json").read_text())
    rows[0][field] = "__X__"
    (results / "validate.json").write_text(json.dumps(rows).replace('"__X__"', value))
    done = invoke_cli("report", results, "--out", tmp_path / "out", cwd=tmp_path)
    one_line_error(done, expect)


def test_a_manifest_holding_nan_is_refused(tmp_path):
    file = copy(tmp_path / "in" / "rnn", "rnn-int8.tflite")
    manifest = file.with_name(file.name + ".json")
    payload = json.loads(manifest.read_text())
    payload["tolerance"] = {"min_delta_accuracy_pp": "__X__"}
    manifest.write_text(json.dumps(payload).replace('"__X__"', "NaN"))
    done = invoke_cli("inspect", file, cwd=tmp_path)
    one_line_error(done, "manifest", "holds NaN", "must be finite")


def test_a_tolerance_is_finite():
    from edgeseq.recipes import Tolerance

    with pytest.raises(ValueError, match="finite"):
        Tolerance.from_dict({"min_delta_accuracy_pp": float("nan")})


# --- golden sidecars: declared shapes before anything is allocated, then the figures -----------------------

def golden_case(tmp_path: Path, arrays: dict | None = None, raw: bytes | None = None, count: int | None = None) -> Path:
    """rnn-int8.tflite with its manifest and a golden sidecar changed as asked (its sha256 in the manifest kept
    true, so the sidecar's content is what is judged)."""
    import hashlib
    import io

    import numpy as np

    file = copy(tmp_path / "in" / "rnn", "rnn-int8.tflite")
    with np.load(MODELS / "rnn.golden.npz") as archive:
        current = {k: archive[k] for k in archive.files}
    if raw is None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **(current | (arrays or {})))
        raw = buffer.getvalue()
    (file.parent / "rnn.golden.npz").write_bytes(raw)
    golden = {"sha256": hashlib.sha256(raw).hexdigest()} | ({"count": count} if count is not None else {})
    edit_manifest(file, **{f"golden.{k}": v for k, v in golden.items()})
    return file


def declared_only(rows: int) -> bytes:
    """An .npz whose probabilities and labels declare `rows` rows but hold a few bytes: read naively it asks for
    rows x 10 x 4 bytes."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, shape, descr in (("probabilities", (rows, 10), "<f4"), ("labels", (rows,), "<i8")):
            header = io.BytesIO()
            np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
            archive.writestr(f"{name}.npy", header.getvalue() + b"\0" * 64)
        with np.load(MODELS / "rnn.golden.npz") as golden:
            info = io.BytesIO()
            np.save(info, golden["info"])
        archive.writestr("info.npy", info.getvalue())
    return buffer.getvalue()


def _golden_cases():
    import numpy as np

    with np.load(MODELS / "rnn.golden.npz") as archive:
        probabilities, labels = archive["probabilities"], archive["labels"]
    return [
        ("nan", dict(arrays={"probabilities": np.full_like(probabilities, np.nan)}),
         "golden outputs", "not finite numbers from 0 to 1"),
        ("above-one", dict(arrays={"probabilities": probabilities * 3}), "golden outputs", "from 0 to 1"),
        ("zero-digits", dict(arrays={"probabilities": probabilities[:0], "labels": labels[:0]}), "declares 0 samples"),
        ("billion-digits", dict(raw=declared_only(10**9)), "declares 1,000,000,000 samples"),
        ("count-not-the-manifest's", dict(count=999), "the manifest records 999"),
        ("labels-out-of-range", dict(arrays={"labels": labels + 10}), "labels outside 0..9"),
        ("wrong-shape", dict(arrays={"probabilities": probabilities[:, :5]}), "declares probabilities"),
    ]


@pytest.mark.parametrize("case", _golden_cases(), ids=[c[0] for c in _golden_cases()])
def test_golden_sidecars_are_checked_before_use(tmp_path, case):
    """The sidecar, not the file, is blamed; a declared 10^9 x 10 array is refused from its header."""
    name, build, *expect = case
    file = golden_case(tmp_path, **build)
    done = invoke_cli("validate", file, "--runtime", "litert", "--json", cwd=tmp_path)
    rows = json.loads(done.stdout)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert all(e in rows[0]["reason"] for e in expect), rows[0]["reason"]
    assert "outputs contain NaN" not in rows[0]["reason"] and "cannot run it" not in rows[0]["reason"]


# --- integrity everywhere a file is run (edgeseq.integrity.check, validate's check) -------------------------

def tamper(path: Path) -> None:
    """One bit flipped near the end: the structure still reads, the sha256 no longer matches."""
    data = bytearray(path.read_bytes())
    data[-100] ^= 1
    path.write_bytes(bytes(data))


RUN_COMMANDS = [
    ("quant-debug", "rnn-int8.tflite", ["rnn-fp32.tflite"], ["--limit", "5"]),
    ("drift", "rnn-dynamic-step.tflite", ["rnn-fp32-step.tflite"], ["--limit", "5"]),
    ("bench", "rnn-int8.tflite", [], ["--min-runs", "2", "--min-seconds", "0", "--warmup", "0"]),
    ("validate", "rnn-int8.tflite", ["rnn-fp32.tflite"], ["--limit", "5"]),
]


@pytest.mark.parametrize("command, name, beside, extra", RUN_COMMANDS, ids=[c[0] for c in RUN_COMMANDS])
@pytest.mark.parametrize("problem", ["sha256", "size", "embedded-architecture", "embedded-recipe"])
def test_every_command_that_runs_a_file_checks_it_first(tmp_path, command, name, beside, extra, problem):
    """The file against its manifest's size and sha256, then its embedded facts against the manifest, as
    validate does: a manifest whose architecture contradicts the file is said to, not blamed on a missing
    lstm-fp32 reference."""
    file = copy(tmp_path / "in" / "rnn", name, *beside)
    if problem == "sha256":
        tamper(file)
    elif problem == "size":
        edit_manifest(file, size_bytes=file.stat().st_size + 1)
    elif problem == "embedded-architecture":
        edit_manifest(file, architecture="lstm")
    else:
        edit_manifest(file, recipe="int16x8")
    before = snapshot(tmp_path)
    done = invoke_cli(command, file, *extra, cwd=tmp_path)
    expect = "does not match its manifest" if problem in ("sha256", "size") else "contradicts its manifest"
    one_line_error(done, expect)
    assert "no reference" not in done.stderr
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command, name, reference, extra", RUN_COMMANDS[:2], ids=[c[0] for c in RUN_COMMANDS[:2]])
def test_the_reference_run_is_checked_too(tmp_path, command, name, reference, extra):
    file = copy(tmp_path / "in" / "rnn", name, *reference)
    with open(file.parent / reference[0], "ab") as handle:        # bytes added: it still reads
        handle.write(b"\0" * 16)
    done = invoke_cli(command, file, *extra, cwd=tmp_path)
    one_line_error(done, reference[0], "does not match its manifest")


def test_integrity_check_is_one_function():
    """validate, inspect, bench, drift and quant-debug call edgeseq.integrity.check; none checks a sha256 or the
    embedded facts by itself."""
    import inspect as source

    from edgeseq.bench import runner
    from edgeseq.cli import check
    from edgeseq.diagnostics import drift, quant_debug
    from edgeseq.parity import validate

    for module in (runner, check, drift, quant_debug, validate):
        text = source.getsource(module)
        assert "check_integrity(" in text, module.__name__
        assert "verify_against_manifest(" not in text and "contradictions(facts" not in text, module.__name__


def test_the_report_debugs_only_the_file_validate_judged(tmp_path):
    from edgeseq.core.errors import IntegrityError
    from edgeseq.report.quant import same_file

    file = copy(tmp_path, "rnn-int8.tflite")
    with pytest.raises(IntegrityError, match="not the file validate.json judged"):
        same_file(file, "0" * 64)
    with pytest.raises(IntegrityError, match="cannot read"):
        same_file(tmp_path / "gone.tflite", None)


# --- one line, naming the real cause, whatever the path ---------------------------------------------------

LONG = "a" * 300


@pytest.mark.parametrize("args", [
    ["bench", f"{{in}}/{LONG}.tflite"], ["validate", f"{{in}}/{LONG}.tflite"], ["drift", f"{{in}}/{LONG}.tflite"],
    ["report", f"{{in}}/{LONG}"], ["report", "{results}", "--out", f"{{in}}/{LONG}"],
    ["bench", "{models}", "--csv", f"{{in}}/{LONG}.csv"], ["train", "--data", f"{{in}}/{LONG}", "--out", "{in}/x"],
    ["validate", "{models}", "--data", f"{{in}}/{LONG}"],
], ids=["bench", "validate", "drift", "report", "report-out", "bench-csv", "train-data", "validate-data"])
def test_a_file_name_too_long_is_one_line(tmp_path, args):
    results = results_folder(tmp_path)
    models = copy(tmp_path / "in" / "models", "rnn-fp32.onnx").parent
    argv = [a.format(**{"in": tmp_path / "in", "results": results, "models": models}) for a in args]
    done = invoke_cli(*argv, cwd=tmp_path)
    line = one_line_error(done, "File name too long", "(3")
    assert len(line) < 400


def test_debug_still_shows_the_traceback(tmp_path):
    done = invoke_cli("--debug", "bench", tmp_path / f"{LONG}.tflite", cwd=tmp_path)
    assert done.returncode != 0 and "OSError" in done.stderr


@pytest.mark.parametrize("command", ["validate", "inspect", "bench", "drift", "quant-debug"])
def test_a_path_with_a_newline_is_one_line(tmp_path, command):
    folder = tmp_path / "in"
    folder.mkdir()
    name = "rnn\nint8.tflite"
    shutil.copy(MODELS / "rnn-int8.tflite", folder / name)
    (folder / f"{name}.json").write_text("{")
    done = invoke_cli(command, folder / name, cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert lines[-1].startswith("Error") and "rnn\\nint8.tflite" in lines[-1], done.stderr


def test_a_missing_path_with_a_newline_is_one_line(tmp_path):
    done = invoke_cli("bench", tmp_path / "x\ny.tflite", cwd=tmp_path)
    one_line_error(done, "x\\ny.tflite")


@pytest.mark.parametrize("reference, expect", [
    ("rnn.golden.npz", None),
    ("rnn-int8.tflite.json", "validate takes a .tflite, .onnx, .keras or .golden.npz file as the reference, not a .json"),
])
def test_validate_takes_golden_outputs_as_a_reference_and_refuses_a_json(tmp_path, reference, expect):
    """--help names golden outputs as a kind of reference (this was an IndexError once)."""
    file = copy(tmp_path / "in", "rnn-int8.tflite", "rnn.golden.npz")
    given = tmp_path / "in" / reference
    done = invoke_cli("validate", file, "--reference", given, "--runtime", "litert", "--json", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    row = json.loads(done.stdout)[0]
    if expect is None:
        assert row["reference_kind"] == "golden outputs" and row["digits"] == 1000, row
    else:
        assert expect in row["reason"] and done.returncode == 1


def test_an_unknown_recipe_is_refused_even_with_no_verify(tmp_path):
    """A manifest naming a recipe the table does not know is not a manifest edgeseq wrote: refused in one line,
    never held to some fallback tolerance."""
    file = copy(tmp_path / "in" / "rnn", "rnn-int8.tflite", "rnn-fp32.tflite")
    manifest = json.loads(file.with_name(file.name + ".json").read_text())
    manifest.pop("tolerance", None)
    file.with_name(file.name + ".json").write_text(json.dumps(manifest | {"recipe": "int4"}))
    done = invoke_cli("validate", file, "--no-verify", "--limit", "100", "--runtime", "litert", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "recipe 'int4' is not a tflite recipe" in done.stdout + done.stderr


# --- more places where a name from a file meets the filesystem --------------------------------------------

@pytest.mark.parametrize("command", ["drift", "bench"])
def test_step_state_names_are_names(tmp_path, command):
    """A step model's manifest names its state tensors; the trace worker writes state-<name>.npy per state."""
    file = copy(tmp_path / "in" / "rnn", "rnn-dynamic-step.tflite", "rnn-fp32-step.tflite")
    manifest = json.loads(file.with_name(file.name + ".json").read_text())
    manifest["step"]["states"][0]["name"] = "../../h1"
    file.with_name(file.name + ".json").write_text(json.dumps(manifest))
    extra = ["--limit", "5"] if command == "drift" else ["--min-runs", "2", "--min-seconds", "0", "--warmup", "0"]
    done = invoke_cli(command, file, *extra, cwd=tmp_path)
    one_line_error(done, "step contract is malformed", "'../../h1' is a path, not a name")


def test_the_trace_worker_writes_state_files_only_in_its_folder(tmp_path):
    from edgeseq.core.errors import IntegrityError
    from edgeseq.core.layout import child

    with pytest.raises(IntegrityError):
        child(tmp_path, "state-../../h1.npy", "state name")


def test_a_sweep_record_names_only_its_own_files(tmp_path):
    """A finished task record read back from --out (an earlier run's) names the files bench measures: they must
    be in the variant's folder."""
    from edgeseq.core.errors import IntegrityError
    from edgeseq.sweep import runner

    variant = tmp_path / "variants" / "rnn"
    variant.mkdir(parents=True)
    record = {"key": "k", "variant": "rnn", "status": "ok",
              "export": [{"status": "ok", "path": str(MODELS / "rnn-fp32.tflite")}]}
    with pytest.raises(IntegrityError, match="outside its variant's folder"):
        runner._bench(record, None, variant / "bench.json", None)
    assert not (variant / "bench.json").exists()


@pytest.mark.parametrize("field, value", [("p50_us", -3.0), ("p50_us", float("nan")), ("runs", 0)])
def test_a_remote_device_row_is_checked_when_it_comes_home(field, value):
    """bench --host: the rows a device sends back are figures read from outside, checked as a bench.json is."""
    from edgeseq.bench.remote import SshTarget, _homecoming
    from edgeseq.core.errors import EdgeseqError

    rows = json.loads((RESULTS / "bench.json").read_text())
    row = next(r for r in rows if r["status"] == "ok") | {field: value}
    with pytest.raises(EdgeseqError, match=field):
        _homecoming(row, {}, SshTarget("pi", "python3", None))
    good = next(r for r in rows if r["status"] == "ok")
    assert _homecoming(good, {}, SshTarget("pi", "python3", None)).environment["ssh_host"] == "pi"


def test_a_pickle_in_a_golden_sidecar_is_never_loaded(tmp_path):
    import numpy as np

    file = golden_case(tmp_path, arrays={"labels": np.array([{"a": 1}] * 1000, dtype=object)})
    done = invoke_cli("validate", file, "--runtime", "litert", "--json", cwd=tmp_path)
    reason = json.loads(done.stdout)[0]["reason"]
    assert done.returncode == 1 and "declares" in reason and "Traceback" not in done.stderr, reason
