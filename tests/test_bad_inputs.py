"""Every command on every relevant bad input: a non-zero exit, one 'Error...' line last on stderr, no
traceback, and no new or changed file anywhere in the test's folder (inputs, outputs and the current folder).
Each case runs in this process (Click's CliRunner: no interpreter to start per case); the first case of each
command also runs as a user runs it, `python -m edgeseq` in a subprocess.

Inputs are built from the committed models (models/), so no case waits for training or export. Each case
is (id, builder, arguments); a builder writes the bad input into IN, arguments name IN, OUT and REF (a
valid fp32 ONNX reference, so that validate reaches the file itself without importing TensorFlow).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from conftest import REPO, invoke_cli, run_cli
from test_data import idx_bytes, write_idx_folder

MODELS = REPO / "models" / "rnn"
FAST = ("--warmup", "0", "--min-runs", "5", "--min-seconds", "0")


# --- bad inputs --------------------------------------------------------------------------------------

def copy_model(folder: Path, name: str, manifest: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MODELS / name, folder / name)
    if manifest:
        shutil.copy(MODELS / f"{name}.json", folder / f"{name}.json")
    return folder / name


def crashing_tflite(source: Path, target: Path) -> Path:
    """A flatbuffer that passes every structural check but makes the TFLite runtime crash (SIGSEGV): the
    first FULLY_CONNECTED takes its weights from the 'optional tensor' marker -1."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(source.read_bytes(), 0))
    code = next(i for i, c in enumerate(model.operatorCodes)
                if max(c.builtinCode, c.deprecatedBuiltinCode) == schema.BuiltinOperator.FULLY_CONNECTED)
    op = next(op for op in model.subgraphs[0].operators if op.opcodeIndex == code)
    op.inputs = [int(i) for i in op.inputs]
    op.inputs[1] = -1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(bytes(builder.Output()))
    return target


# The crashing file reads tensor index -1: undefined behaviour. In the child that runs it, it ends in SIGSEGV
# most times, and otherwise the interpreter refuses it; either is one clean line, which is what is tested.
REFUSED = "the TFLite interpreter cannot run it (Tensor at index 1 was optional but was expected)"
CRASHED_OR_REFUSED = ("crashed running it (SIGSEGV)", REFUSED)
CRASHED_OR_REFUSED_BENCH = ("crashed the process (SIGSEGV)", REFUSED)


def nothing(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)


def regular_file(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "file").write_text("not a folder")


def idx(**override: bytes) -> Callable[[Path], None]:
    return lambda d: write_idx_folder(d / "data", **override) and None


def idx_corrupt_gzip(d: Path) -> None:
    folder = write_idx_folder(d / "data")
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])


def idx_missing_file(d: Path) -> None:
    write_idx_folder(d / "data")
    (d / "data" / "t10k-labels-idx1-ubyte.gz").unlink()


def npz(**arrays: np.ndarray) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        good = {"x_train": rng.integers(0, 256, (8, 28, 28)).astype(np.uint8), "y_train": np.arange(8) % 10,
                "x_test": rng.integers(0, 256, (4, 28, 28)).astype(np.uint8), "y_test": np.arange(4)}
        np.savez(d / "mnist.npz", **(good | arrays))
    return build


def sequences(nan: bool = False, **arrays: np.ndarray) -> Callable[[Path], None]:
    """A labelled sequence set (8 + 4 sequences of 5 steps x 3 features, string labels), with `arrays` replaced."""
    def build(d: Path) -> None:
        d.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        x_train = rng.normal(size=(8, 5, 3))
        if nan:
            x_train[2, 3, 1] = np.nan
        good = {"x_train": x_train, "y_train": np.array(["a", "b", "c", "a"] * 2),
                "x_test": rng.normal(size=(4, 5, 3)), "y_test": np.array(["a", "b", "c", "a"])}
        np.savez(d / "seq.npz", **(good | arrays))
    return build


def ts_train_only(d: Path) -> None:
    """A UEA .ts training split without its test split beside it."""
    d.mkdir(parents=True, exist_ok=True)
    rows = "\n".join(f"{i}.0,{i + 1}.0,{i + 2}.0:{'a' if i % 2 else 'b'}" for i in range(6))
    (d / "Toy_TRAIN.ts").write_text("@problemName Toy\n@timeStamps false\n@missing false\n@univariate true\n"
                                    "@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n" + rows + "\n")


def npz_bytes(cut: bool) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        npz()(d)
        raw = (d / "mnist.npz").read_bytes()
        (d / "mnist.npz").write_bytes(raw[: len(raw) // 2] if cut else b"PK\x03\x04" + bytes(range(256)) * 4)
    return build


def nan_pixels() -> np.ndarray:
    pixels = np.zeros((8, 28, 28), np.float32)
    pixels[3, 5, 5] = np.nan
    return pixels


def keras(kind: str) -> Callable[[Path], None]:
    """IN/models/rnn/rnn.keras, damaged in one way."""
    def build(d: Path) -> None:
        path = copy_model(d / "models" / "rnn", "rnn.keras")
        raw = path.read_bytes()
        if kind == "truncated":
            path.write_bytes(raw[: len(raw) // 2])
        elif kind == "random":
            path.write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)))
        elif kind == "not-a-zip":
            path.write_bytes(b"PK\x03\x04 not really a zip")
        elif kind == "crc":  # bytes of the weights changed inside an intact archive
            with zipfile.ZipFile(path) as archive:
                info = archive.getinfo("model.weights.h5")
                start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            damaged = bytearray(raw)
            damaged[start + info.compress_size // 2] ^= 0xFF
            path.write_bytes(bytes(damaged))
        elif kind == "no-weights":
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("config.json", "{}")
    return build


def artifact(name: str, kind: str) -> Callable[[Path], None]:
    """IN/rnn/NAME (a committed file), damaged in one way; REF is a valid fp32 ONNX reference."""
    def build(d: Path) -> None:
        copy_model(d / "ref", "rnn-fp32.onnx")
        path = copy_model(d / "rnn", name, manifest=kind in ("manifest-not-json", "sha256-mismatch", "manifest-list",
                                                             "manifest-wrong-type", "crash-no-verify"))
        raw = path.read_bytes()
        manifest = path.with_name(path.name + ".json")
        if kind == "random":
            path.write_bytes(raw[:8] + bytes(np.random.default_rng(2).integers(0, 256, 2048, dtype=np.uint8)))
        elif kind == "truncated":
            path.write_bytes(raw[: len(raw) * 6 // 10])
        elif kind == "empty":
            path.write_bytes(b"")
        elif kind == "crash":
            crashing_tflite(MODELS / name, path)
        elif kind == "crash-no-verify":
            crashing_tflite(MODELS / name, path)
        elif kind == "manifest-not-json":
            manifest.write_text('{"sha256": "abc",')
        elif kind == "manifest-list":
            manifest.write_text("[]")
        elif kind == "manifest-wrong-type":
            manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"recipe": ["fp32"]}))
        elif kind == "sha256-mismatch":
            path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))  # one bit: same size, another hash
        else:
            raise ValueError(kind)
    return build


def wrong_suffix(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "notes.txt").write_text("hello")


def results(kind: str) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        folder = d / "results"
        shutil.copytree(REPO / "tests" / "golden" / "report_results", folder)
        if kind == "not-json":
            (folder / "train.json").write_text("[{")
        elif kind == "object":
            (folder / "bench.json").write_text("{}")
        elif kind == "missing-keys":
            (folder / "validate.json").write_text(json.dumps([{"path": "x.tflite"}]))
        elif kind == "missing-file":
            (folder / "export.json").unlink()
        elif kind == "empty":
            for path in folder.iterdir():
                path.unlink() if path.is_file() else shutil.rmtree(path)
    return build


def valid_files(d: Path) -> None:
    copy_model(d / "rnn", "rnn-fp32.tflite")
    regular_file(d)


# --- the corpus: (id, builder, arguments) ----------------------------------------------------------------

DATA_CASES = [
    ("missing-data", nothing, ["--data", "{in}/nowhere"], "not found"),
    ("empty-data-folder", nothing, ["--data", "{in}"], "has no train-images"),
    ("wrong-magic-idx", idx(x_train=b"\x00\x00\x08\x01" + b"\x00" * 20), ["--data", "{in}/data"], "wrong magic"),
    ("truncated-idx", idx(y_test=idx_bytes(np.arange(10) % 10)[:-3]), ["--data", "{in}/data"], "truncated"),
    ("inconsistent-dims-idx", idx(x_test=idx_bytes(np.zeros((10, 28, 27)))), ["--data", "{in}/data"], "28x28"),
    ("labels-out-of-range-idx", idx(y_train=idx_bytes(np.full(20, 12))), ["--data", "{in}/data"], "out of range"),
    ("count-mismatch-idx", idx(y_train=idx_bytes(np.zeros(19))), ["--data", "{in}/data"], "19 labels"),
    ("corrupt-gzip-idx", idx_corrupt_gzip, ["--data", "{in}/data"], "corrupt or truncated gzip"),
    ("missing-idx-file", idx_missing_file, ["--data", "{in}/data"], "t10k-labels"),
    ("corrupt-npz", npz_bytes(cut=False), ["--data", "{in}/mnist.npz"], "cannot read"),
    ("truncated-npz", npz_bytes(cut=True), ["--data", "{in}/mnist.npz"], "cannot read"),
    ("nan-pixels-npz", npz(x_train=nan_pixels()), ["--data", "{in}/mnist.npz"], "NaN"),
    ("pickled-npz", npz(y_test=np.array([{"a": 1}] * 4, dtype=object)), ["--data", "{in}/mnist.npz"],
     "never loads pickles"),
    ("missing-arrays-npz", lambda d: nothing(d) or np.savez(d / "mnist.npz", x_train=np.zeros((1, 28, 28))),
     ["--data", "{in}/mnist.npz"], "lacks the arrays"),
    # your own sequences (issue 21): a labelled sequence set, (N, T, F) floats
    ("nan-in-a-sequence", sequences(nan=True), ["--data", "{in}/seq.npz"], "NaN or infinite"),
    ("test-label-unseen", sequences(y_test=np.array(["a", "b", "c", "z"])), ["--data", "{in}/seq.npz"],
     "not seen in the training split"),
    ("single-class", sequences(y_train=np.array(["a"] * 8), y_test=np.array(["a"] * 4)), ["--data", "{in}/seq.npz"],
     "single class"),
    ("lengths-beyond-t", sequences(lengths_train=np.full(8, 7), lengths_test=np.full(4, 5)),
     ["--data", "{in}/seq.npz"], "within 1..T=5"),
    ("ragged-sequences", sequences(x_train=np.array([np.zeros((5, 3)), np.zeros((4, 3))] * 4, dtype=object)),
     ["--data", "{in}/seq.npz"], "never loads pickles"),
    ("zero-features", sequences(x_train=np.zeros((8, 5, 0)), x_test=np.zeros((4, 5, 0))), ["--data", "{in}/seq.npz"],
     "T and F"),
    ("ts-missing-split", ts_train_only, ["--data", "{in}/Toy_TRAIN.ts"], "Toy_TEST.ts"),
]

CASES: list[tuple[str, Callable[[Path], None], list[str], str]] = [
    # train: data problems come before TensorFlow is imported
    *[(f"train-{name}", build, ["train", "--out", "{out}/models", *args], expect)
      for name, build, args, expect in DATA_CASES],
    ("train-out-is-a-file", regular_file, ["train", "--out", "{in}/file"], "not a folder"),
    ("train-out-under-a-file", regular_file, ["train", "--out", "{in}/file/models"], "not a folder"),
    ("train-unknown-model", nothing, ["train", "--model", "gru", "--out", "{out}"], "unknown model 'gru'"),
    ("train-zero-epochs", nothing, ["train", "--epochs", "0", "--out", "{out}"], "positive"),
    ("train-negative-batch", nothing, ["train", "--batch-size", "-1", "--out", "{out}"], "positive"),
    ("train-zero-limit", nothing, ["train", "--limit-train", "0", "--out", "{out}"], "positive"),
    ("train-unknown-option", nothing, ["train", "--bogus"], "No such option"),

    # export: sources, options and calibration data are checked before any conversion
    ("export-missing-from", nothing, ["export", "--from", "{in}/nowhere", "--out", "{out}"], "no trained"),
    ("export-empty-from", nothing, ["export", "--from", "{in}", "--out", "{out}"], "no trained"),
    *[(f"export-{kind}-keras", keras(kind), ["export", "--model", "rnn", "--format", "tflite", "--quant", "fp32",
                                              "--from", "{in}/models", "--out", "{out}"], "rnn.keras")
      for kind in ("truncated", "random", "not-a-zip", "crc", "no-weights")],
    ("export-out-is-a-file", lambda d: keras("crc")(d) or regular_file(d),
     ["export", "--model", "rnn", "--from", "{in}/models", "--out", "{in}/file"], "not a folder"),
    ("export-unknown-model", nothing, ["export", "--model", "gru", "--out", "{out}"], "unknown model 'gru'"),
    ("export-unknown-format", nothing, ["export", "--format", "coreml", "--out", "{out}"], "'coreml' is not one of"),
    ("export-app-onnx-only", nothing, ["export", "--app", "--format", "onnx", "--out", "{out}"],
     "writes .tflite files only"),
    ("export-app-fused", nothing, ["export", "--app", "--graph", "fused", "--out", "{out}"], "not app-ready"),
    ("export-app-graph-auto", nothing, ["export", "--app", "--graph", "auto", "--out", "{out}"], "does not go with"),
    ("export-unknown-recipe", nothing, ["export", "--quant", "int4", "--out", "{out}"], "unknown recipe 'int4'"),
    ("export-recipe-of-another-format", nothing, ["export", "--format", "tflite", "--quant", "static", "--out", "{out}"],
     "tflite: fp32, fp16"),
    ("export-graph-conflict", nothing, ["export", "--model", "rnn", "--graph", "fused", "--out", "{out}"],
     "valid for the chosen models and recipes: loop, unrolled"),
    ("export-unknown-graph", nothing, ["export", "--graph", "spiral", "--out", "{out}"], "'spiral' is not one of"),
    ("export-zero-calibration", nothing, ["export", "--calibration-size", "0", "--out", "{out}"], "positive"),
    *[(f"export-calibration-{name}", lambda d, b=build: keras("crc")(d) or b(d),
       ["export", "--model", "rnn", "--format", "tflite", "--quant", "int8", "--from", "{in}/models",
        "--out", "{out}", *args], expect)
      for name, build, args, expect in DATA_CASES if name in ("wrong-magic-idx", "nan-pixels-npz", "missing-data")],
    ("export-unknown-option", nothing, ["export", "--bogus"], "No such option"),

    # validate: integrity before use; TFLite and ONNX run in a child process
    ("validate-missing-path", nothing, ["validate", "{in}/nowhere"], "not found"),
    ("validate-empty-folder", nothing, ["validate", "{in}"], "no .tflite or .onnx files"),
    ("validate-wrong-file-type", wrong_suffix, ["validate", "{in}/notes.txt"], "not a .tflite or .onnx file"),
    *[(f"validate-{kind}-{name.split('.')[-1]}", artifact(name, kind),
       ["validate", "{in}/rnn/" + name, "--reference", "{ref}", "--limit", "20", *extra], expect)
      for name, kind, extra, expect in [
          ("rnn-fp32.tflite", "random", [], "rnn-fp32.tflite"),
          ("rnn-fp32.tflite", "truncated", [], "corrupt or truncated"),
          ("rnn-fp32.tflite", "empty", [], "not a TFLite flatbuffer"),
          ("rnn-fp32.tflite", "crash", [], CRASHED_OR_REFUSED),
          ("rnn-fp32.tflite", "crash-no-verify", ["--no-verify"], CRASHED_OR_REFUSED),
          ("rnn-fp32.tflite", "manifest-not-json", [], "not valid JSON"),
          ("rnn-fp32.tflite", "manifest-list", [], "not a JSON object"),
          ("rnn-fp32.tflite", "manifest-wrong-type", [], "recipe is a JSON list"),
          ("rnn-fp32.tflite", "sha256-mismatch", [], "does not match its manifest"),
          ("rnn-fp32.onnx", "random", [], "rnn-fp32.onnx"),
          ("rnn-fp32.onnx", "truncated", [], "rnn-fp32.onnx"),
          ("rnn-fp32.onnx", "sha256-mismatch", [], "does not match its manifest"),
          ("rnn-fp32.onnx", "manifest-not-json", [], "not valid JSON"),
      ]],
    ("validate-corrupt-reference",
     lambda d: artifact("rnn-fp32.onnx", "random")(d) or copy_model(d / "ok", "rnn-int8.tflite"),
     ["validate", "{in}/ok/rnn-int8.tflite", "--reference", "{in}/rnn/rnn-fp32.onnx", "--limit", "20"],
     "rnn-fp32.onnx"),
    ("validate-missing-reference", valid_files, ["validate", "{in}/rnn", "--reference", "{in}/nowhere.onnx"],
     "does not exist"),
    ("validate-bad-data", lambda d: valid_files(d) or idx(x_train=b"\x00\x00\x08\x01")(d),
     ["validate", "{in}/rnn", "--data", "{in}/data"], "wrong magic"),
    ("validate-unknown-runtime", valid_files, ["validate", "{in}/rnn", "--runtime", "tensorrt"], "choose from"),
    ("validate-zero-threads", valid_files, ["validate", "{in}/rnn", "--threads", "0"], "positive"),
    ("validate-zero-limit", valid_files, ["validate", "{in}/rnn", "--limit", "0"], "positive"),
    ("validate-unknown-backend", valid_files, ["validate", "{in}/rnn", "--tflite-backend", "gpu"],
     "'gpu' is not one of"),
    ("validate-unknown-option", valid_files, ["validate", "{in}/rnn", "--bogus"], "No such option"),
    ("validate-junit-xml-wrong-suffix", valid_files, ["validate", "{in}/rnn", "--junit-xml", "{out}/parity.junit"],
     "does not end in .xml"),
    ("validate-junit-xml-is-a-folder", valid_files, ["validate", "{in}/rnn", "--junit-xml", "{out}"], "is a directory"),
    ("validate-junit-xml-under-a-file", valid_files, ["validate", "{in}/rnn", "--junit-xml", "{in}/file/parity.xml"],
     "not a folder"),

    # bench: a file that cannot be measured is a failed row; nothing measured is an error
    ("bench-missing-path", nothing, ["bench", "{in}/nowhere"], "not found"),
    ("bench-empty-folder", nothing, ["bench", "{in}"], "no .tflite or .onnx or .keras files"),
    ("bench-wrong-file-type", wrong_suffix, ["bench", "{in}/notes.txt"], "not a .tflite or .onnx or .keras file"),
    *[(f"bench-{kind}-{name.split('.')[-1]}", artifact(name, kind), ["bench", "{in}/rnn/" + name, *FAST, *extra],
       expect)
      for name, kind, extra, expect in [
          ("rnn-fp32.tflite", "random", [], "nothing could be measured"),
          ("rnn-fp32.tflite", "truncated", [], "corrupt or truncated"),
          ("rnn-fp32.tflite", "crash", [], CRASHED_OR_REFUSED_BENCH),
          ("rnn-fp32.tflite", "crash-no-verify", ["--no-verify"], CRASHED_OR_REFUSED_BENCH),
          ("rnn-fp32.tflite", "manifest-not-json", [], "not valid JSON"),
          ("rnn-fp32.tflite", "sha256-mismatch", [], "does not match its manifest"),
          ("rnn-fp32.onnx", "random", [], "rnn-fp32.onnx"),
          ("rnn-fp32.onnx", "truncated", [], "rnn-fp32.onnx"),
          ("rnn-fp32.onnx", "manifest-list", [], "not a JSON object"),
      ]],
    *[(f"bench-{kind}-keras", keras(kind), ["bench", "{in}/models/rnn/rnn.keras", *FAST], "rnn.keras")
      for kind in ("truncated", "random", "crc")],
    ("bench-csv-is-a-folder", valid_files, ["bench", "{in}/rnn", "--csv", "{in}", *FAST], "is a directory"),
    ("bench-csv-under-a-file", valid_files, ["bench", "{in}/rnn", "--csv", "{in}/file/bench.csv", *FAST],
     "not a folder"),
    ("bench-no-runtime-for-the-files", valid_files, ["bench", "{in}/rnn", "--runtime", "keras", *FAST],
     "nothing could be measured"),
    ("bench-unknown-runtime", valid_files, ["bench", "{in}/rnn", "--runtime", "tensorrt"], "choose from"),
    ("bench-zero-threads", valid_files, ["bench", "{in}/rnn", "--threads", "0"], "positive"),
    ("bench-zero-batch", valid_files, ["bench", "{in}/rnn", "--batch", "0"], "positive"),
    ("bench-batch-not-a-number", valid_files, ["bench", "{in}/rnn", "--batch", "a,b"], "integers"),
    ("bench-negative-warmup", valid_files, ["bench", "{in}/rnn", "--warmup", "-1"], "-1"),
    ("bench-zero-min-runs", valid_files, ["bench", "{in}/rnn", "--min-runs", "0"], "positive"),
    ("bench-unknown-option", valid_files, ["bench", "{in}/rnn", "--bogus"], "No such option"),

    # inspect: reads files without a runtime; integrity first
    ("inspect-missing-file", nothing, ["inspect", "{in}/nowhere.tflite"], "does not exist"),
    ("inspect-folder", nothing, ["inspect", "{in}"], "is a directory"),
    ("inspect-wrong-file-type", wrong_suffix, ["inspect", "{in}/notes.txt"], "unknown file type"),
    ("inspect-keras-file", keras("crc"), ["inspect", "{in}/models/rnn/rnn.keras"], "rnn.keras"),
    *[(f"inspect-{kind}-{name.split('.')[-1]}", artifact(name, kind), ["inspect", "{in}/rnn/" + name, *extra], expect)
      for name, kind, extra, expect in [
          ("rnn-fp32.tflite", "random", [], "corrupt or truncated"),
          ("rnn-fp32.tflite", "truncated", [], "corrupt or truncated"),
          ("rnn-fp32.tflite", "empty", [], "not a TFLite flatbuffer"),
          ("rnn-fp32.tflite", "manifest-not-json", [], "not valid JSON"),
          ("rnn-fp32.tflite", "manifest-wrong-type", [], "recipe is a JSON list"),
          ("rnn-fp32.tflite", "sha256-mismatch", [], "rnn-fp32.tflite does not match its manifest"),
          ("rnn-fp32.onnx", "random", [], "not a readable ONNX model"),
          ("rnn-fp32.onnx", "truncated", [], "rnn-fp32.onnx"),
          ("rnn-fp32.onnx", "sha256-mismatch", [], "does not match its manifest"),
          ("rnn-fp32.onnx", "manifest-list", [], "not a JSON object"),
      ]],
    ("inspect-unknown-option", nothing, ["inspect", "--bogus"], "No such option"),

    # pack: an exported file with its manifest and golden outputs, into a new or empty folder
    ("pack-missing-file", nothing, ["pack", "{in}/nowhere.onnx", "--out", "{in}/app"], "does not exist"),
    ("pack-wrong-file-type", wrong_suffix, ["pack", "{in}/notes.txt", "--out", "{in}/app"], "unknown file type"),
    ("pack-no-manifest", artifact("rnn-fp32.onnx", "truncated"), ["pack", "{in}/rnn/rnn-fp32.onnx", "--out",
                                                                  "{in}/app"], "has no manifest"),
    ("pack-sha256-mismatch", artifact("rnn-fp32.tflite", "sha256-mismatch"),
     ["pack", "{in}/rnn/rnn-fp32.tflite", "--out", "{in}/app"], "does not match its manifest"),
    ("pack-no-golden", valid_files, ["pack", "{in}/rnn/rnn-fp32.tflite", "--out", "{in}/app"],
     "golden outputs rnn.golden.npz not found"),
    ("pack-out-not-empty", valid_files, ["pack", "{in}/rnn/rnn-fp32.tflite", "--out", "{out}"], "is not empty"),
    ("pack-out-is-a-file", valid_files, ["pack", "{in}/rnn/rnn-fp32.tflite", "--out", "{in}/file"], "is a file"),

    # demo: step .onnx files
    ("demo-tflite", valid_files, ["demo", "{in}/rnn/rnn-fp32.tflite", "--out", "{in}/page"], "runs .onnx step models"),
    ("demo-bad-manifest", artifact("rnn-fp32.onnx", "manifest-list"),
     ["demo", "{in}/rnn/rnn-fp32.onnx", "--out", "{in}/page"], "not a JSON object"),
    ("demo-no-files", nothing, ["demo", "--out", "{in}/page"], "Missing argument"),

    # pack --target tflm: a .tflite TFLM loads (its refusal names the op), never an ONNX file
    ("pack-tflm-onnx", artifact("rnn-fp32.onnx", "sha256-mismatch"),
     ["pack", "{in}/rnn/rnn-fp32.onnx", "--target", "tflm", "--out", "{in}/mcu"], "is an ONNX file"),
    ("pack-tflm-refused-op", valid_files, ["pack", "{in}/rnn/rnn-fp32.tflite", "--target", "tflm", "--out", "{in}/mcu"],
     ("TFLM cannot run it: op FILL", "tflite_micro is not installed")),
    ("pack-unknown-target", valid_files, ["pack", "{in}/rnn/rnn-fp32.tflite", "--target", "zephyr", "--out", "{in}/x"],
     "'zephyr' is not one of 'app', 'tflm'"),

    # ethos: a .tflite Vela compiles, for an accelerator it knows
    ("ethos-onnx", artifact("rnn-fp32.onnx", "sha256-mismatch"), ["ethos", "{in}/rnn/rnn-fp32.onnx", "--out", "{out}"],
     "Vela compiles TFLite files (.tflite), not .onnx files"),
    ("ethos-not-a-flatbuffer", artifact("rnn-fp32.tflite", "random"),
     ["ethos", "{in}/rnn/rnn-fp32.tflite", "--out", "{out}"], "rnn-fp32.tflite"),
    ("ethos-unknown-accelerator", valid_files,
     ["ethos", "{in}/rnn/rnn-fp32.tflite", "--accelerator", "ethos-u99", "--out", "{out}"], "unknown accelerator"),
    ("ethos-out-under-a-file", valid_files, ["ethos", "{in}/rnn/rnn-fp32.tflite", "--out", "{in}/file/npu"],
     "is not a folder"),
    ("demo-out-not-empty", valid_files, ["demo", "{in}/rnn/rnn-fp32.tflite", "--out", "{out}"], "is not empty"),

    # quant-debug: a quantized file and a float reference of the same model
    ("quant-debug-missing-file", nothing, ["quant-debug", "{in}/nowhere.tflite"], "does not exist"),
    ("quant-debug-float-file", valid_files, ["quant-debug", "{in}/rnn/rnn-fp32.tflite"], "nothing to debug"),
    ("quant-debug-no-reference", lambda d: copy_model(d / "rnn", "rnn-int8.tflite") and None,
     ["quant-debug", "{in}/rnn/rnn-int8.tflite"], "pass --reference"),
    ("quant-debug-other-model", lambda d: copy_model(d / "rnn", "rnn-int8.tflite") and None,
     ["quant-debug", "{in}/rnn/rnn-int8.tflite", "--reference", str(REPO / "models" / "lstm" / "lstm-fp32.tflite")], "the lstm model"),
    ("quant-debug-corrupt-reference", lambda d: artifact("rnn-fp32.tflite", "random")(d)
     or copy_model(d / "rnn", "rnn-int8.tflite") and None,
     ["quant-debug", "{in}/rnn/rnn-int8.tflite"], "rnn-fp32.tflite"),
    ("quant-debug-zero-limit", nothing, ["quant-debug", str(MODELS / "rnn-int8.tflite"), "--limit", "0"], "positive"),
    ("quant-debug-unknown-option", nothing, ["quant-debug", "--bogus"], "No such option"),
    ("quant-debug-step-model", nothing, ["quant-debug", str(MODELS / "rnn-dynamic-step.tflite")], "edgeseq drift"),
    # drift: a step model and its fp32 reference, row by row
    ("drift-missing-file", nothing, ["drift", "{in}/nowhere.tflite"], "file not found"),
    ("drift-whole-sequence-without-step-twin", lambda d: copy_model(d / "rnn", "rnn-int8.tflite") and None,
     ["drift", "{in}/rnn/rnn-int8.tflite"], "edgeseq export --graph step"),
    ("drift-corrupt-step-model", artifact("rnn-dynamic-step.tflite", "random"),
     ["drift", "{in}/rnn/rnn-dynamic-step.tflite"], "corrupt"),
    ("drift-other-model-reference", nothing,
     ["drift", str(MODELS / "rnn-dynamic-step.tflite"), "--reference",
      str(REPO / "models" / "lstm" / "lstm-fp32-step.tflite")], "not the same model"),
    ("drift-no-reference", lambda d: copy_model(d / "rnn", "rnn-dynamic-step.tflite") and None,
     ["drift", "{in}/rnn/rnn-dynamic-step.tflite"], "pass --reference"),
    ("drift-zero-limit", nothing, ["drift", str(MODELS / "rnn-dynamic-step.tflite"), "--limit", "0"], "positive"),
    ("drift-unknown-option", nothing, ["drift", "--bogus"], "No such option"),
    # sweep: a grid of variants (nothing is trained: every case fails before)
    ("sweep-unknown-variant", nothing, ["sweep", "--variants", "rnn,lstm-7x9-soft", "--out", "{in}/out"],
     "expected <cell>-<units>x<layers>-<activation>"),
    ("sweep-unknown-recipe", nothing, ["sweep", "--quant", "int4", "--out", "{in}/out"], "unknown recipe 'int4'"),
    ("sweep-zero-workers", nothing, ["sweep", "--workers", "0", "--out", "{in}/out"], "positive"),
    ("sweep-accuracy-in-percent", nothing, ["sweep", "--min-accuracy", "97", "--out", "{in}/out"], "0<x<=1"),
    ("sweep-missing-data", nothing, ["sweep", "--data", "{in}/nowhere", "--out", "{in}/out"], "data path not found"),
    ("sweep-unknown-option", nothing, ["sweep", "--bogus"], "No such option"),

    # report: inputs are checked row by row, the output folder before anything is computed
    ("report-missing-folder", nothing, ["report", "{in}/nowhere", "--out", "{out}"], "results folder not found"),
    ("report-empty-folder", results("empty"), ["report", "{in}/results", "--out", "{out}"], "train.json not found"),
    ("report-missing-file", results("missing-file"), ["report", "{in}/results", "--out", "{out}"],
     "export.json not found"),
    ("report-not-json", results("not-json"), ["report", "{in}/results", "--out", "{out}"], "not valid JSON"),
    ("report-not-a-list", results("object"), ["report", "{in}/results", "--out", "{out}"], "expected the list"),
    ("report-row-missing-keys", results("missing-keys"), ["report", "{in}/results", "--out", "{out}"], "lacks"),
    ("report-out-is-a-file", lambda d: results("ok")(d) or regular_file(d),
     ["report", "{in}/results", "--out", "{in}/file"], "not a folder"),
    ("report-zero-latency-budget", results("ok"), ["report", "{in}/results", "--out", "{out}",
                                                   "--max-latency-us", "0"], "x>0"),
    ("report-accuracy-not-a-fraction", results("ok"), ["report", "{in}/results", "--out", "{out}",
                                                       "--min-accuracy", "97"], "0<=x<=1"),
    ("report-unknown-option", results("ok"), ["report", "{in}/results", "--bogus"], "No such option"),

    # fuzz: files, data and reproducers are checked before any input is generated
    ("fuzz-missing-file", nothing, ["fuzz", "{in}/nowhere.tflite"], "not found"),
    ("fuzz-not-a-flatbuffer", artifact("rnn-fp32.tflite", "random"), ["fuzz", "{in}/rnn/rnn-fp32.tflite", "--out",
                                                                       "{out}"], "rnn-fp32.tflite"),
    ("fuzz-zero-count", nothing, ["fuzz", str(MODELS / "rnn-fp32.tflite"), "--count", "0"], "positive"),
    ("fuzz-replay-not-a-reproducer", regular_file, ["fuzz", str(MODELS / "rnn-fp32.tflite"), "--replay",
                                                    "{in}/file"], "not an edgeseq fuzz reproducer"),
    ("fuzz-unknown-kernels", nothing, ["fuzz", str(MODELS / "rnn-fp32.tflite"), "--kernels", "gpu"],
     "unknown kernel setting 'gpu'"),
    ("fuzz-unknown-option", nothing, ["fuzz", "--bogus"], "No such option"),
    # setup: what it installs into must be a folder it can write
    ("setup-js-dir-under-a-file", regular_file, ["setup", "js", "--dir", "{in}/file/js"],
     ("cannot write", "not installed")),
    ("setup-unknown-part", nothing, ["setup", "android"], "No such command"),

    # run: everything that fails before training
    *[(f"run-{name}", build, ["run", "--out", "{out}/run", *args], expect)
      for name, build, args, expect in DATA_CASES
      if name in ("missing-data", "wrong-magic-idx", "truncated-idx", "corrupt-npz", "nan-pixels-npz")],
    ("run-out-is-a-file", regular_file, ["run", "--out", "{in}/file"], "not a folder"),
    ("run-zero-epochs", nothing, ["run", "--epochs", "0", "--out", "{out}"], "positive"),
    ("run-zero-threads", nothing, ["run", "--threads", "0", "--out", "{out}"], "positive"),
    ("run-unknown-option", nothing, ["run", "--bogus"], "No such option"),
]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_case_ids_are_unique_and_cover_every_command():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
    from edgeseq.cli import cli  # noqa: PLC0415

    assert {case[2][0] for case in CASES} == set(cli.commands)   # every command has bad inputs here


# corpus case -> (exit code, what the last line must also say, or None): usage errors are Click's exit code 2
# and name the valid choices; errors in what the arguments point to exit 1
EXIT_CODES = {
    "pack-unknown-target": (2, "'--target'"),
    "ethos-unknown-accelerator": (2, "(choose from ethos-u55-128, ethos-u55-256, ethos-u65-256, ethos-u85-256)"),
    "ethos-onnx": (1, None),
    "pack-tflm-refused-op": (1, None),
    "train-unknown-model": (2, "unknown model 'gru'; expected <cell>-<units>x<layers>-<activation>"),
    "train-zero-epochs": (2, "'--epochs'"),
    "train-negative-batch": (2, "'--batch-size'"),
    "export-unknown-recipe": (2, None),
    "export-recipe-of-another-format": (2, None),
    "export-unknown-graph": (2, "'--graph'"),
    "bench-unknown-runtime": (2, None),
    "bench-zero-threads": (2, None),
    "bench-zero-batch": (2, None),
    "bench-batch-not-a-number": (2, None),
    "bench-empty-folder": (2, None),
    "train-missing-data": (1, "data path not found"),
    "train-wrong-magic-idx": (1, None),
    "train-out-is-a-file": (1, "cannot create output folder"),
    "export-not-a-zip-keras": (1, None),
    "validate-sha256-mismatch-onnx": (1, None),
    "validate-junit-xml-wrong-suffix": (2, "'--junit-xml'"),
    "validate-junit-xml-is-a-folder": (2, None),
    "validate-junit-xml-under-a-file": (1, "cannot create output folder"),
    "inspect-truncated-tflite": (1, None),
}

# the first case of each command also runs as a user runs it (`python -m edgeseq`, a process of its own): the
# entry point, and nothing printed at import or exit after the error line
AS_A_USER = {case[2][0]: case[0] for case in reversed(CASES)}


def refuse(tmp_path: Path, name: str, args: list[str], expect: str | tuple[str, ...], build: Callable[[Path], None],
           run: Callable[..., Any]) -> None:
    """Build the case's input, run it with `run` (in-process or a subprocess), and check the one-line refusal."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    out.mkdir()
    build(inputs)
    (out / "previous.json").write_text("{}")  # a complete earlier output must survive untouched
    before = snapshot(tmp_path)
    argv = [a.format(**{"in": inputs, "out": out, "ref": inputs / "ref" / "rnn-fp32.onnx"}) for a in args]
    done = run(*argv, cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and lines[-1].startswith("Error"), done.stderr
    assert any(e in lines[-1] for e in ((expect,) if isinstance(expect, str) else expect)), done.stderr
    if name in EXIT_CODES:
        code, text = EXIT_CODES[name]
        assert done.returncode == code, done.stderr
        assert text is None or text in lines[-1], done.stderr
    assert snapshot(tmp_path) == before
    assert not [p for p in tmp_path.rglob("*") if ".partial" in p.name or p.name.startswith(".edgeseq-")]


@pytest.mark.parametrize("name, build, args, expect", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clean_error_and_writes_nothing(tmp_path, name, build, args, expect):
    """In this process (Click's CliRunner): every case fails before any work, or in a child process."""
    refuse(tmp_path, name, args, expect, build, invoke_cli)


@pytest.mark.parametrize("name", sorted(AS_A_USER.values()))
def test_bad_input_from_the_command_line(tmp_path, name):
    """The first case of each command again, through `python -m edgeseq` in a subprocess."""
    (_, build, args, expect), = [case for case in CASES if case[0] == name]
    refuse(tmp_path, name, args, expect, build, run_cli)


def test_exit_codes_name_real_cases():
    assert set(EXIT_CODES) <= {case[0] for case in CASES}


def test_the_crashing_file_really_crashes_the_runtime(tmp_path):
    """The guard is what keeps validate alive: loaded directly, the same file kills the process."""
    import subprocess
    import sys

    path = crashing_tflite(MODELS / "rnn-fp32.tflite", tmp_path / "rnn-fp32.tflite")
    # loaded directly: whether the XNNPACK read of tensor -1 crashes depends on the process's memory, and the
    # plain interpreter crashed every time measured (through edgeseq's adapter, only most times)
    code = ("import sys; from ai_edge_litert.interpreter import Interpreter;"
            "Interpreter(model_path=sys.argv[1], num_threads=1).allocate_tensors()")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, cwd=tmp_path, check=False)
    assert done.returncode < 0, done


def test_sweep_with_nothing_at_the_ray_address_is_one_line_before_out_exists(tmp_path):
    """`sweep --ray HOST:PORT` where nothing listens (a loopback port bound but not listening: the connection is
    refused) fails at once in one line, before --out is created, instead of Ray's minutes of retries. Bounded: a
    hang is killed after 120 s and fails the test."""
    import socket
    import subprocess
    import sys

    pytest.importorskip("ray")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{held.getsockname()[1]}"
        done = subprocess.run([sys.executable, "-m", "edgeseq", "sweep", "--ray", address, "--variants",
                               "rnn-16x1-relu", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                              cwd=tmp_path, timeout=120, check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Error: cannot reach a Ray cluster at {address}: "), done.stderr
    assert not (tmp_path / "out").exists()
