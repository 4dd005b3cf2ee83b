"""bench --scaling: every requested point is in the result (measured, or a row saying why not), the fits, the
CLI's JSON, table and plot, and bad options. No timing assertions (a shared machine is noisy)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REPO, run_cli
from edgeseq.bench.scaling import (
    FIXED_AXIS, ScalingConfig, ScalingPoint, ScalingReport, fits_of, scaling, sequences, speedups_of,
    summarise_file)

FIXED = REPO / "models" / "rnn" / "rnn-fp32.tflite"       # whole sequence: a fixed time axis of 28
LENGTHS, BATCHES, THREADS = (28, 56), (1, 4), (1, 2)
TINY = ScalingConfig(LENGTHS, BATCHES, THREADS, runtimes=("litert",), warmup=2, min_runs=5, min_seconds=0)
FAST = ("--lengths", "28,56", "--batch", "1,4", "--threads", "1,2", "--warmup", "2", "--min-runs", "5",
        "--min-seconds", "0", "--runtime", "litert")
GRID = set(itertools.product(THREADS, LENGTHS, BATCHES))


@pytest.fixture(scope="module")
def step_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A step model of an untrained SimpleRNN(4) -> Dense(10, softmax), with a dynamic time axis."""
    from edgeseq import recipes
    from edgeseq.export import step
    from edgeseq.core.tfsupport import import_tensorflow

    tf = import_tensorflow()
    model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.SimpleRNN(4),
                                 tf.keras.layers.Dense(10, activation="softmax")])
    path = tmp_path_factory.mktemp("step") / "tiny-fp32-step.tflite"
    step.convert(model, recipes.recipe("tflite", "fp32"), None, path)
    return path


@pytest.fixture(scope="module")
def report(step_file: Path) -> ScalingReport:
    return scaling([step_file, FIXED], TINY)


def grid_of(report: ScalingReport, path: Path) -> dict[tuple[int, int, int], ScalingPoint]:
    found = [p for p in report.points if p.path == str(path)]
    keyed = {(p.threads, p.length, p.batch): p for p in found}
    assert len(keyed) == len(found), "a point is reported twice"
    return keyed


def test_every_requested_point_is_in_the_result(report, step_file):
    for path in (step_file, FIXED):
        assert set(grid_of(report, path)) == GRID, path
        assert {p.runtime for p in report.points if p.path == str(path)} == {"litert"}


def test_a_step_model_takes_every_length_and_the_fixed_axis_file_says_unsupported(report, step_file):
    for point in grid_of(report, step_file).values():
        assert point.status == "ok", point
        assert point.min_us <= point.p50_us <= point.p99_us and point.runs >= 5
        assert point.us_per_row == pytest.approx(point.p50_us / (point.length * point.batch))
    for (threads, length, batch), point in grid_of(report, FIXED).items():
        if length == 28:
            assert point.status == "ok" and point.p50_us > 0, point
        else:
            assert point.status == "unsupported" and point.p50_us is None
            assert point.reason == FIXED_AXIS.format(own=28) and "edgeseq export --streaming" in point.reason


def test_the_fits_are_present(report, step_file):
    by_path = {s.path: s for s in report.summaries}
    step, fixed = by_path[str(step_file)], by_path[str(FIXED)]
    assert step.time_axis is None and fixed.time_axis == 28
    assert step.us_per_timestep is not None and step.length_exponent is not None and step.length_batch == 1
    assert step.us_per_sample is not None and step.batch_exponent is not None and step.batch_length == 28
    assert set(step.speedup) == {"2"} and set(step.speedup_max_batch) == {"2"} and step.max_batch == 4
    assert isinstance(step.super_linear, list)
    assert fixed.us_per_timestep is None and fixed.us_per_sample is not None and set(fixed.speedup) == {"2"}
    assert any("fixed time axis of 28" in note for note in fixed.notes)
    assert "µs/timestep" in step.line() and "µs/sample" in step.line() and "speed-up" in step.line()
    # a length fit per batch and a batch fit per length, per thread count; the fixed file has no length fit
    step_fits = {(f.threads, f.axis, f.held) for f in report.fits if f.path == str(step_file)}
    assert step_fits == {(t, "length", b) for t in THREADS for b in BATCHES} | {
        (t, "batch", n) for t in THREADS for n in LENGTHS}
    assert {f.axis for f in report.fits if f.path == str(FIXED)} == {"batch"}
    assert {(s.length, s.batch) for s in report.speedups if s.path == str(step_file)} == set(
        itertools.product(LENGTHS, BATCHES))


def test_the_result_survives_json(report):
    again = ScalingReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report


def test_longer_sequences_are_real_digits_end_to_end(sample):
    digits = sample.x_test
    built = sequences(digits, 448, 3)
    assert built.shape == (3, 448, 28) and built.dtype == np.float32
    for i in range(3):
        for k in range(16):                         # 448 rows = 16 consecutive test digits
            np.testing.assert_array_equal(built[i, 28 * k:28 * (k + 1)], digits[i + k])
    assert sequences(digits, 50, 1).shape == (1, 50, 28)      # cut within the second digit
    wrapped = sequences(digits, 56, 1 + len(digits))          # more sequences than digits: around the set
    np.testing.assert_array_equal(wrapped[-1, 28:], digits[1])


def _point(length: int, batch: int, p50: float, threads: int = 1) -> ScalingPoint:
    return ScalingPoint("f", "f", "litert", threads, length, batch, "ok", p50_us=p50)


def test_the_fit_gives_the_cost_per_timestep_and_flags_super_linear_growth():
    linear = [_point(n, 1, 10 + 2.5 * n) for n in (28, 56, 112, 224, 448)]
    quadratic = [_point(n, 2, 0.01 * n * n) for n in (28, 56, 112, 224, 448)]
    halved = [_point(n, 1, (10 + 2.5 * n) / 1.6, threads=2) for n in (28, 56, 112, 224, 448)]
    points = linear + quadratic + halved
    fits = {(f.threads, f.axis, f.held): f for f in fits_of(points)}
    line = fits[(1, "length", 1)]
    assert line.slope_us == pytest.approx(2.5) and line.intercept_us == pytest.approx(10)
    assert line.r2 == pytest.approx(1) and line.exponent < 1 and not line.super_linear
    square = fits[(1, "length", 2)]
    assert square.exponent == pytest.approx(2) and square.super_linear
    summary = summarise_file("f", "litert", points, list(fits.values()), speedups_of(points), None, None, [])
    assert summary.us_per_timestep == pytest.approx(2.5) and summary.speedup == {"2": pytest.approx(1.6)}
    assert summary.super_linear == ["length at batch 2, 1 thread(s): grows as T^2.00"]
    assert "SUPER-LINEAR" in summary.line()


def test_cli_json_plot_and_out(step_file, tmp_path):
    png, out = tmp_path / "scaling.png", tmp_path / "out"
    done = run_cli("bench", "--scaling", step_file, FIXED, *FAST, "--json", "--plot", png, "--out", out)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for path in (step_file, FIXED):
        points = {(p["threads"], p["length"], p["batch"]) for p in result["points"] if p["path"] == str(path)}
        assert points == GRID
    assert {s["path"] for s in result["summaries"]} == {str(step_file), str(FIXED)}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "scaling.json").read_text())["config"]["lengths"] == [28, 56]
    assert "[1/4]" in done.stderr and "length 56" in done.stderr     # progress on stderr, like bench
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name]


def test_cli_table_has_a_fit_line_per_file_and_runtime(step_file):
    done = run_cli("bench", "--scaling", step_file, FIXED, *FAST)
    assert done.returncode == 0, done.stderr
    fit_lines = [line for line in done.stdout.splitlines() if "µs/timestep" in line]
    assert len(fit_lines) == 2 and all("µs/sample" in line and "speed-up" in line for line in fit_lines)
    assert "unsupported [1]" in done.stdout and "fixed time axis of 28" in done.stdout


@pytest.mark.parametrize("args, expect", [
    (("--scaling", "--lengths", "0"), "'0' is not a sequence length"),
    (("--scaling", "--lengths", "abc"), "'abc' is not a sequence length"),
    (("--scaling", "--lengths", "28,28"), "given twice"),
    (("--scaling", "--lengths", "99999"), "is not a sequence length"),
    (("--scaling", "--batch", "0"), "--batch"),
    (("--scaling", "--batch", "99999"), "4096"),   # refused when parsed (cli/numbers.py MAX_BATCH)
    (("--scaling", "--csv", "x.csv"), "--csv does not go with --scaling"),
    (("--lengths", "28,56"), "--lengths goes with --scaling"),
    (("--plot", "x.png"), "--plot goes with --scaling"),
], ids=["zero", "word", "twice", "too-long", "batch-zero", "batch-too-big", "csv", "lengths-alone", "plot-alone"])
def test_bad_scaling_options_are_one_line(args, expect, tmp_path):
    done = run_cli("bench", FIXED, *args, cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert [line for line in lines if line.startswith("Error")] == [lines[-1]] and expect in lines[-1], done.stderr
    assert not list(tmp_path.iterdir())                    # nothing written


def test_bench_table_shows_step_columns_only_when_a_row_has_them():
    from edgeseq.cli.bench_table import BENCH_COLUMNS, bench_columns

    plain = SimpleNamespace(path="a.tflite")                          # rows from before the fields existed
    step = SimpleNamespace(path="b.tflite", step_p50_us=3.25, step_p99_us=None)
    assert bench_columns([plain]) == BENCH_COLUMNS
    headers = [c.header for c in bench_columns([plain, step])]
    at = headers.index("p99 µs")
    assert headers[at + 1:at + 3] == ["step p50 µs", "step p99 µs"]
    columns = {c.header: c for c in bench_columns([plain, step])}
    assert columns["step p50 µs"].cell(step) == "3.2" and columns["step p50 µs"].cell(plain) == ""
    assert columns["step p99 µs"].cell(step) == ""
