// The edgeseq demo page: step models read a sequence one row at a time in onnxruntime-web (WASM).
// window.edgeseqDemo exposes the results (a test reads them): ready, runAll(), run(input), last.
import * as ort from './ort/ort.wasm.min.mjs';

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
ort.env.wasm.numThreads = 1;          // no cross-origin isolation needed: any static server will do

const data = await (await fetch('sequences.json')).json();
const $ = (id) => document.getElementById(id);
const argmax = (v) => v.reduce((best, x, k) => (x > v[best] ? k : best), 0);
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s.length ? s[Math.floor(s.length / 2)] : NaN; };
const BENCH_STEPS = 200;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The smallest step of performance.now() here (Chromium coarsens it to 100 µs without cross-origin isolation). */
const timerTickUs = (() => {
  let tick = Infinity;
  for (let i = 0, last = performance.now(); i < 20000 && tick > 0.001; i++) {
    const now = performance.now();
    if (now > last) { tick = Math.min(tick, now - last); last = now; }
  }
  return Math.round(1000 * tick);
})();

/** One step model: its session, its tensors (from sequences.json: the file's own names and shapes). */
class StepModel {
  constructor(spec, session) {
    this.spec = spec;
    this.session = session;
    this.row = spec.inputs.find((t) => t.role === 'row');
    this.probabilities = spec.outputs.find((t) => t.role === 'probabilities');
  }

  zeroState() {
    const state = {};
    for (const t of this.spec.inputs) if (t.role === 'state') state[t.name] = new Float32Array(t.app_shape.reduce((a, b) => a * b, 1));
    return state;
  }

  /** One step: the row and the state in; the probabilities, the next state and the time session.run took. */
  async step(row, state) {
    const feeds = {};
    for (const t of this.spec.inputs) {
      const values = t.role === 'row' ? Float32Array.from(row) : state[t.name];
      feeds[t.name] = new ort.Tensor('float32', values, t.app_shape);
    }
    const started = performance.now();
    const outputs = await this.session.run(feeds);
    const ms = performance.now() - started;
    const next = {};
    for (const s of this.spec.states) next[s.input] = Float32Array.from(outputs[s.output].data);
    return {probabilities: Array.from(outputs[this.probabilities.name].data), state: next, ms};
  }

  /** Mean µs per step over `steps` steps (the state fed back): finer than the timer's tick allows one step. */
  async bench(row, state, steps = BENCH_STEPS) {
    const started = performance.now();
    for (let i = 0; i < steps; i++) state = (await this.step(row, state)).state;
    return (1000 * (performance.now() - started)) / steps;
  }
}

/** A panel per model: the digit with the row being read, the probabilities as bars, the latency. */
class Panel {
  constructor(model, title) {
    this.model = model;
    const box = document.createElement('div');
    box.className = 'box model';
    box.innerHTML = `<h2>${title}</h2><canvas class="digit" width="28" height="28"></canvas>
      <div class="bars"></div><div class="stats"></div>`;
    $('models').append(box);
    this.canvas = box.querySelector('canvas');
    this.bars = box.querySelector('.bars');
    this.stats = box.querySelector('.stats');
    this.bars.innerHTML = data.labels.map((label) => `<span>${label}</span><div class="bar"><div style="width:0"></div></div><span>0.000</span>`).join('');
  }

  show(input, t, probabilities, times, benchUs = null) {
    drawDigit(this.canvas, input, t);
    const top = argmax(probabilities);
    const cells = this.bars.children;
    probabilities.forEach((p, k) => {
      cells[3 * k + 1].className = k === top ? 'bar top' : 'bar';
      cells[3 * k + 1].firstChild.style.width = `${(100 * p).toFixed(1)}%`;
      cells[3 * k + 2].textContent = p.toFixed(3);
    });
    const us = (ms) => `${(1000 * ms).toFixed(0)} µs`;
    this.stats.textContent = `step ${t + 1}/${input.length}: class ${data.labels[top]}\n`
      + `this step: ${us(times.at(-1))}, median so far ${us(median(times))}\n`
      + `mean of ${times.length} step(s): ${us(times.reduce((a, b) => a + b, 0) / times.length)}\n`
      + (benchUs === null ? `(the browser's timer ticks in ${timerTickUs} µs)`
        : `steady state: ${benchUs.toFixed(1)} µs/step (${BENCH_STEPS} steps)`);
  }
}

function drawDigit(canvas, input, readRow = null) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(28, 28);
  input.forEach((row, y) => row.forEach((v, x) => {
    const read = readRow === null || y <= readRow;
    const g = Math.round(255 * v);
    image.data.set(read ? [g, g, g, 255] : [g * 0.35, g * 0.35, g * 0.35, 255], 4 * (28 * y + x));
  }));
  ctx.putImageData(image, 0, 0);
  if (readRow !== null) {
    ctx.fillStyle = 'rgba(232, 89, 12, 0.55)';
    ctx.fillRect(0, readRow, 28, 1);
  }
}

/** Run every model on one sequence ([T][F] numbers, normalised), row by row; with a panel, show every step. */
async function run(input, panels = null, delay = 0) {
  const result = {};
  for (const [k, model] of models.entries()) {
    let state = model.zeroState();
    let probabilities = null;
    const times = [];
    const steps = [];
    for (const [t, row] of input.entries()) {
      const out = await model.step(row, state);
      state = out.state;
      probabilities = out.probabilities;
      times.push(out.ms);
      steps.push(probabilities);
      if (panels) {
        panels[k].show(input, t, probabilities, times);
        if (delay) await pause(delay);
      }
    }
    let benchUs = null;
    if (panels) {
      benchUs = await model.bench(input.at(-1), state);
      panels[k].show(input, input.length - 1, probabilities, times, benchUs);
    }
    result[model.spec.file] = {probabilities, steps, step_ms: times, bench_us_per_step: benchUs};
  }
  return result;
}

// --- drawing a digit: strokes on a 280x280 pad, then MNIST's framing: fit in 20x20, centre of mass at the centre
const pad = $('pad');
const pen = pad.getContext('2d');
function clearPad() { pen.fillStyle = '#000'; pen.fillRect(0, 0, pad.width, pad.height); }
clearPad();
let drawing = false;
let drawn = false;
/** A pointer's position in the pad's own 280x280 pixels, wherever CSS scales the pad (a narrow phone). */
const at = (e) => [e.offsetX * pad.width / pad.clientWidth, e.offsetY * pad.height / pad.clientHeight];
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  drawn = true;
  document.querySelectorAll('#samples button').forEach((b) => b.classList.remove('chosen'));
  pen.beginPath();
  pen.moveTo(...at(e));
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  Object.assign(pen, {strokeStyle: '#fff', lineWidth: 20, lineCap: 'round', lineJoin: 'round'});
  pen.lineTo(...at(e));
  pen.stroke();
});
window.addEventListener('pointerup', () => { drawing = false; });
$('clear').addEventListener('click', () => { clearPad(); drawn = false; });

function padDigit() {
  const {data: rgba} = pen.getImageData(0, 0, pad.width, pad.height);
  let [x0, y0, x1, y1] = [pad.width, pad.height, -1, -1];
  for (let y = 0; y < pad.height; y++) for (let x = 0; x < pad.width; x++) {
    if (rgba[4 * (y * pad.width + x)] > 0) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) return null;
  const side = Math.max(x1 - x0, y1 - y0) + 1;
  const small = document.createElement('canvas');
  small.width = small.height = 28;
  const ctx = small.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, 28, 28);
  const w = (20 * (x1 - x0 + 1)) / side;
  const h = (20 * (y1 - y0 + 1)) / side;
  ctx.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, 0, 0, w, h);
  const {data: px} = ctx.getImageData(0, 0, 28, 28);
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) { const v = px[4 * (28 * y + x)]; mass += v; mx += v * x; my += v * y; }
  const dx = Math.round(14 - mx / mass);
  const dy = Math.round(14 - my / mass);
  const input = Array.from({length: 28}, () => new Array(28).fill(0));
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const [tx, ty] = [x + dx, y + dy];
    if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28) input[ty][tx] = px[4 * (28 * y + x)] / 255;   // uint8 pixel / 255
  }
  return input;
}

// --- start
const models = [];
const panels = [];
for (const m of data.models) {
  const bytes = new Uint8Array(await (await fetch(m.spec.file)).arrayBuffer());
  const model = new StepModel(m.spec, await ort.InferenceSession.create(bytes, {executionProviders: ['wasm']}));
  models.push(model);
  panels.push(new Panel(model, m.title));
}

let chosen = data.sequences[0].input;
data.sequences.forEach((s, i) => {
  const button = document.createElement('button');
  button.title = `test sample ${s.sample}, label ${data.labels[s.label]}`;
  const thumb = document.createElement('canvas');
  thumb.width = thumb.height = 28;
  drawDigit(thumb, s.input);
  button.append(thumb);
  button.addEventListener('click', () => {
    document.querySelectorAll('#samples button').forEach((b) => b.classList.remove('chosen'));
    button.classList.add('chosen');
    chosen = s.input;
    drawn = false;
    runShown();
  });
  if (i === 0) button.classList.add('chosen');
  $('samples').append(button);
});

let running = Promise.resolve();
function runShown() {
  const input = drawn ? padDigit() : chosen;
  if (!input) return running;
  running = running.then(() => run(input, panels, $('slow').checked ? 60 : 0)).then((r) => { api.last = r; return r; });
  return running;
}
$('run').addEventListener('click', runShown);

const api = {
  last: null,
  /** Every test sequence through every model (no animation): {file: [final probabilities per sequence]}. */
  async runAll() {
    const out = {};
    for (const s of data.sequences) {
      const r = await run(s.input);
      for (const [file, v] of Object.entries(r)) (out[file] ??= []).push({sample: s.sample, ...v});
    }
    return out;
  },
  /** Show one test sequence being read, step by step (delay ms between steps); resolves when done. */
  show(index, delay = 0) {
    document.querySelectorAll('#samples button').forEach((b, i) => b.classList.toggle('chosen', i === index));
    chosen = data.sequences[index].input;
    drawn = false;
    running = running.then(() => run(chosen, panels, delay)).then((r) => { api.last = r; return r; });
    return running;
  },
  /** The results of the last run shown, once every run asked for has finished. */
  async settled() { await running; return api.last; },
  run,
};
window.edgeseqDemo = api;
$('status').textContent = `${models.length} model(s) loaded with onnxruntime-web ${ort.env.versions?.web ?? ''} (WASM, 1 thread)`;
await runShown();
document.body.dataset.ready = '1';
