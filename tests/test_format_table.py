"""Every per-format fact is its format adapter's (edgeseq.formats) or its app code's (edgeseq.appkit.code_<format>,
named by the adapter's APP): the table's rows, each adapter and each app code module with its protocol's names,
lookups that refuse what is not a format, no module outside the adapters and the app code branching on a format (but
the single-target checks and the other tables, each named with why), and a format added as its modules plus one table
row, in a copy of the package, reaching every caller that branched on the suffix or the format before.

Before the table, adding a format touched the 28 modules that branched on a suffix or a format name (today's
`git grep` pattern below, at the commit before edgeseq/formats/); after it: its adapter, its app code and one row of
table.py.
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
from edgeseq.formats.table import APP_CODE, FORMATS, PROTOCOL, AppCode, AppRuntime, FormatAdapter
from edgeseq.recipes import Format

PACKAGE = REPO / "edgeseq"
BRANCH = re.compile(r'"\.tflite"|"\.onnx"|Format\.TFLITE|Format\.ONNX|[=!]= "tflite"|[=!]= "onnx"')
# modules outside edgeseq/formats/ and the app code that still name a format, and why that is not a format's fact to
# move
NAMED_ELSEWHERE = {
    "appkit/ethos.py": "one target: Vela compiles TFLite files only",
    "appkit/tflm.py": "one target: TFLite Micro runs TFLite flatbuffers only",
    "appkit/demo.py": "one target: the demo page runs .onnx step models in onnxruntime-web",
    "diagnostics/long_stream_worker.py": "one target: the QUANTIZE ranges of a TFLite file's states",
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


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_has_app_code_with_the_protocols_names(name):
    app = FORMATS[name].adapter().APP
    code = app.code()
    declared = {n for n in vars(AppCode) if not n.startswith("_")}
    assert set(APP_CODE) == declared
    assert code.__name__ == app.code_module and app.code_module.startswith("edgeseq.appkit.code_")
    missing = [n for n in APP_CODE if not hasattr(code, n)]
    assert missing == [], f"{app.code_module} lacks {missing}"
    for function in APP_CODE:
        want = list(inspect.signature(getattr(AppCode, function)).parameters)[1:]        # without self
        assert list(inspect.signature(getattr(code, function)).parameters) == want, f"{app.code_module}.{function}"


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


def _own(path: Path) -> bool:
    """A format's own module: its adapter (edgeseq/formats/) or its app code (the module its APP names)."""
    relative = path.relative_to(PACKAGE)
    app_code = {row.adapter().APP.code_module for row in FORMATS.values()}
    return relative.parts[0] == "formats" or ".".join(("edgeseq", *relative.with_suffix("").parts)) in app_code


def test_no_module_outside_the_adapters_branches_on_a_format():
    found = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                   if not _own(p) and BRANCH.search(p.read_text(encoding="utf-8")))
    assert found == sorted(NAMED_ELSEWHERE)


# A format added as its module and one row, in a copy of the package; the adapter reads the files as ONNX and says
# which of its functions were called
FAKE_ADAPTER = '''
from dataclasses import replace
from edgeseq.formats import onnx as base
from edgeseq.formats.table import AppRuntime

APP = AppRuntime("FakeRT.js", "FakeRT.js {fakert} (WASM)", ("fakert",), (("fakert", "../js/fakert.mjs"),),
                 "const load = null;", "litert", "tflite-swift", "edgeseq.appkit.code_fake")
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

def app_readiness(facts):
    CALLED.append("app_readiness")
    return {"ready": True, "blockers": [], "checked": "the fake's"}
'''
# its app code: the ONNX app code's, saying which of its functions were called
FAKE_APP_CODE = '''
from dataclasses import replace
from edgeseq.appkit import code_onnx as base

CALLED = []

def web_warnings(spec, sibling):
    CALLED.append("web_warnings")
    return ["the fake runtime refuses nothing"]

def javascript(spec, warnings):
    CALLED.append("javascript")
    return base.javascript(spec, warnings)

def javascript_classify(spec):
    CALLED.append("javascript_classify")
    return base.javascript_classify(spec)

def unsupported(spec):
    CALLED.append("unsupported")
    return None

def kotlin(spec):
    CALLED.append("kotlin")
    return "// the fake runner"

def swift(spec, bundle):
    CALLED.append("swift")
    return f"// the fake runner in {bundle}"

def android_runtime(spec):
    CALLED.append("android_runtime")
    return "FakeRT for Android"

def ios_project(spec):
    CALLED.append("ios_project")
    return replace(base.ios_project(spec), folder="ios/Fake", bundle="Bundle.fake")
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
from edgeseq.appkit import code, mobile, pack, projects
from edgeseq.appkit.spec import app_spec
from edgeseq.cli import check
from edgeseq.core.manifest import read_manifest
from edgeseq.export import app

fake = Path(sys.argv[1])
adapter = formats.by_suffix(fake).adapter()
facts = read_facts(fake)
embed(fake, {"made": "by the dry run"})
tensor_order.apply(fake, None)
spec = app_spec(fake, facts, 28)
contract = read_manifest(Path(sys.argv[2])).data_contract
ios = projects.ios(spec, contract, {"labels.txt": b"0"}, runner=True)
android = projects.android(spec, contract, {"labels.txt": b"0"}, runner=True)
readme = "\\n".join(projects.readme_lines(spec, runner=True))
test = code.javascript(spec, [])
page = code.web(spec, pack.JS_VERSIONS | {"fakert": "1.0"})["web/app.mjs"]
paths = next(p for p in check.validate.params if p.name == "paths")
print(json.dumps({
    "suffixes": layout.EXPORT_SUFFIXES, "format_of": layout.format_of(fake),
    "collected": [p.name for p in collect_files([fake.parent], layout.EXPORT_SUFFIXES)],
    "format": facts.format, "embedded": read_facts(fake).embedded,
    "flops": count_flops(fake).source,
    "cli": [p.name for p in paths.callback(None, paths, (fake.parent,))],       # validate FOLDER takes it
    "package": json.loads(code.package_json(spec, {"fakert": "1.0"}))["dependencies"],
    "pins": [p.coordinate for p in projects.pins_for(spec)][-2:],
    "ready": app.readiness(facts, "fake")["checked"],
    "page_notes": pack.page_notes(fake, None, spec),
    "unsupported": mobile.unsupported(spec),
    "runners": [ios["ios/Fake/LstmFp32Model.swift"], android[f"{projects.KOTLIN_DIR}/LstmFp32Model.kt"]],
    "ios": sorted(name for name in ios if name.startswith("ios/Fake/")),
    "readme": "FakeRT for Android" in readme and "Bundle.fake" in ios["ios/Fake/SelfTest.swift"],
    "classify": "new ort.Tensor" in test and "new ort.Tensor" in page,
    "called": adapter.CALLED,
    "app_called": sorted(set(code.app_code(spec).CALLED)),
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
    (copy / "appkit" / "code_fake.py").write_text(FAKE_APP_CODE, encoding="utf-8")
    # the count: its two modules and the table
    assert _changed(PACKAGE, copy) == ["appkit/code_fake.py", "formats/fake.py", "formats/table.py"]
    diff = set(table.read_text(encoding="utf-8").splitlines()) ^ set(text.splitlines())
    assert diff == {ROW.rstrip("\n")}                                              # one row

    fake = tmp_path / "files" / "lstm-fp32.fake"
    fake.parent.mkdir()
    shutil.copyfile(REPO / "models" / "lstm" / "lstm-fp32.onnx", fake)
    done = subprocess.run([sys.executable, "-c", USE, str(fake), str(REPO / "models" / "lstm" / "lstm-fp32.onnx")],
                          capture_output=True, text=True, check=False,
                          cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["suffixes"] == [".tflite", ".onnx", ".fake"] and found["format_of"] == "fake"
    assert found["collected"] == ["lstm-fp32.fake"] and found["cli"] == ["files"]
    assert found["format"] == "fake" and found["embedded"] == {"made": "by the dry run"}
    assert found["flops"] == "the fake graph" and found["package"] == {"fakert": "1.0"}
    assert found["pins"] == ["com.google.ai.edge.litert:litert", "TensorFlowLiteSwift"]
    assert {"read_facts", "embed", "write_tensor_order", "flops", "app_readiness"} <= set(found["called"])
    assert found["ready"] == "the fake's" and found["page_notes"] == ["the fake runtime refuses nothing"]
    assert found["unsupported"] is None and found["readme"] and found["classify"]
    assert found["runners"] == ["// the fake runner in Bundle.fake", "// the fake runner"]
    assert found["ios"] == ["ios/Fake/LstmFp32Model.swift", "ios/Fake/Resources/labels.txt", "ios/Fake/SelfTest.swift"]
    assert found["app_called"] == sorted(APP_CODE)          # every caller reached the fake's app code
