// edgeseq's bridge to the app runtimes under Node: onnxruntime-node, onnxruntime-web (WASM) and LiteRT.js
// (@litertjs/core, WASM). Started by edgeseq (edgeseq/runtimes/node_runtime.py), one process per request:
//
//   node js/edgeseq-runner.mjs REQUEST.json
//
// REQUEST: {op: "predict" | "bench", engine, model, threads, input: {file, shape: [N, T, F]} (raw float32),
//           step: null | {row, probabilities, states: [[input, output], ...]} (fed by name, state carried in here),
//           predict: output (raw float32 file, [N, classes]);
//           bench: batches, warmup, min_runs, min_seconds, samples_prefix (raw float64 µs per timed call)}
// ANSWER (written to REQUEST.answer): {label, batch, import_ms, load_ms, first_inference_ms?, classes?,
//           memory: {rss_after_import_bytes, peak_rss_bytes, method}, batches: [{batch, samples, step_samples?}]}
//           or {error: "one line"}. The timing loop runs here (performance.now() around each awaited run), so that
//           no inter-process cost enters a figure. Reads the request's files only; no network.
import {readFileSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PREDICT_CHUNK = 256;
const version = (pkg) => JSON.parse(readFileSync(path.join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// LiteRT.js's loader is written for the browser: it runs its Emscripten script with importScripts (workers) or a
// <script> tag, and reads `self.ModuleFactory`. Under Node: `self` is the global object, and importScripts runs the
// script with CommonJS's require/__dirname (the script's own Node path reads the .wasm beside it).
function browserShim() {
  globalThis.self ??= globalThis;
  globalThis.importScripts = (url) => {
    const file = String(url).startsWith('file:') ? fileURLToPath(url) : String(url);
    const code = `(function (require, __dirname, __filename) {${readFileSync(file, 'utf8')}\n;self.ModuleFactory = ModuleFactory;})`;
    vm.runInThisContext(code, {filename: file})(createRequire(file), path.dirname(file), file);
  };
}

// Each engine: open(bytes, threads) -> {label, inputs: [{name, shape}], outputs: [name], tensor(data, shape),
// run(feed) -> Promise<{name: Float32Array}>, free(feed)}.
const ENGINES = {
  async 'onnxruntime-node'(threads) {
    const ort = await import('onnxruntime-node');
    return {
      async open(bytes) {
        const session = await ort.InferenceSession.create(bytes, {executionProviders: ['cpu'], intraOpNumThreads: threads,
          interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3});
        return ortSession(ort, session, `onnxruntime-node ${version('onnxruntime-node')}, CPU, ${threads} thread(s)`);
      },
    };
  },
  async 'onnxruntime-web'() {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;                 // threads in WASM need worker threads / cross-origin isolation
    ort.env.logLevel = 'error';
    return {
      async open(bytes) {
        const session = await ort.InferenceSession.create(bytes, {executionProviders: ['wasm']});
        return ortSession(ort, session, `onnxruntime-web ${version('onnxruntime-web')}, WASM, 1 thread(s)`);
      },
    };
  },
  async litertjs() {
    browserShim();
    const lrt = await import('@litertjs/core');
    await lrt.loadLiteRt(path.join(HERE, 'node_modules', '@litertjs', 'core', 'wasm') + path.sep);
    return {
      async open(bytes) {
        const model = await lrt.loadAndCompile(bytes, {accelerator: 'wasm'});
        const details = (list) => list.map((d) => ({name: d.name, shape: Array.from({length: Object.keys(d.shape).length}, (_, i) => d.shape[i]), dtype: d.dtype}));
        return {
          label: `LiteRT.js (@litertjs/core ${version('@litertjs/core')}), WASM, 1 thread(s)`,
          inputs: details(model.getInputDetails()), outputs: details(model.getOutputDetails()).map((d) => d.name),
          tensor: (data, shape) => new lrt.Tensor(data, shape),
          async run(feed) {
            const out = await model.run(feed);
            const arrays = {};
            for (const [name, t] of Object.entries(out)) { arrays[name] = t.toTypedArray().slice(); t.delete(); }
            return arrays;
          },
          free(feed) { for (const t of Object.values(feed)) t.delete(); },
        };
      },
    };
  },
};

function ortSession(ort, session, label) {
  const meta = session.inputMetadata ?? [];
  return {
    label,
    inputs: session.inputNames.map((name, i) => ({name, shape: (meta[i]?.shape ?? []).map((d) => (typeof d === 'number' ? d : -1))})),
    outputs: session.outputNames,
    tensor: (data, shape) => new ort.Tensor('float32', data, shape),
    async run(feed) {
      const out = await session.run(feed);
      return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data]));
    },
    free() {},
  };
}

// A model as edgeseq feeds it: a whole sequence [b, T, F] in, probabilities [b, K] out; a step model fed row by
// row from zero state, each state input fed the previous step's output of the same name pair.
function runner(session, step) {
  if (step) {
    const byName = Object.fromEntries(session.inputs.map((d) => [d.name, d]));
    const width = (name) => byName[name].shape[byName[name].shape.length - 1];
    return async (sequences, b, T, F) => {
      const state = Object.fromEntries(step.states.map(([input]) => [input, new Float32Array(b * width(input))]));
      let out = null;
      for (let t = 0; t < T; t++) {
        const row = new Float32Array(b * F);
        for (let i = 0; i < b; i++) row.set(sequences.subarray((i * T + t) * F, (i * T + t + 1) * F), i * F);
        const feed = {[step.row]: session.tensor(row, [b, F])};
        for (const [input] of step.states) feed[input] = session.tensor(state[input], [b, width(input)]);
        out = await session.run(feed);
        session.free(feed);
        for (const [input, output] of step.states) state[input] = out[output];
      }
      return out[step.probabilities];
    };
  }
  if (session.inputs.length !== 1 || session.outputs.length !== 1) {
    throw new Error(`expected one input and one output, found ${session.inputs.length} and ${session.outputs.length}`);
  }
  const [input, output] = [session.inputs[0].name, session.outputs[0]];
  return async (sequences, b, T, F) => {
    const feed = {[input]: session.tensor(sequences, [b, T, F])};
    const out = await session.run(feed);
    session.free(feed);
    return out[output];
  };
}

// One step with the state at zero (what an app does for every row it receives), for per-step latency.
function stepCall(session, step, b, F) {
  const byName = Object.fromEntries(session.inputs.map((d) => [d.name, d]));
  const shapes = {[step.row]: [b, F]};
  for (const [input] of step.states) shapes[input] = [b, byName[input].shape[byName[input].shape.length - 1]];
  return async () => {
    const feed = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, session.tensor(new Float32Array(numel(shape)), shape)]));
    const out = await session.run(feed);
    session.free(feed);
    return out;
  };
}

async function timeCalls(call, warmup, minRuns, minSeconds) {
  for (let i = 0; i < warmup; i++) await call();
  const samples = [];
  const deadline = performance.now() + minSeconds * 1000;
  while (samples.length < minRuns || performance.now() < deadline) {
    const start = performance.now();
    await call();
    samples.push((performance.now() - start) * 1000);
  }
  return Float64Array.from(samples);
}

function status(field) {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(field + ':'));
    return line ? Number(line.split(/\s+/)[1]) * 1024 : null;
  } catch { return null; }
}

function restartPeak() {
  try { writeFileSync('/proc/self/clear_refs', '5'); return true; } catch { return false; }
}

async function main(request) {
  let started = performance.now();
  const engine = await ENGINES[request.engine](request.threads);
  const importMs = performance.now() - started;
  const rssAfterImport = status('VmRSS') ?? process.memoryUsage().rss;
  const restarted = restartPeak();
  started = performance.now();
  const session = await engine.open(new Uint8Array(readFileSync(request.model)));
  const loadMs = performance.now() - started;
  const [N, T, F] = request.input.shape;
  const raw = readFileSync(request.input.file);
  const sequences = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const run = runner(session, request.step);
  const first = session.inputs[0].shape[0];
  const fixed = Number.isInteger(first) && first > 0 ? first : null;   // a fixed batch axis (else -1: any batch)
  const answer = {label: session.label, batch: fixed, import_ms: importMs, load_ms: loadMs};
  if (request.op === 'predict') {
    const chunk = fixed ?? PREDICT_CHUNK;
    const parts = [];
    for (let start = 0; start < N; start += chunk) {
      const b = Math.min(chunk, N - start);
      parts.push(Float32Array.from(await run(sequences.subarray(start * T * F, (start + b) * T * F), b, T, F)));
    }
    const classes = parts.length ? parts[0].length / Math.min(chunk, N) : 0;
    const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of parts) { all.set(p, offset); offset += p.length; }
    writeFileSync(request.output, Buffer.from(all.buffer));
    return {...answer, classes};
  }
  started = performance.now();
  await run(sequences.subarray(0, T * F), 1, T, F);
  answer.first_inference_ms = performance.now() - started;
  answer.batches = [];
  for (const b of request.batches) {
    if (fixed !== null && b !== fixed) continue;
    const batch = sequences.subarray(0, b * T * F);
    const samples = await timeCalls(() => run(batch, b, T, F), request.warmup, request.min_runs, request.min_seconds);
    const entry = {batch: b, samples: `${request.samples_prefix}-${b}.f64`};
    writeFileSync(entry.samples, Buffer.from(samples.buffer));
    if (request.step) {
      const steps = await timeCalls(stepCall(session, request.step, b, F), request.warmup, request.min_runs, request.min_seconds);
      entry.step_samples = `${request.samples_prefix}-${b}-step.f64`;
      writeFileSync(entry.step_samples, Buffer.from(steps.buffer));
    }
    answer.batches.push(entry);
  }
  const peak = status('VmHWM');
  answer.memory = peak === null
    ? {rss_after_import_bytes: rssAfterImport, peak_rss_bytes: process.resourceUsage().maxRSS * 1024, method: 'maxRSS of the node process (no /proc here)'}
    : {rss_after_import_bytes: rssAfterImport, peak_rss_bytes: peak,
       method: restarted ? "VmHWM of the node process, restarted after the runtime's import" : 'VmHWM of the node process (its peak since it started)'};
  return answer;
}

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let answer;
try {
  answer = await main(request);
} catch (err) {
  answer = {error: String(err?.message ?? err).split('\n').find((l) => l.trim()) ?? String(err)};
}
writeFileSync(request.answer, JSON.stringify(answer));
process.exit(0);   // LiteRT.js and onnxruntime-web keep handles open
