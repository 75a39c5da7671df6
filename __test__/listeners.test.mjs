// Tracked listeners: counts, the growth test (churn is not a leak), add
// sites, EventTarget, install/uninstall exactness and bad input.
import test from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { leakwatch } from './helpers.mjs';

const { trackEmitter, untrack, listeners } = leakwatch;
listeners.configure({ intervalMs: 0 });

function collectWarnings() {
  const got = [];
  const on = (w) => got.push(w);
  process.on('warning', on);
  return {
    got,
    async stop() {
      await new Promise((r) => setImmediate(r));
      process.off('warning', on);
      return got;
    },
  };
}

function eventReport(name, event) {
  const e = listeners.report().emitters.find((x) => x.name === name);
  return e && e.events.find((x) => x.event === event);
}

test('100 once listeners emitted every round are churn, not a leak (Node warns, leakwatch does not)', async () => {
  const w = collectWarnings();
  const bus = trackEmitter(new EventEmitter(), { name: 'churn-bus' });
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 100; i++) bus.once('tick', () => {});
    bus.emit('tick');
    assert.deepEqual(listeners.observe().filter((g) => g.emitter === 'churn-bus'), []);
  }
  const warnings = await w.stop();
  assert.ok(warnings.some((x) => x.name === 'MaxListenersExceededWarning'), 'Node flags the churn');
  assert.equal(warnings.filter((x) => x.code === 'LEAKWATCH_LISTENER_GROWTH').length, 0);
  const r = eventReport('churn-bus', 'tick');
  assert.deepEqual([r.count, r.peak, r.adds, r.removes, r.rising], [0, 100, 2000, 2000, 0]);
  untrack(bus);
});

test('a count whose floor keeps rising warns once with emitter, event, count and the add site', async () => {
  const w = collectWarnings();
  const bus = trackEmitter(new EventEmitter(), { name: 'request-bus', threshold: 10 });
  bus.setMaxListeners(0);
  function handleRequest() {
    bus.on('data', () => {});
  }
  const found = [];
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 4; i++) handleRequest();
    found.push(...listeners.observe());
  }
  const warnings = (await w.stop()).filter((x) => x.code === 'LEAKWATCH_LISTENER_GROWTH');
  assert.equal(found.length, 1);
  assert.equal(warnings.length, 1);
  const g = found[0];
  assert.equal(g.emitter, 'request-bus');
  assert.equal(g.event, 'data');
  // Floors 0, 4, 8, 12: the third rise is seen at the fourth observation.
  assert.equal(g.count, 16);
  assert.match(g.topSite, /handleRequest .*listeners\.test\.mjs:\d+:\d+/);
  assert.match(warnings[0].message, /request-bus has 16 'data' listeners.*handleRequest/);
  const r = eventReport('request-bus', 'data');
  assert.equal(r.count, 24);
  assert.ok(r.warned);
  // Sites are captured lazily: only adds made once the count looked suspicious.
  assert.ok(r.sites[0].count > 0 && r.sites[0].count < 24, `captured ${r.sites[0].count} of 24`);
  untrack(bus);
});

test('existing listeners are the baseline; untrack removes the hooks and the state', () => {
  const bus = new EventEmitter();
  bus.on('a', () => {});
  bus.on('a', () => {});
  trackEmitter(bus, { name: 'baseline-bus' });
  const f = () => {};
  bus.on('a', f);
  bus.prependListener('b', f);
  bus.off('a', f);
  bus.removeAllListeners('b');
  const a = eventReport('baseline-bus', 'a');
  assert.deepEqual([a.count, a.peak, a.adds, a.removes], [2, 3, 1, 1]);
  assert.equal(eventReport('baseline-bus', 'b').count, 0);
  assert.equal(untrack(bus), true);
  assert.equal(bus.listenerCount('newListener') + bus.listenerCount('removeListener'), 0);
  assert.equal(listeners.report().emitters.some((e) => e.name === 'baseline-bus'), false);
  assert.equal(untrack(bus), false);
});

test('counts stay exact through duplicates, once, prepend, misses and a bare removeAllListeners()', () => {
  const bus = new EventEmitter();
  const keysBefore = Object.keys(bus);
  trackEmitter(bus, { name: 'exact-bus', threshold: 1000 });
  assert.deepEqual(Object.keys(bus), keysBefore, 'hooks are not enumerable');
  const f = () => {};
  const g = () => {};
  let adds = 0;
  for (let i = 0; i < 300; i++) {
    bus.on('a', f);
    bus.on('a', f); // duplicates are separate listeners
    bus.prependListener('a', g);
    bus.once('a', g);
    bus.prependOnceListener('b', f);
    adds += 5;
    bus.off('a', f);
    bus.removeListener('a', () => {}); // not registered: removes nothing
    bus.off('nothing-here', f);
    if (i % 3 === 0) {
      bus.emit('a'); // the once listeners go
      bus.emit('b');
    }
  }
  const a = eventReport('exact-bus', 'a');
  const b = eventReport('exact-bus', 'b');
  assert.equal(a.count, bus.listenerCount('a'));
  assert.equal(b.count, bus.listenerCount('b'));
  assert.equal(a.count, 600 + 2, '3 kept per round, plus the once listeners added since the last emit');
  assert.equal(a.adds + b.adds, adds);
  assert.equal(a.removes + b.removes, adds - a.count - b.count);
  bus.removeAllListeners();
  const a2 = eventReport('exact-bus', 'a');
  const b2 = eventReport('exact-bus', 'b');
  assert.deepEqual([a2.count, b2.count, a2.removes + b2.removes], [0, 0, adds]);
  // Still tracked after the bare removeAllListeners(): nothing of ours was an event listener.
  bus.on('a', f);
  assert.equal(eventReport('exact-bus', 'a').count, 1);
  assert.equal(untrack(bus), true);
  assert.deepEqual(Object.getOwnPropertyNames(bus).filter((n) => typeof bus[n] === 'function'), []);
});

test('a subclass that overrides on() (Readable) is counted once per add', () => {
  const r = trackEmitter(new Readable({ read() {} }), { name: 'readable' });
  const base = r.listenerCount('data');
  const f = () => {};
  r.on('data', f);
  r.on('end', f);
  r.off('data', f);
  r.once('close', f);
  const data = eventReport('readable', 'data');
  assert.deepEqual([data.count, data.adds, data.removes], [base, 1, 1]);
  assert.equal(eventReport('readable', 'close').count, r.listenerCount('close'));
  untrack(r);
  r.destroy();
});

test('EventTarget and AbortSignal: duplicates ignored, once listeners gone after dispatch', () => {
  const ac = new AbortController();
  trackEmitter(ac.signal, { name: 'signal' });
  const f = () => {};
  ac.signal.addEventListener('abort', f);
  ac.signal.addEventListener('abort', f);
  ac.signal.addEventListener('abort', () => {}, { once: true });
  assert.equal(eventReport('signal', 'abort').count, 2);
  ac.abort();
  const r = eventReport('signal', 'abort');
  assert.deepEqual([r.count, r.peak, r.adds, r.removes], [1, 2, 2, 1]);
  untrack(ac.signal);
  assert.equal(Object.hasOwn(ac.signal, 'addEventListener'), false);
});

test('install() tracks every emitter; uninstall() restores the exact originals', () => {
  const E = EventEmitter.prototype;
  const T = EventTarget.prototype;
  const names = [[E, 'on'], [E, 'addListener'], [E, 'prependListener'], [E, 'removeListener'], [E, 'off'],
    [E, 'removeAllListeners'], [E, 'once'], [T, 'addEventListener'], [T, 'removeEventListener'], [T, 'dispatchEvent']];
  const before = names.map(([o, n]) => Object.getOwnPropertyDescriptor(o, n));
  listeners.install();
  assert.equal(listeners.installed, true);
  assert.notEqual(E.on, before[0].value);
  assert.equal(E.on, E.addListener);
  assert.equal(E.on.name, 'addListener');
  const anon = new EventEmitter();
  const keys = Object.keys(anon);
  for (let i = 0; i < 5; i++) anon.once('x', () => {});
  anon.on('y', () => {});
  anon.emit('x');
  assert.deepEqual(Object.keys(anon), keys, 'install mode adds nothing enumerable');
  const sealed = Object.preventExtensions(new EventEmitter());
  sealed.on('z', () => {});
  sealed.on('z', () => {});
  const target = new EventTarget();
  target.addEventListener('ping', () => {});
  listeners.uninstall();
  const after = names.map(([o, n]) => Object.getOwnPropertyDescriptor(o, n));
  assert.deepEqual(after, before);
  for (let i = 0; i < names.length; i++) assert.equal(after[i].value, before[i].value);
  const installedRows = listeners.report().emitters.filter((e) => e.name === 'EventEmitter' || e.name === 'EventTarget');
  const x = installedRows.flatMap((e) => e.events).find((ev) => ev.event === 'x');
  assert.deepEqual([x.count, x.peak, x.adds, x.removes], [0, 5, 5, 5]);
  assert.ok(installedRows.flatMap((e) => e.events).some((ev) => ev.event === 'ping' && ev.count === 1));
  assert.ok(installedRows.flatMap((e) => e.events).some((ev) => ev.event === 'z' && ev.count === 2), 'a non-extensible emitter is tracked too');
});

test('install mode: counts stay exact when events alternate, removals miss, and install() repeats', () => {
  const bus = new EventEmitter();
  const f = () => {};
  const g = () => {};
  bus.on('pre', f); // before install(): the baseline, not an add
  listeners.install();
  try {
    for (let i = 0; i < 50; i++) {
      bus.on('a', () => {});
      bus.off('a', g); // not registered: removes nothing
      bus.on('b', f);
      bus.on('a', g);
      bus.off('a', g);
      bus.off('b', f);
      bus.off('b', f); // already gone
      bus.once('pre', g);
    }
    bus.emit('pre');
    bus.off('pre', f);
    const rows = listeners.report().emitters.filter((e) => e.name === 'EventEmitter')
      .map((e) => Object.fromEntries(e.events.map((ev) => [ev.event, ev])))
      .filter((ev) => ev.a && ev.b && ev.pre);
    assert.equal(rows.length, 1);
    const { a, b, pre } = rows[0];
    assert.deepEqual([a.count, a.peak, a.adds, a.removes], [50, 51, 100, 50]);
    assert.equal(a.count, bus.listenerCount('a'));
    assert.deepEqual([b.count, b.peak, b.adds, b.removes], [0, 1, 50, 50]);
    assert.deepEqual([pre.count, pre.peak, pre.adds, pre.removes], [0, 51, 50, 51]);
    listeners.uninstall();
    listeners.install();
    bus.on('a', f);
    const again = listeners.report().emitters.filter((e) => e.name === 'EventEmitter')
      .flatMap((e) => e.events).filter((ev) => ev.event === 'a' && ev.count === 51);
    assert.equal(again.length, 1, 'a second install() starts from the listeners already there');
    assert.deepEqual([again[0].adds, again[0].removes], [1, 0]);
  } finally {
    listeners.uninstall();
  }
});

test('bad input is an error with a code, never a crash', () => {
  for (const bad of [{}, null, 42, 'emitter', { on() {}, removeListener() {} }]) {
    assert.throws(() => trackEmitter(bad), { code: 'ERR_INVALID_ARG' });
  }
  const bus = new EventEmitter();
  assert.throws(() => trackEmitter(bus, { threshold: -1 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => trackEmitter(bus, { threshold: 1.5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => trackEmitter(bus, { name: 5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => trackEmitter(bus, 'x'), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ samples: 0 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ intervalMs: -5 }), { code: 'ERR_INVALID_ARG' });
  assert.equal(untrack(null), false);
  assert.equal(bus.listenerCount('newListener'), 0);
});
