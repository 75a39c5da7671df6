'use strict';

// Timer registry. The records (kind, delay, age, fires, site, owner) live in
// Rust keyed by each timer's async id, which is also the number
// `Symbol.toPrimitive` gives, so clearTimeout(numericId) needs no extra map.
//
// A napi call per setTimeout and clearTimeout doubled their cost, so each
// creation, fire and clear is written as a record into a journal that Rust
// owns and JS sees as a Float64Array (src/trackers/timers.rs); Rust applies
// the journal when it is full and before anything reads the registry. A
// record's creation time is the timer's `_idleStart`, Node's event-loop
// clock, free to read where Date.now() costs ~60 ns on some VMs.

const native = require('./native.js');
const nodeTimers = require('node:timers');
const timersPromises = require('node:timers/promises');
const { syncBuiltinESMExports } = require('node:module');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');

const OUTLIVED_CODE = 'LEAKWATCH_TIMER_OUTLIVED_OWNER';
const TIMEOUT = 0;
const INTERVAL = 1;
const IMMEDIATE = 2;
const TIMEOUT_MAX = 2 ** 31 - 1;
// Journal layout and ops: src/trackers/timers.rs. The count of records
// written is the journal's first cell, shared by every copy of this module
// on the thread.
const RECORD = 5;
const JOURNAL_RECORDS = 1024;
const HEADER = 1;
const ADD = 1;
const FIRE = 4;
const REMOVE = 5;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];

const PROMISE_NAMES = ['setTimeout', 'setImmediate', 'setInterval'];

// The functions as they were at load, before any install: always the real ones.
const orig = Object.fromEntries(NAMES.map((n) => [n, globalThis[n]]));
const origPromises = Object.fromEntries(PROMISE_NAMES.map((n) => [n, timersPromises[n]]));

const probe = orig.setTimeout(() => {}, 1);
orig.clearTimeout(probe);
const probeImmediate = orig.setImmediate(() => {});
orig.clearImmediate(probeImmediate);
const ASYNC_ID = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'asyncId');
const ImmediateProto = Object.getPrototypeOf(probeImmediate);
if (!ASYNC_ID || !Object.getOwnPropertySymbols(probeImmediate).includes(ASYNC_ID)) {
  throw new Error('leakwatch: this Node version does not expose timer async ids; the timer registry needs them');
}

// Timers Node still holds (for clearAll and `refed`), dropped when they fire
// (timeouts, immediates) or are cleared. A Map by id cost more than the
// rest of the tracking together (its hash table churns with every
// set/delete), so each timer gets a slot in a plain array, remembered on
// the timer under a symbol; freed slots are reused.
const kSlot = Symbol('leakwatch.timerSlot');
const slots = [];
const freeSlots = [];
const ownerTokens = new WeakMap();
let nextOwnerToken = 1;
const owners = new FinalizationRegistry((token) => {
  applyJournal();
  for (const t of native.timerOwnerCollected(token)) {
    process.emitWarning(
      `${t.kind === 'interval' ? 'An' : 'A'} ${t.kind} (every ${t.delay} ms, fired ${t.fired} times) outlived its owner, which was garbage-collected; created at ${t.site ?? 'an unrecorded site'}`,
      { code: OUTLIVED_CODE, detail: 'clear it when its owner stops, e.g. timers.clearAll({ owner }) in a stop() method' },
    );
  }
});

let installed = null;
let sites = 'intervals';
let journal = null;

function noop() {}

/** The event loop's clock now, as Node stamps `_idleStart`. */
function loopNow() {
  const probe = orig.setTimeout(noop, 1);
  orig.clearTimeout(probe);
  return probe._idleStart;
}

function applyJournal() {
  if (journal === null || journal[0] === 0) return;
  native.timerApply(loopNow());
}

function hold(timer) {
  const s = freeSlots.length > 0 ? freeSlots.pop() : slots.length;
  slots[s] = timer;
  timer[kSlot] = s;
  return s;
}

/** Releases the timer's slot; false if it held none (untracked, fired or cleared). */
function release(timer) {
  const s = timer[kSlot];
  if (s === undefined || slots[s] !== timer) return false;
  slots[s] = undefined;
  freeSlots.push(s);
  return true;
}

function liveById() {
  const byId = new Map();
  for (const t of slots) if (t !== undefined) byId.set(t[ASYNC_ID], t);
  return byId;
}

function record(op, id, delay, created, slot) {
  let j = journal;
  if (j === null) {
    j = new Float64Array(callNative(() => native.timerJournal()));
    journal = j;
  }
  let n = j[0];
  if (n === JOURNAL_RECORDS) {
    applyJournal();
    n = 0;
  }
  const o = HEADER + n * RECORD;
  j[o] = op;
  j[o + 1] = id;
  j[o + 2] = delay;
  j[o + 3] = created;
  j[o + 4] = slot;
  j[0] = n + 1;
}

// Node's own delay rule, so the registry shows the delay that applies.
function normalDelay(d) {
  const n = Number(d);
  return n >= 1 && n <= TIMEOUT_MAX ? n : 1;
}

function wantsSite(kind) {
  return sites === 'all' || (sites === 'intervals' && kind === INTERVAL);
}

/** `skip`: the frame above which the site is taken; null takes none. */
function register(timer, kind, delay, skip, created = kind === IMMEDIATE ? NaN : timer._idleStart) {
  const id = timer[ASYNC_ID];
  // Immediates have no _idleStart; they live less than a loop turn.
  record(ADD + kind, id, delay, created, hold(timer));
  if (skip !== null && wantsSite(kind)) {
    applyJournal();
    native.timerSetSite(id, captureSite(skip));
  }
  return id;
}

function forget(timer) {
  if (timer !== null && typeof timer === 'object') {
    if (release(timer)) record(REMOVE, timer[ASYNC_ID], 0, 0, 0);
  } else if (typeof timer === 'number' || typeof timer === 'string') {
    // clearTimeout(+timer): Rust knows the slot of that id.
    const id = Number(timer);
    applyJournal();
    const s = native.timerSlot(id);
    const t = s === null ? undefined : slots[s];
    if (t !== undefined && t[ASYNC_ID] === id && release(t)) record(REMOVE, id, 0, 0, 0);
  }
}

// A spread call is markedly slower than a plain one: spread only when the
// caller passed arguments for the callback.
function trackedSetTimeout(callback, delay, ...args) {
  if (typeof callback !== 'function') return orig.setTimeout(callback, delay, ...args);
  let id;
  const fire = function () {
    release(timer);
    record(FIRE, id, 0, 0, 0);
    return Reflect.apply(callback, this, arguments);
  };
  const timer = args.length === 0 ? orig.setTimeout(fire, delay) : orig.setTimeout(fire, delay, ...args);
  id = register(timer, TIMEOUT, normalDelay(delay), trackedSetTimeout);
  return timer;
}

function trackedSetInterval(callback, delay, ...args) {
  if (typeof callback !== 'function') return orig.setInterval(callback, delay, ...args);
  let id;
  const fire = function () {
    record(FIRE, id, 0, 0, 0);
    return Reflect.apply(callback, this, arguments);
  };
  const timer = args.length === 0 ? orig.setInterval(fire, delay) : orig.setInterval(fire, delay, ...args);
  id = register(timer, INTERVAL, normalDelay(delay), trackedSetInterval);
  return timer;
}

function trackedSetImmediate(callback, ...args) {
  if (typeof callback !== 'function') return orig.setImmediate(callback, ...args);
  let id;
  let immediate;
  const fire = function () {
    release(immediate);
    record(FIRE, id, 0, 0, 0);
    return Reflect.apply(callback, this, arguments);
  };
  immediate = args.length === 0 ? orig.setImmediate(fire) : orig.setImmediate(fire, ...args);
  id = register(immediate, IMMEDIATE, 0, trackedSetImmediate);
  return immediate;
}

function trackedClearTimeout(timer) {
  orig.clearTimeout(timer);
  forget(timer);
}

function trackedClearInterval(timer) {
  orig.clearInterval(timer);
  forget(timer);
}

function trackedClearImmediate(immediate) {
  orig.clearImmediate(immediate);
  forget(immediate);
}

// timers/promises creates its Timeout internally and hands out only a
// promise (or an async iterator), so such a timer is listed through a
// stand-in with its own id (above any async id) and leaves the list when the
// promise settles. The caller gets a promise chained on Node's, never Node's
// own: attaching handlers to that one would mark its rejection handled and
// hide an unhandled AbortError. The cost is one more microtask tick before
// the caller's handlers run.
class PromiseTimer {
  constructor(id, ref) {
    this[ASYNC_ID] = id;
    this.ref = ref;
  }

  hasRef() {
    return this.ref;
  }
}

let nextPromiseId = 2 ** 52;

function promiseTimer(kind, delay, options, skip) {
  const ref = !(options !== null && typeof options === 'object' && options.ref === false);
  const timer = new PromiseTimer(nextPromiseId++, ref);
  // No _idleStart to read: applying now stamps the creation time.
  register(timer, kind, delay, skip, NaN);
  applyJournal();
  return timer;
}

function promiseDone(timer, op) {
  if (release(timer)) record(op, timer[ASYNC_ID], 0, 0, 0);
}

function trackedPromiseTimeout(delay, value, options) {
  const timer = promiseTimer(TIMEOUT, normalDelay(delay), options, trackedPromiseTimeout);
  return origPromises.setTimeout(delay, value, options).then(
    (v) => { promiseDone(timer, FIRE); return v; },
    (err) => { promiseDone(timer, REMOVE); throw err; },
  );
}

function trackedPromiseImmediate(value, options) {
  const timer = promiseTimer(IMMEDIATE, 0, options, trackedPromiseImmediate);
  return origPromises.setImmediate(value, options).then(
    (v) => { promiseDone(timer, FIRE); return v; },
    (err) => { promiseDone(timer, REMOVE); throw err; },
  );
}

// Node's interval starts when its generator first runs; so does this one,
// but the site is taken at the call.
function trackedPromiseInterval(delay, value, options) {
  const site = wantsSite(INTERVAL) ? captureSite(trackedPromiseInterval) : undefined;
  return (async function* interval() {
    const timer = promiseTimer(INTERVAL, normalDelay(delay), options, null);
    if (site !== undefined) native.timerSetSite(timer[ASYNC_ID], site);
    try {
      for await (const v of origPromises.setInterval(delay, value, options)) {
        record(FIRE, timer[ASYNC_ID], 0, 0, 0);
        yield v;
      }
    } finally {
      promiseDone(timer, REMOVE);
    }
  })();
}

const trackedPromises = {
  setTimeout: trackedPromiseTimeout,
  setImmediate: trackedPromiseImmediate,
  setInterval: trackedPromiseInterval,
};

const tracked = {
  setTimeout: trackedSetTimeout,
  setInterval: trackedSetInterval,
  setImmediate: trackedSetImmediate,
  clearTimeout: trackedClearTimeout,
  clearInterval: trackedClearInterval,
  clearImmediate: trackedClearImmediate,
};

// The wrappers look like the originals: same name and length, and the same
// symbol-keyed extras (util.promisify.custom).
for (const [from, to] of [
  ...NAMES.map((n) => [orig[n], tracked[n]]),
  ...PROMISE_NAMES.map((n) => [origPromises[n], trackedPromises[n]]),
]) {
  Object.defineProperty(to, 'name', { value: from.name });
  Object.defineProperty(to, 'length', { value: from.length });
  for (const key of Reflect.ownKeys(from)) {
    if (typeof key === 'symbol') Object.defineProperty(to, key, Object.getOwnPropertyDescriptor(from, key));
  }
}

function checkSites(s) {
  if (s === undefined) return sites;
  if (s !== 'all' && s !== 'intervals' && s !== 'none') throw argError("options.sites must be 'all', 'intervals' or 'none'");
  return s;
}

/**
 * Wraps the timer functions on globalThis, in `node:timers` and in
 * `node:timers/promises` (not `scheduler.wait`, which calls Node's internal
 * function directly), and updates ESM named imports of those modules.
 * @param {{ sites?: 'all' | 'intervals' | 'none' }} [options]
 */
function install(options = {}) {
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  sites = checkSites(options.sites);
  if (installed) return;
  const saved = [];
  const targets = [[globalThis, tracked], [nodeTimers, tracked], [timersPromises, trackedPromises]];
  for (const [holder, wrappers] of targets) {
    for (const n of Object.keys(wrappers)) {
      const d = Object.getOwnPropertyDescriptor(holder, n);
      if (!d) continue;
      saved.push([holder, n, d]);
      Object.defineProperty(holder, n, { ...d, value: wrappers[n] });
    }
  }
  installed = saved;
  syncBuiltinESMExports();
}

/** Puts the exact original property descriptors back. Tracked timers stay listed until they end. */
function uninstall() {
  if (!installed) return;
  for (const [holder, n, d] of installed) Object.defineProperty(holder, n, d);
  installed = null;
  syncBuiltinESMExports();
}

function isTimer(t) {
  return t !== null && typeof t === 'object' && typeof t[ASYNC_ID] === 'number';
}

function checkOwner(owner) {
  if (owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) {
    throw argError('owner must be an object');
  }
}

function tokenOf(owner) {
  let token = ownerTokens.get(owner);
  if (token === undefined) {
    token = nextOwnerToken++;
    ownerTokens.set(owner, token);
    owners.register(owner, token);
  }
  return token;
}

/** Ties a tracked timer to an owner object; if the owner is collected while the timer runs, that is reported. */
function setOwner(timer, owner) {
  checkOwner(owner);
  if (!isTimer(timer) || slots[timer[kSlot]] !== timer) {
    throw argError('setOwner needs a running timer created while leakwatch timers were installed, or by timers.setInterval/setTimeout', 'ERR_TIMER_UNTRACKED');
  }
  applyJournal();
  callNative(() => native.timerSetOwner(timer[ASYNC_ID], tokenOf(owner)));
  return timer;
}

function checkTimerArgs(fn, ms, options) {
  if (typeof fn !== 'function') throw argError('callback must be a function');
  if (ms !== undefined && (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0)) throw argError('delay must be a non-negative number');
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  if (options.owner !== undefined) checkOwner(options.owner);
}

/**
 * A tracked timer whose owner is held weakly and passed to the callback, so
 * an owner dropped without stop() can be collected and the timer reported.
 */
function owned(kind, fn, ms, options) {
  checkTimerArgs(fn, ms, options);
  const ref = options.owner === undefined ? null : new WeakRef(options.owner);
  let id;
  const begin = kind === INTERVAL ? orig.setInterval : orig.setTimeout;
  const timer = begin(function () {
    if (kind === TIMEOUT) release(timer);
    record(FIRE, id, 0, 0, 0);
    return fn.call(this, ref === null ? undefined : ref.deref());
  }, ms);
  id = register(timer, kind, normalDelay(ms), owned);
  if (ref !== null) {
    applyJournal();
    native.timerSetOwner(id, tokenOf(options.owner));
  }
  return timer;
}

function active() {
  applyJournal();
  const timers = native.timerActive();
  const live = liveById();
  for (const t of timers) {
    const timer = live.get(t.id);
    t.refed = timer !== undefined && timer.hasRef();
  }
  return { count: timers.length, timers, bySite: native.timerBySite() };
}

/**
 * Clears every tracked timer matching the filters (all of them with none).
 * @param {{ site?: string, owner?: object }} [filter]
 */
function clearAll(filter = {}) {
  if (filter === null || typeof filter !== 'object') throw argError('filter must be an object');
  if (filter.site !== undefined && typeof filter.site !== 'string') throw argError('filter.site must be a string');
  let token = null;
  if (filter.owner !== undefined) {
    checkOwner(filter.owner);
    token = ownerTokens.get(filter.owner);
    if (token === undefined) return 0;
  }
  applyJournal();
  const ids = native.timerSelect(filter.site ?? null, token);
  const live = liveById();
  let cleared = 0;
  for (const id of ids) {
    const timer = live.get(id);
    // A timers/promises timer has no handle to clear.
    if (timer === undefined || timer instanceof PromiseTimer) continue;
    if (Object.getPrototypeOf(timer) === ImmediateProto) orig.clearImmediate(timer);
    else orig.clearTimeout(timer);
    release(timer);
    record(REMOVE, id, 0, 0, 0);
    cleared++;
  }
  return cleared;
}

const timers = {
  install,
  uninstall,
  active,
  clearAll,
  setOwner,
  setInterval: (fn, ms, options = {}) => owned(INTERVAL, fn, ms, options),
  setTimeout: (fn, ms, options = {}) => owned(TIMEOUT, fn, ms, options),
  get installed() { return installed !== null; },
};

module.exports = { timers, TIMER_WARNING_CODE: OUTLIVED_CODE };
