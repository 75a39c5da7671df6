// Bounded work on any heap shape: the largest objects of an ordinary heap
// hanging off two 300,000-node linked lists, and a crafted chain of a
// million nodes, analyse with default options in about the time and memory
// of the load itself; every path, chain and list answer is capped or paged.
// (bench/deep.js measures the same on a 10M-node chain.)
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { OUT, ROOT, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeLinkedListHeap, makeChain } = require('./fixtures/deep-heaps.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');
const USAGE = path.join(ROOT, '__test__', 'fixtures', 'report-usage.js');
const PATH_STEPS = leakwatch.LIMITS.pathSteps.default;
// Memory the report may add above the engine's own peak (the bound).
const EXTRA_RSS_MB = 500;

function measured(args) {
  const r = spawnSync(process.execPath, ['-r', USAGE, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('leakwatch-usage '));
  return { stdout: r.stdout, ...JSON.parse(line.slice('leakwatch-usage '.length)) };
}

function loadOnly(file) {
  return measured(['-e', `require(${JSON.stringify(path.join(ROOT, 'index.js'))}).loadSnapshot(process.argv[1]).then((s) => s.close())`, file]);
}

function checkAnalyzeCost(t, file) {
  const load = loadOnly(file);
  const text = measured([CLI, 'analyze', file]);
  const json = measured([CLI, 'analyze', file, '--json']);
  const htmlFile = path.join(OUT, `bounded-${path.basename(file)}.html`);
  const html = measured([CLI, 'analyze', file, '--html', htmlFile]);
  t.diagnostic(`${path.basename(file)}: load ${load.ms | 0} ms / ${load.maxRssMb} MB; analyze text ${text.ms | 0} ms / ${text.maxRssMb} MB, ${text.stdout.length} bytes; json ${json.ms | 0} ms / ${json.maxRssMb} MB, ${json.stdout.length} bytes; html ${html.ms | 0} ms / ${html.maxRssMb} MB, ${fs.statSync(htmlFile).size} bytes`);
  for (const run of [text, json, html]) {
    assert.ok(run.maxRssMb - load.maxRssMb < EXTRA_RSS_MB, `analyze peaks at ${run.maxRssMb} MB, the load alone at ${load.maxRssMb} MB`);
    // Timing is noisy on shared machines; the unbounded paths took 29 s here.
    assert.ok(run.ms < load.ms * 3 + 5000, `analyze took ${run.ms} ms, the load ${load.ms} ms`);
  }
  assert.ok(text.stdout.length < 64 << 10, `${text.stdout.length} bytes of text`);
  assert.ok(json.stdout.length < 256 << 10, `${json.stdout.length} bytes of JSON`);
  assert.ok(fs.statSync(htmlFile).size < 512 << 10);
  const report = JSON.parse(json.stdout);
  for (const top of report.top) assert.ok(top.retainerPath.length <= PATH_STEPS);
  return { report, text: text.stdout, html: fs.readFileSync(htmlFile, 'utf8') };
}

test('a real heap whose largest objects hang off 300,000-node lists', (t) => {
  const file = makeLinkedListHeap(OUT);
  const { report, text, html } = checkAnalyzeCost(t, file);
  // The arrays' holders are among the largest objects, 150,000 steps deep.
  const deep = report.top.filter((o) => o.retainerPath.some((s) => s.skipped > 100_000));
  assert.ok(deep.length >= 2, `${deep.length} capped paths`);
  for (const o of deep) {
    const shown = o.retainerPath.length;
    const skipped = o.retainerPath.reduce((n, s) => n + (s.skipped ?? 0), 0);
    assert.equal(shown, PATH_STEPS);
    assert.equal(o.retainerPath.at(-1).node.id, o.node.id, 'the path ends at the object');
    assert.ok(/^global/.test(o.retainerPath[0].node.className), 'and starts at the global object');
    assert.ok(shown + skipped > 140_000, `${shown} + ${skipped} steps`);
  }
  assert.match(text, /… [\d,]+ steps …/);
  assert.match(html, /<li class="gap">… [\d,]+ steps …<\/li>/);
});

test('a crafted chain of 1M nodes: paths and chains are capped, lists are paged', async (t) => {
  const file = makeChain(OUT, 1_000_000);
  checkAnalyzeCost(t, file);
  const snap = await leakwatch.loadSnapshot(file);
  try {
    const last = 2 * (1_000_000 - 1) + 5;
    const globalId = 3;
    let started = Date.now();
    const steps = snap.retainerPath(last);
    const pathMs = Date.now() - started;
    assert.equal(steps.length, PATH_STEPS);
    assert.equal(steps[0].node.id, globalId);
    assert.equal(steps.at(-1).node.id, last);
    assert.equal(steps.reduce((n, s) => n + (s.skipped ?? 0), 0), 1_000_001 - PATH_STEPS);
    assert.equal(snap.retainerPath(last, { maxSteps: 1000 }).length, 1000);
    assert.equal(snap.retainerPath(last, { maxSteps: 2 }).map((s) => s.node.id).join(), `${globalId},${last}`);

    started = Date.now();
    const chain = snap.dominatorChain(last);
    const chainMs = Date.now() - started;
    assert.equal(chain.length, leakwatch.LIMITS.page.default);
    assert.equal(chain.total, 1_000_002);
    assert.equal(chain[0].id, last);
    const end = snap.dominatorChain(last, { offset: 999_990, limit: 100 });
    assert.equal(end.length, 12);
    assert.equal(end.at(-1).type, 'synthetic', 'the chain ends at the root');
    assert.equal(snap.children(globalId).total, 1);
    assert.equal(snap.retainers(last).total, 1);
    assert.equal(snap.edges(globalId).total, 1);
    t.diagnostic(`1M chain: retainerPath ${pathMs} ms, dominatorChain ${chainMs} ms`);
    assert.throws(() => snap.dominatorChain(last, { limit: leakwatch.LIMITS.page.max + 1 }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => snap.retainerPath(last, { maxSteps: 1 }), { code: 'ERR_INVALID_ARG' });
  } finally {
    snap.close();
  }
});

test('report limits are documented maxima, not silent clamps', async () => {
  const file = makeChain(OUT, 1_000_000);
  const snap = await leakwatch.loadSnapshot(file);
  try {
    assert.throws(() => snap.report({ top: 2 ** 31 }), { code: 'ERR_INVALID_ARG', message: /top must be an integer from 0 to 1000/ });
    assert.throws(() => snap.report({ maxClasses: 100_001 }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => snap.topRetainers(100_001), { code: 'ERR_INVALID_ARG' });
    const r = snap.report({ top: 1000 });
    assert.equal(r.top.length, 1000);
    assert.ok(r.top.every((o) => o.retainerPath.length <= PATH_STEPS));
  } finally {
    snap.close();
  }
  const cli = spawnSync(process.execPath, [CLI, 'analyze', file, '--top', '3000'], { encoding: 'utf8' });
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /top\b.*\b1000\b/, 'the message names the option and its maximum');
});
