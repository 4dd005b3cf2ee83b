// LiteRT.js (@litertjs/core, js/package.json) under Node: load each .tflite and run the first 100 golden digits
// through it by position (the documented tensor order: edgeseq.export.tensor_order), one line per file: pass with
// the max |diff| against the golden outputs and the top-1 agreement, or the runtime's complaint. A measurement
// for docs/results/app-ready.md, until the app runtimes are edgeseq runtimes.
//
//   python tools/compiled_model_check.py --write-golden GOLDEN models      # x-<arch>.bin, y-<arch>.bin
//   node tools/litertjs_check.mjs GOLDEN app/*/*.tflite
//
// LiteRT.js's loader is written for the browser: `self`, `importScripts` and `require` are shimmed here.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';
const wasmDir = new URL('../js/node_modules/@litertjs/core/wasm/', import.meta.url).pathname;
globalThis.self = globalThis;
globalThis.require = createRequire(wasmDir + 'x.js');
globalThis.__dirname = wasmDir;
globalThis.importScripts = (u) => vm.runInThisContext(fs.readFileSync(u, 'utf8'), {filename: u});
const core = await import(new URL('../js/node_modules/@litertjs/core/dist/index.js', import.meta.url).href);
const log = console.log; console.log = () => {}; console.info = () => {}; console.warn = () => {};
await core.loadLiteRt(wasmDir);
const N = 100;
const [goldenDir, ...files] = process.argv.slice(2);
for (const f of files) {
  const arch = path.basename(path.dirname(f));
  const floats = (b) => new Float32Array(b.buffer, b.byteOffset, b.length / 4).slice();
  const x = floats(fs.readFileSync(path.join(goldenDir, `x-${arch}.bin`)));
  const y = floats(fs.readFileSync(path.join(goldenDir, `y-${arch}.bin`)));
  const manifest = JSON.parse(fs.readFileSync(f + '.json', 'utf8'));
  try {
    const model = await core.loadAndCompile(new Uint8Array(fs.readFileSync(f)), {accelerator: 'wasm'});
    let maxDiff = 0, agree = 0;
    for (let i = 0; i < N; i++) {
      let probs;
      if (!manifest.step) {
        const t = new core.Tensor(x.slice(i * 784, (i + 1) * 784), [1, 28, 28]);
        const out = await model.run([t]);
        probs = out[0].toTypedArray().slice(); t.delete(); out.forEach(o => o.delete());
      } else {
        let state = manifest.step.states.map(s => new Float32Array(s.units));
        for (let r = 0; r < 28; r++) {
          const ins = [new core.Tensor(x.slice(i * 784 + r * 28, i * 784 + r * 28 + 28), [1, 28]),
                       ...state.map((s, k) => new core.Tensor(s, [1, manifest.step.states[k].units]))];
          const out = await model.run(ins);           // by position: row, states; probabilities, next states
          probs = out[0].toTypedArray().slice();
          state = out.slice(1).map(o => o.toTypedArray().slice());
          ins.forEach(t => t.delete()); out.forEach(o => o.delete());
        }
      }
      let best = 0, bestY = 0;
      for (let c = 0; c < 10; c++) {
        maxDiff = Math.max(maxDiff, Math.abs(probs[c] - y[i * 10 + c]));
        if (probs[c] > probs[best]) best = c;
        if (y[i * 10 + c] > y[i * 10 + bestY]) bestY = c;
      }
      agree += best === bestY;
    }
    log(`${path.basename(f)}\tpass\tmax|diff| ${maxDiff.toExponential(2)}\tagreement ${(agree / N).toFixed(3)}`);
  } catch (e) { log(`${path.basename(f)}\tfail\t${String(e.message || e).split('\n')[0].slice(0, 140)}`); }
}
