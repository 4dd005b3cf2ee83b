"""The import graph of edgeseq/, read statically (ast) from every module, top-level and function-level imports
alike: no cycles between modules, no import from a higher layer, and no TensorFlow at import time.

A package's __init__ is a module of its own (`edgeseq.runtimes`). `from edgeseq.export import tflite` is an
import of edgeseq.export.tflite; `from edgeseq.runtimes import RuntimeName` one of edgeseq.runtimes. A known
violation is one xfail(strict=True) case naming the module, line and import: it flips when fixed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO
from edgeseq.formats import FORMATS

PACKAGE = REPO / "edgeseq"

# name (without "edgeseq."; "x.*" is package x and everything in it) -> layer. A module may import its own
# layer or lower.
LAYERS = {
    0: ["", "core.*", "data.*", "models", "recipes", "ts_format", "embedded", "golden", "step_contract",
        "gemm_peak", "graphs", "health", "formats", "formats.table"],      # foundation ("" is the edgeseq package
                                                             # itself; core.*: errors, layout, fileio, ...)
    1: ["artifacts", "integrity", "runtimes.*", "parity.*", "bench.*", "portability",
        "diagnostics.*", "appkit.*", "fuzz.*", "formats.*"],  # device side: no TensorFlow (formats.*: the adapters)
    2: ["train", "own_model", "export.*"],                   # TensorFlow side
    3: ["report.*", "pipeline", "sweep.*"],                  # orchestration
    4: ["cli.*", "__main__"],                                # the command line
}
DEVICE_LAYER = 1
TENSORFLOW = ("tensorflow", "keras")
# the one device-side module that may reach TensorFlow, and only lazily, through tfsupport
KERAS_RUNTIME = "edgeseq.runtimes.keras_runtime"
TFSUPPORT = "edgeseq.core.tfsupport"


@dataclass(frozen=True)
class Import:
    module: str        # the importing module
    target: str        # the imported module (an edgeseq module, or the top-level name of another package)
    line: int
    top_level: bool    # runs when the module is imported (not inside a function)

    def __str__(self) -> str:
        where = "top level" if self.top_level else "in a function"
        return f"{self.module}:{self.line} imports {self.target} ({where})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    short = module.removeprefix("edgeseq").removeprefix(".")
    for layer, names in LAYERS.items():
        for name in names:
            if short == name or (name.endswith(".*") and (short == name[:-2] or short.startswith(name[:-1]))):
                return layer
    return None


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom reads from (relative imports resolved against `module`)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _walk(tree: ast.AST, top_level: bool = True):
    """(node, top_level) for every node; a function body is not top level (a class body is)."""
    for child in ast.iter_child_nodes(tree):
        yield child, top_level
        inner = top_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield from _walk(child, inner)


def imports_of(module: str) -> list[Import]:
    found = []
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    for node, top_level in _walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
                       for alias in node.names]
        else:
            continue
        for target in dict.fromkeys(t if t.split(".")[0] == "edgeseq" else t.split(".")[0] for t in targets):
            found.append(Import(module, target, node.lineno, top_level))
    return found


IMPORTS = {module: imports_of(module) for module in MODULES}
GRAPH = {module: {i.target for i in found if i.target in MODULES and i.target != module}
         for module, found in IMPORTS.items()}


def cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def upward(module: str) -> list[Import]:
    own = layer_of(module)
    return [i for i in IMPORTS[module] if i.target in MODULES and (layer_of(i.target) or 0) > (own or 0)
            and not _lazy_export(module, i)]


def reaches_tensorflow(module: str) -> list[Import]:
    """Imports of tensorflow/keras, or of tfsupport (whose import_tensorflow/import_keras/load_keras_model
    are the project's way to TensorFlow)."""
    return [i for i in IMPORTS[module] if i.target in TENSORFLOW or i.target == TFSUPPORT]


# --- known violations (reported to the lead): module -> why the assertion is expected to fail ---------------

CYCLE_VIOLATIONS: dict[str, str] = {}
UPWARD_VIOLATIONS: dict[str, str] = {}
TENSORFLOW_VIOLATIONS: dict[str, str] = {}
# device-side modules that reach TensorFlow, lazily through tfsupport, only when the user asks for a runtime
# that is TensorFlow (the keras runtime, or --tflite-backend tf): module -> why
TENSORFLOW_ON_REQUEST = {
    "edgeseq.runtimes.litert_runtime": "the tf.lite backend, chosen by --tflite-backend tf or as the last fallback",
}


# The format adapters (formats.table's rows) are device side: they read files without TensorFlow. The functions
# only the TensorFlow side calls (convert, the standard metadata, the tensor order) reach the export stage that
# does the work, inside the function: module -> why
FORMAT_ADAPTERS = {row.module: f"{row.label}: convert and the written metadata are the export stage's"
                   for row in FORMATS.values()}
EXPORT_STAGE = "edgeseq.export."


def _lazy_export(module: str, i: Import) -> bool:
    return module in FORMAT_ADAPTERS and not i.top_level and i.target.startswith(EXPORT_STAGE)


def cases(violations: dict[str, str], modules: list[str] | None = None) -> list[object]:
    return [pytest.param(m, id=m, marks=[pytest.mark.xfail(strict=True, reason=violations[m])] if m in violations
                         else []) for m in (modules if modules is not None else sorted(MODULES))]


DEVICE_MODULES = sorted(m for m in MODULES if layer_of(m) == DEVICE_LAYER)


# --- the tests ----------------------------------------------------------------------------------------------

def test_the_graph_is_read():
    """Guards the reader: known edges of each kind are found."""
    assert "edgeseq.export.tflite" in GRAPH["edgeseq.formats.tflite"]     # from edgeseq.export import tflite (lazy)
    assert "edgeseq.runtimes" in GRAPH["edgeseq.runtimes.guard"]          # from edgeseq import runtimes
    assert "edgeseq.bench.runner" in GRAPH["edgeseq.bench"]               # a package's __init__
    assert "edgeseq.cli" in GRAPH["edgeseq.__main__"]
    lazy = [i for i in IMPORTS["edgeseq.core.tfsupport"] if i.target == "tensorflow"]
    assert lazy and not any(i.top_level for i in lazy)
    assert {i.top_level for i in IMPORTS["edgeseq.export.worker"] if i.target.startswith("edgeseq.")} == {True, False}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer_of(m) is None] == []
    assert {name for names in LAYERS.values() for name in names if not name.endswith(".*")} - {
        m.removeprefix("edgeseq").removeprefix(".") for m in MODULES} == set()


def test_known_violations_name_real_modules():
    for violations in (CYCLE_VIOLATIONS, UPWARD_VIOLATIONS, TENSORFLOW_VIOLATIONS):
        assert set(violations) <= set(MODULES)


@pytest.mark.parametrize("module", cases(CYCLE_VIOLATIONS))
def test_no_cycle_through(module):
    assert [c for c in cycles() if module in c] == []


@pytest.mark.parametrize("module", cases(UPWARD_VIOLATIONS))
def test_no_upward_import(module):
    assert [str(i) for i in upward(module)] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_tensorflow_at_import_time(module):
    """Nothing imports tensorflow or keras at its top level (tfsupport wraps importing them in functions)."""
    assert [str(i) for i in IMPORTS[module] if i.top_level and i.target in TENSORFLOW] == []


@pytest.mark.parametrize("module", cases(TENSORFLOW_VIOLATIONS, [m for m in DEVICE_MODULES if m != KERAS_RUNTIME
                                                                  and m not in TENSORFLOW_ON_REQUEST]))
def test_device_side_never_reaches_tensorflow(module):
    """Device-side modules import neither tensorflow/keras nor tfsupport, at any level."""
    assert [str(i) for i in reaches_tensorflow(module)] == []


def test_keras_runtime_reaches_tensorflow_only_through_tfsupport():
    """tfsupport imports TensorFlow only inside its functions (test_no_tensorflow_at_import_time)."""
    assert {i.target for i in reaches_tensorflow(KERAS_RUNTIME)} == {TFSUPPORT}


@pytest.mark.parametrize("module", sorted(TENSORFLOW_ON_REQUEST))
def test_tensorflow_on_request_is_lazy_and_through_tfsupport(module):
    found = reaches_tensorflow(module)
    assert found and {i.target for i in found} == {TFSUPPORT} and not any(i.top_level for i in found)


@pytest.mark.parametrize("module", sorted(FORMAT_ADAPTERS))
def test_format_adapters_reach_the_export_stage_only_inside_functions(module):
    """An adapter is device side (layer 1); its only imports from above are the export stage's, in a function."""
    assert module in MODULES and layer_of(module) == DEVICE_LAYER
    above = [i for i in IMPORTS[module] if i.target in MODULES and (layer_of(i.target) or 0) > DEVICE_LAYER]
    assert above and all(_lazy_export(module, i) for i in above), [str(i) for i in above]
