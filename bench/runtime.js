'use strict';

// Runtime primitives against their plain counterparts. Prints ratios from one
// run; run with `node bench/runtime.js` (the GC part re-runs itself with --expose-gc).

const { spawnSync } = require('node:child_process');
const { EventEmitter } = require('node:events');
const path = require('node:path');
const lw = require('..');

// `settle` runs once inside the timing, after the loop: for work a call
// defers (a BoundedLog copies staged entries when read or when the job ends).
function timeNs(n, f, settle = () => {}) {
  for (let i = 0; i < Math.min(n / 10, 20_000); i++) f(i);
  settle();
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  settle();
  return Number(process.hrtime.bigint() - t) / n;
}

// Rounds alternate between the cases and each case keeps its best round:
// these VMs drift by tens of percent within a run, and timing one case
// after another let that drift skew a ratio either way. `before`/`after`
// switch a case's global wrappers on and off around each of its rounds.
function interleaved(rounds, n, cases) {
  const best = cases.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, k) => {
      c.before?.();
      best[k] = Math.min(best[k], timeNs(c.n ?? n, c.run, c.settle));
      c.after?.();
    });
  }
  return best;
}

function row(name, ns, baseNs, target) {
  const ratio = ns / baseNs;
  console.log(`${name.padEnd(48)} ${ns.toFixed(0).padStart(7)} ns  ${ratio.toFixed(2).padStart(6)}x  ${target}`);
}

function listeners() {
  const fn = () => {};
  const plain = new EventEmitter();
  const tracked = lw.trackEmitter(new EventEmitter(), { name: 'bench' });
  const any = new EventEmitter();
  const [base, signals, installed] = interleaved(5, 500_000, [
    { run: () => { plain.on('x', fn); plain.off('x', fn); } },
    { run: () => { tracked.on('x', fn); tracked.off('x', fn); } },
    {
      run: () => { any.on('x', fn); any.off('x', fn); },
      before: () => lw.listeners.install(),
      after: () => lw.listeners.uninstall(),
    },
  ]);
  lw.untrack(tracked);
  console.log(`emitter add+remove: plain ${base.toFixed(0)} ns`);
  row('  trackEmitter (instance wrappers)', signals, base, 'target <= 1.3x');
  row('  listeners.install() (prototype wrappers)', installed, base, 'target <= 1.3x');
}

function timers() {
  const fn = () => {};
  const run = () => clearTimeout(setTimeout(fn, 1000));
  const [base, tracked, withSites] = interleaved(5, 200_000, [
    { run },
    { run, before: () => lw.timers.install(), after: () => lw.timers.uninstall() },
    { run, n: 50_000, before: () => lw.timers.install({ sites: 'all' }), after: () => lw.timers.uninstall() },
  ]);
  console.log(`setTimeout+clearTimeout: plain ${base.toFixed(0)} ns`);
  row("  timers.install() (sites for intervals)", tracked, base, 'target <= 1.5x (why-is-node-running 6-19x)');
  row("  timers.install({ sites: 'all' })", withSites, base, 'stack per timer');
}

function log() {
  const entry = 'GET /api/users/42 200 12ms';
  const arr = [];
  const ring = new Array(10_000);
  let w = 0;
  const bl = new lw.BoundedLog({ maxEntries: 10_000 });
  const [array, ringNs, bounded] = interleaved(5, 1_000_000, [
    { run: () => { arr.push(entry); if (arr.length > 10_000) arr.length = 0; } },
    { run: () => { ring[w] = entry; w = w + 1 === 10_000 ? 0 : w + 1; } },
    // Reading `size` hands every staged entry to Rust, so the copy is timed too.
    { run: () => bl.push(entry), settle: () => bl.size },
  ]);
  bl.close();
  console.log(`log push (string): JS array ${array.toFixed(0)} ns, JS ring buffer ${ringNs.toFixed(0)} ns`);
  row('  BoundedLog.push vs JS array', bounded, array, '');
  row('  BoundedLog.push vs JS ring buffer', bounded, ringNs, 'target within 2x of the ring');
}

function gcChild() {
  const N = 1_000_000;
  const gcMs = () => {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint();
      globalThis.gc();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return Math.min(...times);
  };
  const baseline = gcMs();
  const arr = [];
  for (let i = 0; i < N; i++) arr.push({ url: '/api/users/' + i, status: 200, ms: i % 100 });
  const withArray = gcMs();
  arr.length = 0;
  globalThis.gc();
  const bl = new lw.BoundedLog({ maxEntries: N, maxBytes: Infinity });
  for (let i = 0; i < N; i++) bl.push({ url: '/api/users/' + i, status: 200, ms: i % 100 });
  const withLog = gcMs();
  console.log(JSON.stringify({ baseline, withArray, withLog, size: bl.size }));
}

function gc() {
  const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--gc-child'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const { baseline, withArray, withLog, size } = JSON.parse(r.stdout);
  console.log(`major GC with 1M retained entries (empty heap: ${baseline.toFixed(1)} ms; log holds ${size})`);
  console.log(`  JS array of 1M objects ${withArray.toFixed(1)} ms, BoundedLog ${withLog.toFixed(1)} ms: ${(withArray / withLog).toFixed(1)}x less   target >= 10x`);
}

if (process.argv.includes('--gc-child')) {
  gcChild();
} else {
  console.log(`leakwatch runtime primitives (${path.basename(__filename)}, node ${process.version})`);
  listeners();
  timers();
  log();
  gc();
}
