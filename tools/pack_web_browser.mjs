// Open a packed web page (edgeseq pack: DIR/web/) in headless Chromium (playwright-core, Debian's /usr/bin/chromium)
// and print what it shows as JSON: {ready: pass|fail|error, status, result: window.edgeseq.result, error, errors}.
//   node tools/pack_web_browser.mjs URL [SCREENSHOT.png]
// Needs js/node_modules (tools/install-js.sh); run with NODE_PATH=js/node_modules from another folder.
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {createRequire} from 'node:module';
const require = createRequire(path.join(process.cwd(), 'noop.js'));
const {chromium} = require('playwright-core');
const [url, shot] = process.argv.slice(2);
const errors = [];
const context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'edgeseq-chromium-')), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, viewport: {width: 1024, height: 700},
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']});
try {
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (err) => errors.push(String(err.message ?? err)));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', {timeout: 120000});
  const state = await page.evaluate(() => ({ready: document.body.dataset.ready, status: document.getElementById('status').textContent,
    result: window.edgeseq?.result ?? null, error: window.edgeseq?.error ?? null}));
  if (shot) await page.screenshot({path: shot, fullPage: true});
  console.log(JSON.stringify({...state, errors}));
} finally { await context.close(); }
