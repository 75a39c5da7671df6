'use strict';
// Deep heaps, where unbounded retainer paths used to cost minutes and
// gigabytes: a real Node heap whose largest objects hang 150,000 steps down
// two 300,000-node linked lists, and crafted chains of 1M and 10M nodes.
// For each, in one run: the load alone (the engine's own peak) and
// `leakwatch analyze` with default options, as wall time and peak RSS of a
// child process, plus the cost of the deepest path and dominator chain.
//
//   node bench/deep.js [--skip-10m]
//
// Files are generated once into bench/.out/ (the 10M chain is 363 MB).
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { makeLinkedListHeap, makeChain } = require('../__test__/fixtures/deep-heaps.js');

const ROOT = path.join(__dirname, '..');
const OUT = path.join(__dirname, '.out');
const USAGE = path.join(ROOT, '__test__', 'fixtures', 'report-usage.js');
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');

function measured(args) {
  const r = spawnSync(process.execPath, ['-r', USAGE, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('leakwatch-usage '));
  return { out: r.stdout, ...JSON.parse(line.slice('leakwatch-usage '.length)) };
}

const queries = `
  const lw = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
  lw.loadSnapshot(process.argv[1]).then((s) => {
    const { ids, distances } = s.columns();
    let deepest = ids[0];
    let depth = -1;
    for (let i = 0; i < ids.length; i++) {
      if (distances[i] > depth && distances[i] < 100_000_000) [deepest, depth] = [ids[i], distances[i]];
    }
    let t = process.hrtime.bigint();
    const steps = s.retainerPath(deepest);
    const pathMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    const chain = s.dominatorChain(deepest);
    const chainMs = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(JSON.stringify({ pathMs, shown: steps.length, skipped: steps.reduce((n, x) => n + (x.skipped || 0), 0), chainMs, chainTotal: chain.total }));
  });`;

const files = [
  ['linked lists, 2 × 300,000 nodes (real Node heap)', () => makeLinkedListHeap(OUT)],
  ['chain, 1M nodes', () => makeChain(OUT, 1_000_000)],
];
if (!process.argv.includes('--skip-10m')) files.push(['chain, 10M nodes', () => makeChain(OUT, 10_000_000)]);

for (const [label, make] of files) {
  const file = make();
  // Interleaved, so both see the same machine load.
  const load = measured(['-e', `require(${JSON.stringify(path.join(ROOT, 'index.js'))}).loadSnapshot(process.argv[1]).then((s) => s.close())`, file]);
  const analyze = measured([CLI, 'analyze', file]);
  const q = JSON.parse(measured(['-e', queries, file]).out);
  console.log(
    `${label}: load ${(load.ms / 1000).toFixed(2)} s / ${load.maxRssMb} MB peak; ` +
      `analyze ${(analyze.ms / 1000).toFixed(2)} s / ${analyze.maxRssMb} MB peak (${(analyze.ms / load.ms).toFixed(2)}x the load's time, +${analyze.maxRssMb - load.maxRssMb} MB), ${analyze.out.length} bytes printed; ` +
      `deepest path ${q.pathMs.toFixed(0)} ms (${q.shown} shown, ${q.skipped} left out), dominator chain page ${q.chainMs.toFixed(0)} ms of ${q.chainTotal}`,
  );
}
