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

KERAS = ROOT / "models" / "lstm" / "lstm.keras"
MNIST = Path("/work/shared/data/mnist")
T, F, H = 28, 28, 128
COMMITTED = ("lstm-fp32.tflite", "lstm-dynamic.tflite", "lstm-int8.tflite", "lstm-fp32.onnx", "lstm-dynamic.onnx")


# --- weights and a numpy reference ---------------------------------------------------------------------

def keras_weights(keras_path: Path = KERAS) -> dict[str, np.ndarray]:
    """Weights of the Sequential LSTM model, read from model.weights.h5 inside the .keras zip (h5py only)."""
    import zipfile, io, h5py  # noqa: E401, PLC0415

    with zipfile.ZipFile(keras_path) as archive:
        blob = archive.read("model.weights.h5")
    found: dict[str, np.ndarray] = {}
    with h5py.File(io.BytesIO(blob), "r") as h5:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                found[name] = np.asarray(obj, dtype=np.float32)
        h5.visititems(visit)
    # Keras 3 stores variables by layer class order (lstm, lstm_1, dense, dense_1), each vars/0.. in build order
    v = {k.replace("layers/", "").replace("/cell", "").replace("/vars/", "."): a for k, a in found.items()}
    w = {"W1": v["lstm.0"], "U1": v["lstm.1"], "b1": v["lstm.2"], "W2": v["lstm_1.0"], "U2": v["lstm_1.1"],
         "b2": v["lstm_1.2"], "D1": v["dense.0"], "d1": v["dense.1"], "D2": v["dense_1.0"], "d2": v["dense_1.1"]}
    expected = {"W1": (F, 4 * H), "U1": (H, 4 * H), "b1": (4 * H,), "W2": (H, 4 * H), "U2": (H, 4 * H),
                "b2": (4 * H,), "D1": (H, 32), "d1": (32,), "D2": (32, 10), "d2": (10,)}
    for key, shape in expected.items():
        assert w[key].shape == shape, (key, w[key].shape, shape)
    return w


def reorder(w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gate columns from Keras' (i, f, c, o) to (i, f, o, c): one sigmoid on the first 3H columns."""
    idx = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
    out = dict(w)
    for key in ("W1", "U1", "b1", "W2", "U2", "b2"):
        out[key] = w[key][..., idx]
    return out


def numpy_reference(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Keras semantics (gate order i, f, c, o; relu cell and output activation), batched, float32."""
    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    def lstm(seq: np.ndarray, k: np.ndarray, r: np.ndarray, b: np.ndarray) -> np.ndarray:
        n = seq.shape[0]
        h = np.zeros((n, H), np.float32)
        c = np.zeros((n, H), np.float32)
        proj = seq @ k + b
        outs = []
        for t in range(seq.shape[1]):
            z = proj[:, t] + h @ r
            i, f, g, o = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), np.maximum(z[:, 2 * H:3 * H], 0), sigmoid(z[:, 3 * H:])
            c = f * c + i * g
            h = o * np.maximum(c, 0)
            outs.append(h)
        return np.stack(outs, axis=1)

    h1 = lstm(x, w["W1"], w["U1"], w["b1"])
    h2 = lstm(h1, w["W2"], w["U2"], w["b2"])[:, -1]
    d = np.maximum(h2 @ w["D1"] + w["d1"], 0)
    logits = d @ w["D2"] + w["d2"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# --- TFLite: the hoisted model as a tf.function --------------------------------------------------------

def hoisted_module(tf: Any, w: dict[str, np.ndarray], variant: str = "slices") -> Any:
    """variant "slices": one sigmoid on the (i, f, o) columns, then slices (15 ops a step);
    "split": tf.split of z into 4 gates and one sigmoid per gate (13 ops a step);
    "split-rows": as "split", and the projection's rows by one tf.split instead of a slice per step."""
    wr = {k: tf.constant(v) for k, v in reorder(w).items()}

    def layer(seq: Any, k: Any, r: Any, b: Any) -> list[Any]:
        proj = tf.matmul(seq, k) + b                       # (28, 4H): the hoisted input projection
        rows = tf.split(proj, T, axis=0) if variant == "split-rows" else [proj[t:t + 1] for t in range(T)]
        h = c = None
        outs = []
        for t in range(T):
            z = rows[t] if h is None else rows[t] + tf.matmul(h, r)
            if variant == "slices":
                s = tf.sigmoid(z[:, :3 * H])
                g = tf.nn.relu(z[:, 3 * H:])
                i, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:]
            else:
                zi, zf, zo, zg = tf.split(z, 4, axis=1)
                i, f, o, g = tf.sigmoid(zi), tf.sigmoid(zf), tf.sigmoid(zo), tf.nn.relu(zg)
            c = i * g if c is None else f * c + i * g
            h = o * tf.nn.relu(c)
            outs.append(h)
        return outs

    class Hoisted(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, T, F], tf.float32, name="pixels")])
        def serve(self, pixels: Any) -> dict[str, Any]:
            x = tf.reshape(pixels, [T, F])
            h1 = tf.concat(layer(x, wr["W1"], wr["U1"], wr["b1"]), axis=0)
            h2 = layer(h1, wr["W2"], wr["U2"], wr["b2"])[-1]
            d = tf.nn.relu(tf.matmul(h2, wr["D1"]) + wr["d1"])
            return {"probabilities": tf.nn.softmax(tf.matmul(d, wr["D2"]) + wr["d2"])}

    return Hoisted()


def build_tflite(tf: Any, w: dict[str, np.ndarray], quant: str, variant: str = "slices") -> bytes:
    import tempfile  # noqa: PLC0415

    module = hoisted_module(tf, w, variant)
    with tempfile.TemporaryDirectory() as folder:
        tf.saved_model.save(module, folder, signatures={"serving_default": module.serve.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quant == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif quant == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


# --- ONNX: the hoisted model written with onnx.helper --------------------------------------------------

def build_onnx(w: dict[str, np.ndarray], gemm: bool = True, opset: int = 17) -> Any:
    """gemm=True: Gemm(h, U, C=proj_t) per step; False: MatMul + Add (what quantize_dynamic rewrites)."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    wr = reorder(w)
    inits = [numpy_helper.from_array(v, name=k) for k, v in wr.items()]
    inits += [numpy_helper.from_array(np.array([T, F], np.int64), "shape_tf"),
              numpy_helper.from_array(np.array([1] * T, np.int64), "ones_t"),
              numpy_helper.from_array(np.array([3 * H, H], np.int64), "split_ifo_g"),
              numpy_helper.from_array(np.array([H, H, H], np.int64), "split_3")]
    nodes = [helper.make_node("Reshape", ["pixels", "shape_tf"], ["x"])]

    def linear(a: str, b: str, c: str, out: str) -> None:
        if gemm:
            nodes.append(helper.make_node("Gemm", [a, b, c], [out]))
        else:
            nodes.append(helper.make_node("MatMul", [a, b], [out + "_mm"]))
            nodes.append(helper.make_node("Add", [out + "_mm", c], [out]))

    def layer(seq: str, n: int) -> list[str]:
        linear(seq, f"W{n}", f"b{n}", f"proj{n}")
        steps = [f"p{n}_{t}" for t in range(T)]
        nodes.append(helper.make_node("Split", [f"proj{n}", "ones_t"], steps, axis=0))
        h = c = None
        outs = []
        for t in range(T):
            p = f"l{n}t{t}_"
            if h is None:
                z = steps[t]
            else:
                z = p + "z"
                if gemm:
                    nodes.append(helper.make_node("Gemm", [h, f"U{n}", steps[t]], [z]))
                else:
                    nodes.append(helper.make_node("MatMul", [h, f"U{n}"], [p + "hu"]))
                    nodes.append(helper.make_node("Add", [p + "hu", steps[t]], [z]))
            nodes.append(helper.make_node("Split", [z, "split_ifo_g"], [p + "zs", p + "zg"], axis=1))
            nodes.append(helper.make_node("Sigmoid", [p + "zs"], [p + "s"]))
            nodes.append(helper.make_node("Split", [p + "s", "split_3"], [p + "i", p + "f", p + "o"], axis=1))
            nodes.append(helper.make_node("Relu", [p + "zg"], [p + "g"]))
            if c is None:
                nodes.append(helper.make_node("Mul", [p + "i", p + "g"], [p + "c"]))
            else:
                nodes.append(helper.make_node("Mul", [p + "f", c], [p + "fc"]))
                nodes.append(helper.make_node("Mul", [p + "i", p + "g"], [p + "ig"]))
                nodes.append(helper.make_node("Add", [p + "fc", p + "ig"], [p + "c"]))
            c = p + "c"
            nodes.append(helper.make_node("Relu", [c], [p + "rc"]))
            nodes.append(helper.make_node("Mul", [p + "o", p + "rc"], [p + "h"]))
            h = p + "h"
            outs.append(h)
        return outs

    h1 = layer("x", 1)
    nodes.append(helper.make_node("Concat", h1, ["h1seq"], axis=0))
    h2 = layer("h1seq", 2)[-1]
    linear(h2, "D1", "d1", "dense_pre")
    nodes.append(helper.make_node("Relu", ["dense_pre"], ["dense"]))
    linear("dense", "D2", "d2", "logits")
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1))
    graph = helper.make_graph(nodes, "lstm_hoisted",
                              [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, T, F])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="roofline_routes")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def manifest(path: Path, description: str) -> None:
    Path(str(path) + ".json").write_text(json.dumps({
        "kind": "roofline-route", "architecture": "lstm", "description": description,
        "source_keras": {"name": KERAS.name, "path": str(KERAS)}}, indent=2))


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

def cmd_check(out: Path, files: list[Path]) -> None:
    from edgeseq import data, runtimes  # noqa: PLC0415

    sample = data.load("sample")
    full = data.load(str(MNIST))
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

def ort_call(path: Path, digit: np.ndarray, level: str = "all", arena: bool = True, spinning: bool | None = None,
             threads: int = 1) -> Any:
    import onnxruntime as ort  # noqa: PLC0415

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                   "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                   "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                   "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    so.enable_cpu_mem_arena = arena
    if spinning is not None:
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name, outs = sess.get_inputs()[0].name, [sess.get_outputs()[0].name]
    feed = {name: digit}
    return lambda: sess.run(outs, feed)[0]


def litert_call(path: Path, digit: np.ndarray, xnnpack: bool) -> Any:
    from ai_edge_litert import interpreter as mod  # noqa: PLC0415

    kwargs = {} if xnnpack else {"experimental_op_resolver_type": mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    it = mod.Interpreter(model_path=str(path), num_threads=1, **kwargs)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    stateful = "UNIDIRECTIONAL_SEQUENCE_LSTM" in {d["op_name"] for d in it._get_ops_details()}

    def call() -> Any:
        if stateful:
            it.reset_all_variables()
        it.set_tensor(i["index"], digit)
        it.invoke()
        return it.get_tensor(o["index"])
    return call


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
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    if args.command == "build":
        cmd_build(args.out)
    elif args.command == "fused":
        cmd_fused(args.out)
    elif args.command == "floor":
        cmd_floor(args.out, args.rounds, args.json, args.min_seconds)
    elif args.command == "check":
        cmd_check(args.out, args.files)
    else:
        cmd_bench(args.out, args.rounds, args.json, args.min_seconds, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
