import {readFileSync} from 'node:fs';
import vm from 'node:vm';
import path from 'node:path';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
globalThis.self = globalThis;
globalThis.importScripts = (url) => {
  const p = url.startsWith('file:') ? fileURLToPath(url) : url;
  const wrapped = `(function (require, __dirname, __filename) {${readFileSync(p, 'utf8')}\n;self.ModuleFactory = ModuleFactory;})`;
  vm.runInThisContext(wrapped, {filename: p})(createRequire(p), path.dirname(p), p);
};
const {loadLiteRt, loadAndCompile, Tensor} = await import('@litertjs/core');
const wasm = fileURLToPath(new URL('./node_modules/@litertjs/core/wasm/' + (process.argv[2] ?? ''), import.meta.url));
try {
  await loadLiteRt(wasm);
  console.log("loaded", wasm);
  for (const f of ['rnn/rnn-fp32-step.tflite','lstm/lstm-int16x8.tflite','rnn/rnn-fp32.tflite','rnn/rnn-int8.tflite','lstm/lstm-fp32.tflite']) {
   try {
    const m = await loadAndCompile(new Uint8Array(readFileSync('/work/main/models/'+f)), {accelerator: 'wasm'});
    console.log(f, JSON.stringify(m.getInputDetails()), JSON.stringify(m.getOutputDetails()), Object.keys(m.signatures));
    const ins = m.getInputDetails();
    const feed = {}; for (const d of ins) { const shape = d.shape.map(x => x < 0 ? 1 : x); feed[d.name] = new Tensor(new Float32Array(shape.reduce((a,b)=>a*b,1)), shape); }
    const out = await m.run(feed);
    console.log(Object.keys(out), Object.values(out).map(t => t.toTypedArray().slice(0,3)));
   } catch (e) { console.log(f, "ERR", String(e.message ?? e).split("\n")[0]); }
  }
} catch (e) { console.log("ERR", e.stack.split("\n").slice(0,5).join("\n")); }
