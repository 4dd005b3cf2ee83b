"""`edgeseq pack FILE --target tflm --out DIR`: a C/C++ bundle an embedded developer drops into a TensorFlow Lite
Micro project, for one exported .tflite that TFLM loads.

    DIR/model_data.h, model_data.cc       the file as an `alignas(16) const unsigned char` array, and its length
    DIR/model_settings.h                  the arena size (TFLM's, measured here, plus a stated margin), T, F, K, each
                                          input's and output's type and quantization in the file's order, a step
                                          model's state order, the normalisation, the labels (C and C++)
    DIR/op_resolver.h                     a MicroMutableOpResolver<N> adding exactly the file's ops (tflm_ops.py)
    DIR/golden_vectors.h, .cc             the golden vectors (edgeseq.appkit.vectors) as C arrays, and the rule
    DIR/main.cc                           builds the interpreter, runs every vector (a step model row by row, the
                                          state fed back) and prints PASS/FAIL per vector
    DIR/manifest.json                     the file's manifest
    DIR/README.md                         what is where, the figures, how to build it with TFLM

What is measured, not assumed: the arena (edgeseq.runtimes.tflm_runtime.footprint: bisected on TFLM's Python
interpreter, in a child process), and the vectors themselves run through TFLM's kernels on this host, one invoke
per row or sequence as main.cc does (`host_check`); a vector TFLM gets wrong here is a warning. A file TFLM cannot
load is refused in one line naming the op (TFLM's own refusal), before anything is written. TFLM's C++ sources are
not on any package registry (the tflite-micro wheel is its Python interpreter), so the firmware itself is not built
here: the parts that need no TFLM are compiled for Cortex-M4 by the tests. The folder is written whole or not at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeseq.appkit import tflm_code
from edgeseq.appkit.pack import checked_vectors, labels_of, packable
from edgeseq.appkit.spec import STEP, AppSpec
from edgeseq.appkit.tflm_ops import TFLM_SOURCE, resolver_methods
from edgeseq.appkit.vectors import Vectors
from edgeseq.core.errors import ModelError
from edgeseq.core.fileio import atomic_folder, check_new_folder, json_bytes
from edgeseq.core.layout import shown

ALIGNMENT = 16
# The margin added to the arena measured here, and why: the measurement is TFLM's reference kernels on a 64-bit
# host. A device build differs: optimized kernels (CMSIS-NN on Cortex-M) ask for scratch buffers the reference
# kernels do not, and another TFLM version may plan the arena differently. (32-bit pointers make TFLM's own structs
# smaller on the device, which the margin does not count on.) The device's figure: main.cc prints
# interpreter.arena_used_bytes().
ARENA_MARGIN_FRACTION = 0.25
ARENA_MARGIN_MIN_BYTES = 1024
ETHOS_U_OP = "CUSTOM:ethos-u"


@dataclass(frozen=True)
class TflmBundle:
    out: Path
    file: str
    kind: str                                   # sequence | step
    files: tuple[str, ...]
    ops: dict[str, int]
    resolver: dict[str, str]                    # op -> MicroMutableOpResolver method
    arena_measured_bytes: int
    arena_margin_bytes: int
    arena_bytes: int                            # kTensorArenaSize: measured + margin, rounded to 16
    model_bytes: int
    model_flash_bytes: int                      # the array, rounded to 16
    vectors: int
    max_abs_diff: float | None
    host_check: tuple[dict[str, Any], ...]      # each vector run through TFLM on this host
    library: str                                # tflite-micro <version> that measured the arena
    spec: AppSpec = field(repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def host_passed(self) -> int:
        return sum(bool(v["passed"]) for v in self.host_check)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "spec"}
        return data | {"out": str(self.out), "files": list(self.files), "host_check": list(self.host_check),
                       "warnings": list(self.warnings), "target": "tflm", "tensors": self.spec.to_dict()}


def arena_margin(measured: int) -> int:
    margin = max(ARENA_MARGIN_MIN_BYTES, int(np.ceil(measured * ARENA_MARGIN_FRACTION)))
    return -(-margin // ALIGNMENT) * ALIGNMENT


def pack_tflm(path: Path, out: Path, verify: bool = True) -> TflmBundle:
    """Write the TFLM bundle of the exported .tflite `path` into the new (or empty) folder `out`."""
    from edgeseq.artifacts import read_facts  # noqa: PLC0415
    from edgeseq.runtimes.tflm_runtime import footprint  # noqa: PLC0415

    path, out = Path(path), Path(out)
    if path.suffix == ".onnx":
        raise ModelError(f"{shown(path.name)} is an ONNX file: TFLM runs TFLite flatbuffers (.tflite); pack this"
                         " model's .tflite export with --target tflm, or this file without it (an app bundle)")
    check_new_folder(out)
    manifest, spec = packable(path, verify)
    ops = dict(read_facts(path).ops)
    if ETHOS_U_OP in ops:
        raise ModelError(f"{shown(path.name)} was compiled by Vela for an Ethos-U NPU (an ethos-u custom op): TFLM on"
                         " this host has no NPU to run or measure it; pack its source .tflite")
    resolver = resolver_methods(ops, shown(path.name))
    tflm_code.check_types(spec)
    measured = footprint(path)                  # TFLM's refusal of the file: one line naming the op
    vectors = checked_vectors(path, manifest, spec)
    host = host_check(path, vectors)
    model = path.read_bytes()
    margin = arena_margin(measured.arena_bytes)
    arena = {"measured": measured.arena_bytes, "margin": margin,
             "measured_how": f"TFLM's smallest arena for this file, measured by edgeseq: arena_size bisected to the"
                             f" byte until AllocateTensors() and Invoke() succeed ({measured.library}, reference"
                             f" kernels, built for {measured.host})",
             "margin_why": f"max({ARENA_MARGIN_MIN_BYTES} bytes, {ARENA_MARGIN_FRACTION:.0%} of it), rounded up to"
                           f" {ALIGNMENT}: on a device, optimized kernels (CMSIS-NN) may ask for scratch buffers the"
                           " reference kernels do not, and another TFLM version may plan the arena differently."
                           " main.cc prints the arena the device really uses (arena_used_bytes)"}
    labels = labels_of(manifest, spec.classes)
    data_h, data_cc = tflm_code.model_data(spec.file, model)
    golden_h, golden_cc = tflm_code.golden_vectors(spec, vectors)
    warnings = [f"on this host, TFLM fails golden vector {v['vector']} (class {v['class']}, expected"
                f" {v['expected_class']}, max |diff| {v['max_abs_diff']:.3g})" for v in host if not v["passed"]]
    texts = {"model_data.h": data_h, "model_data.cc": data_cc,
             "model_settings.h": tflm_code.model_settings(spec, manifest, arena, labels),
             "op_resolver.h": tflm_code.op_resolver(spec.file, resolver, ops),
             "golden_vectors.h": golden_h, "golden_vectors.cc": golden_cc, "main.cc": tflm_code.main_cc(spec),
             "manifest.json": json_bytes(manifest.to_dict()).decode("utf-8")}
    bundle = TflmBundle(out, spec.file, spec.kind, tuple(["README.md", *texts]), ops, resolver, measured.arena_bytes,
                        margin, -(-(measured.arena_bytes + margin) // ALIGNMENT) * ALIGNMENT, len(model),
                        measured.flash_bytes, len(vectors.labels), vectors.max_abs_diff, tuple(host),
                        measured.library, spec, tuple(warnings))
    texts["README.md"] = readme(bundle, manifest, vectors)
    with atomic_folder(out) as tmp:
        for name, text in texts.items():
            (tmp / name).write_text(text, encoding="utf-8")
    return bundle


def host_check(path: Path, vectors: Vectors) -> list[dict[str, Any]]:
    """Each golden vector run through TFLM's kernels on this host (a child process), judged by the rule main.cc
    applies: the class, and each probability within max_abs_diff where the recipe has one."""
    from edgeseq.runtimes import RuntimeName  # noqa: PLC0415
    from edgeseq.runtimes.guard import Evaluator  # noqa: PLC0415

    with Evaluator(np.asarray(vectors.inputs, np.float32)) as evaluator:
        got = evaluator.run(path, RuntimeName.TFLM).probabilities
    tol, rows = vectors.max_abs_diff, []
    for k, (p, want) in enumerate(zip(got, vectors.expected)):
        worst, best, expected = float(np.abs(p - want).max()), int(np.argmax(p)), int(np.argmax(want))
        rows.append({"vector": k, "label": int(vectors.labels[k]), "class": best, "expected_class": expected,
                     "max_abs_diff": worst, "passed": best == expected and (tol is None or worst <= tol)})
    return rows


def readme(bundle: TflmBundle, manifest: Any, vectors: Vectors) -> str:
    spec, tol = bundle.spec, vectors.max_abs_diff
    step = spec.kind == STEP
    rows = [f"| {role} {t.index} | `{t.name}` | {list(t.app_shape)} | {t.dtype} |"
            f" {f'scale {t.scale:g}, zero point {t.zero_point}' if t.quantized else ''} |"
            for role, tensors in (("input", spec.inputs), ("output", spec.outputs)) for t in tensors]
    how = (f"a step model: one row `[1, {spec.features}]` and the state per `Invoke()`; every sequence starts from"
           " zero state, and each output state is fed back unchanged as the next row's input state ("
           + ", ".join(f"`{o.name}` → `{i.name}`" for i, o in spec.states) + ")") if step else \
        f"one whole sequence `[1, {spec.timesteps}, {spec.features}]` per `Invoke()`" + \
        ("; its fused recurrent op keeps state in variable tensors, so main.cc calls `interpreter.Reset()` before"
         " every sequence" if spec.stateful else "")
    host = f"{bundle.host_passed} of {len(bundle.host_check)}"
    rule = (f"the class equals the expected class and every probability is within {tol:g} of the reference's"
            if tol is not None else "the class equals the expected class; this recipe is judged on accuracy over"
            " many samples, by `edgeseq validate`")
    lines = [
        f"# {spec.file} for TensorFlow Lite Micro", "",
        f"Packed by `edgeseq pack --target tflm`: {how}.", "",
        "| file | what |", "|---|---|",
        f"| `model_data.h`, `model_data.cc` | the model, {bundle.model_bytes:,} bytes, as `alignas(16) const unsigned"
        f" char g_model_data[]` and `g_model_data_len` ({bundle.model_flash_bytes:,} bytes of flash, 16-aligned) |",
        "| `model_settings.h` | arena size, T, F, K, every tensor's type and quantization in the file's order, the"
        " state order (step models), the normalisation (`EdgeseqNormalise`), the labels; C and C++ |",
        f"| `op_resolver.h` | `MicroMutableOpResolver<{len(bundle.resolver)}>` adding exactly the file's ops:"
        f" {', '.join(f'`{m}`' for m in bundle.resolver.values())} |",
        f"| `golden_vectors.h`, `.cc` | {bundle.vectors} golden vectors, one per class, among {vectors.source}:"
        " normalised inputs, the reference model's probabilities, the expected class |",
        "| `main.cc` | builds the interpreter, runs every vector, prints PASS/FAIL per vector; exit 0 when all pass |",
        "| `manifest.json` | the file's manifest (what it is, where it came from) |", "",
        "## Figures", "",
        f"- **Tensor arena**: `EDGESEQ_TENSOR_ARENA_SIZE` = {bundle.arena_bytes:,} bytes:"
        f" {bundle.arena_measured_bytes:,} measured ({bundle.library}: TFLM's reference kernels on this host,"
        " arena_size bisected to the byte) +"
        f" {bundle.arena_margin_bytes:,} margin (max({ARENA_MARGIN_MIN_BYTES} bytes,"
        f" {ARENA_MARGIN_FRACTION:.0%}): CMSIS-NN kernels may ask for scratch buffers the reference kernels do not)."
        " main.cc prints what the device uses.",
        f"- **Golden vectors on TFLM here**: {host} pass. The rule: {rule}. main.cc applies it on the device.",
        f"- **Input**: {manifest.normalisation.get('input', '')}; {manifest.normalisation.get('layout', '')}."
        " Integer input tensors are quantized `q = round(x / scale) + zero_point`.", "",
        "Tensors, in the file's order (`interpreter.input(k)`, `interpreter.output(k)`):", "",
        "| | name | shape | dtype | quantization |", "|---|---|---|---|---|", *rows, "",
        "## Building it", "",
        "TFLM's C++ sources are on none of the registries edgeseq installs from (PyPI, npm, Debian's archive; the"
        " `tflite-micro` wheel is its Python interpreter, with no headers or sources), so edgeseq does not build"
        " this firmware: its tests compile"
        " `model_data.cc`, `golden_vectors.cc` and `model_settings.h` for a Cortex-M4 (`arm-none-eabi-gcc"
        " -mcpu=cortex-m4 -mthumb -c`), which need no TFLM. To build and run the whole test:", "",
        "1. `git clone https://github.com/tensorflow/tflite-micro` and build its library for your target, e.g."
        " `make -f tensorflow/lite/micro/tools/make/Makefile TARGET=cortex_m_generic TARGET_ARCH=cortex-m4"
        " OPTIMIZED_KERNEL_DIR=cmsis_nn microlite` (or with no TARGET, for this machine, to try it here first).",
        "2. Compile `main.cc`, `model_data.cc` and `golden_vectors.cc` with the flags the library was built with"
        " (at least `-std=c++17 -DTF_LITE_STATIC_MEMORY`: it changes the layout of `TfLiteTensor`) and TFLM's"
        " include paths (the repository's root, and `tensorflow/lite/micro/tools/make/downloads/` with its"
        " `flatbuffers/include` and `gemmlowp`), and link them with the library the make step wrote"
        " (`libtensorflow-microlite.a`).",
        "3. Run it on the device (or here): it prints the arena it used and PASS or FAIL per vector.", "",
        "In your own firmware, keep `model_data.*`, `model_settings.h` and `op_resolver.h`, and call what main.cc's"
        " `Classify()` does on your own rows after `EdgeseqNormalise`.",
        f"The op resolver's method names were read from {TFLM_SOURCE}.", ""]
    if bundle.warnings:
        lines += ["## Notes", "", *(f"- {w}" for w in bundle.warnings), ""]
    lines += ["Files:", "", *(f"- `{f}`" for f in bundle.files), ""]
    return "\n".join(lines)
