// Tracked listeners: counts, the growth test (churn is not a leak), add
// sites, EventTarget, install/uninstall exactness and bad input.
import test from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { leakwatch, ROOT } from './helpers.mjs';

const native = createRequire(import.meta.url)('../binding.js');

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
  // Threshold 2: every key with a listener is watched (and reported).
  listeners.configure({ threshold: 2 });
  listeners.install();
  assert.equal(listeners.installed, true);
  assert.notEqual(E.on, before[0].value);
  assert.equal(E.on, E.addListener);
  assert.equal(E.on.name, 'addListener');
  const anon = new EventEmitter();
  const keys = Object.keys(anon);
  const json = JSON.stringify(anon);
  for (let i = 0; i < 5; i++) anon.once('x', () => {});
  anon.on('y', () => {});
  anon.emit('x');
  assert.deepEqual(Object.keys(anon), keys, 'install mode adds no string-keyed property');
  assert.equal(JSON.stringify(anon), json.replace('"_eventsCount":0', '"_eventsCount":1'));
  assert.match(inspect(anon), /\[leakwatch listener counts\]/, 'the record prints as one short line');
  const sealed = Object.preventExtensions(new EventEmitter());
  sealed.on('z', () => {});
  sealed.on('z', () => {});
  const target = new EventTarget();
  target.addEventListener('ping', () => {});
  listeners.uninstall();
  listeners.configure({ threshold: 10 });
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
  listeners.configure({ threshold: 2 });
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
    listeners.configure({ threshold: 10 });
  }
});

test('bad input is an error with a code, never a crash or a silent default', () => {
  for (const bad of [{}, null, undefined, 42, 'emitter', Symbol('e'), 10n, { on() {}, removeListener() {} }]) {
    assert.throws(() => trackEmitter(bad), { code: 'ERR_INVALID_ARG' });
  }
  const bus = new EventEmitter();
  for (const badOptions of [null, 'x', Symbol('o'), 10n, 5, [], () => {}]) {
    assert.throws(() => trackEmitter(bus, badOptions), { code: 'ERR_INVALID_ARG' }, String(typeof badOptions));
    assert.throws(() => listeners.configure(badOptions), { code: 'ERR_INVALID_ARG' });
  }
  for (const badThreshold of [-1, 0, 1.5, '10', 10n, null, NaN, Infinity]) {
    assert.throws(() => trackEmitter(bus, { threshold: badThreshold }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => listeners.configure({ threshold: badThreshold }), { code: 'ERR_INVALID_ARG' });
  }
  assert.throws(() => trackEmitter(bus, { name: 5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => trackEmitter(bus, { name: Symbol('n') }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ samples: 0 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ samples: 2n }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ intervalMs: -5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => listeners.configure({ intervalMs: '5' }), { code: 'ERR_INVALID_ARG' });
  // A rejected call changes nothing: the threshold is still the default.
  assert.equal(untrack(null), false);
  assert.equal(untrack(Symbol('x')), false);
  assert.equal(bus.listenerCount('newListener'), 0);
  assert.equal(Object.hasOwn(bus, 'on'), false);
});

test('install(): emitters that never hold threshold/2 listeners for one event cost Rust nothing; one that does is watched', () => {
  const f = () => {};
  const g = () => {};
  const keysBefore = native.listenerKeyCount();
  listeners.install();
  try {
    for (let i = 0; i < 20_000; i++) {
      const e = new EventEmitter();
      e.on('a', f);
      e.on('b', f);
      e.once('b', g);
      e.off('a', f);
      e.emit('b');
    }
    assert.equal(native.listenerKeyCount(), keysBefore, 'no key of a short-lived emitter reached Rust');
    const busy = new EventEmitter();
    for (let i = 0; i < 4; i++) busy.on('job', () => {});
    assert.equal(native.listenerKeyCount(), keysBefore);
    busy.on('job', () => {}); // the fifth: half the default threshold of 10
    assert.equal(native.listenerKeyCount(), keysBefore + 1);
    busy.removeAllListeners('job');
    const rows = listeners.report().emitters.flatMap((e) => e.events).filter((ev) => ev.event === 'job');
    assert.deepEqual(rows.map((ev) => [ev.count, ev.peak, ev.adds, ev.removes]), [[0, 5, 5, 5]]);
  } finally {
    listeners.uninstall();
  }
});

test('install(): a burst of young emitters is watched up to a budget per observation; one that outlives an observation is watched regardless', () => {
  const f = () => {};
  listeners.install();
  try {
    // Born before the observation below: old by the time it leaks.
    const leaky = new EventEmitter();
    leaky.on('tick', f);
    listeners.observe();
    const emittersBefore = native.listenerEmitterCount();
    const young = [];
    for (let i = 0; i < 300; i++) {
      const e = new EventEmitter();
      for (let k = 0; k < 6; k++) e.on('data', () => {});
      young.push(e);
    }
    assert.equal(native.listenerEmitterCount() - emittersBefore, 100, 'young emitters past the budget are not watched');
    for (let k = 0; k < 5; k++) leaky.on('tick', () => {});
    assert.equal(native.listenerEmitterCount() - emittersBefore, 101, 'the old one is watched although the budget is spent');
    // After the next observation the young ones are old, and each is watched at its next add.
    listeners.observe();
    for (const e of young) e.on('data', () => {});
    assert.equal(native.listenerEmitterCount() - emittersBefore, 301);
    const rows = listeners.report().emitters.flatMap((e) => e.events).filter((ev) => ev.event === 'data');
    assert.equal(rows.length, 300);
    assert.ok(rows.every((ev) => ev.count === 7 && ev.adds === 7), 'counts of the late-watched keys stay exact');
  } finally {
    listeners.uninstall();
  }
});

test('a leaking event is sampled at a decaying rate; the report names the top site and its share', async () => {
  const w = collectWarnings();
  const bus = trackEmitter(new EventEmitter(), { name: 'sampled-bus', threshold: 10 });
  bus.setMaxListeners(0);
  function leakyHandler() {
    bus.on('data', () => {});
  }
  function tidyHandler() {
    const f = () => {};
    bus.on('data', f);
    bus.off('data', f);
  }
  let adds = 0;
  for (let round = 0; round < 5; round++) {
    // Nine leaking adds for each tidy one, interleaved with a period of ten.
    for (let i = 0; i < 4000; i++) {
      if (i % 10 === 9) tidyHandler();
      else leakyHandler();
      adds++;
    }
    listeners.observe();
  }
  const warnings = (await w.stop()).filter((x) => x.code === 'LEAKWATCH_LISTENER_GROWTH');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0].message, /sampled-bus has \d+ 'data' listeners.*top add site: leakyHandler \(.*listeners\.test\.mjs:\d+:\d+\) \(~100% of the sampled listeners still attached, \d+ samples\)/);
  const r = eventReport('sampled-bus', 'data');
  assert.equal(r.adds, adds);
  const samples = r.sites.reduce((n, s) => n + s.samples, 0);
  // 20,000 adds: eight samples per doubling of the gap, about 8 * log2(20000 / 8) + 8 = 98.
  assert.ok(samples >= 40 && samples <= 160, `${samples} stacks for ${adds} adds`);
  const [leaky, tidy] = r.sites;
  assert.match(leaky.site, /^leakyHandler /);
  assert.equal(leaky.share, 1, 'every sampled listener still attached came from the leak');
  assert.match(tidy.site, /^tidyHandler /, 'the tidy site is sampled too (random gaps)');
  assert.equal(tidy.count, 0, 'none of its listeners stayed');
  // Each sample stands for the adds since the previous one: the estimates add up to about all adds.
  const estimated = leaky.adds + tidy.adds;
  assert.ok(estimated > adds * 0.5 && estimated < adds * 1.5, `sites' adds estimate ${estimated} of ${adds}`);
  assert.ok(Math.abs(tidy.adds / estimated - 0.1) < 0.1, `tidy share of adds ${tidy.adds / estimated}`);
  assert.ok(leaky.count > r.count * 0.5 && leaky.count < r.count * 1.5, `leak estimate ${leaky.count} of ${r.count} attached`);
  untrack(bus);
});

test('frozen emitters: trackEmitter says why with a code; install() counts them through a side table', () => {
  const frozen = Object.freeze(new EventEmitter());
  assert.throws(() => trackEmitter(frozen), (err) => err.code === 'ERR_INVALID_ARG' && /frozen/.test(err.message));
  const sealed = Object.seal(new EventEmitter());
  sealed.on('s', () => {}); // sealed before its first listener of 's' would throw in Node itself
  // Node 26 makes an EventTarget's listener table on first use: a frozen
  // target gets one listener first (Node itself throws otherwise).
  const target = new EventTarget();
  target.addEventListener('t', () => {});
  Object.freeze(target);
  const symbols = Object.getOwnPropertySymbols(target);
  listeners.configure({ threshold: 2 });
  listeners.install();
  try {
    sealed.on('s', () => {});
    target.addEventListener('t', () => {});
  } finally {
    listeners.uninstall();
    listeners.configure({ threshold: 10 });
  }
  const events = listeners.report().emitters.flatMap((e) => e.events);
  assert.ok(events.some((ev) => ev.event === 's' && ev.count === 2 && ev.adds === 1), 'sealed emitter counted');
  assert.ok(events.some((ev) => ev.event === 't' && ev.count === 2 && ev.adds === 1), 'frozen target counted');
  assert.deepEqual(Object.getOwnPropertySymbols(target), symbols);
});

test('uninstall() under a newer patch keeps that patch working; install() again wraps it once', () => {
  const E = EventEmitter.prototype;
  const original = { on: E.on, prepend: E.prependListener };
  listeners.configure({ threshold: 2 });
  listeners.install();
  const ours = E.on;
  const seen = [];
  // A third-party patch made after install(), calling what it found.
  const patch = function on(type, listener) {
    seen.push(type);
    return ours.call(this, type, listener);
  };
  E.on = patch;
  try {
    listeners.uninstall();
    assert.equal(E.on, patch, 'the newer patch is left in place');
    assert.equal(E.prependListener, original.prepend, 'slots still holding our wrapper are restored');
    const e = new EventEmitter();
    e.on('after', () => {});
    e.on('after', () => {});
    assert.deepEqual(seen, ['after', 'after']);
    assert.equal(e.listenerCount('after'), 2);
    assert.equal(listeners.report().emitters.flatMap((x) => x.events).some((ev) => ev.event === 'after'), false,
      'our wrapper below the patch only passes through');

    listeners.install();
    const again = new EventEmitter();
    again.on('twice', () => {});
    again.on('twice', () => {});
    const row = listeners.report().emitters.flatMap((x) => x.events).filter((ev) => ev.event === 'twice');
    assert.deepEqual(row.map((ev) => [ev.count, ev.adds]), [[2, 2]], 'counted once, not once per wrapper');
    listeners.uninstall();
    assert.equal(E.on, patch);
    // The patch's owner unwinds it; our pass-through wrapper is unwrapped by the next install.
    E.on = ours;
    listeners.install();
    listeners.uninstall();
    assert.equal(E.on, original.on, 'after a full unwind the original is back');
  } finally {
    E.on = original.on;
    E.addListener = original.on;
    listeners.configure({ threshold: 10 });
  }
});

test('two copies of the module on one thread share one tracker: no double wrapping, no double counting', () => {
  const script = `
    const root = ${JSON.stringify(ROOT)};
    const { EventEmitter } = require('node:events');
    const a = require(root);
    for (const k of Object.keys(require.cache)) if (!k.endsWith('.node')) delete require.cache[k];
    const b = require(root);
    const differentCopies = a.BoundedLog !== b.BoundedLog;
    a.listeners.configure({ threshold: 2, intervalMs: 0 });
    a.listeners.install();
    const wrapped = EventEmitter.prototype.on;
    b.listeners.install();
    const e = new EventEmitter();
    e.on('x', () => {});
    e.on('x', () => {});
    const bus = b.trackEmitter(new EventEmitter(), { name: 'bus' });
    a.trackEmitter(bus, { name: 'bus' });
    bus.on('y', () => {});
    const rows = (lw) => lw.listeners.report().emitters.flatMap((em) => em.events.map((ev) => [em.name, ev.event, ev.count, ev.adds]));
    console.log(JSON.stringify({
      differentCopies,
      installedInB: b.listeners.installed,
      sameWrapper: EventEmitter.prototype.on === wrapped,
      a: rows(a), b: rows(b),
    }));
    b.listeners.uninstall();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.differentCopies, true, 'the control: the two requires loaded two copies');
  assert.equal(out.installedInB, true);
  assert.equal(out.sameWrapper, true);
  assert.deepEqual(out.a, [['EventEmitter', 'x', 2, 2], ['bus', 'y', 1, 1]]);
  assert.deepEqual(out.b, out.a);
});

test('an emitter with many events keeps exact counts for each (past the short key list)', () => {
  const bus = trackEmitter(new EventEmitter(), { name: 'many-events', threshold: 1000 });
  const f = () => {};
  const events = Array.from({ length: 20 }, (_, i) => (i === 7 ? Symbol('seventh') : `e${i}`));
  for (let round = 0; round < 3; round++) {
    events.forEach((ev, i) => {
      for (let k = 0; k <= i; k++) bus.on(ev, f);
      if (round > 0) bus.off(ev, f);
    });
  }
  const byEvent = Object.fromEntries(listeners.report().emitters.find((e) => e.name === 'many-events').events.map((ev) => [ev.event, ev]));
  events.forEach((ev, i) => {
    const row = byEvent[typeof ev === 'symbol' ? ev.toString() : ev];
    assert.deepEqual([row.count, row.adds, row.removes], [bus.listenerCount(ev), 3 * (i + 1), 2], String(ev));
  });
  untrack(bus);
});

// A removal from two listeners is counted without a lookup only when it
// removes the listener our add made second; every other removal from two
// must still be exact. A removal trusted as real would miss the classic
// leak of a remove-and-re-add with a fresh bound function each time.
test('removals from two listeners stay exact: the second, the first, a miss, a once by its original, a re-add leak', () => {
  const cases = {
    second: (e, f, g) => { e.on('a', g); e.off('a', g); },
    first: (e, f, g) => { e.on('a', g); e.off('a', f); },
    miss: (e, f, g) => { e.on('a', g); e.off('a', () => {}); },
    onceByOriginal: (e, f, g) => { e.once('a', g); e.off('a', g); },
    onceFired: (e, f, g) => { e.once('a', g); e.emit('a'); },
    bindLeak: (e) => { for (let i = 0; i < 40; i++) { const h = function () {}; e.off('a', h.bind(null)); e.on('a', h.bind(null)); } },
  };
  for (const mode of ['trackEmitter', 'install']) {
    // Threshold 2 arms every key, so install() hands each to Rust's report.
    listeners.configure({ threshold: 2 });
    if (mode === 'install') listeners.install();
    try {
      for (const [name, run] of Object.entries(cases)) {
        const label = `${mode}-${name}`;
        const Named = { [label]: class extends EventEmitter {} }[label];
        const e = new Named();
        e.setMaxListeners(0);
        if (mode === 'trackEmitter') trackEmitter(e);
        const f = () => {};
        e.on('a', f);
        for (let round = 0; round < 3; round++) run(e, f, () => {});
        const row = eventReport(label, 'a');
        assert.ok(row, `${label}: a row for 'a'`);
        assert.equal(row.count, e.listenerCount('a'), label);
        if (mode === 'trackEmitter') untrack(e);
      }
    } finally {
      if (mode === 'install') listeners.uninstall();
      listeners.configure({ threshold: 10 });
    }
  }
});

test('floors see dips between adds and after the last add; a burst of once listeners and removals while emitting stay exact', () => {
  for (const mode of ['trackEmitter', 'install']) {
    listeners.configure({ threshold: 2 });
    if (mode === 'install') listeners.install();
    try {
      const make = (label) => {
        const Named = { [label]: class extends EventEmitter {} }[label];
        const e = new Named();
        e.setMaxListeners(0);
        if (mode === 'trackEmitter') trackEmitter(e);
        return e;
      };
      const steady = make(`${mode}-steady`);
      const dipBetween = make(`${mode}-dip-between`);
      const dipAtEnd = make(`${mode}-dip-at-end`);
      const add = (e, n) => { for (let i = 0; i < n; i++) e.on('a', () => {}); };
      const dropTo = (e, n) => { for (const f of e.listeners('a').slice(n)) e.off('a', f); };
      for (const e of [steady, dipBetween, dipAtEnd]) add(e, 4);
      listeners.observe();
      for (let window = 1; window <= 3; window++) {
        // All three end each window with 4 more than the last: only the
        // steady one's floor rises. One drops to none and climbs back
        // within the window; one drops to none after its last add.
        add(steady, 4);
        dropTo(dipBetween, 0);
        add(dipBetween, 4 * window + 4);
        add(dipAtEnd, 4);
        const keep = dipAtEnd.listeners('a');
        dropTo(dipAtEnd, 0);
        listeners.observe();
        assert.deepEqual([steady, dipBetween].map((e) => e.listenerCount('a')), [4 + 4 * window, 4 + 4 * window]);
        for (const f of keep) dipAtEnd.on('a', f);
      }
      const row = (e) => eventReport(e.constructor.name, 'a');
      // install() starts watching a key after the add that arms it, so its
      // first floor is 1 where trackEmitter()'s is 0: one more rise.
      assert.equal(row(steady).rising, mode === 'install' ? 4 : 3, `${mode}: steady growth`);
      assert.equal(row(dipBetween).rising, 0, `${mode}: a dip between adds is the window's floor`);
      assert.equal(row(dipAtEnd).rising, 0, `${mode}: a dip after the last add is the window's floor`);

      // A burst of once listeners fired by one emit (from Node 24 on, Node
      // copies the array at the first removal, so an array held from an
      // earlier add no longer shortens): the count ends at none.
      const burst = make(`${mode}-burst`);
      for (let i = 0; i < 200; i++) burst.once('a', () => {});
      burst.emit('a');
      const b = row(burst);
      assert.deepEqual([b.count, b.peak, b.adds, b.removes], [0, 200, 200, 200], `${mode}: burst`);

      // Two removed while emitting (onto Node 24's copy), then the listener
      // that was last re-added: the count is the live one.
      const reAdd = make(`${mode}-re-add`);
      const fs = [1, 2, 3, 4].map(() => () => {});
      for (const f of fs) reAdd.on('a', f);
      reAdd.prependListener('a', () => { reAdd.off('a', fs[0]); reAdd.off('a', fs[3]); });
      reAdd.emit('a');
      reAdd.on('a', fs[3]);
      const r = row(reAdd);
      assert.deepEqual([r.count, r.adds, r.removes], [reAdd.listenerCount('a'), 6, 2], `${mode}: re-add`);
      if (mode === 'trackEmitter') for (const e of [steady, dipBetween, dipAtEnd, burst, reAdd]) untrack(e);
    } finally {
      if (mode === 'install') listeners.uninstall();
      listeners.configure({ threshold: 10 });
    }
  }
});

test('random adds, removals, emits and removeAllListeners: reported counts, peaks, adds and removes match a plain tally', () => {
  // Counts are read at adds and observations, not at removals: this plays
  // seeded random sequences against both modes and checks every reported
  // key against a tally kept beside the emitters.
  let seed = 0x9e3779b9;
  const random = (n) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const types = ['a', 'b', 'c', Symbol('s')];
  for (const mode of ['trackEmitter', 'install']) {
    // Threshold 6: keys are watched from 3 listeners, so install() also
    // meets keys that rise and fall below that level unwatched.
    listeners.configure({ threshold: 6 });
    if (mode === 'install') listeners.install();
    try {
      const emitters = [0, 1, 2, 3, 4, 5].map((i) => {
        const label = `random-${mode}-${i}`;
        const e = new ({ [label]: class extends EventEmitter {} }[label])();
        e.setMaxListeners(0);
        if (mode === 'trackEmitter') trackEmitter(e, { name: label });
        return e;
      });
      const tally = new Map(emitters.map((e) => [e, new Map(types.map((t) => [t, { adds: 0, peak: 0 }]))]));
      const added = (e, t) => {
        const x = tally.get(e).get(t);
        x.adds++;
        x.peak = Math.max(x.peak, e.listenerCount(t));
      };
      let checked = 0;
      const check = (step) => {
        for (const em of listeners.report().emitters) {
          const e = emitters.find((x) => x.constructor.name === em.name);
          if (e === undefined) continue;
          for (const ev of em.events) {
            const t = types.find((x) => String(x) === ev.event);
            const x = tally.get(e).get(t);
            const label = `${mode} step ${step}: ${em.name} ${ev.event}`;
            assert.equal(ev.count, e.listenerCount(t), `${label}: count`);
            assert.equal(ev.adds, x.adds, `${label}: adds`);
            assert.equal(ev.removes, x.adds - ev.count, `${label}: removes`);
            assert.equal(ev.peak, x.peak, `${label}: peak`);
            checked++;
          }
        }
      };
      for (let step = 0; step < 6000; step++) {
        const e = emitters[random(emitters.length)];
        const t = types[random(types.length)];
        const attached = e.listeners(t);
        const op = random(12);
        if (op < 4) {
          e[['on', 'once', 'prependListener', 'prependOnceListener'][op]](t, () => {});
          added(e, t);
        } else if (op < 7 && attached.length > 0) {
          e.off(t, attached[random(attached.length)]);
        } else if (op === 7) {
          e.off(t, () => {}); // a miss
        } else if (op === 8 && random(8) === 0) {
          if (random(2) === 0) e.removeAllListeners(t);
          else e.removeAllListeners();
        } else if (op === 9) {
          // A listener that removes two others and itself while the event is emitted.
          const remover = () => {
            for (const f of e.listeners(t).slice(0, 2)) e.off(t, f);
            e.off(t, remover);
          };
          e.on(t, remover);
          added(e, t);
          e.emit(t);
        } else if (op === 10) {
          e.emit(t);
        } else if (random(20) === 0) {
          listeners.observe();
        }
        if (step % 97 === 0) check(step);
      }
      check('end');
      // trackEmitter() reports every key from its first add; install() only watched ones.
      assert.ok(checked > (mode === 'install' ? 500 : 1000), `${mode}: ${checked} rows checked`);
      if (mode === 'trackEmitter') for (const e of emitters) untrack(e);
    } finally {
      if (mode === 'install') listeners.uninstall();
      listeners.configure({ threshold: 10 });
    }
  }
});

test('a watched event lets go of its removed listeners by the next observation', async () => {
  // Removals are not wrapped, so the array a watched event holds can still
  // hold listeners that were removed until its next add or observation.
  const { expectCollected } = leakwatch;
  const bus = trackEmitter(new EventEmitter(), { name: 'let-go', threshold: 4 });
  const cases = {
    'all removed': () => {
      const fs = [1, 2, 3, 4].map(() => () => {});
      for (const f of fs) bus.on('a', f);
      for (const f of fs) bus.off('a', f);
      return fs;
    },
    // From Node 24 on, removing while emitting goes to a copy of the array.
    'removed while emitting': () => {
      const fs = [1, 2, 3, 4].map(() => () => {});
      for (const f of fs) bus.on('b', f);
      bus.prependOnceListener('b', () => { for (const f of fs) bus.off('b', f); });
      bus.emit('b');
      return fs;
    },
  };
  for (const [label, run] of Object.entries(cases)) {
    await expectCollected(() => {
      const fs = run();
      assert.equal(eventReport('let-go', label === 'all removed' ? 'a' : 'b').count, 0, label);
      return fs;
    });
  }
  untrack(bus);
});
