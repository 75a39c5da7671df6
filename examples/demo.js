'use strict';

// The main job: a process that leaks (a global request log that only grows),
// a heap snapshot of it, and leakwatch's analysis of that snapshot.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { analyzeSnapshot } = require('../index.js');
const { formatBytes, formatPath } = require('../lib/format.js');

const LEAKY_PROGRAM = `
const v8 = require('node:v8');
const requestLog = [];
globalThis.requestLog = requestLog;
function handle(i) {
  requestLog.push({ url: '/api/items/' + i, headers: { 'user-agent': 'demo/' + (i % 7) }, time: Date.now() });
}
for (let i = 0; i < 50000; i++) handle(i);
global.gc();
v8.writeHeapSnapshot(process.argv[1]);
`;

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-demo-'));
  const file = path.join(dir, 'leaky.heapsnapshot');
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', LEAKY_PROGRAM, file], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`the leaky program failed (status ${child.status})`);
  console.log(`snapshot: ${file} (${formatBytes(fs.statSync(file).size)})`);

  const started = process.hrtime.bigint();
  const report = await analyzeSnapshot(file, { top: 3, maxClasses: 5 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`analysed ${report.nodeCount.toLocaleString('en-US')} nodes in ${ms.toFixed(0)} ms, heap total ${formatBytes(report.totalSize)}\n`);
  console.log('Top classes by retained size:');
  for (const c of report.classes) console.log(`  ${c.name.padEnd(40)} ${String(c.count).padStart(8)}  ${formatBytes(c.retainedSize).padStart(10)}`);
  const biggest = report.top.find((t) => t.node.className !== 'global') || report.top[0];
  console.log(`\nLargest non-global object: ${biggest.node.className} @${biggest.node.id}, ${formatBytes(biggest.node.retainedSize)} retained, held by:`);
  console.log(formatPath(biggest.retainerPath));
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
