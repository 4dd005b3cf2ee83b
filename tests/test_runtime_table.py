"""Every per-runtime fact is read from the runtimes table (edgeseq.runtimes.table): the portability table's columns
and the column a backend string lands in, the report's runtime order and plot markers, `bench --profile`'s
profilers and collectors, the modules a host needs for `bench --host`. Checked three ways: each derived list
equals the table's, today's runtimes come out as the report showed them before they were derived, and a runtime
added as one row (in a fresh interpreter) reaches every one of those modules.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgeseq.bench import profile_worker, remote
from edgeseq.bench.profile import PROFILERS
from edgeseq.portability import BACKENDS, TABLE_COLUMNS
from edgeseq.report.figures import RUNTIME_ORDER
from edgeseq.report.plots import OTHER_MARKER, RUNTIME_MARKERS
from edgeseq.report.portability import LIBRARY_COLUMN, column_of, column_of_row
from edgeseq.runtimes import table
from edgeseq.runtimes.table import RUNTIMES, TENSORFLOW, RuntimeName

# as the report showed them before they were derived from the table: a new runtime adds to these, never reorders
TODAY_COLUMNS = ("LiteRT", "tflite-runtime", "onnxruntime", "OpenVINO", "LiteRT CompiledModel", "LiteRT.js",
                 "onnxruntime-node", "onnxruntime-web")
TODAY_LIBRARY_COLUMN = (("litert compiledmodel", "LiteRT CompiledModel"), ("litert-compiled", "LiteRT CompiledModel"),
                        ("litert.js", "LiteRT.js"), ("litertjs", "LiteRT.js"),
                        ("onnxruntime-node", "onnxruntime-node"), ("onnxruntime-web", "onnxruntime-web"),
                        ("ai-edge-litert", "LiteRT"), ("tflite-runtime", "tflite-runtime"),
                        ("onnxruntime", "onnxruntime"), ("openvino", "OpenVINO"))
TODAY_ORDER = ("litert", "onnxruntime", "openvino", "keras",                 # then the others were sorted by name
               "litert-compiled", "litertjs", "onnxruntime-node", "onnxruntime-web")
TODAY_MARKERS = {"litert": "o", "onnxruntime": "s", "openvino": "P", "keras": "*"}
TODAY_HOST_MODULES = ("ai_edge_litert", "tflite_runtime", "onnxruntime")
TODAY_COLLECTORS = {"onnxruntime": profile_worker.profile_onnxruntime, "openvino": profile_worker.profile_openvino}


def _kept(derived, today) -> list:
    return [x for x in derived if x in today]


def test_one_row_per_runtime_name():
    assert list(RUNTIMES) and set(RUNTIMES) == set(RuntimeName)
    assert all(row.name is name and row.libraries and row.suffixes for name, row in RUNTIMES.items())
    labels = [lib.label for row in RUNTIMES.values() for lib in row.libraries]
    assert all(labels) and all(lib.install_hint for row in RUNTIMES.values() for lib in row.libraries)


def test_portability_columns_are_the_tables():
    columns = [lib.label for row in RUNTIMES.values() if row.portable for lib in row.libraries if lib.column]
    assert TABLE_COLUMNS == tuple(columns) and len(set(columns)) == len(columns)
    assert {b.label for b in BACKENDS} == {lib.label for _, lib in table.portable_libraries()}
    assert _kept(TABLE_COLUMNS, TODAY_COLUMNS) == list(TODAY_COLUMNS)


def test_every_column_is_found_from_its_backend_strings():
    """Each column has names, lower case, and each name (a backend string's start, or a reason's word) lands in its
    own column: no earlier name shadows it."""
    found = LIBRARY_COLUMN
    assert found == table.column_names()
    for _, lib in table.portable_libraries():
        if lib.column:
            assert lib.names and all(n == n.lower() for n in lib.names), lib.label
        else:
            assert not lib.names, lib.label
    assert {column for _, column in found} == set(TABLE_COLUMNS)
    for name, column in found:
        assert column_of(f"{name} 1.0, CPU, 1 thread(s)") == column, name
        assert column_of_row(None, f"x.onnx: {name} cannot run it") == column, name
    assert _kept(found, TODAY_LIBRARY_COLUMN) == list(TODAY_LIBRARY_COLUMN)
    assert column_of("LiteRT CompiledModel (ai-edge-litert 2.1.0), CPU") == "LiteRT CompiledModel"
    assert column_of("tf.lite 2.19.0, XNNPACK") is None        # LiteRT's kernels: no column


def test_report_order_and_markers_are_the_tables():
    assert RUNTIME_ORDER == tuple(name.value for name in RUNTIMES)
    assert _kept(RUNTIME_ORDER, TODAY_ORDER) == list(TODAY_ORDER)
    assert RUNTIME_MARKERS == {name.value: row.marker for name, row in RUNTIMES.items() if row.marker}
    assert {k: v for k, v in RUNTIME_MARKERS.items() if k in TODAY_MARKERS} == TODAY_MARKERS
    markers = list(RUNTIME_MARKERS.values())
    assert len(set(markers)) == len(markers) and not {OTHER_MARKER, "v"} & set(markers)   # v: below the axis
    matplotlib = pytest.importorskip("matplotlib.markers")
    assert set(markers) <= set(matplotlib.MarkerStyle.markers)


def test_profilers_and_collectors_are_the_tables():
    assert PROFILERS == {name: row.profiler for name, row in RUNTIMES.items()}
    for name, row in RUNTIMES.items():
        has = row.profiler.source is not None
        assert has != (row.profiler.unsupported is not None), name            # figures, or why there are none
        assert has == (row.profiler.collector is not None), name
        assert callable(profile_worker.collector(name.value)) == has, name
    assert {name: profile_worker.collector(name) for name in TODAY_COLLECTORS} == TODAY_COLLECTORS
    assert profile_worker.collector("no-such-runtime") is None


def test_host_modules_are_the_default_runtimes_without_tensorflow():
    modules = table.host_modules()
    wanted = [lib.module for row in RUNTIMES.values() if row.by_default and not row.optional
              for lib in row.libraries if lib.module and lib.module != TENSORFLOW]
    assert list(modules) == list(dict.fromkeys(wanted)) and TENSORFLOW not in modules
    assert _kept(modules, TODAY_HOST_MODULES) == list(TODAY_HOST_MODULES)
    agent = remote.AGENT.read_text(encoding="utf-8")              # sent to the host: it cannot import the table
    assert 'request["runtime_modules"]' in agent and not any(f'"{m}"' in agent for m in modules)   # no list of its own


# A runtime added as one row, in a fresh interpreter (the row is put in the table before anything reads it)
ONE_ROW = """
import json
from edgeseq.runtimes import table
from edgeseq.runtimes.table import RUNTIMES, Library, Profiler, RuntimeRow

class Name(str):
    value = property(str)

name = Name("fakert")
RUNTIMES[name] = RuntimeRow(name, (".onnx",), "edgeseq.runtimes.onnx_runtime",
                            (Library("FakeRT", "fakert_lib", "pip install fakert", names=("fakert",)),),
                            needs="fakert_lib", marker="X",
                            profiler=Profiler("its trace", collector="edgeseq.bench.profile_worker:profile_onnxruntime"))

from edgeseq.bench import profile_worker, remote
from edgeseq.bench.profile import PROFILERS
from edgeseq.portability import TABLE_COLUMNS, loads
from edgeseq.report.figures import RUNTIME_ORDER
from edgeseq.report.plots import RUNTIME_MARKERS
from edgeseq.report.portability import column_of

print(json.dumps({
    "columns": TABLE_COLUMNS,
    "loads": loads("FakeRT", ".onnx"),
    "column_of": column_of("fakert 1.0, CPU, 1 thread(s)"),
    "order": RUNTIME_ORDER,
    "marker": RUNTIME_MARKERS.get("fakert"),
    "profiler": PROFILERS[name].source,
    "collector": profile_worker.collector("fakert").__name__,
    "host_modules": table.host_modules(),
    "install": remote.INSTALL,
}))
"""


def test_a_runtime_is_one_row():
    done = subprocess.run([sys.executable, "-c", ONE_ROW], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["columns"][-1] == "FakeRT" and found["loads"] and found["column_of"] == "FakeRT"
    assert found["order"][-1] == "fakert" and found["marker"] == "X"
    assert found["profiler"] == "its trace" and found["collector"] == "profile_onnxruntime"
    assert found["host_modules"][-1] == "fakert_lib"
    assert found["install"] == "python3 -m pip install 'edgeseq[runtime]'"


def test_importing_the_table_loads_no_runtime_library():
    code = ("import sys, edgeseq.runtimes.table, edgeseq.report.plots, edgeseq.report.figures;"
            "print([m for m in ('tensorflow', 'keras', 'onnxruntime', 'ai_edge_litert', 'openvino', 'matplotlib')"
            " if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
