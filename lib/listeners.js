'use strict';

// Listener tracking. Counts, history and the growth test live in Rust; this
// file only hooks emitters, which must happen in JS.

const native = require('../binding.js');
const { EventEmitter, getEventListeners } = require('node:events');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');

const WARNING_CODE = 'LEAKWATCH_LISTENER_GROWTH';
// Captured before timers.install() can wrap it: the observer is ours, not the user's.
const plainSetInterval = setInterval;
const plainClearInterval = clearInterval;

const config = { threshold: 10, intervalMs: 1000 };
/** emitter -> { id, keys: Map(event -> native key), mode, epoch, undo } */
const states = new WeakMap();
// A tracked emitter that is collected takes its native state with it.
const collected = new FinalizationRegistry((id) => native.listenerForget(id));
let explicit = 0;
let installed = null;
let epoch = 0;
let observer = null;

function isEmitter(x) {
  return x instanceof EventEmitter;
}

function isTarget(x) {
  return typeof EventTarget === 'function' && x instanceof EventTarget;
}

function eventName(type) {
  return typeof type === 'symbol' ? type.toString() : String(type);
}

function checkThreshold(t, fallback) {
  if (t === undefined) return fallback;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) {
    throw argError('threshold must be a positive integer');
  }
  return t;
}

function keyOf(st, type, initial) {
  let k = st.keys.get(type);
  if (k === undefined) {
    k = native.listenerKey(st.id, eventName(type), initial) ?? 0;
    st.keys.set(type, k);
  }
  return k;
}

function added(st, type, initial, skip) {
  const k = keyOf(st, type, initial);
  if (native.listenerAdd(k)) native.listenerAddSite(k, captureSite(skip));
}

function synced(st, type, count, skip) {
  const k = keyOf(st, type, 0);
  if (native.listenerSetCount(k, count)) native.listenerAddSite(k, captureSite(skip));
}

function newState(emitter, name, threshold, mode) {
  const label = name ?? `${emitter.constructor?.name || 'Object'}`;
  const id = callNative(() => native.listenerRegister(label, threshold));
  const st = { id, keys: new Map(), mode, epoch, undo: null };
  states.set(emitter, st);
  collected.register(emitter, id, st);
  return st;
}

function dropState(emitter, st) {
  states.delete(emitter);
  collected.unregister(st);
  native.listenerForget(st.id);
}

// EventEmitter: its own newListener/removeListener signals, no patching.
function hookEmitter(emitter, st) {
  for (const type of emitter.eventNames()) keyOf(st, type, emitter.listenerCount(type));
  function onNew(type, listener) {
    if (listener !== onNew && listener !== onRemove) added(st, type, emitter.listenerCount(type), onNew);
  }
  function onRemove(type, listener) {
    if (listener === onNew || listener === onRemove) return;
    const k = st.keys.get(type);
    if (k !== undefined) native.listenerRemove(k);
  }
  // removeListener first: adding it while onNew is installed would count it.
  emitter.on('removeListener', onRemove);
  emitter.on('newListener', onNew);
  st.undo = () => {
    emitter.removeListener('newListener', onNew);
    emitter.removeListener('removeListener', onRemove);
  };
}

// EventTarget has no signals; wrap this instance's methods and read the true
// count back, since duplicates are ignored and `once`/`signal` remove silently.
function hookTarget(target, st) {
  const names = ['addEventListener', 'removeEventListener', 'dispatchEvent'];
  const own = names.map((n) => [n, Object.getOwnPropertyDescriptor(target, n)]);
  for (const n of names) {
    const orig = target[n];
    const wrapper = {
      [n](type, ...rest) {
        const r = Reflect.apply(orig, this, [type, ...rest]);
        const t = n === 'dispatchEvent' ? type?.type : type;
        synced(st, t, getEventListeners(target, t).length, wrapper);
        return r;
      },
    }[n];
    Object.defineProperty(target, n, { value: wrapper, writable: true, configurable: true, enumerable: false });
  }
  st.undo = () => {
    for (const [n, d] of own) {
      if (d) Object.defineProperty(target, n, d);
      else delete target[n];
    }
  };
}

/**
 * Tracks one EventEmitter or EventTarget (AbortSignal included).
 * @param {EventEmitter | EventTarget} emitter
 * @param {{ name?: string, threshold?: number }} [options]
 */
function trackEmitter(emitter, options = {}) {
  const ee = isEmitter(emitter);
  if (!ee && !isTarget(emitter)) throw argError('trackEmitter needs an EventEmitter or EventTarget');
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  if (options.name !== undefined && typeof options.name !== 'string') throw argError('options.name must be a string');
  const threshold = checkThreshold(options.threshold, config.threshold);
  const prev = states.get(emitter);
  if (prev && prev.mode !== 'install') return emitter;
  if (prev) dropState(emitter, prev);
  const st = newState(emitter, options.name, threshold, ee ? 'signals' : 'target');
  if (ee) hookEmitter(emitter, st);
  else hookTarget(emitter, st);
  explicit++;
  startObserver();
  return emitter;
}

function untrack(emitter) {
  const st = emitter !== null && typeof emitter === 'object' ? states.get(emitter) : undefined;
  if (!st || st.mode === 'install') return false;
  st.undo();
  dropState(emitter, st);
  explicit--;
  stopObserverIfIdle();
  return true;
}

// Install mode: state for any emitter on first use, unless tracked explicitly.
function installState(emitter) {
  const st = states.get(emitter);
  if (st && (st.mode !== 'install' || st.epoch === epoch)) return st.mode === 'install' ? st : null;
  if (st) dropState(emitter, st);
  return newState(emitter, undefined, config.threshold, 'install');
}

function install() {
  if (installed) return;
  const E = EventEmitter.prototype;
  const T = typeof EventTarget === 'function' ? EventTarget.prototype : null;
  const slots = [
    [E, 'on'], [E, 'addListener'], [E, 'prependListener'],
    [E, 'removeListener'], [E, 'off'], [E, 'removeAllListeners'],
  ];
  if (T) slots.push([T, 'addEventListener'], [T, 'removeEventListener'], [T, 'dispatchEvent']);
  const origDispatch = T ? T.dispatchEvent : null;
  const saved = slots.map(([obj, n]) => [obj, n, Object.getOwnPropertyDescriptor(obj, n)]);
  const wrapped = new Map();
  // `on` and `addListener` are one function: wrap it once so both stay identical.
  const wrap = (orig, make) => {
    if (!wrapped.has(orig)) wrapped.set(orig, make(orig));
    return wrapped.get(orig);
  };
  const eeCount = (orig) => function (type) {
    const r = Reflect.apply(orig, this, arguments);
    const st = installState(this);
    if (st) synced(st, type, this.listenerCount(type), undefined);
    return r;
  };
  const eeRemoveAll = (orig) => function (type) {
    const r = Reflect.apply(orig, this, arguments);
    const st = states.get(this);
    if (st && st.mode === 'install' && st.epoch === epoch) {
      for (const t of arguments.length === 0 ? st.keys.keys() : [type]) {
        if (st.keys.has(t)) synced(st, t, this.listenerCount(t), undefined);
      }
    }
    return r;
  };
  const etCount = (orig) => function (type) {
    const r = Reflect.apply(orig, this, arguments);
    const st = installState(this);
    const t = orig === origDispatch ? type?.type : type;
    if (st) synced(st, t, getEventListeners(this, t).length, undefined);
    return r;
  };
  for (const [obj, n, d] of saved) {
    const make = n === 'removeAllListeners' ? eeRemoveAll : obj === E ? eeCount : etCount;
    const fn = wrap(d.value, (orig) => {
      const f = make(orig);
      Object.defineProperty(f, 'name', { value: orig.name });
      Object.defineProperty(f, 'length', { value: orig.length });
      return f;
    });
    Object.defineProperty(obj, n, { ...d, value: fn });
  }
  installed = saved;
  startObserver();
}

/** Restores every patched method to the exact original descriptor. */
function uninstall() {
  if (!installed) return;
  for (const [obj, n, d] of installed) Object.defineProperty(obj, n, d);
  installed = null;
  epoch++;
  stopObserverIfIdle();
}

function observe() {
  const found = native.listenerObserve();
  for (const g of found) {
    const site = g.topSite ? `${g.topSite} (${g.topSiteCount} adds)` : 'not captured yet';
    process.emitWarning(
      `Possible listener leak: ${g.emitter} has ${g.count} '${g.event}' listeners and the count keeps rising; top add site: ${site}`,
      { code: WARNING_CODE, detail: `peak ${g.peak}; see leakwatch listeners.report()` },
    );
  }
  return found;
}

function startObserver() {
  if (observer || config.intervalMs === 0) return;
  observer = plainSetInterval(observe, config.intervalMs);
  observer.unref();
}

function stopObserverIfIdle() {
  if (observer && explicit === 0 && !installed) {
    plainClearInterval(observer);
    observer = null;
  }
}

/**
 * @param {{ threshold?: number, samples?: number, intervalMs?: number }} options
 */
function configure(options = {}) {
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  config.threshold = checkThreshold(options.threshold, config.threshold);
  if (options.samples !== undefined) {
    if (!Number.isInteger(options.samples) || options.samples < 1) throw argError('samples must be a positive integer');
    native.listenerSetSamples(options.samples);
  }
  if (options.intervalMs !== undefined) {
    const ms = options.intervalMs;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0) throw argError('intervalMs must be a non-negative integer (0 = observe only when called)');
    config.intervalMs = ms;
    if (observer) {
      plainClearInterval(observer);
      observer = null;
    }
    if (explicit > 0 || installed) startObserver();
  }
}

function report() {
  return { emitters: native.listenerReport() };
}

const listeners = {
  install,
  uninstall,
  observe,
  report,
  configure,
  get installed() { return installed !== null; },
};

module.exports = { trackEmitter, untrack, listeners, LISTENER_WARNING_CODE: WARNING_CODE };
