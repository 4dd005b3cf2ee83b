"""Routes towards the fp32 compute bound for the 2x128 relu LSTM (docs/results/roofline.md).

    python tools/roofline_routes.py build  --out /tmp/roofline-work/routes      # TensorFlow + onnx needed
    python tools/roofline_routes.py fused  --out /tmp/roofline-work/routes      # route e files
    python tools/roofline_routes.py check  --out /tmp/roofline-work/routes      # parity + accuracy of the files
    python tools/roofline_routes.py bench  --out /tmp/roofline-work/routes --rounds 3 --json bench.json
    python tools/roofline_routes.py floor  --out /tmp/roofline-work/routes --rounds 3 --min-seconds 1

build: from the committed models/lstm/lstm.keras weights, the model re-expressed with the input projection
hoisted out of the recurrence (x_t @ W for all 28 steps in one matmul per layer, then only h @ U per step;
the first step skips h @ U, since h0 = c0 = 0), batch 1, static shapes, gate columns reordered (i, f, o, g)
so that one sigmoid covers three gates:
  hoisted-fp32.tflite      tf.function -> TFLiteConverter (builtin ops only), no WHILE: flat graph
  hoisted-dynamic.tflite   the same with dynamic-range (int8 weights) quantization
  hoisted-fp16.tflite      the same with float16 weights
  hoisted-split[-rows]-{fp32,dynamic}.tflite   fewer ops a step (see hoisted_module's variants)
  hoisted-fp32.onnx        the same graph written directly with onnx.helper (Gemm per step)
  hoisted-dynamic.onnx     onnxruntime quantize_dynamic of a MatMul+Add variant (int8 weights)
Every file gets a manifest FILE.json naming its source .keras (tools/roofline.py counts FLOPs from it).

fused: route e, the fused UNIDIRECTIONAL_SEQUENCE_LSTM op (fp32, dynamic; and a full-int8 tanh speed probe).
floor: the recurrent GEMVs alone (fp32 and dynamic int8 under XNNPACK), against their own bound.

check: agreement and max |diff| against a numpy reference of the Keras weights on the 1000 sample digits
(the reference itself is checked against Keras), and accuracy on the sample and on the full MNIST test set.

bench: tools/roofline.run_roofline over the committed files, the route files (edgeseq runtime adapters)
and onnxruntime session-option variants (own sessions) and LiteRT without XNNPACK, interleaved with the peak.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import roofline  # noqa: E402
from roofline_lstm import (H, KERAS, T, build_onnx, build_tflite,  # noqa: E402
                           keras_weights, litert_call, numpy_reference, ort_call)

# full MNIST where a developer's checkout finds it (../shared/data/mnist beside it); --data names another copy
MNIST = ROOT.parent / "shared" / "data" / "mnist"
COMMITTED = ("lstm-fp32.tflite", "lstm-dynamic.tflite", "lstm-int8.tflite", "lstm-fp32.onnx", "lstm-dynamic.onnx")


def manifest(path: Path, description: str) -> None:
    Path(str(path) + ".json").write_text(json.dumps({
        "kind": "roofline-route", "architecture": "lstm", "description": description,
        "source_keras": {"name": KERAS.name, "path": str(KERAS.relative_to(ROOT))}}, indent=2))


def cmd_build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    w = keras_weights()
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    import keras  # noqa: PLC0415

    sample = data.load("sample").x_test
    model = keras.saving.load_model(KERAS, safe_mode=True)
    ref_keras = model.predict(sample, batch_size=256, verbose=0)
    ref_np = numpy_reference(w, sample)
    print(f"numpy reference vs Keras: max |diff| {np.abs(ref_np - ref_keras).max():.2e}, "
          f"argmax agreement {np.mean(ref_np.argmax(1) == ref_keras.argmax(1)):.4f}")
    np.save(out / "keras_sample_probs.npy", ref_keras)
    for quant, variant in (("fp32", "slices"), ("dynamic", "slices"), ("fp16", "slices"), ("fp32", "split"),
                           ("dynamic", "split"), ("fp32", "split-rows"), ("dynamic", "split-rows")):
        path = out / (f"hoisted-{quant}.tflite" if variant == "slices" else f"hoisted-{variant}-{quant}.tflite")
        try:
            path.write_bytes(build_tflite(tf, w, quant, variant))
            manifest(path, f"hoisted input projection, flat graph ({variant}), batch 1, TFLite {quant}")
            ops = sorted(set(roofline_ops(path)))
            print(f"{path.name}: {path.stat().st_size} bytes, ops {ops}")
        except Exception as err:  # noqa: BLE001
            print(f"{path.name}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:300]}")
    import onnx  # noqa: PLC0415

    for gemm, name in ((True, "hoisted-fp32.onnx"), (False, "hoisted-fp32-matmul.onnx")):
        path = out / name
        onnx.save(build_onnx(w, gemm=gemm), str(path))
        manifest(path, f"hoisted input projection, onnx.helper graph ({'Gemm' if gemm else 'MatMul+Add'}), fp32")
        print(f"{path.name}: {path.stat().st_size} bytes")
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    for src, name in (("hoisted-fp32-matmul.onnx", "hoisted-dynamic.onnx"),):
        path = out / name
        try:
            quantize_dynamic(str(out / src), str(path), weight_type=QuantType.QInt8)
            manifest(path, "hoisted input projection, onnxruntime quantize_dynamic (int8 weights)")
            ops = sorted({n.op_type for n in onnx.load(str(path)).graph.node})
            print(f"{path.name}: {path.stat().st_size} bytes, ops {ops}")
        except Exception as err:  # noqa: BLE001
            print(f"{path.name}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:300]}")


def cmd_fused(out: Path) -> None:
    """Route e: the fused UNIDIRECTIONAL_SEQUENCE_LSTM kernel (edgeseq.export.fused_lstm).
    fused-fp32 / fused-dynamic: the committed relu weights (float kernels keep relu).
    tanh-probe-int8: a tanh twin carrying the relu-trained weights (NOT trained for tanh: its accuracy means
    nothing), full-integer int8 with int8 I/O, calibrated on 200 sample training digits: a speed probe of the
    integer kernel, to decide whether training a tanh LSTM is worth it. Each conversion in a child process
    would be safer (the toolchain notes SIGSEGVs in the int8 calibrator); this one did not crash here."""
    out.mkdir(parents=True, exist_ok=True)
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.export import fused_lstm  # noqa: PLC0415
    from edgeseq.export.tflite_settings import configure  # noqa: PLC0415
    from edgeseq.recipes import OpsSet, TFLiteSettings  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    import keras  # noqa: PLC0415

    model = keras.saving.load_model(KERAS, safe_mode=True)
    for name, settings in (("fused-fp32.tflite", TFLiteSettings()), ("fused-dynamic.tflite", TFLiteSettings(optimize=True))):
        path = out / name
        try:
            path.write_bytes(fused_lstm.fused_lstm_tflite(model, settings))
            manifest(path, f"fused UNIDIRECTIONAL_SEQUENCE_LSTM (relu rewritten), {name}")
            print(f"{name}: {path.stat().st_size} bytes, ops {sorted(set(roofline_ops(path)))}")
        except Exception as err:  # noqa: BLE001
            print(f"{name}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:300]}")
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "LSTM":
            layer["config"]["activation"] = "tanh"
    twin = keras.Sequential.from_config(config)
    twin.set_weights(model.get_weights())
    calibration = data.load("sample").x_train[:200]
    module, activation, count = fused_lstm._inference_module(tf, twin)  # noqa: SLF001
    import tempfile  # noqa: PLC0415

    path = out / "tanh-probe-int8.tflite"
    try:
        with tempfile.TemporaryDirectory() as folder:
            tf.saved_model.save(module, folder, signatures={"serving_default": module.serve.get_concrete_function()})
            converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serving_default"])
            configure(tf, converter, TFLiteSettings(optimize=True, ops_set=OpsSet.BUILTINS_INT8, io_type="int8"),
                      calibration)
            path.write_bytes(converter.convert())
        manifest(path, "SPEED PROBE: tanh twin with relu-trained weights, fused LSTM, full int8")
        print(f"{path.name}: {path.stat().st_size} bytes, ops {sorted(set(roofline_ops(path)))}")
    except Exception as err:  # noqa: BLE001
        print(f"{path.name}: FAILED {type(err).__name__}: {str(err).splitlines()[0][:300]}")


def roofline_ops(path: Path) -> list[str]:
    from edgeseq.core.tflite_schema import tflite_operator_names  # noqa: PLC0415

    return tflite_operator_names(path.read_bytes())


# --- check ---------------------------------------------------------------------------------------------

def cmd_check(out: Path, files: list[Path], mnist: Path = MNIST) -> None:
    from edgeseq import data, runtimes  # noqa: PLC0415

    sample = data.load("sample")
    full = data.load(str(mnist))
    ref = np.load(out / "keras_sample_probs.npy")
    previous = out / "check.json"
    rows = json.loads(previous.read_text()) if previous.is_file() else {}  # merged: files named again are redone
    committed = [ROOT / "models" / "lstm" / n for n in COMMITTED]
    routes = sorted(p for p in [*out.glob("*.tflite"), *out.glob("*.onnx")] if not p.name.startswith("floor-"))
    for path in files or [*committed, *routes]:
        rt = roofline.load_runtime(path)
        p = runtimes.predict_in_batches(rt, sample.x_test)
        pf = runtimes.predict_in_batches(rt, full.x_test)
        row = {"max_abs_diff_vs_keras": float(np.abs(p - ref).max()),
               "agreement_vs_keras": float(np.mean(p.argmax(1) == ref.argmax(1))),
               "sample_accuracy": float(np.mean(p.argmax(1) == sample.y_test)),
               "test_accuracy": float(np.mean(pf.argmax(1) == full.y_test)),
               "size_bytes": path.stat().st_size, "backend": rt.backend}
        rows[str(path.resolve())] = row
        print(path.name, json.dumps(row))
    (out / "check.json").write_text(json.dumps(rows, indent=2))


# --- bench ---------------------------------------------------------------------------------------------

def cmd_bench(out: Path, rounds: int, json_out: Path | None, min_seconds: float, only: str | None) -> None:
    x, y = roofline.sample_digits()
    digit = x[:1].astype(np.float32)
    flops = roofline.count_flops(KERAS)["flops"]
    committed = ROOT / "models" / "lstm"
    checks = json.loads((out / "check.json").read_text()) if (out / "check.json").is_file() else {}
    entries: list[dict[str, Any]] = []

    def add(label: str, route: str, path: Path, call: Any, how: str) -> None:
        if only and only not in label:
            return
        extra = checks.get(str(path.resolve()), {}) if how == "edgeseq adapter" else {}
        entries.append({"label": label, "route": route, "path": str(path), "size_bytes": path.stat().st_size,
                        "flops": flops, "how": how, "call": call,
                        "sample_accuracy": extra.get("sample_accuracy"), "test_accuracy": extra.get("test_accuracy")})

    def adapter(path: Path) -> Any:
        return roofline.load_runtime(path).bind(digit)

    for name in COMMITTED:
        add(f"a {name}", "a", committed / name, adapter(committed / name), "edgeseq adapter")
    for name in ("hoisted-fp32.tflite", "hoisted-split-fp32.tflite", "hoisted-split-rows-fp32.tflite",
                 "hoisted-fp16.tflite", "hoisted-fp32.onnx", "hoisted-fp32-matmul.onnx"):
        if (out / name).is_file():
            add(f"b {name}", "b", out / name, adapter(out / name), "edgeseq adapter")
    for name in ("lstm-fp32.onnx", "lstm-dynamic.onnx"):
        path = committed / name
        for level, arena, spin in (("basic", True, None), ("all", True, False), ("all", True, True),
                                   ("all", False, False)):
            add(f"c {name} opt={level} arena={int(arena)} spin={spin}", "c", path,
                ort_call(path, digit, level, arena, spin), "own onnxruntime session")
    if (out / "hoisted-fp32.onnx").is_file():
        add("c hoisted-fp32.onnx opt=basic", "c", out / "hoisted-fp32.onnx",
            ort_call(out / "hoisted-fp32.onnx", digit, "basic"), "own onnxruntime session")
    for name in ("hoisted-dynamic.tflite", "hoisted-split-dynamic.tflite", "hoisted-split-rows-dynamic.tflite",
                 "hoisted-dynamic.onnx"):
        if (out / name).is_file():
            add(f"d {name}", "d", out / name, adapter(out / name), "edgeseq adapter")
    for name in ("hoisted-fp32.tflite", "hoisted-dynamic.tflite"):
        if (out / name).is_file():
            add(f"d {name} no XNNPACK", "d", out / name, litert_call(out / name, digit, False),
                "own LiteRT interpreter, builtin kernels")
    for name in ("fused-fp32.tflite", "fused-dynamic.tflite"):
        if (out / name).is_file():
            add(f"e {name}", "e", out / name, adapter(out / name), "edgeseq adapter")
    for path in sorted(out.glob("tanh-*")):
        if path.suffix in (".tflite", ".onnx"):
            add(f"e {path.name}", "e", path, adapter(path), "edgeseq adapter")
    result = roofline.run_roofline(entries, rounds=rounds, min_seconds=min_seconds,
                                   log=lambda m: print(m, file=sys.stderr))
    result.update({"cpu": roofline.cpu_model(), "blas": roofline.blas_name()})
    print(roofline.table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))


def cmd_floor(out: Path, rounds: int, json_out: Path | None, min_seconds: float) -> None:
    """The recurrent part alone: 54 chained FC(1x128 @ 128x512) + RELU + slice (the h @ U GEMVs of the two
    layers, steps 2..28), fp32 and dynamic-range int8, under XNNPACK: the floor of any batch-1 graph."""
    import tempfile  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_tensorflow  # noqa: PLC0415

    tf = import_tensorflow()
    w = keras_weights()
    u1, u2 = tf.constant(w["U1"]), tf.constant(w["U2"])

    class Floor(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, H], tf.float32)])
        def serve(self, h: Any) -> dict[str, Any]:
            for u in (u1, u2):
                for _ in range(T - 1):
                    h = tf.nn.relu(tf.matmul(h, u))[:, :H] * 0.1
            return {"out": h}

    module = Floor()
    entries = []
    from ai_edge_litert.interpreter import Interpreter  # noqa: PLC0415

    for quant in ("fp32", "dynamic"):
        path = out / f"floor-{quant}.tflite"
        with tempfile.TemporaryDirectory() as folder:
            tf.saved_model.save(module, folder, signatures={"serving_default": module.serve.get_concrete_function()})
            converter = tf.lite.TFLiteConverter.from_saved_model(folder)
            if quant == "dynamic":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            path.write_bytes(converter.convert())
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
        i, o = it.get_input_details()[0], it.get_output_details()[0]
        x = np.full((1, H), 0.1, np.float32)

        def call(it: Any = it, i: Any = i, o: Any = o, x: np.ndarray = x) -> Any:
            it.set_tensor(i["index"], x)
            it.invoke()
            return it.get_tensor(o["index"])
        entries.append({"label": f"floor: 54 x FC(1x128 @ 128x512) {quant}", "flops": 2 * 2 * (T - 1) * H * 4 * H,
                        "call": call, "size_bytes": path.stat().st_size})
    result = roofline.run_roofline(entries, rounds=rounds, min_seconds=min_seconds,
                                   log=lambda m: print(m, file=sys.stderr))
    print(roofline.table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "fused", "check", "bench", "floor"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/roofline-work/routes"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--only", default=None, help="bench only labels containing this")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=MNIST, help="full MNIST for check (default: ../shared/data/mnist)")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        cmd_build(args.out)
    elif args.command == "fused":
        cmd_fused(args.out)
    elif args.command == "floor":
        cmd_floor(args.out, args.rounds, args.json, args.min_seconds)
    elif args.command == "check":
        cmd_check(args.out, args.files, args.data)
    else:
        cmd_bench(args.out, args.rounds, args.json, args.min_seconds, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
