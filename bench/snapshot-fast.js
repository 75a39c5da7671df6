'use strict';

// Measures fast mode: v8.writeHeapSnapshot with and without the inspector's
// Debugger domain enabled first, in fresh processes, with TypeScript loaded
// (large scripts: the slow case on Node 20) and without.
//
//   node bench/snapshot-fast.js
//
// The slow TypeScript case takes tens of seconds on Node 20: that is the point.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-bench-'));

// Runs in the child: optionally load TypeScript, optionally enable the
// Debugger, write one snapshot, report timings and the snapshot's node count.
const probe = `
  const v8 = require('v8');
  const [, withTs, fast, file] = process.argv;
  if (withTs === '1') require('typescript');
  let enableMs = 0;
  if (fast === '1') {
    const t = process.hrtime.bigint();
    const s = new (require('inspector').Session)();
    s.connect();
    s.post('Debugger.enable');
    s.post('Debugger.disable');
    s.disconnect();
    enableMs = Number(process.hrtime.bigint() - t) / 1e6;
  }
  const t = process.hrtime.bigint();
  v8.writeHeapSnapshot(file);
  const writeMs = Number(process.hrtime.bigint() - t) / 1e6;
  const head = require('fs').readFileSync(file, 'latin1').slice(0, 4096);
  const nodes = Number(/"node_count":(\\d+)/.exec(head)[1]);
  console.log(JSON.stringify({ enableMs, writeMs, nodes, bytes: require('fs').statSync(file).size }));
`;

function run(withTs, fast) {
  const file = path.join(dir, `s-${withTs}-${fast}.heapsnapshot`);
  const r = spawnSync(process.execPath, ['-e', probe, withTs ? '1' : '0', fast ? '1' : '0', file], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
  });
  fs.rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`node ${process.version}, ${os.cpus().length} cpus`);
for (const withTs of [true, false]) {
  const slow = run(withTs, false);
  const fast = run(withTs, true);
  const label = withTs ? 'with TypeScript loaded' : 'plain process';
  console.log(`${label}:`);
  console.log(`  writeHeapSnapshot            ${fmt(slow.writeMs)}  (${slow.nodes} nodes, ${(slow.bytes / 1e6).toFixed(1)} MB)`);
  console.log(`  after Debugger.enable        ${fmt(fast.writeMs)}  (${fast.nodes} nodes, ${(fast.bytes / 1e6).toFixed(1)} MB)`);
  console.log(`  Debugger.enable + disable    ${fmt(fast.enableMs)}`);
  console.log(`  speed-up incl. enable        ${(slow.writeMs / (fast.writeMs + fast.enableMs)).toFixed(1)}x; extra heap objects ${fast.nodes - slow.nodes}`);
}
fs.rmSync(dir, { recursive: true, force: true });
