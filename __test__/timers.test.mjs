// Timer registry: exact install/uninstall, unchanged timer semantics,
// active() with sites, owners that are collected, clearAll, bad input.
import test from 'node:test';
import assert from 'node:assert/strict';
import nodeTimers from 'node:timers';
import timersPromises from 'node:timers/promises';
import * as timersPromisesESM from 'node:timers/promises';
import util from 'node:util';
import { spawnSync } from 'node:child_process';
import { leakwatch, ROOT } from './helpers.mjs';

const { timers } = leakwatch;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];
const PROMISE_NAMES = ['setTimeout', 'setImmediate', 'setInterval'];
const descriptors = () => [
  ...[globalThis, nodeTimers].flatMap((o) => NAMES.map((n) => Object.getOwnPropertyDescriptor(o, n))),
  ...PROMISE_NAMES.map((n) => Object.getOwnPropertyDescriptor(timersPromises, n)),
];
const tick = (ms) => new Promise((r) => nodeTimers.setTimeout(r, ms));

test('install wraps globals and node:timers; uninstall restores the exact descriptors', async () => {
  const before = descriptors();
  timers.install();
  try {
    assert.notEqual(globalThis.setTimeout, before[0].value);
    assert.equal(nodeTimers.setTimeout, globalThis.setTimeout);
    assert.equal(setTimeout.name, 'setTimeout');
    assert.equal(setTimeout.length, before[0].value.length);
    assert.equal(await util.promisify(setTimeout)(1, 'v'), 'v');
    assert.notEqual(timersPromises.setTimeout, before[NAMES.length * 2].value);
    assert.equal(timersPromisesESM.setTimeout, timersPromises.setTimeout, 'ESM named imports see the wrapper');
    assert.equal(timersPromises.setInterval.name, 'setInterval');
  } finally {
    timers.uninstall();
  }
  const after = descriptors();
  assert.deepEqual(after, before);
  after.forEach((d, i) => assert.equal(d.value, before[i].value));
  assert.equal(timersPromisesESM.setTimeout, before[NAMES.length * 2].value);
});

test('semantics are unchanged: return values, ref/unref/hasRef/refresh, numeric ids, args and this', async () => {
  timers.install();
  try {
    const seen = [];
    const t = setTimeout(function (a, b) { seen.push([a, b, this === t]); }, 5, 'x', 'y');
    assert.equal(t.constructor.name, 'Timeout');
    assert.equal(t.hasRef(), true);
    assert.equal(t.unref(), t);
    assert.equal(t.hasRef(), false);
    assert.equal(t.ref(), t);
    assert.equal(t.refresh(), t);
    const numeric = setTimeout(() => seen.push('must not fire'), 5);
    const id = +numeric;
    assert.equal(typeof id, 'number');
    assert.ok(timers.active().timers.some((x) => x.id === id));
    clearTimeout(id);
    assert.equal(timers.active().timers.some((x) => x.id === id), false);
    const imm = setImmediate((v) => seen.push(v), 'imm');
    assert.equal(imm.constructor.name, 'Immediate');
    await tick(30);
    // Order depends on load: past 5 ms before the loop turns, the timeout runs first.
    assert.deepEqual(seen.slice().sort(), ['imm', ['x', 'y', true]]);
    assert.throws(() => setTimeout('not a function'), { code: 'ERR_INVALID_ARG_TYPE' });
    assert.equal(timers.active().count, 0, 'fired timeouts and immediates leave the registry');
  } finally {
    timers.uninstall();
  }
});

test('active() lists kind, delay, age, fires, refed and creation site, grouped by site', async () => {
  timers.install();
  const made = [];
  try {
    function startPollers() {
      for (let i = 0; i < 3; i++) made.push(setInterval(() => {}, 10));
    }
    startPollers();
    made[2].unref();
    await tick(45);
    const { timers: list, bySite } = timers.active();
    const mine = list.filter((t) => made.some((m) => +m === t.id));
    assert.equal(mine.length, 3);
    for (const t of mine) {
      assert.equal(t.kind, 'interval');
      assert.equal(t.delay, 10);
      assert.ok(t.age >= 40, `age ${t.age}`);
      assert.ok(t.fired >= 2, `fired ${t.fired}`);
      assert.match(t.site, /startPollers .*timers\.test\.mjs:\d+/);
    }
    assert.deepEqual(mine.map((t) => t.refed).sort(), [false, true, true]);
    const group = bySite.find((g) => g.site === mine[0].site);
    assert.equal(group.count, 3);
    assert.equal(timers.clearAll({ site: 'startPollers' }), 3);
    assert.equal(timers.active().count, 0);
  } finally {
    made.forEach((t) => clearInterval(t));
    timers.uninstall();
  }
});

test('thousands of timers through the journal: exact live set, fires, numeric clears, refresh after firing', async () => {
  timers.install();
  const kept = [];
  try {
    for (let i = 0; i < 3000; i++) {
      const t = setTimeout(() => {}, 10_000);
      if (i % 3 === 0) kept.push(t);
      else if (i % 3 === 1) clearTimeout(t);
      else clearTimeout(+t); // numeric id: found through Rust
    }
    const ids = new Set(timers.active().timers.map((t) => t.id));
    assert.equal(ids.size, 1000);
    assert.ok(kept.every((t) => ids.has(+t)));
    let fired = 0;
    let ticks = 0;
    const once = setTimeout(() => { fired++; }, 1);
    const every = setInterval(() => { ticks++; }, 2);
    await tick(30);
    once.refresh(); // fired, then re-armed: it is not listed again, and its old slot stays free
    const extra = setTimeout(() => {}, 10_000);
    // A loaded machine may fire the interval less often than every 2 ms.
    for (let waited = 0; (fired < 2 || ticks < 5) && waited < 10_000; waited += 10) await tick(10);
    assert.equal(fired, 2);
    const list = timers.active().timers;
    assert.equal(list.some((t) => t.id === +once), false);
    assert.ok(list.find((t) => t.id === +every).fired >= 5);
    assert.ok(list.some((t) => t.id === +extra));
    clearInterval(every);
    clearTimeout(extra);
    assert.equal(timers.clearAll(), 1000);
    assert.equal(timers.active().count, 0);
  } finally {
    kept.forEach((t) => clearTimeout(t));
    timers.uninstall();
  }
});

test('a timer that ends before its creation is handed over to Rust is blanked in the journal, and only then', () => {
  timers.install();
  try {
    const f = () => {};
    const listed = () => new Set(timers.active().timers.map((t) => t.id));
    // Handed over (by active()), then cleared before anything else is recorded.
    const a = setTimeout(f, 10_000);
    timers.active();
    clearTimeout(a);
    assert.equal(listed().has(+a), false, 'a handed-over timer leaves by a record of its own');
    // Handed over, then another creation is written where its record was.
    const b = setTimeout(f, 10_000);
    timers.active();
    const c = setTimeout(f, 10_000);
    clearTimeout(b);
    let ids = listed();
    assert.equal(ids.has(+b), false);
    assert.equal(ids.has(+c), true, 'the record now in its place is not blanked');
    // Not handed over: blanked; the ones around it stay.
    const d = setTimeout(f, 10_000);
    const e = setImmediate(f);
    clearImmediate(e);
    const g = setTimeout(f, 10_000);
    clearTimeout(d);
    ids = listed();
    assert.deepEqual([ids.has(+c), ids.has(+d), ids.has(+g)], [true, false, true]);
    assert.equal(timers.clearAll(), 2);
  } finally {
    timers.uninstall();
  }
});

test('timers/promises: listed while pending, gone when settled, rejections still unhandled-able, intervals counted', async () => {
  timers.install();
  try {
    const pending = timersPromises.setTimeout(40, 'late', { ref: false });
    const mine = () => timers.active().timers.filter((t) => t.id >= 2 ** 52);
    const listed = mine();
    assert.equal(listed.length, 1);
    assert.deepEqual([listed[0].kind, listed[0].delay, listed[0].refed], ['timeout', 40, false]);
    const [late] = await Promise.all([pending, tick(60)]); // the tick holds the loop: `pending` does not
    assert.equal(late, 'late');
    assert.equal(mine().length, 0);

    const ac = new AbortController();
    const aborted = timersPromises.setTimeout(10_000, 'never', { signal: ac.signal });
    assert.equal(mine()[0].refed, true);
    ac.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    assert.equal(mine().length, 0);

    // Unhandled, the AbortError still reaches 'unhandledRejection' (in a
    // child: the test runner fails a test on any unhandled rejection).
    const r = spawnSync(process.execPath, ['-e', `
      require(${JSON.stringify(ROOT)}).timers.install();
      process.on('unhandledRejection', (err) => console.log(err.name));
      const ac = new AbortController();
      require('node:timers/promises').setTimeout(10000, 'never', { signal: ac.signal });
      ac.abort();`], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'AbortError');

    assert.equal(await timersPromises.setImmediate('now'), 'now');
    let n = 0;
    for await (const v of timersPromises.setInterval(2, 'tick')) {
      assert.equal(v, 'tick');
      if (++n === 3) {
        const t = mine()[0];
        assert.deepEqual([t.kind, t.delay, t.fired], ['interval', 2, 3]);
        assert.match(t.site, /timers\.test\.mjs/);
        break;
      }
    }
    assert.equal(mine().length, 0);
  } finally {
    timers.uninstall();
  }
});

test('two copies of the facade on one thread (fresh module registries) share one journal', () => {
  const script = `
    const root = ${JSON.stringify(ROOT)};
    const a = require(root);
    for (const k of Object.keys(require.cache)) if (!k.endsWith('.node')) delete require.cache[k];
    const b = require(root);
    a.timers.install();
    const made = [];
    for (let i = 0; i < 1500; i++) {
      made.push(setTimeout(() => {}, 10000));
      made.push(b.timers.setTimeout(() => {}, 10000));
    }
    const ids = new Set(b.timers.active().timers.map((t) => t.id));
    console.log(JSON.stringify({ a: a.timers.active().count, b: ids.size, all: made.every((t) => ids.has(+t)) }));
    made.forEach((t) => clearTimeout(t));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { a: 3000, b: 3000, all: true });
});

test('clearAll by owner clears only that owner’s timers; setOwner needs a tracked timer', () => {
  const a = {};
  const b = {};
  const ta = timers.setInterval(() => {}, 1000, { owner: a });
  const tb = timers.setInterval(() => {}, 1000, { owner: b });
  const tc = timers.setTimeout(() => {}, 1000);
  assert.equal(timers.clearAll({ owner: a }), 1);
  assert.equal(ta._destroyed, true);
  const ids = timers.active().timers.map((t) => t.id);
  assert.ok(ids.includes(+tb) && ids.includes(+tc) && !ids.includes(+ta));
  assert.equal(timers.clearAll({ owner: {} }), 0);
  assert.throws(() => timers.setOwner(nodeTimers.setTimeout(() => {}, 1).unref(), a), { code: 'ERR_TIMER_UNTRACKED' });
  timers.setOwner(tc, a);
  assert.equal(timers.clearAll(), 2);
  assert.equal(timers.active().count, 0);
});

test('bad input gives errors with a code', () => {
  assert.throws(() => timers.setInterval('poll', 10), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.setInterval(() => {}, -1), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.setInterval(() => {}, 10, { owner: 5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.setInterval(() => {}, 10, null), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.install({ sites: 'some' }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.clearAll({ site: 3 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => timers.setOwner({}, {}), { code: 'ERR_TIMER_UNTRACKED' });
  assert.equal(timers.installed, false);
});

test('an interval that outlives its garbage-collected owner is reported (the seed’s PollingService)', () => {
  const script = `
    const { timers } = require(${JSON.stringify(ROOT)});
    const warnings = [];
    process.on('warning', (w) => warnings.push(w));
    class PollingService {
      constructor() { this.polls = 0; }
      start() { this.timer = timers.setInterval((self) => self && self.poll(), 5, { owner: this }); }
      poll() { this.polls++; }
    }
    let kept = new PollingService(); kept.start();
    (function leak() { new PollingService().start(); })();
    setTimeout(async () => {
      globalThis.gc();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      const list = timers.active().timers;
      console.log(JSON.stringify({
        outlived: list.filter((t) => t.outlivedOwner).length,
        owned: list.filter((t) => t.hasOwner).length,
        keptPolls: kept.polls > 0,
        warnings: warnings.filter((w) => w.code === 'LEAKWATCH_TIMER_OUTLIVED_OWNER').map((w) => w.message),
      }));
      timers.clearAll();
    }, 40);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.owned, 2);
  assert.equal(out.outlived, 1);
  assert.equal(out.keptPolls, true);
  assert.equal(out.warnings.length, 1);
  assert.match(out.warnings[0], /^An interval \(every 5 ms.*outlived its owner.*PollingService\.start/);
});

test('nothing leakwatch starts keeps the process alive', () => {
  const script = `
    const lw = require(${JSON.stringify(ROOT)});
    const { EventEmitter } = require('node:events');
    lw.listeners.install();
    lw.timers.install();
    lw.trackEmitter(new EventEmitter());
    const log = new lw.BoundedLog({ spillTo: require('node:os').tmpdir() + '/lw-alive.jsonl' });
    log.push('x');
    new lw.WeakValueCache().getOrCreate('k', () => ({}));`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 5000);
});

const live = (t) => timers.active().timers.some((x) => x.id === +t);

test('a timer leaves the registry however it ends: every clear function, with or without install()', async () => {
  const savedClearTimeout = globalThis.clearTimeout;
  const savedClearInterval = globalThis.clearInterval;
  const savedClearImmediate = globalThis.clearImmediate;
  // Without install(): timers.setInterval / setTimeout cleared by the plain functions.
  const owner = {};
  const ways = {
    'global clearInterval': (t) => clearInterval(t),
    'global clearTimeout': (t) => clearTimeout(t),
    'node:timers clearInterval': (t) => nodeTimers.clearInterval(t),
    'numeric id': (t) => clearInterval(+t),
    'close()': (t) => t.close(),
  };
  for (const [way, clear] of Object.entries(ways)) {
    const t = timers.setInterval(() => {}, 60_000, { owner });
    assert.ok(live(t), `${way}: listed`);
    clear(t);
    assert.equal(live(t), false, `${way}: gone`);
  }
  const made = [];
  for (let i = 0; i < 10_000; i++) clearInterval(made[i] = timers.setInterval(() => {}, 60_000, { owner }));
  assert.equal(timers.active().count, 0, '10,000 cleared by the global clearInterval, none listed');

  timers.install();
  let fromBefore;
  try {
    // Clear functions saved before install() bypass the wrappers.
    const a = setTimeout(() => {}, 60_000);
    const b = setInterval(() => {}, 60_000);
    const c = setImmediate(() => {});
    assert.ok(live(a) && live(b));
    assert.deepEqual(timers.active().timers.map((x) => x.kind).sort(), ['immediate', 'interval', 'timeout']);
    savedClearTimeout(a);
    savedClearInterval(b);
    savedClearImmediate(c);
    assert.equal(timers.active().count, 0);
    // Through the wrappers, and Node's own close().
    const d = setTimeout(() => {}, 60_000);
    const e = setInterval(() => {}, 60_000);
    nodeTimers.clearTimeout(d);
    e.close();
    assert.equal(live(d) || live(e), false);
    fromBefore = setInterval(() => {}, 60_000);
  } finally {
    timers.uninstall();
  }
  // Made under install(), cleared after uninstall() by the restored original.
  assert.ok(live(fromBefore));
  clearInterval(fromBefore);
  assert.equal(live(fromBefore), false);
  assert.equal(timers.active().count, 0);
});

test('a timer leaves the registry when a one-shot fires, and a refresh() keeps one entry', async () => {
  timers.install();
  try {
    let fired = 0;
    let lastFired;
    const last = new Promise((resolve) => { lastFired = resolve; });
    setTimeout(() => { fired++; }, 1);
    setImmediate(() => { fired++; });
    // Long enough that a loaded machine still refreshes it before it fires.
    const refreshed = setTimeout(() => { fired++; lastFired(); }, 1000);
    assert.equal(timers.active().count, 3);
    await tick(5);
    // Made inside an immediate (as a test body may be), ours runs in the
    // next turn's check phase, which can come after expired timers.
    await new Promise((resolve) => nodeTimers.setImmediate(resolve));
    refreshed.refresh(); // still pending: the same timer, listed once
    assert.deepEqual(timers.active().timers.map((x) => x.id), [+refreshed], 'fired one-shots are gone');
    await last;
    assert.equal(fired, 3);
    assert.equal(live(refreshed), false);
    // Refreshed after firing it runs again under a new async id, untracked;
    // clearing it leaves nothing behind.
    refreshed.refresh();
    clearTimeout(refreshed);
    assert.equal(timers.active().count, 0);
  } finally {
    timers.uninstall();
  }
});

test('a worker that exits with tracked timers running takes its registry with it', async () => {
  const { Worker } = await import('node:worker_threads');
  const native = (await import('node:module')).createRequire(import.meta.url)('../binding.js');
  const threads = native.trackerCounts().threads;
  const w = new Worker(`
    const { timers } = require(${JSON.stringify(ROOT)});
    timers.install();
    for (let i = 0; i < 100; i++) setInterval(() => {}, 60000).unref();
    require('node:worker_threads').parentPort.postMessage(timers.active().count);`, { eval: true });
  const [count] = await Promise.all([new Promise((r) => w.once('message', r)), new Promise((r) => w.once('exit', r))]);
  assert.equal(count, 100);
  assert.equal(native.trackerCounts().threads, threads);
  assert.equal(timers.active().count, 0, 'the worker\u2019s timers never were ours');
});

test('no outlived-owner warning for a timer that was cleared or fired, however it ended', () => {
  const script = `
    const { timers } = require(${JSON.stringify(ROOT)});
    const nodeTimers = require('node:timers');
    const warnings = [];
    process.on('warning', (w) => { if (w.code === 'LEAKWATCH_TIMER_OUTLIVED_OWNER') warnings.push(w.message); });
    const savedClear = clearInterval;
    const ends = {
      globalClear: (t) => clearInterval(t),
      nodeTimersClear: (t) => nodeTimers.clearInterval(t),
      numericId: (t) => clearInterval(+t),
      close: (t) => t.close(),
      clearAllByOwner: (t, owner) => timers.clearAll({ owner }),
      savedBeforeInstall: (t) => savedClear(t),
    };
    function start(label, end) {
      const owner = { label };
      const t = timers.setInterval(() => {}, 5, { owner });
      if (end) end(t, owner);
    }
    for (const [label, end] of Object.entries(ends)) start(label, end);
    timers.install();
    for (const [label, end] of Object.entries(ends)) start('installed ' + label, end);
    // Its owner lives until it fired: a GC before that (a scavenge at
    // start-up, under load) would rightly report a timer that outlived it.
    let shotOwner = { label: 'fired one-shot' };
    timers.setTimeout(() => { shotOwner = null; }, 1, { owner: shotOwner });
    start('control: never cleared');
    setTimeout(async () => {
      globalThis.gc();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ warnings, active: timers.active().count }));
      timers.clearAll();
      timers.uninstall();
    }, 40);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.warnings.length, 1, out.warnings.join('\n'));
  assert.match(out.warnings[0], /^An interval \(every 5 ms/);
  assert.equal(out.active, 1, 'only the control is still running');
});

async function withSinon(fn) {
  const FakeTimers = (await import('@sinonjs/fake-timers')).default;
  return fn(FakeTimers);
}

test('sinon fake timers installed after timers.install(): fakes fire on the clock, tracking resumes after', () => withSinon((FakeTimers) => {
  timers.install();
  try {
    const clock = FakeTimers.install();
    let fired = 0;
    try {
      setTimeout(() => fired++, 1000);
      const every = setInterval(() => fired++, 100);
      timers.setTimeout(() => fired++, 500, { owner: {} });
      clock.tick(1000);
      assert.equal(fired, 12);
      clearInterval(every);
      assert.equal(timers.active().count, 0, 'fake timers are not listed');
    } finally {
      clock.uninstall();
    }
    assert.equal(timers.installed, true, 'the clock put our wrappers back');
    const real = setTimeout(() => {}, 60_000);
    assert.ok(live(real));
    clearTimeout(real);
  } finally {
    timers.uninstall();
  }
}));

test('sinon fake timers installed before timers.install(): the fakes still drive the timers; uninstall order does not matter', () => withSinon((FakeTimers) => {
  const clock = FakeTimers.install();
  let fired = 0;
  try {
    timers.install();
    setTimeout(() => fired++, 1000);
    nodeTimers.setTimeout(() => fired++, 1000);
    const every = setInterval(() => fired++, 100);
    timers.setInterval(() => fired++, 250, { owner: {} });
    clock.tick(1000);
    assert.equal(fired, 2 + 10 + 4);
    clearInterval(every);
    timers.clearAll();
    assert.equal(timers.active().count, 0);
    // The clock restores what it found (our wrapper's original) first...
    clock.uninstall();
    timers.uninstall();
    assert.equal(typeof setTimeout(() => {}, 0).hasRef, 'function', 'a real Node timer again');
  } finally {
    clock.uninstall();
    timers.uninstall();
  }
  // ...or we go first: the clock's fakes stay until it uninstalls, and then the originals are back.
  const clock2 = FakeTimers.install();
  timers.install();
  timers.uninstall();
  let f2 = 0;
  setTimeout(() => f2++, 10);
  clock2.tick(10);
  clock2.uninstall();
  assert.equal(f2, 1);
  assert.equal(Object.getOwnPropertyDescriptor(globalThis, 'setTimeout').value, nodeTimers.setTimeout);
}));

test('leakwatch loaded under a running fake clock still reaches Node\u2019s own timers', () => {
  const script = `
    const FakeTimers = require('@sinonjs/fake-timers');
    const clock = FakeTimers.install();
    const { timers } = require(${JSON.stringify(ROOT)});
    timers.install();
    let fired = 0;
    setTimeout(() => fired++, 50);
    clock.tick(50);
    clock.uninstall();
    timers.install(); // the clock restored the real functions over our wrappers
    const t = setInterval(() => {}, 1000);
    console.log(JSON.stringify({ fired, listed: timers.active().timers.some((x) => x.id === +t) }));
    clearInterval(t);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { fired: 1, listed: true });
});
