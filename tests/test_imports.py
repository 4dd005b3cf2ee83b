"""The device side (bench, runtimes, parity, inspect, the CLI) must never import TensorFlow: each module is
imported in a fresh interpreter, which must end with neither tensorflow nor keras loaded. (test_layers.py checks
the same statically, for every import in every module.)"""

import subprocess
import sys

import pytest

RUNTIME_MODULES = ["edgeseq.bench", "edgeseq.bench.runner", "edgeseq.bench.worker", "edgeseq.parity",
                   "edgeseq.parity.validate", "edgeseq.parity.compare", "edgeseq.recipes", "edgeseq.core.layout",
                   "edgeseq.core.procs", "edgeseq.artifacts", "edgeseq.runtimes", "edgeseq.runtimes.guard",
                   "edgeseq.runtimes.litert_runtime", "edgeseq.runtimes.onnx_runtime", "edgeseq.export.exporter",
                   "edgeseq.data", "edgeseq.cli", "edgeseq.report", "edgeseq.fuzz.engine", "edgeseq.fuzz.replay",
                   "edgeseq.fuzz.junit", "edgeseq.diagnostics.long_stream",
                   "edgeseq.diagnostics.long_stream_worker", "edgeseq.formats", "edgeseq.formats.tflite",
                   "edgeseq.formats.onnx"]


@pytest.mark.parametrize("module", RUNTIME_MODULES)
def test_import_does_not_load_tensorflow(module):
    code = f"import sys, {module}; bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; print(bad)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_litert_adapter_runs_a_file_without_tensorflow(exported):
    folder, _ = exported
    code = ("import sys; from pathlib import Path; from edgeseq import runtimes, data;"
            f"rt = runtimes.load(Path(r'{folder}/lstm/lstm-dynamic.tflite'), runtimes.RuntimeName.LITERT);"
            "p = rt.predict(data.load('sample').x_test[:3]); assert p.shape == (3, 10);"
            "print('tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
