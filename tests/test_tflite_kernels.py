"""TFLite kernel settings as a runtime dimension (issue 34): --tflite-kernels in validate and bench, a row per
setting with the setting recorded, and a report that never mixes settings.

The kernel-dependent case is a committed file: models/rnn/rnn-int8.tflite answers the shipped sample's digits
differently on the XNNPACK delegate (the Interpreter's default) and on the reference kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import REPO, invoke_cli
from edgeseq import data
from edgeseq.bench.remote import bench_arguments
from edgeseq.bench.runner import BenchConfig, BenchResult
from edgeseq.parity.compare import ParityReport, kernels_agreement
from edgeseq.report.inputs import Inputs
from edgeseq.report.join import file_rows
from edgeseq.report.kernels import kernel_blocks
from edgeseq.report.portability import portability_rows
from edgeseq.runtimes import RuntimeName
from edgeseq.runtimes.guard import evaluate
from edgeseq.runtimes.table import RUNTIMES, TFLiteKernels, default_kernels, kernel_settings

INT8 = REPO / "models" / "rnn" / "rnn-int8.tflite"


@pytest.fixture(scope="module")
def sample():
    return data.load("sample")


def test_the_table_says_which_runtime_honours_which_setting():
    assert RUNTIMES[RuntimeName.LITERT].kernel_settings == tuple(TFLiteKernels)
    assert kernel_settings(RuntimeName.LITERT, None) == ["xnnpack"]                      # today's behaviour
    assert kernel_settings(RuntimeName.LITERT, ("reference", "xnnpack")) == ["xnnpack", "reference"]  # table order
    assert kernel_settings(RuntimeName.ONNXRUNTIME, ("builtin",)) == ["ort-optimized"]   # not its own: its default
    assert kernel_settings(RuntimeName.OPENVINO, ("builtin", "ort-unoptimized")) == [None]   # it has none: one row
    assert default_kernels("litert") == "xnnpack" and default_kernels("onnxruntime") == "ort-optimized"
    assert default_kernels("openvino") is None


def test_good_values_parse_and_each_setting_is_a_row(sample):
    from edgeseq.parity.validate import validate

    reports = validate([INT8], sample.limited(None, 200), wanted=[RuntimeName.LITERT],
                       tflite_kernels=("reference", "xnnpack", "builtin"))
    assert [r.kernels for r in reports] == ["xnnpack", "builtin", "reference"]
    assert [r.backend.split(", ")[1] for r in reports] == ["XNNPACK", "builtin kernels", "reference kernels"]
    assert reports[0].vs_kernels is None                                                # the first setting
    assert [r.vs_kernels["kernels"] for r in reports[1:]] == ["xnnpack", "xnnpack"]
    assert all(r.vs_kernels["sequences"] == 200 for r in reports[1:])


def test_a_runtime_ignores_the_other_runtimes_settings(sample):
    from edgeseq.parity.validate import validate

    reports = validate([REPO / "models" / "rnn" / "rnn-fp32.onnx"], sample.limited(None, 50),
                       wanted=[RuntimeName.ONNXRUNTIME], tflite_kernels=("builtin", "reference"))
    assert [(r.runtime, r.kernels, r.vs_kernels) for r in reports] == [("onnxruntime", "ort-optimized", None)]


def test_onnxruntime_with_and_without_graph_optimisation_is_a_row_each(sample):
    """The static int8 ONNX file's QDQ graph is fused when optimised: its answers move (measured: up to 0.004 on
    the sample's digits), the float file's do not."""
    from edgeseq.parity.validate import validate

    reports = validate([REPO / "models" / "rnn" / "rnn-static.onnx", REPO / "models" / "rnn" / "rnn-fp32.onnx"],
                       sample.limited(None, 200), wanted=[RuntimeName.ONNXRUNTIME],
                       tflite_kernels=("ort-unoptimized", "ort-optimized"))
    assert [r.kernels for r in reports] == ["ort-optimized", "ort-unoptimized"] * 2
    assert [r.backend.endswith("graph optimisation off") for r in reports] == [False, True] * 2
    static, fp32 = reports[1].vs_kernels, reports[3].vs_kernels
    assert static["kernels"] == "ort-optimized" and static["differ"] > 0 and static["max_abs_diff"] > 1e-4
    assert fp32["max_abs_diff"] < 1e-5 and reports[2].passed and reports[3].passed


def test_rnn_int8_answers_depend_on_the_kernels(sample):
    """A real kernel-dependent case: the same committed int8 file, the same digits, different probabilities on
    the XNNPACK delegate and on the reference kernels (and on the builtin kernels, where answers flip)."""
    digits = sample.x_test
    xnnpack = evaluate(INT8, RuntimeName.LITERT, digits, kernels="xnnpack")
    reference = evaluate(INT8, RuntimeName.LITERT, digits, kernels="reference")
    builtin = evaluate(INT8, RuntimeName.LITERT, digits, kernels="builtin")
    assert "XNNPACK" in xnnpack.backend and "reference kernels" in reference.backend
    assert not np.array_equal(xnnpack.probabilities, reference.probabilities)
    versus = kernels_agreement(reference.probabilities, xnnpack.probabilities, "xnnpack")
    assert versus["differ"] > 0 and versus["max_abs_diff"] > 0
    assert kernels_agreement(builtin.probabilities, xnnpack.probabilities, "xnnpack")["flips"] > 0


def test_validate_cli_shows_a_row_per_setting_and_the_comparison():
    done = invoke_cli("validate", str(INT8), "--runtime", "litert", "--limit", "100",
                      "--tflite-kernels", "xnnpack,reference")
    assert done.returncode in (0, 1), done.stderr
    assert "litert (reference kernels)" in done.stdout
    assert "kernels: rnn-int8.tflite (litert) reference vs xnnpack:" in done.stdout


def test_a_library_without_the_setting_refuses_in_one_line(monkeypatch):
    from edgeseq.core.errors import RuntimeUnavailable
    from edgeseq.runtimes import litert_runtime

    class Old:                 # an OpResolverType that predates BUILTIN_WITHOUT_DEFAULT_DELEGATES
        AUTO = 0

    with pytest.raises(RuntimeUnavailable, match=r"^old 1\.0 cannot run the builtin kernels: .*"
                                                 r"BUILTIN_WITHOUT_DEFAULT_DELEGATES"):
        litert_runtime._resolver(Old, TFLiteKernels.BUILTIN, "old 1.0")
    with pytest.raises(RuntimeUnavailable, match="no OpResolverType.BUILTIN_REF"):
        litert_runtime._resolver(None, TFLiteKernels.REFERENCE, "old 1.0")


def test_bench_config_carries_the_settings_to_a_host():
    config = BenchConfig((RuntimeName.LITERT,), tflite_kernels=("xnnpack", "builtin"))
    assert bench_arguments(config, None, ["a.tflite"])[-2:] == ["--tflite-kernels", "xnnpack,builtin"]
    assert "--tflite-kernels" not in bench_arguments(BenchConfig((RuntimeName.LITERT,)), None, ["a.tflite"])


@pytest.mark.slow
def test_bench_measures_a_row_per_setting():
    from edgeseq.bench.runner import bench

    config = BenchConfig((RuntimeName.LITERT, RuntimeName.ONNXRUNTIME), warmup=0, min_runs=1, min_seconds=0,
                         tflite_kernels=("xnnpack", "reference"))
    rows = bench([INT8, REPO / "models" / "rnn" / "rnn-fp32.onnx"], config)
    assert [(r.runtime, r.kernels, r.status) for r in rows] == [
        ("litert", "xnnpack", "ok"), ("litert", "reference", "ok"), ("onnxruntime", "ort-optimized", "ok")]
    assert "reference kernels" in rows[1].backend


def _check(kernels: str | None, accuracy: float, vs: dict | None = None) -> ParityReport:
    return ParityReport(path=str(INT8), runtime="litert", passed=True, reason=None, integrity="verified",
                        model="rnn", format="tflite", recipe="int8", sha256="ab" * 32, outcome="pass",
                        accuracy=accuracy, backend=f"ai-edge-litert 2.3.0, {kernels or 'XNNPACK'}, 1 thread(s)",
                        kernels=kernels, vs_kernels=vs)


def _bench(kernels: str | None, p50: float) -> BenchResult:
    return BenchResult(path=str(INT8), model="rnn", format="tflite", recipe="int8", runtime="litert", status="ok",
                       reason=None, sha256="ab" * 32, batch=1, p50_us=p50, p99_us=p50, kernels=kernels)


def test_the_report_keeps_settings_apart():
    vs = {"kernels": "xnnpack", "sequences": 1000, "differ": 280, "flips": 9, "max_abs_diff": 0.18}
    inputs = Inputs("run", (), (), (_check(None, 0.92), _check("builtin", 0.918, vs)),     # None: an older row
                    (_bench("xnnpack", 100.0), _bench("builtin", 300.0)))
    rows = file_rows(inputs)
    assert [(r.kernels, r.accuracy, r.p50_us) for r in rows] == [("xnnpack", 0.92, 100.0), ("builtin", 0.918, 300.0)]
    assert [r.label for r in rows] == ["rnn tflite/int8", "rnn tflite/int8 (litert, builtin kernels)"]
    [(_, _, heading), _, (_, header, body)] = kernel_blocks(rows)
    assert heading == "Where answers depend on the kernels"
    assert body[1][header.index("top-1 flips")] == "9" and body[1][header.index("compared with")] == "xnnpack"
    assert kernel_blocks(rows[:1]) == []                         # one setting: no section


def test_portability_reads_the_default_setting_only():
    from edgeseq.export.exporter import ExportResult

    failed = ParityReport(path=str(INT8), runtime="litert", passed=False, reason="max_abs_diff 0.9 > 0.5",
                          integrity="verified", sha256="ab" * 32, outcome="fail", accuracy=0.5,
                          backend="ai-edge-litert 2.3.0, reference kernels, 1 thread(s)", kernels="reference")
    export = ExportResult("rnn", "tflite", "int8", "unrolled", "ok", str(INT8), 67962, "ab" * 32, None, None, 1.0)
    [row] = portability_rows((export,), (_check("xnnpack", 0.92), failed))
    assert row[1].startswith("pass (validate)")
