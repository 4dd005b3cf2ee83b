"""Every per-format fact is its format adapter's (edgeseq.formats): the table's rows, each adapter with the
protocol's names, lookups that refuse what is not a format, no module outside the adapters branching on a format
(but the single-target checks and the other tables, each named with why), and a format added as its module plus one
table row, in a copy of the package, reaching every caller that branched on the suffix before.

Before the table, adding a format touched the 28 modules that branched on a suffix or a format name (today's
`git grep` pattern below, at the commit before edgeseq/formats/); after it: its module and one row of table.py.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from edgeseq import formats
from edgeseq.core import layout
from edgeseq.core.errors import EdgeseqError
from edgeseq.formats.table import FORMATS, PROTOCOL, AppRuntime, FormatAdapter
from edgeseq.recipes import Format

PACKAGE = REPO / "edgeseq"
BRANCH = re.compile(r'"\.tflite"|"\.onnx"|Format\.TFLITE|Format\.ONNX|[=!]= "tflite"|[=!]= "onnx"')
# modules outside edgeseq/formats/ that still name a format, and why that is not a format's fact to move
NAMED_ELSEWHERE = {
    "appkit/ethos.py": "one target: Vela compiles TFLite files only",
    "appkit/tflm.py": "one target: TFLite Micro runs TFLite flatbuffers only",
    "appkit/demo.py": "one target: the demo page runs .onnx step models in onnxruntime-web",
    "appkit/pack.py": "one target: LiteRT.js's refusals are warnings for .tflite files",
    "diagnostics/long_stream_worker.py": "one target: the QUANTIZE ranges of a TFLite file's states",
    "appkit/code.py": "app code left to move: the JavaScript test and classify() per runtime",
    "appkit/mobile.py": "app code left to move: the Kotlin and Swift runners per runtime",
    "appkit/projects.py": "app code left to move: the iOS project's shape and the README per runtime",
    "export/app.py": "app readiness per format (export side), left to move",
    "export/exporter.py": "being changed by another engineer: its TFLite-only app variants",
    "recipes.py": "the recipes table: its rows are per format",
    "runtimes/table.py": "the runtimes table: the suffixes each runtime runs",
    "export/search.py": "the recipe search's remedies: which formats each applies to",
    "export/climb.py": "the recipe search's guide per format",
    "export/step.py": "the step model's TFLite-only graph choice",
    "export/record.py": "the manifest's ONNX quantizer settings (a recipe's)",
}


def test_one_row_per_format_and_the_suffixes_are_the_tables():
    assert set(FORMATS) == {f.value for f in Format}            # every recipes format has its row
    assert all(name == row.name and row.suffix.startswith(".") and row.label for name, row in FORMATS.items())
    assert formats.EXPORT_SUFFIXES == layout.EXPORT_SUFFIXES == tuple(row.suffix for row in FORMATS.values())
    assert {fmt: layout.SUFFIXES[fmt] for fmt in FORMATS} == {fmt: row.suffix for fmt, row in FORMATS.items()}
    assert all(Format(name).suffix == row.suffix for name, row in FORMATS.items())


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_adapter_has_the_protocols_names(name):
    row = FORMATS[name]
    adapter = row.adapter()
    declared = {n for n in vars(FormatAdapter) if not n.startswith("_")} | set(FormatAdapter.__annotations__)
    assert set(PROTOCOL) == declared
    missing = [n for n in PROTOCOL if not hasattr(adapter, n)]
    assert missing == [], f"{row.module} lacks {missing}"
    assert isinstance(adapter.APP, AppRuntime) and isinstance(adapter.SIGNATURE_NAMES, bool)
    for function in (n for n in PROTOCOL if callable(getattr(FormatAdapter, n, None))):
        want = list(inspect.signature(getattr(FormatAdapter, function)).parameters)[1:]      # without self
        assert list(inspect.signature(getattr(adapter, function)).parameters) == want, f"{name}.{function}"
    assert formats.by_name(name) is row and formats.by_suffix(row.suffix) is row
    assert formats.by_suffix(Path(f"x/y.partial{row.suffix}")) is row and formats.by_name(Format(name)) is row


@pytest.mark.parametrize("what", [".h5", "model.pb", Path("some/model.keras"), "noext", ""])
def test_by_suffix_refuses_what_is_no_format_in_one_line(what):
    with pytest.raises(EdgeseqError) as err:
        formats.by_suffix(what)
    message = str(err.value)
    assert "\n" not in message and "unknown file type" in message
    assert all(row.suffix in message for row in FORMATS.values())
    assert formats.find(what) is None


def test_by_name_refuses_an_unknown_format_in_one_line():
    with pytest.raises(EdgeseqError, match=r"unknown format 'keras' \(known: tflite, onnx\)$"):
        formats.by_name("keras")


def test_no_module_outside_the_adapters_branches_on_a_format():
    found = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if "formats" not in p.relative_to(PACKAGE).parts[:1] and BRANCH.search(p.read_text(encoding="utf-8")))
    assert found == sorted(NAMED_ELSEWHERE)


# A format added as its module and one row, in a copy of the package; the adapter reads the files as ONNX and says
# which of its functions were called
FAKE_ADAPTER = '''
from dataclasses import replace
from edgeseq.formats import onnx as base
from edgeseq.formats.table import AppRuntime

APP = AppRuntime("FakeRT.js", "FakeRT.js {fakert} (WASM)", ("fakert",), (("fakert", "../js/fakert.mjs"),),
                 "const load = null;", "litert", "tflite-swift")
SIGNATURE_NAMES = False
CALLED = []

def read_facts(path):
    CALLED.append("read_facts")
    return replace(base.read_facts(path), format="fake")

def embed(path, payload):
    CALLED.append("embed")
    base.embed(path, payload)

def write_standard_metadata(path, meta):
    CALLED.append("write_standard_metadata")
    return {"fake": "written"}

def write_tensor_order(path, order):
    CALLED.append("write_tensor_order")
    base.write_tensor_order(path, order)

def flops(path):
    CALLED.append("flops")
    return 42, "the fake graph", []

def convert(model, arch, recipe, graph, calibration, output, mix=None):
    raise ValueError("not converted here")
'''
ROW = '    FormatRow("fake", ".fake", "Fake", "edgeseq.formats.fake"),\n'

USE = """
import json, sys
from pathlib import Path
from edgeseq import formats
from edgeseq.core import layout
from edgeseq.artifacts import collect_files, read_facts
from edgeseq.export.embed import embed
from edgeseq.export import tensor_order
from edgeseq.bench.bound import count_flops
from edgeseq.appkit import code, projects
from edgeseq.appkit.spec import app_spec
from edgeseq.cli import check

fake = Path(sys.argv[1])
adapter = formats.by_suffix(fake).adapter()
facts = read_facts(fake)
embed(fake, {"made": "by the dry run"})
tensor_order.apply(fake, None)
spec = app_spec(fake, facts, 28)
paths = next(p for p in check.validate.params if p.name == "paths")
print(json.dumps({
    "suffixes": layout.EXPORT_SUFFIXES, "format_of": layout.format_of(fake),
    "collected": [p.name for p in collect_files([fake.parent], layout.EXPORT_SUFFIXES)],
    "format": facts.format, "embedded": read_facts(fake).embedded,
    "flops": count_flops(fake).source,
    "cli": [p.name for p in paths.callback(None, paths, (fake.parent,))],       # validate FOLDER takes it
    "package": json.loads(code.package_json(spec, {"fakert": "1.0"}))["dependencies"],
    "pins": [p.coordinate for p in projects.pins_for(spec)][-2:],
    "called": adapter.CALLED,
}))
"""


def _changed(before: Path, after: Path) -> list[str]:
    """The files that differ between two copies of the package (added, removed or changed)."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    old, new = files(before), files(after)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def test_a_format_is_its_module_and_one_row(tmp_path):
    copy = tmp_path / "edgeseq"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    table = copy / "formats" / "table.py"
    text = table.read_text(encoding="utf-8")
    last = text.index('    FormatRow("onnx"')
    last = text.index("\n", last) + 1
    table.write_text(text[:last] + ROW + text[last:], encoding="utf-8")
    (copy / "formats" / "fake.py").write_text(FAKE_ADAPTER, encoding="utf-8")
    assert _changed(PACKAGE, copy) == ["formats/fake.py", "formats/table.py"]       # the count: 2 files
    diff = set(table.read_text(encoding="utf-8").splitlines()) ^ set(text.splitlines())
    assert diff == {ROW.rstrip("\n")}                                              # one row

    fake = tmp_path / "files" / "lstm-fp32.fake"
    fake.parent.mkdir()
    shutil.copyfile(REPO / "models" / "lstm" / "lstm-fp32.onnx", fake)
    done = subprocess.run([sys.executable, "-c", USE, str(fake)], capture_output=True, text=True, check=False,
                          cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["suffixes"] == [".tflite", ".onnx", ".fake"] and found["format_of"] == "fake"
    assert found["collected"] == ["lstm-fp32.fake"] and found["cli"] == ["files"]
    assert found["format"] == "fake" and found["embedded"] == {"made": "by the dry run"}
    assert found["flops"] == "the fake graph" and found["package"] == {"fakert": "1.0"}
    assert found["pins"] == ["com.google.ai.edge.litert:litert", "TensorFlowLiteSwift"]
    assert {"read_facts", "embed", "write_tensor_order", "flops"} <= set(found["called"])
