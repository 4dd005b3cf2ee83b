"""Files in the app runtimes under Node: onnxruntime-node, onnxruntime-web (WASM) and LiteRT.js (WASM), through the
bridge js/edgeseq-runner.mjs (one `node` process per request, bounded in time; arrays exchanged as raw float32
files in a scratch folder).

`predict` hands Node every sequence at once (it chunks them itself: `chunks_itself`), a step file with its contract,
so that Node feeds the rows by name and carries the state. `measure` (the bench worker's whole answer) runs the
timing loop inside Node, `performance.now()` around each awaited run: no inter-process cost enters a figure.
A runtime is available where `node` is on PATH and the npm package is in js/node_modules (tools/install-js.sh).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeseq.artifacts import is_step_file, read_facts
from edgeseq.core.errors import DataError, ModelError, RuntimeUnavailable, cause_line
from edgeseq.core.procs import run_child, signal_name
from edgeseq.runtimes.node_env import BRIDGE, js_dir, missing
from edgeseq.runtimes.table import RUNTIMES, RuntimeName

TIMEOUT_S = 900
ENGINES = {RuntimeName.ONNXRUNTIME_NODE: "onnxruntime-node", RuntimeName.ONNXRUNTIME_WEB: "onnxruntime-web",
           RuntimeName.LITERTJS: "litertjs"}
# what a runtime's refusal means: (pattern in its message or its log, meaning)
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"does not match expected ranked tensor type \w+\[-1"), "a dynamic batch axis, which LiteRT.js"
     " does not resize (a file with its batch fixed to 1 loads)"),
    (re.compile(r"Element type INT8 is not supported"), "int8 input/output tensors (LiteRT.js takes float32, int32,"
     " uint8)"),
    (re.compile(r"Variable tensors not yet supported"), "variable tensors (the fused LSTM keeps its state in them)"),
)


def call(runtime: RuntimeName, request: dict[str, Any], folder: Path, path: Path) -> dict[str, Any]:
    """One bridge request in a fresh `node` process: its answer, or a ModelError in one line."""
    library = RUNTIMES[runtime].libraries[0]
    if (reason := missing(library.npm or "")) is not None:
        raise RuntimeUnavailable(f"runtime {runtime.value}: {reason}")
    request = request | {"engine": ENGINES[runtime], "model": str(path), "answer": str(folder / "answer.json")}
    (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
    try:
        done = run_child(["node", str(js_dir() / BRIDGE), str(folder / "request.json")], TIMEOUT_S,
                         dict(os.environ, NODE_NO_WARNINGS="1"))
    except subprocess.TimeoutExpired as err:
        raise ModelError(f"{path}: {library.label} timed out after {TIMEOUT_S} s") from err
    log = done.stderr or ""
    try:
        answer = json.loads((folder / "answer.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = next((line.strip() for line in reversed(log.splitlines()) if line.strip()), "no message")
        how = f"crashed ({signal_name(done.returncode)})" if done.returncode < 0 else f"exited {done.returncode}"
        raise ModelError(f"{path}: {library.label} {how} without an answer: {tail[:200]}") from None
    if "error" in answer:
        said = f"{answer['error']} {log}"
        meaning = next((f": {why}" for pattern, why in REFUSALS if pattern.search(said)), "")
        raise ModelError(f"{path}: {library.label} cannot run it{meaning} ({cause_line(answer['error'], 160)})")
    return answer


def _step(path: Path) -> dict[str, Any] | None:
    """A step file's contract as the bridge feeds it (names), else None."""
    if not is_step_file(path):
        return None
    from edgeseq.runtimes.step import contract_of  # noqa: PLC0415
    from edgeseq.step_contract import PROBABILITIES, ROW  # noqa: PLC0415

    contract = contract_of(path)
    return {"row": ROW, "probabilities": PROBABILITIES, "states": [[s.name, s.output] for s in contract.states]}


def _write(folder: Path, sequences: np.ndarray) -> dict[str, Any]:
    sequences = np.ascontiguousarray(sequences, "<f4")
    sequences.tofile(folder / "input.f32")
    return {"file": str(folder / "input.f32"), "shape": list(sequences.shape)}


class NodeRuntime:
    """A file in one of the Node runtimes, as the Runtime protocol (edgeseq.runtimes) sees it."""
    chunks_itself = True
    stateful = False

    def __init__(self, path: Path, runtime: RuntimeName, threads: int) -> None:
        self.path, self.runtime, self.threads, self.name = Path(path), runtime, threads, runtime.value
        facts = read_facts(self.path)        # rejects bytes that are not the format before Node sees them
        self.step = _step(self.path)
        self.batch_one_only = facts.batch_one_only
        self.input_name = "row" if self.step else facts.inputs[0].signature_name or facts.inputs[0].name
        self.output_name = "probabilities" if self.step else facts.outputs[0].signature_name or facts.outputs[0].name
        self.backend = RUNTIMES[runtime].libraries[0].label   # the adapter's label once Node has run it

    def predict(self, sequences: np.ndarray) -> np.ndarray:
        if len(sequences) == 0:
            raise DataError("no sequences to predict")
        with tempfile.TemporaryDirectory(prefix="edgeseq-node-") as scratch:
            folder = Path(scratch)
            request = {"op": "predict", "threads": self.threads, "input": _write(folder, sequences), "step": self.step,
                       "output": str(folder / "output.f32")}
            answer = call(self.runtime, request, folder, self.path)
            self.backend = f"{answer['label']}, Node {node_version()}"
            probabilities = np.fromfile(folder / "output.f32", "<f4")
        return probabilities.reshape(len(sequences), -1)

    def bind(self, sequences: np.ndarray) -> Callable[[], np.ndarray]:
        """One inference per call, each a Node process: for checks, not for timing (`measure` times in Node)."""
        return lambda: self.predict(sequences)


def measure(request: dict[str, Any], sequences: np.ndarray, summarise: Callable[[list[int]], dict[str, float]]
            ) -> dict[str, Any]:
    """The bench worker's answer for one file × Node runtime, every figure measured inside Node (`summarise`: the
    worker's percentiles of nanosecond samples)."""
    runtime, path = RuntimeName(request["runtime"]), Path(request["path"])
    loaded = NodeRuntime(path, runtime, request["threads"])
    need = max(request["batches"])
    sequences = np.resize(sequences, (max(need, 1), *sequences.shape[1:])) if len(sequences) < need else sequences[:need]
    with tempfile.TemporaryDirectory(prefix="edgeseq-node-") as scratch:
        folder = Path(scratch)
        bridge = {"op": "bench", "threads": request["threads"], "input": _write(folder, sequences), "step": loaded.step,
                  "batches": request["batches"], "warmup": request["warmup"], "min_runs": request["min_runs"],
                  "min_seconds": request["min_seconds"], "samples_prefix": str(folder / "samples")}
        answer = call(runtime, bridge, folder, path)
        batches = []
        for entry in answer["batches"]:
            stats = summarise(_ns(entry["samples"]))
            row = {"batch": entry["batch"], **stats, "throughput_dps": entry["batch"] * 1e6 / stats["p50_us"]}
            if entry.get("step_samples"):
                step = summarise(_ns(entry["step_samples"]))
                row |= {"step_p50_us": step["p50_us"], "step_p99_us": step["p99_us"]}
            batches.append(row)
    memory = answer["memory"]
    return {"backend": f"{answer['label']}, Node {node_version()}", "batch_one_only": answer["batch"] == 1,
            "import_ms": answer["import_ms"], "load_ms": answer["load_ms"],
            "first_inference_ms": answer["first_inference_ms"], "rss_after_import_bytes": memory["rss_after_import_bytes"],
            "peak_rss_bytes": memory["peak_rss_bytes"],
            "file_memory_bytes": memory["peak_rss_bytes"] - memory["rss_after_import_bytes"],
            "memory_method": memory["method"], "tensorflow_imported": False, "batches": batches}


def _ns(file: str) -> list[int]:
    return (np.fromfile(file, "<f8") * 1000.0).astype(np.int64).tolist()


def node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip() or "unknown"


def load(path: Path, threads: int = 1, runtime: str = RuntimeName.ONNXRUNTIME_NODE.value, **_: Any) -> NodeRuntime:
    return NodeRuntime(path, RuntimeName(runtime), threads)


def import_library(**_: Any) -> None:
    """Nothing to import in Python: Node imports the package (its cost is in the bench row's import_ms)."""
