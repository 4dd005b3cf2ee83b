"""The 2x128 relu LSTM rebuilt from its .keras weights for tools/roofline_routes.py (docs/results/roofline.md): the
weights (h5py only), a numpy reference, the hoisted tf.Module and the TFLite and ONNX files built from it, and the
own onnxruntime session and LiteRT interpreter calls its bench times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
KERAS = ROOT / "models" / "lstm" / "lstm.keras"
T, F, H = 28, 28, 128


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


# --- own sessions (bench) -----------------------------------------------------------------------------

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
