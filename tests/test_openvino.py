"""OpenVINO, the optional fourth runtime: it agrees with onnxruntime on the committed ONNX files, refuses a
corrupt file in one line, joins validate and bench where it is installed, and stays out of the default
selection (with an install hint when asked for) where it is not."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("openvino")

from edgeseq import data, runtimes  # noqa: E402
from edgeseq.core.errors import ModelError  # noqa: E402
from edgeseq.runtimes import RuntimeName  # noqa: E402

from conftest import REPO, run_cli  # noqa: E402

MODELS = REPO / "models"
FP32 = [MODELS / "rnn" / "rnn-fp32.onnx", MODELS / "lstm" / "lstm-fp32.onnx"]
FAST = ("--warmup", "2", "--min-runs", "20", "--min-seconds", "0")
# a device with `edgeseq[runtime]` only: neither OpenVINO nor TensorFlow can be found
BLOCK_OPENVINO = """import sys
class _Block:
    def find_spec(self, name, *args):
        if name.split('.')[0] in ('openvino', 'tensorflow', 'keras'):
            raise ImportError('blocked by the test')
        return None
sys.meta_path.insert(0, _Block())
"""


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return data.load("sample").x_test[:50]


@pytest.fixture(scope="module")
def runtime_extra_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment variables for a subprocess in which OpenVINO and TensorFlow cannot be found."""
    folder = tmp_path_factory.mktemp("block-openvino")
    (folder / "sitecustomize.py").write_text(BLOCK_OPENVINO)
    return {"PYTHONPATH": f"{folder}{os.pathsep}{REPO}"}


@pytest.mark.parametrize("path", FP32, ids=[p.name for p in FP32])
def test_agrees_with_onnxruntime_on_fp32_files(path, digits):
    openvino = runtimes.load(path, RuntimeName.OPENVINO)
    onnxruntime = runtimes.load(path, RuntimeName.ONNXRUNTIME)
    ours = runtimes.predict_in_batches(openvino, digits)
    theirs = runtimes.predict_in_batches(onnxruntime, digits)
    assert ours.shape == (50, 10) and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert openvino.backend.startswith("openvino ") and openvino.backend.endswith(", CPU, f32, 1 thread(s)")
    assert (openvino.input_name, openvino.output_name, openvino.batch_one_only) == ("pixels", "probabilities", False)


def test_bound_call_and_batch_sizes_give_the_same_answers(digits):
    openvino = runtimes.load(FP32[0], RuntimeName.OPENVINO, threads=2)
    assert openvino.backend.endswith(", 2 thread(s)")
    whole = openvino.predict(digits[:8])
    np.testing.assert_allclose(openvino.bind(digits[:8])(), whole, atol=1e-6)
    np.testing.assert_allclose(openvino.predict(digits[:1]), whole[:1], atol=1e-6)
    assert runtimes.state_hygiene(openvino, digits)


def test_batch_one_only_file(tmp_path, digits):
    import onnx

    model = onnx.load(FP32[0])
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    path = tmp_path / "rnn-batch1.onnx"
    onnx.save(model, path)
    openvino = runtimes.load(path, RuntimeName.OPENVINO)
    assert openvino.batch_one_only
    expected = runtimes.load(FP32[0], RuntimeName.OPENVINO).predict(digits[:3])
    np.testing.assert_allclose(openvino.predict(digits[:3]), expected, atol=1e-6)


def test_corrupt_file_is_one_line_model_error(tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(FP32[0].read_bytes()[:3000])
    with pytest.raises(ModelError) as caught:
        runtimes.load(bad, RuntimeName.OPENVINO)
    message = str(caught.value)
    assert message == f"{bad}: openvino cannot load it (Model can't be parsed)"


def test_registered_and_selected_by_default_where_installed():
    row = runtimes.RUNTIMES[RuntimeName.OPENVINO]
    assert row.suffixes == (".onnx",) and row.isolated and row.install_hint == "pip install 'edgeseq[openvino]'"
    assert runtimes.runtimes_for(FP32[0]) == [RuntimeName.ONNXRUNTIME, RuntimeName.OPENVINO]
    # every runtime but the app runtimes, which are asked for by name only (--runtime)
    assert runtimes.runtime_names(None) == [RuntimeName.KERAS, RuntimeName.LITERT, RuntimeName.ONNXRUNTIME,
                                            RuntimeName.OPENVINO]


def test_validate_cli_passes(without_tensorflow):
    done = run_cli("validate", FP32[0], "--runtime", "openvino", "--limit", "50", "--json", env=without_tensorflow)
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert report["runtime"] == "openvino" and report["passed"] and report["state_hygiene"] is True
    assert report["backend"].startswith("openvino ") and report["max_abs_diff"] < 1e-5


def test_bench_cli_gives_an_ok_row(tmp_path):
    done = run_cli("bench", FP32[0], "--runtime", "openvino", "--batch", "1,4", *FAST, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["runtime"], r["batch"], r["status"]) for r in rows] == [("openvino", 1, "ok"), ("openvino", 4, "ok")]
    assert rows[0]["backend"].endswith(", CPU, f32, 1 thread(s)") and rows[0]["p50_us"] > 0


def test_where_not_installed_it_is_left_out_or_named_with_its_extra(runtime_extra_only, tmp_path):
    code = "from edgeseq import runtimes; print(','.join(r.value for r in runtimes.runtime_names(None)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, **runtime_extra_only})
    assert done.stdout.strip() == "keras,litert,onnxruntime"
    for command in (("bench", *FAST), ("validate", "--limit", "20")):
        asked = run_cli(command[0], FP32[0], "--runtime", "openvino", *command[1:], cwd=tmp_path,
                        env=runtime_extra_only)
        assert asked.returncode == 1
        assert asked.stderr.strip().splitlines() == [
            "Error: runtime openvino: openvino is not installed (pip install 'edgeseq[openvino]')"]
    validated = run_cli("validate", FP32[0], "--limit", "20", "--json", cwd=tmp_path, env=runtime_extra_only)
    assert validated.returncode == 0, validated.stderr
    assert [r["runtime"] for r in json.loads(validated.stdout)] == ["onnxruntime"]


def test_in_the_report_tables():
    from edgeseq.report.figures import RUNTIME_ORDER
    from edgeseq.report.plots import RUNTIME_MARKERS

    assert "openvino" in RUNTIME_ORDER
    assert len(set(RUNTIME_MARKERS.values())) == len(RUNTIME_MARKERS) and "openvino" in RUNTIME_MARKERS
