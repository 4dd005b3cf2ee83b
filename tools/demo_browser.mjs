// Drive the edgeseq demo page in headless Chromium (playwright-core, Debian's /usr/bin/chromium):
//   node tools/demo_browser.mjs URL [--draw] [--show INDEX] [--screenshot FILE.png]
// Prints JSON on stdout: {results: window.edgeseqDemo.runAll() (+ drawn: the models' answers on a digit drawn
// with the mouse, with --draw), errors: [page errors]}. --show: test sequence INDEX read to its last row;
// --screenshot: then a screenshot of the page.
// Needs js/node_modules (tools/install-js.sh); run with NODE_PATH=js/node_modules from another folder.
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(path.join(process.cwd(), 'noop.js'));
const {chromium} = require('playwright-core');
const [url, ...rest] = process.argv.slice(2);
const option = (name) => { const i = rest.indexOf(name); return i >= 0 ? rest[i + 1] : undefined; };
const profile = mkdtempSync(path.join(tmpdir(), 'edgeseq-chromium-'));
const errors = [];
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
  viewport: {width: 1320, height: 700},
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (err) => errors.push(String(err.message ?? err)));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', {timeout: 120000});
  const results = await page.evaluate(() => window.edgeseqDemo.runAll());
  if (rest.includes('--draw')) {       // draw a "7" on the pad with the mouse and run the models on it
    const pad = await (await page.$('#pad')).boundingBox();
    const at = (x, y) => [pad.x + x * pad.width, pad.y + y * pad.height];
    await page.mouse.move(...at(0.28, 0.22));
    await page.mouse.down();
    for (const [x, y] of [[0.5, 0.22], [0.72, 0.22], [0.62, 0.5], [0.52, 0.8]]) await page.mouse.move(...at(x, y), {steps: 8});
    await page.mouse.up();
    results.drawn = await page.evaluate(async () => { document.getElementById('run').click(); await new Promise((r) => setTimeout(r, 50)); return window.edgeseqDemo.settled(); });
  }
  const shot = option('--screenshot');
  if (shot && option('--show') !== undefined) {
    await page.evaluate((index) => window.edgeseqDemo.show(index, 0), Number(option('--show')));
  }
  if (shot) {
    await page.screenshot({path: shot, fullPage: true});
  }
  process.stdout.write(JSON.stringify({results, errors}) + '\n');
} finally {
  await context.close();
  rmSync(profile, {recursive: true, force: true});
}
