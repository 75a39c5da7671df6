// Timer registry: exact install/uninstall, unchanged timer semantics,
// active() with sites, owners that are collected, clearAll, bad input.
import test from 'node:test';
import assert from 'node:assert/strict';
import nodeTimers from 'node:timers';
import util from 'node:util';
import { spawnSync } from 'node:child_process';
import { leakwatch, ROOT } from './helpers.mjs';

const { timers } = leakwatch;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];
const descriptors = () => [globalThis, nodeTimers].flatMap((o) => NAMES.map((n) => Object.getOwnPropertyDescriptor(o, n)));
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
  } finally {
    timers.uninstall();
  }
  const after = descriptors();
  assert.deepEqual(after, before);
  after.forEach((d, i) => assert.equal(d.value, before[i].value));
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
    assert.deepEqual(seen, ['imm', ['x', 'y', true]]);
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
