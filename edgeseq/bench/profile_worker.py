"""One file × runtime × thread count of `bench --profile` in a fresh process, spoken to through
`procs.run_worker` (edgeseq.bench.profile):

    request: {path, runtime, threads, tflite_backend, warmup, min_runs, min_seconds}
    result:  {backend, plain: {p50_us, ...} (not profiled), walls_us: [one per profiled call], nodes: [{name,
              op, kernel, layer, part, runs_seen, total_us, mean_us, p50_us}], kinds: {layer: recurrent |
              feed-forward}, resolution_us}

The file is loaded as bench loads it (edgeseq.bench.worker.start) and timed without profiling at batch 1
(warm-up, then exactly min_runs calls): the plain p50. Then it is loaded again with the runtime's profiler on,
warmed up, and run min_runs more times, each call timed (the wall times of the profiled calls), with the node
times of those calls alone (collector(): the function the runtime's row in edgeseq.runtimes.table names, for a
runtime that has a profiler; onnxruntime's trace gives each call's node times, OpenVINO's counters a running mean
read before and after the profiled calls). Each node is then placed in a layer and a part
(edgeseq.bench.profile_groups) against the model's own graph. The profiler's trace file lives in a
temporary folder that is removed.

Never imports TensorFlow.
"""

from __future__ import annotations

import bisect
import importlib
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any, Callable

from edgeseq.bench.profile_groups import GraphNode, place_all
from edgeseq.bench.worker import measure
from edgeseq.runtimes.table import RUNTIMES

NodeKey = tuple[str, str, "str | None"]            # (node name, op type, kernel: OpenVINO's exec type)
SUBGRAPH_OPS = frozenset({"Loop", "Scan", "If"})    # onnxruntime ops whose body nodes are profiled inside them
FEWER_RUNS = ("onnxruntime's profiler stops recording at its maximum number of events (\"Maximum number of"
              " events reached\"): ask for fewer --min-runs")


def _timed(run: Callable[[], Any], warmup: int, runs: int, after: Callable[[], None] | None = None) -> list[float]:
    """Warm-up calls, then exactly `runs` timed calls (µs each) through bench's one timing loop (worker.measure);
    `after` runs after each timed call, untimed."""
    return [ns / 1000.0 for ns in measure(run, warmup, runs, 0.0, after)]


# --- onnxruntime --------------------------------------------------------------------------------------------

def _trace_events(path: Path) -> list[dict[str, Any]]:
    """The trace's events, each reduced to what is read (cat, name, ts, dur, tid, op). onnxruntime writes one
    event per line: read line by line (a trace of a few hundred runs of a 500-node graph is tens of MB);
    anything else is read whole."""
    keep = ("cat", "name", "ts", "dur", "tid")

    def small(event: dict[str, Any]) -> dict[str, Any]:
        return {k: event.get(k) for k in keep} | {"op": (event.get("args") or {}).get("op_name")}

    events = []
    with open(path, encoding="utf-8") as trace:
        for line in trace:
            line = line.strip().rstrip(",")
            if line in ("", "[", "]"):
                continue
            try:
                events.append(small(json.loads(line)))
            except ValueError:
                return [small(e) for e in json.loads(Path(path).read_text(encoding="utf-8"))]
    return events


def onnxruntime_runs(events: list[dict[str, Any]], runs: int) -> list[dict[NodeKey, float]]:
    """Per run of the last `runs` model runs of a trace, each node's kernel time in µs (its `<node>_kernel_time`
    events of cat Node), keyed (name, op, kernel). A node event inside another one (a Loop's body) counts in the
    inner node, not twice: each node keeps its self time."""
    windows = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                     if e.get("cat") == "Session" and e.get("name") == "model_run")[-runs:]
    if len(windows) < runs:
        raise RuntimeError(f"the onnxruntime trace holds {len(windows)} model runs, expected {runs}; {FEWER_RUNS}")
    starts = [start for start, _ in windows]
    nodes = sorted((e for e in events if e.get("cat") == "Node" and str(e.get("name")).endswith("_kernel_time")
                    and e["ts"] >= starts[0]), key=lambda e: (e.get("tid"), e["ts"], -e["dur"]))
    selfs = [float(e["dur"]) for e in nodes]
    stack: list[int] = []               # the enclosing nodes that run subgraphs (Loop, Scan, If)
    for k, event in enumerate(nodes):
        while stack and (nodes[stack[-1]].get("tid") != event.get("tid")
                         or nodes[stack[-1]]["ts"] + nodes[stack[-1]]["dur"] <= event["ts"]):
            stack.pop()                 # it ended before this one started
        if stack:
            selfs[stack[-1]] -= event["dur"]
        if event.get("op") in SUBGRAPH_OPS:
            stack.append(k)
    per_run: list[dict[NodeKey, float]] = [{} for _ in windows]
    for event, own in zip(nodes, selfs):
        times = per_run[bisect.bisect_right(starts, event["ts"]) - 1]
        key = (event["name"][:-len("_kernel_time")], event.get("op") or "?", None)
        times[key] = times.get(key, 0.0) + max(own, 0.0)
    if any(not times for times in per_run):
        raise RuntimeError(f"the onnxruntime trace has model runs without node events; {FEWER_RUNS}")
    return per_run


def node_stats(per_run: list[dict[NodeKey, float]]) -> list[dict[str, Any]]:
    """Per node over the runs: total, mean and median µs per inference, and how often it ran per inference."""
    keys = list(dict.fromkeys(key for times in per_run for key in times))
    counts: dict[NodeKey, int] = {}
    for times in per_run:
        for key in times:
            counts[key] = counts.get(key, 0) + 1
    found = []
    for key in keys:
        values = [times.get(key, 0.0) for times in per_run]
        name, op, kernel = key
        found.append({"name": name, "op": op, "kernel": kernel, "runs_seen": counts[key],
                      "total_us": float(sum(values)), "mean_us": float(sum(values) / len(values)),
                      "p50_us": float(statistics.median(values))})
    return found


def onnx_graph(path: Path) -> list[GraphNode] | None:
    """The ONNX file's nodes in order, each with the nodes it reads (None where the onnx package is missing)."""
    try:
        import onnx  # noqa: PLC0415
    except ImportError:
        return None
    model = onnx.load(str(path), load_external_data=False)
    producer: dict[str, str] = {}
    graph = []
    for k, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type}_{k}"
        graph.append(GraphNode(name, node.op_type, tuple(dict.fromkeys(producer[i] for i in node.input
                                                                        if i in producer))))
        producer.update({o: name for o in node.output})
    return graph


def profile_onnxruntime(request: dict[str, Any], digits: Any) -> dict[str, Any]:
    from edgeseq.runtimes import RuntimeName, load  # noqa: PLC0415

    runs = request["min_runs"]
    with tempfile.TemporaryDirectory(prefix="edgeseq-profile-") as folder:
        runtime = load(request["path"], RuntimeName.ONNXRUNTIME, threads=request["threads"], step=False,
                       profile_prefix=str(Path(folder) / "onnxruntime"))
        walls = _timed(runtime.bind(digits), request["warmup"], runs)
        events = _trace_events(Path(runtime.end_profiling()))
    return {"backend": f"{runtime.backend}, profiler on", "walls_us": walls,
            "nodes": node_stats(onnxruntime_runs(events, runs)), "originals": {}, "resolution_us": 1.0,
            "graph": onnx_graph(Path(request["path"]))}


# --- OpenVINO -----------------------------------------------------------------------------------------------

def openvino_graph(model: Any) -> list[GraphNode]:
    """The model OpenVINO read (its frontend's ops, named after the file's nodes where it kept them)."""
    graph = []
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            continue
        reads = [i.get_source_output().get_node() for i in op.inputs()]
        graph.append(GraphNode(op.get_friendly_name(), op.get_type_name(),
                               tuple(dict.fromkeys(n.get_friendly_name() for n in reads
                                                   if n.get_type_name() != "Constant"))))
    return graph


def _originals(compiled: Any) -> dict[str, list[str]]:
    """Each executed node's name -> the ops of the read model it was made from (originalLayersNames)."""
    found = {}
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        names = str(info["originalLayersNames"].astype(str)) if "originalLayersNames" in info else ""
        found[op.get_friendly_name()] = [n for n in names.split(",") if n]
    return found


def _readings(infer_request: Any) -> dict[NodeKey, float]:
    """Each executed node's counter: OpenVINO's CPU plugin reports the mean real time of the node over every
    inference since the model was compiled, floored to whole µs (PerfCount::avg)."""
    readings: dict[NodeKey, float] = {}
    for info in infer_request.get_profiling_info():
        if info.status.name == "EXECUTED":       # NOT_RUN: its mean reads 0 µs (run or not); OPTIMIZED_OUT
            key = (info.node_name, info.node_type, info.exec_type)
            readings[key] = readings.get(key, 0.0) + info.real_time.total_seconds() * 1e6
    return readings


def openvino_means(before: dict[NodeKey, float], after: dict[NodeKey, float], warmup: int,
                   runs: int) -> list[dict[str, Any]]:
    """Per node, its mean over the profiled runs alone, from the running means read after the warm-up (`before`,
    over `warmup` inferences, the first one included) and after the profiled runs (`after`): (total after −
    total before) / runs. Each reading is floored to a µs, so a mean is within (warmup + runs) / runs µs."""
    found = []
    for key, mean_after in after.items():
        name, op, kernel = key
        total = max((warmup + runs) * mean_after - warmup * before.get(key, 0.0), 0.0)
        found.append({"name": name, "op": op, "kernel": kernel, "runs_seen": runs, "total_us": total,
                      "mean_us": total / runs, "p50_us": None})
    return found


def profile_openvino(request: dict[str, Any], digits: Any) -> dict[str, Any]:
    from edgeseq.runtimes import RuntimeName, load  # noqa: PLC0415

    runtime = load(request["path"], RuntimeName.OPENVINO, threads=request["threads"], step=False, profile=True)
    run = runtime.bind(digits)
    compiled, infer_request = runtime.session.request(len(digits))
    warmup, runs = request["warmup"], request["min_runs"]
    for _ in range(warmup):
        run()
    before = _readings(infer_request)
    walls = _timed(run, 0, runs)
    nodes = openvino_means(before, _readings(infer_request), warmup, runs)
    return {"backend": f"{runtime.backend}, PERF_COUNT on", "walls_us": walls, "nodes": nodes,
            "originals": _originals(compiled), "resolution_us": (warmup + runs) / runs,
            "graph": openvino_graph(runtime.session.model)}


Collector = Callable[[dict[str, Any], Any], dict[str, Any]]


def collector(runtime: str) -> Collector | None:
    """How this runtime's per-node times are collected: the function its row's profiler names ("module:function",
    edgeseq.runtimes.table), or None (no profiler, or no such runtime)."""
    reference = next((row.profiler.collector for name, row in RUNTIMES.items() if name.value == runtime), None)
    if reference is None:
        return None
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)


def handle(request: dict[str, Any], workdir: Any = None) -> dict[str, Any]:
    import sys  # noqa: PLC0415

    from edgeseq.bench.worker import measure, start, summarise  # noqa: PLC0415

    collect = collector(request["runtime"])
    if collect is None:
        raise ValueError(f"no profiler for runtime {request['runtime']!r}")
    runtime, digits, _, _ = start(request)
    one = digits[:1]
    plain = summarise(measure(runtime.bind(one), request["warmup"], request["min_runs"], 0.0))
    del runtime
    found = collect(request, one)
    nodes, originals = found["nodes"], found["originals"]
    for node in nodes:
        node["originals"] = originals.get(node["name"], [])
    kinds = place_all(nodes, found["graph"])
    return {"backend": found["backend"], "plain": plain, "walls_us": found["walls_us"], "nodes": nodes,
            "kinds": kinds, "resolution_us": found["resolution_us"],
            "tensorflow_imported": "tensorflow" in sys.modules}


if __name__ == "__main__":
    from edgeseq.core.procs import serve  # noqa: PLC0415

    serve(handle)
