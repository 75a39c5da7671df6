'use strict';

// Runtime primitives against their plain counterparts, ratios from one run:
// listener tracking at 0 to 10,000 listeners per event (including after the
// growth warning fired), a first listener on a new emitter and a new
// emitter with a socket's events, millions of short-lived emitters under
// install(), timers, BoundedLog in every mode,
// and the GC cost of holding entries.
//
//   node --expose-gc bench/runtime.js        (npm run bench:runtime)
//
// Times are CPU time of this process (process.cpuUsage), not wall time: on a
// shared machine the wall clock also counts the time spent waiting for a
// core. Cases take turns for several rounds and each keeps its best round.

const { spawnSync } = require('node:child_process');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const lw = require('..');
const { LISTENER_COUNTS, onOffTable } = require('./on-off-table.js');

lw.listeners.configure({ intervalMs: 0 });

// A case is `run(i)`, called n times, or `loop(n)`, which runs n times
// itself. `settle` runs once inside the timing, after the loop: for work a
// call defers (a BoundedLog copies staged entries when read or when the job
// ends).
function timeNs(n, { run, loop = (m) => { for (let i = 0; i < m; i++) run(i); }, settle = () => {} }) {
  loop(Math.min(n / 10, 20_000));
  settle();
  const c = process.cpuUsage();
  loop(n);
  settle();
  const d = process.cpuUsage(c);
  return ((d.user + d.system) * 1000) / n;
}

// Rounds alternate between the cases and each case keeps its best round:
// timing one case after another let the machine's drift skew a ratio
// either way. `before`/`after` switch a case's global wrappers on and off.
function interleaved(rounds, n, cases) {
  const best = cases.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, k) => {
      c.before?.();
      best[k] = Math.min(best[k], timeNs(c.n ?? n, c));
      c.after?.();
    });
  }
  return best;
}

const fmt = (x, d = 2) => x.toFixed(d);

function listenerCounts() {
  console.log('\nemitter on()+off() with N listeners already on the event (N = 0: the add makes the first)');
  console.log('  growth warning fired for N >= 10 (threshold 10): adds are sampled for their sites');
  console.log(`  ${'N'.padStart(6)}  ${'plain ns'.padStart(8)}  ${'trackEmitter'.padStart(12)}  ${'install()'.padStart(9)}  warned   target <= 1.3x`);
  const table = onOffTable(lw);
  const rows = [];
  for (const n of LISTENER_COUNTS) {
    const { loops, done } = table.row(n);
    const [base, t, i] = interleaved(15, 100_000, loops.map((loop) => ({ loop })));
    const warned = lw.listeners.report().emitters.flatMap((e) => e.events).filter((ev) => ev.event === 'x' && ev.warned && ev.count === n).length;
    rows.push({ n, base, t: t / base, i: i / base });
    console.log(`  ${String(n).padStart(6)}  ${fmt(base, 0).padStart(8)}  ${fmt(t / base).padStart(11)}x  ${fmt(i / base).padStart(8)}x  ${warned === 2 ? 'both' : warned === 0 ? 'no' : warned}`);
    done();
  }
  table.end();
  return rows;
}

function firstListener() {
  const fn = () => {};
  const [base, installed] = interleaved(15, 100_000, [
    { run: () => { const e = new EventEmitter(); e.on('x', fn); } },
    { run: () => { const e = new EventEmitter(); e.on('x', fn); }, before: () => lw.listeners.install(), after: () => lw.listeners.uninstall() },
  ]);
  console.log(`\nfirst listener on a new emitter: plain ${fmt(base, 0)} ns, install() ${fmt(installed / base)}x   target <= 2x`);
  // What a connection per request costs: a server's net.Socket gets
  // listeners for these nine events (Node 20-26), a client's for ten.
  const events = ['end', 'timeout', 'data', 'error', 'close', 'drain', 'resume', 'pause', 'finish'];
  const [socketBase, socketInstalled] = interleaved(15, 20_000, [
    { run: () => { const e = new EventEmitter(); for (const ev of events) e.on(ev, fn); for (const ev of events) e.off(ev, fn); } },
    { run: () => { const e = new EventEmitter(); for (const ev of events) e.on(ev, fn); for (const ev of events) e.off(ev, fn); }, before: () => lw.listeners.install(), after: () => lw.listeners.uninstall() },
  ]);
  console.log(`a new emitter with a socket's 9 events, each on()+off(): plain ${fmt(socketBase, 0)} ns, install() ${fmt(socketInstalled / socketBase)}x`);
}

async function emittersChild() {
  const MB = 2 ** 20;
  const native = require('../binding.js');
  // Turns of the event loop let FinalizationRegistry callbacks run, as they
  // do between a server's requests.
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const rss = async () => {
    for (let i = 0; i < 3; i++) {
      globalThis.gc();
      await turn();
    }
    return process.memoryUsage().rss;
  };
  const fn = () => {};
  const churn = async (n, listeners) => {
    for (let i = 0; i < n; i++) {
      const e = new EventEmitter();
      for (let k = 0; k < listeners; k++) e.on('data', fn);
      e.once('end', fn);
      e.emit('end');
      // An observation every 10k emitters: each lets install() start to
      // watch another 100 young emitters (30 observations in well under a
      // second, where the default observer runs once a second).
      if (i % 10_000 === 0) {
        lw.listeners.observe();
        await turn();
      }
    }
  };
  const out = {};
  await churn(100_000, 1);
  const start = await rss();
  await churn(3_000_000, 1);
  out.plain = ((await rss()) - start) / MB;
  lw.listeners.install();
  await churn(3_000_000, 1);
  out.installed = ((await rss()) - start) / MB;
  // Six listeners for one event: past half the default threshold, so each
  // emitter is worth watching, within the budget of young ones.
  await churn(300_000, 6);
  out.watched = ((await rss()) - start) / MB;
  out.nativeEmitters = native.listenerEmitterCount();
  lw.listeners.uninstall();
  out.uninstalled = ((await rss()) - start) / MB;
  process.stdout.write(JSON.stringify(out));
}

function emitters() {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', __filename, '--emitters-child'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const o = JSON.parse(r.stdout);
  console.log('\nshort-lived emitters, RSS after a full GC against before (own process)');
  console.log(`  3M emitters, plain: ${fmt(o.plain, 1)} MB; under install(): ${fmt(o.installed, 1)} MB   target <= 50 MB`);
  console.log(`  then 300k emitters with 6 listeners (watched in Rust up to 100 per observation): ${fmt(o.watched, 1)} MB, ${o.nativeEmitters} still registered after GC`);
  console.log(`  after uninstall(): ${fmt(o.uninstalled, 1)} MB`);
}

function timers() {
  const fn = () => {};
  // install() stays on while the cases run, and the plain cases call Node's
  // functions taken before it: installing and uninstalling around each round
  // rewrote the globals, which threw away the optimized code of every case
  // that reads them, so a case's ratio depended on the case before it.
  const { setTimeout: plainSetTimeout, clearTimeout: plainClearTimeout, setInterval: plainSetInterval, clearInterval: plainClearInterval } = globalThis;
  lw.timers.install();
  const [base, tracked, ibase, itracked] = interleaved(9, 100_000, [
    { run: () => plainClearTimeout(plainSetTimeout(fn, 1000)) },
    { run: () => clearTimeout(setTimeout(fn, 1000)) },
    { run: () => plainClearInterval(plainSetInterval(fn, 1000)) },
    { run: () => clearInterval(setInterval(fn, 1000)) },
  ]);
  lw.timers.uninstall();
  lw.timers.install({ sites: 'all' });
  const [allBase, withSites] = interleaved(9, 20_000, [
    { run: () => plainClearTimeout(plainSetTimeout(fn, 1000)) },
    { run: () => clearTimeout(setTimeout(fn, 1000)) },
  ]);
  lw.timers.uninstall();
  console.log(`\nsetTimeout+clearTimeout: plain ${fmt(base, 0)} ns; timers.install() ${fmt(tracked / base)}x   target <= 1.5x`);
  console.log(`setInterval+clearInterval (site recorded): plain ${fmt(ibase, 0)} ns; timers.install() ${fmt(itracked / ibase)}x`);
  console.log(`setTimeout+clearTimeout with install({ sites: 'all' }): ${fmt(withSites / allBase)}x (a stack per timer)`);
}

function logModes() {
  const N = 10_000;
  const spill = path.join(os.tmpdir(), `leakwatch-bench-spill-${process.pid}.jsonl`);
  const ring = new Array(N);
  let w = 0;
  const logs = {
    'drop-oldest': new lw.BoundedLog({ maxEntries: N }),
    reject: new lw.BoundedLog({ maxEntries: N, onOverflow: 'reject' }),
    spill: new lw.BoundedLog({ maxEntries: N, spillTo: spill }),
    shared: lw.BoundedLog.shared(`bench-${process.pid}`, { maxEntries: N }),
  };
  let i = 0;
  const url = '/api/users/42';
  const entries = {
    'small objects ({ url, time })': () => ({ url, time: 1_700_000_000_000 + i++ }),
    'strings': () => `GET ${url} 200 ${i++ & 1023}ms`,
  };
  console.log(`\nBoundedLog.push into a ${N.toLocaleString('en-US')}-entry log, against a JS ring buffer of ${N.toLocaleString('en-US')} (target <= 2x)`);
  for (const [what, make] of Object.entries(entries)) {
    const isObject = what.startsWith('small');
    // A log keeps the entry as it was when pushed; the like-for-like ring
    // keeps it serialised too. The ring of references is what a log that
    // shared the caller's objects would cost.
    const keep = isObject ? (e) => JSON.stringify(e) : (e) => e;
    // A reject log is emptied every N pushes, so it has room as a log in
    // use does; a full one refusing entries is timed on its own.
    let held = 0;
    const pushInto = (log) => (log === logs.reject
      ? () => { log.push(make()); if (++held === N) { held = 0; log.clear(); } }
      : () => log.push(make()));
    const full = new lw.BoundedLog({ maxEntries: 1, onOverflow: 'reject' });
    full.push('x');
    const cases = [
      { run: () => { ring[w] = keep(make()); w = w + 1 === N ? 0 : w + 1; } },
      { run: () => { ring[w] = make(); w = w + 1 === N ? 0 : w + 1; } },
      ...Object.values(logs).map((log) => ({ run: pushInto(log), settle: () => log.size })),
      { run: () => full.push(make()) },
    ];
    const [ringNs, refNs, ...modes] = interleaved(9, 100_000, cases);
    const refusing = modes.pop();
    full.close();
    console.log(`  ${what}: JS ring ${fmt(ringNs, 0)} ns${isObject ? ` (JSON.stringify each; a ring of references: ${fmt(refNs, 0)} ns)` : ''}`);
    Object.keys(logs).forEach((m, k) => console.log(`    ${m.padEnd(12)} ${fmt(modes[k], 0).padStart(5)} ns  ${fmt(modes[k] / ringNs).padStart(5)}x`));
    console.log(`    ${'reject, full'.padEnd(12)} ${fmt(refusing, 0).padStart(5)} ns  ${fmt(refusing / ringNs).padStart(5)}x  (each refusal asks Rust)`);
  }
  for (const log of Object.values(logs)) log.close();
  fs.rmSync(spill, { force: true });
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
  console.log(`\nmajor GC with 1M retained entries (empty heap: ${fmt(baseline, 1)} ms; log holds ${size})`);
  console.log(`  JS array of 1M objects ${fmt(withArray, 1)} ms, BoundedLog ${fmt(withLog, 1)} ms: ${fmt(withArray / withLog, 1)}x less   target >= 10x`);
}

if (process.argv.includes('--gc-child')) {
  gcChild();
} else if (process.argv.includes('--emitters-child')) {
  emittersChild();
} else {
  console.log(`leakwatch runtime primitives (${path.basename(__filename)}, node ${process.version}, CPU time)`);
  listenerCounts();
  firstListener();
  emitters();
  timers();
  logModes();
  gc();
}
