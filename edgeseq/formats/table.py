"""The one table of export formats: a row per format (its name, file suffix, label and the module of its adapter),
and the adapter every format module is (FormatAdapter). Adding a format is its module (edgeseq/formats/<name>.py,
with FormatAdapter's names), its app code (edgeseq/appkit/code_<name>.py, with AppCode's names, named by its
adapter's APP) plus one row in FORMATS: callers find it by a file's suffix (`by_suffix`) or by the format's name
(`by_name`), and call its adapter (and its app code) instead of branching on the format.

Importing this module imports nothing heavy, and no adapter: an adapter is imported when it is first asked for
(`FormatRow.adapter()`), and imports its libraries (flatbuffers, onnx, TensorFlow's converters) inside its
functions, so that the device side reads files without TensorFlow."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edgeseq.core.errors import ModelError


@dataclass(frozen=True)
class AppRuntime:
    """What apps run a format's files with (edgeseq.appkit): the page's runtime in the browser, the example test's
    npm packages, the Android and iOS runtimes (keys of appkit.projects.PINS), and the module of its app code."""
    web_label: str                              # the page's runtime, as the pack README names it
    web_runtime: str                            # the page's runtime line: {package} is the package's pinned version
    npm_packages: tuple[str, ...]               # the example test's dependencies (package.json)
    import_map: tuple[tuple[str, str], ...]     # the page's import map: module -> its file under js/node_modules
    web_setup: str                              # the page's JavaScript that loads the runtime and defines load(bytes)
    android_pin: str
    ios_pin: str
    code_module: str                            # its app code (AppCode): what `edgeseq pack` writes for its files

    def code(self) -> AppCode:
        """The format's app code module, imported when first asked for (as the adapter is)."""
        return importlib.import_module(self.code_module)   # type: ignore[return-value]


class AppCode(Protocol):
    """The names a format's app code module has (edgeseq.appkit.code_<format>): the part of what `edgeseq pack`
    writes that differs by format. `spec` is the file's appkit.spec.AppSpec; the shared parts (templates, tensor
    descriptions, the Kotlin and Swift helpers, the projects around the runners) are appkit's."""

    def web_warnings(self, spec: Any, sibling: Path | None) -> list[str]:
        """What the format's web runtime was seen to refuse, as this file has it (and the `-app` sibling to pack
        instead, when there is one)."""

    def javascript(self, spec: Any, warnings: list[str]) -> str:
        """The JavaScript unit test (js/example.test.mjs); `warnings`: the pack's notes."""

    def javascript_classify(self, spec: Any) -> str:
        """classify(model, sequence) for the format's JavaScript runtime (the Node test and the web page share it)."""

    def unsupported(self, spec: Any) -> str | None:
        """Why the format's Android and iOS runners cannot be written for this file, or None."""

    def kotlin(self, spec: Any) -> str:
        """The Android runner (<Name>Model.kt), implementing SequenceModel."""

    def swift(self, spec: Any, bundle: str) -> str:
        """The iOS runner (<Name>Model.swift); `bundle` is where fromBundle() looks for the file."""

    def android_runtime(self, spec: Any) -> str:
        """What runs the file on Android, as the pack README names it."""

    def ios_project(self, spec: Any) -> Any:
        """Where the iOS runner goes and what the format adds around it (appkit.projects.IosProject)."""


APP_CODE = ("web_warnings", "javascript", "javascript_classify", "unsupported", "kotlin", "swift", "android_runtime",
            "ios_project")


class FormatAdapter(Protocol):
    """The names a format's module has: everything that differs by format, behind one set of functions."""
    APP: AppRuntime
    SIGNATURE_NAMES: bool       # its tensors carry signature names (what apps call them) beside their own names

    def read_facts(self, path: Path) -> Any:
        """The file's artifacts.FileFacts (ops, tensors, embedded facts), read without any runtime."""

    def embed(self, path: Path, payload: str) -> None:
        """Write edgeseq's embedded facts (a JSON text) into the file, in place (export.embed)."""

    def write_standard_metadata(self, path: Path, meta: Any) -> dict[str, Any]:
        """Write the format's standard metadata (export.standard_metadata.StandardMetadata) into the file, in place;
        returns the manifest's `standard_metadata` section."""

    def write_tensor_order(self, path: Path, order: Any) -> None:
        """Permute the file's inputs and outputs into `order` (export.tensor_order.TensorOrder), in place."""

    def flops(self, path: Path) -> tuple[int, str, list[dict[str, Any]]] | str:
        """The FLOPs of one sequence read from the file's graph: (flops, what counted them, per node); or why not."""

    def convert(self, model: Any, arch: Any, recipe: Any, graph: Any, calibration: Any, output: Path,
                mix: dict[str, Any] | None = None) -> None:
        """Convert the Keras `model` into the file `output` (in the export worker: TensorFlow is loaded)."""

    def app_readiness(self, facts: Any) -> dict[str, Any]:
        """The manifest's `app_ready` section for an exported file (artifacts.FileFacts): ready in the app runtimes
        or not, why not, and what was checked (export.app)."""


PROTOCOL = ("APP", "SIGNATURE_NAMES", "read_facts", "embed", "write_standard_metadata", "write_tensor_order", "flops",
            "convert", "app_readiness")


@dataclass(frozen=True)
class FormatRow:
    name: str          # the manifest's and the recipes' format (recipes.Format's value)
    suffix: str        # its files' suffix
    label: str         # how messages name it
    module: str        # its adapter's module (FormatAdapter)

    def adapter(self) -> FormatAdapter:
        return importlib.import_module(self.module)     # type: ignore[return-value]


FORMATS: dict[str, FormatRow] = {row.name: row for row in (
    FormatRow("tflite", ".tflite", "TFLite", "edgeseq.formats.tflite"),
    FormatRow("onnx", ".onnx", "ONNX", "edgeseq.formats.onnx"),
)}
EXPORT_SUFFIXES = tuple(row.suffix for row in FORMATS.values())


def _expected() -> str:
    return " or ".join(row.suffix for row in FORMATS.values())


def find(path_or_suffix: str | Path) -> FormatRow | None:
    """The row of a file (or a suffix such as ".onnx"), or None for a file of no export format."""
    text = str(path_or_suffix)
    suffix = text if text.startswith(".") and "/" not in text and text.count(".") == 1 else Path(text).suffix
    return next((row for row in FORMATS.values() if row.suffix == suffix), None)


def by_suffix(path_or_suffix: str | Path) -> FormatRow:
    """The row of a file (or a suffix); any other file is one line naming the suffixes edgeseq reads."""
    row = find(path_or_suffix)
    if row is None:
        raise ModelError(f"{path_or_suffix}: unknown file type (expected {_expected()})")
    return row


def by_name(fmt: Any) -> FormatRow:
    """The row of a format name ("onnx", or recipes.Format.ONNX)."""
    name = getattr(fmt, "value", fmt)
    if name not in FORMATS:
        raise ModelError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    return FORMATS[name]
