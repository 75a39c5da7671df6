'use strict';

// Timer registry. The records (kind, delay, age, fires, site, owner) live in
// Rust keyed by each timer's async id, which is also the number
// `Symbol.toPrimitive` gives, so clearTimeout(numericId) needs no extra map.

const native = require('../binding.js');
const nodeTimers = require('node:timers');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');

const OUTLIVED_CODE = 'LEAKWATCH_TIMER_OUTLIVED_OWNER';
const TIMEOUT = 0;
const INTERVAL = 1;
const IMMEDIATE = 2;
const TIMEOUT_MAX = 2 ** 31 - 1;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];

// The functions as they were at load, before any install: always the real ones.
const orig = Object.fromEntries(NAMES.map((n) => [n, globalThis[n]]));

const probe = orig.setTimeout(() => {}, 1);
orig.clearTimeout(probe);
const probeImmediate = orig.setImmediate(() => {});
orig.clearImmediate(probeImmediate);
const ASYNC_ID = Object.getOwnPropertySymbols(probe).find((s) => s.description === 'asyncId');
const ImmediateProto = Object.getPrototypeOf(probeImmediate);
if (!ASYNC_ID || !Object.getOwnPropertySymbols(probeImmediate).includes(ASYNC_ID)) {
  throw new Error('leakwatch: this Node version does not expose timer async ids; the timer registry needs them');
}

/** Timers Node still holds, by async id; dropped when they fire (timeouts) or are cleared. */
const live = new Map();
const ownerTokens = new WeakMap();
let nextOwnerToken = 1;
const owners = new FinalizationRegistry((token) => {
  for (const t of native.timerOwnerCollected(token)) {
    process.emitWarning(
      `${t.kind === 'interval' ? 'An' : 'A'} ${t.kind} (every ${t.delay} ms, fired ${t.fired} times) outlived its owner, which was garbage-collected; created at ${t.site ?? 'an unrecorded site'}`,
      { code: OUTLIVED_CODE, detail: 'clear it when its owner stops, e.g. timers.clearAll({ owner }) in a stop() method' },
    );
  }
});

let installed = null;
let sites = 'intervals';

// Node's own delay rule, so the registry shows the delay that applies.
function normalDelay(d) {
  const n = Number(d);
  return n >= 1 && n <= TIMEOUT_MAX ? n : 1;
}

function register(timer, kind, delay, skip) {
  const id = timer[ASYNC_ID];
  live.set(id, timer);
  native.timerAdd(id, kind, delay);
  if (sites === 'all' || (sites === 'intervals' && kind === INTERVAL)) {
    native.timerSetSite(id, captureSite(skip));
  }
  return id;
}

function forget(timer) {
  let id;
  if (timer !== null && typeof timer === 'object') id = timer[ASYNC_ID];
  else if (typeof timer === 'number' || typeof timer === 'string') id = Number(timer);
  if (id !== undefined && live.delete(id)) native.timerRemove(id);
}

function trackedSetTimeout(callback, delay, ...args) {
  if (typeof callback !== 'function') return orig.setTimeout(callback, delay, ...args);
  let id;
  const timer = orig.setTimeout(function () {
    live.delete(id);
    native.timerFire(id);
    return Reflect.apply(callback, this, arguments);
  }, delay, ...args);
  id = register(timer, TIMEOUT, normalDelay(delay), trackedSetTimeout);
  return timer;
}

function trackedSetInterval(callback, delay, ...args) {
  if (typeof callback !== 'function') return orig.setInterval(callback, delay, ...args);
  let id;
  const timer = orig.setInterval(function () {
    native.timerFire(id);
    return Reflect.apply(callback, this, arguments);
  }, delay, ...args);
  id = register(timer, INTERVAL, normalDelay(delay), trackedSetInterval);
  return timer;
}

function trackedSetImmediate(callback, ...args) {
  if (typeof callback !== 'function') return orig.setImmediate(callback, ...args);
  let id;
  const immediate = orig.setImmediate(function () {
    live.delete(id);
    native.timerFire(id);
    return Reflect.apply(callback, this, arguments);
  }, ...args);
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
for (const n of NAMES) {
  const from = orig[n];
  const to = tracked[n];
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
 * Wraps the timer functions on globalThis and in `node:timers`.
 * @param {{ sites?: 'all' | 'intervals' | 'none' }} [options]
 */
function install(options = {}) {
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  sites = checkSites(options.sites);
  if (installed) return;
  const saved = [];
  for (const holder of [globalThis, nodeTimers]) {
    for (const n of NAMES) {
      const d = Object.getOwnPropertyDescriptor(holder, n);
      if (!d) continue;
      saved.push([holder, n, d]);
      Object.defineProperty(holder, n, { ...d, value: tracked[n] });
    }
  }
  installed = saved;
}

/** Puts the exact original property descriptors back. Tracked timers stay listed until they end. */
function uninstall() {
  if (!installed) return;
  for (const [holder, n, d] of installed) Object.defineProperty(holder, n, d);
  installed = null;
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
  if (!isTimer(timer) || !live.has(timer[ASYNC_ID])) {
    throw argError('setOwner needs a running timer created while leakwatch timers were installed, or by timers.setInterval/setTimeout', 'ERR_TIMER_UNTRACKED');
  }
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
  const start = kind === INTERVAL ? orig.setInterval : orig.setTimeout;
  const timer = start(function () {
    if (kind === TIMEOUT) live.delete(id);
    native.timerFire(id);
    return fn.call(this, ref === null ? undefined : ref.deref());
  }, ms);
  id = register(timer, kind, normalDelay(ms), owned);
  if (ref !== null) native.timerSetOwner(id, tokenOf(options.owner));
  return timer;
}

function active() {
  const timers = native.timerActive();
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
  const ids = native.timerSelect(filter.site ?? null, token);
  for (const id of ids) {
    const timer = live.get(id);
    if (timer === undefined) continue;
    if (Object.getPrototypeOf(timer) === ImmediateProto) orig.clearImmediate(timer);
    else orig.clearTimeout(timer);
    live.delete(id);
    native.timerRemove(id);
  }
  return ids.length;
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
