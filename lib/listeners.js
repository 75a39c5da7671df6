'use strict';

// Listener tracking. Counts, history and the growth test live in Rust; this
// file only hooks emitters, which must happen in JS.
//
// The counters of each (emitter, event) are six f64 in memory the Rust
// registry owns and maps here as Float64Arrays (pages of PAGE_KEYS keys): an
// add or remove updates them in JS, and Rust reads them when observing and
// reporting. A napi call per on()/off() cost 150-250 ns, more than the
// on()+off() itself. Per emitter, `keys` maps event names to their counter
// offsets: a cache of slot numbers, bounded by the distinct events used.

const native = require('./native.js');
const { EventEmitter, getEventListeners } = require('node:events');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');

const WARNING_CODE = 'LEAKWATCH_LISTENER_GROWTH';
// Field order and sizes: src/trackers/listeners.rs.
const PEAK = 1;
const ADDS = 2;
const REMOVES = 3;
const TROUGH = 4;
const ARM = 5;
const STRIDE = 6;
const PAGE_KEYS = 1024;
// Captured before timers.install() can wrap it: the observer is ours, not the user's.
const plainSetInterval = setInterval;
const plainClearInterval = clearInterval;

const config = { threshold: 10, intervalMs: 1000 };
/**
 * emitter -> { id, keys: Map(event -> counter ref), mode, epoch, undo,
 * lastType, lastKey }; the last key used skips the Map lookup, which took
 * about a tenth of a tracked on()+off() (keys are never removed, so it never
 * goes stale).
 */
const states = new WeakMap();
// A tracked emitter that is collected takes its native state with it.
const collected = new FinalizationRegistry((id) => native.listenerForget(id));
const pages = [];
// install() looks the state up on every add and remove; a WeakMap lookup
// was a tenth of a wrapped on()+off(), so install-mode states are also
// kept on the emitter itself, non-enumerable, under this symbol. (A new
// symbol per install() would spare the epoch check, but it turned the
// lookup megamorphic: 1.9x instead of 1.2x.)
const kState = Symbol('leakwatch.listenerState');
/** No event has been used yet (`undefined` is a valid event name). */
const NO_TYPE = Symbol('none');
/** Our install() wrappers -> the functions they wrap. */
const unwrapped = new Map();
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

/** The counters of one key: `a[o + field]`. */
function counterRef(key) {
  const p = Math.floor(key / PAGE_KEYS);
  let a = pages[p];
  if (a === undefined) {
    a = new Float64Array(callNative(() => native.listenerPage(p)));
    pages[p] = a;
  }
  return { key, a, o: (key % PAGE_KEYS) * STRIDE };
}

function keyOf(st, type, initial) {
  let k = st.keys.get(type);
  if (k === undefined) {
    const key = native.listenerKey(st.id, eventName(type), Math.max(0, initial));
    if (key === null) return undefined;
    k = counterRef(key);
    st.keys.set(type, k);
  }
  return k;
}

/** The key now has `n` listeners: the difference is adds or removes. */
function sync(k, n, skip) {
  const a = k.a;
  const o = k.o;
  const c = a[o];
  if (n > c) {
    a[o + ADDS] += n - c;
    if (n > a[o + PEAK]) a[o + PEAK] = n;
    a[o] = n;
    // Rust arms this once the key looks suspicious (see listeners.rs).
    if (n >= a[o + ARM]) native.listenerAddSite(k.key, captureSite(skip));
  } else if (n < c) {
    a[o + REMOVES] += c - n;
    if (n < a[o + TROUGH]) a[o + TROUGH] = n;
    a[o] = n;
  }
}

/**
 * One listener was added: every EventEmitter add adds exactly one, so no
 * count is read back. An add that bypassed the hooks is corrected by the
 * next removal from a list of two or more, or by removeAllListeners, which
 * read the true count.
 *
 * The common case, an add to the event used last, is written out flat and
 * reports whether it applied (install()'s wrappers try it before looking
 * their state up). With the key lookup and `sync` on every add and remove,
 * install() cost 1.28-1.40x a plain on()+off(); with both cases flat,
 * 1.12-1.26x.
 */
function addedToLast(st, type, skip) {
  if (st.lastType !== type) return false;
  const k = st.lastKey;
  const a = k.a;
  const o = k.o;
  const n = a[o] + 1;
  a[o] = n;
  a[o + ADDS] += 1;
  if (n > a[o + PEAK]) a[o + PEAK] = n;
  if (n >= a[o + ARM]) native.listenerAddSite(k.key, captureSite(skip));
  return true;
}

function added(st, emitter, type, skip) {
  if (addedToLast(st, type, skip)) return;
  let k = st.keys.get(type);
  if (k === undefined) {
    k = keyOf(st, type, emitter.listenerCount(type) - 1);
    if (k === undefined) return;
  }
  st.lastType = type;
  st.lastKey = k;
  sync(k, k.a[k.o] + 1, skip);
}

/**
 * A removal while the key holds one listener or none: the count comes from
 * `_eventsCount`, which Node lowers exactly when a type loses its last
 * listener (any `_events` lookup costs about as much as the removal itself).
 * Returns `noFastPath` when this case does not apply.
 */
const noFastPath = Symbol('noFastPath');
function removeSingle(remove, k, emitter, type, listener) {
  const a = k.a;
  const o = k.o;
  const c = a[o];
  const before = emitter._eventsCount;
  if (c > 1 || typeof before !== 'number') return noFastPath;
  const r = remove.call(emitter, type, listener);
  if (emitter._eventsCount < before && c > 0) {
    a[o] = 0;
    a[o + REMOVES] += c;
    if (a[o + TROUGH] > 0) a[o + TROUGH] = 0;
  }
  return r;
}

/**
 * removeListener(type, listener) on an EventEmitter, and the count after.
 * With two or more listeners for `type`, the true count is read from the
 * listener list held before the call (Node shortens it in place), which
 * also corrects an add made behind the wrappers' back.
 */
function removeAndCount(remove, st, emitter, type, listener) {
  const k = st.lastType === type ? st.lastKey : st.keys.get(type);
  if (k === undefined) return remove.call(emitter, type, listener);
  const single = removeSingle(remove, k, emitter, type, listener);
  if (single !== noFastPath) return single;
  const events = emitter._events;
  const list = events === undefined ? undefined : events[type];
  const r = remove.call(emitter, type, listener);
  let n;
  if (events === undefined) n = emitter.listenerCount(type);
  else if (list === undefined) n = 0;
  else if (typeof list === 'function') n = list === listener || list.listener === listener ? 0 : 1;
  else n = list.length;
  sync(k, n, undefined);
  return r;
}

function resync(st, emitter, types) {
  for (const t of types) {
    const k = st.keys.get(t);
    if (k !== undefined) sync(k, emitter.listenerCount(t), undefined);
  }
}

function newState(emitter, name, threshold, mode) {
  const label = name ?? `${emitter.constructor?.name || 'Object'}`;
  const id = callNative(() => native.listenerRegister(label, threshold));
  const st = { id, keys: new Map(), mode, epoch, undo: null, lastType: NO_TYPE, lastKey: undefined };
  states.set(emitter, st);
  collected.register(emitter, id, st);
  return st;
}

function dropState(emitter, st) {
  if (emitter[kState] === st) delete emitter[kState];
  states.delete(emitter);
  collected.unregister(st);
  native.listenerForget(st.id);
}

/** Defines own, non-enumerable methods on `obj`; returns the undo. */
function patchInstance(obj, methods) {
  const own = Object.keys(methods).map((n) => [n, Object.getOwnPropertyDescriptor(obj, n)]);
  for (const [n, fn] of Object.entries(methods)) {
    Object.defineProperty(fn, 'name', { value: n });
    Object.defineProperty(obj, n, { value: fn, writable: true, configurable: true, enumerable: false });
  }
  return () => {
    for (const [n, d] of own) {
      if (d) Object.defineProperty(obj, n, d);
      else delete obj[n];
    }
  };
}

/** The emitter's method as it would be without any leakwatch wrapper. */
function original(obj, n) {
  const f = obj[n];
  return unwrapped.get(f) ?? f;
}

// EventEmitter: this instance's add/remove methods are wrapped. Its own
// 'newListener'/'removeListener' signals would need no patching, but Node
// emits them as events, and those two emits made a tracked on()+off() 2.3x
// a plain one (the target is 1.3x); they also vanished with a bare
// removeAllListeners(). once/prependOnceListener go through on/prependListener
// and removeListener, so they are counted without their own wrappers.
function hookEmitter(emitter, st) {
  for (const type of emitter.eventNames()) keyOf(st, type, emitter.listenerCount(type));
  const on = original(emitter, 'on');
  const addListener = original(emitter, 'addListener');
  const prependListener = original(emitter, 'prependListener');
  const removeListener = original(emitter, 'removeListener');
  const off = original(emitter, 'off');
  const removeAll = original(emitter, 'removeAllListeners');
  const methods = {
    on(type, listener) {
      const r = on.call(this, type, listener);
      added(st, this, type, methods.on);
      return r;
    },
    addListener(type, listener) {
      const r = addListener.call(this, type, listener);
      added(st, this, type, methods.addListener);
      return r;
    },
    prependListener(type, listener) {
      const r = prependListener.call(this, type, listener);
      added(st, this, type, methods.prependListener);
      return r;
    },
    removeListener(type, listener) {
      return removeAndCount(removeListener, st, this, type, listener);
    },
    off(type, listener) {
      return removeAndCount(off, st, this, type, listener);
    },
    removeAllListeners(type) {
      const r = Reflect.apply(removeAll, this, arguments);
      resync(st, this, arguments.length === 0 ? st.keys.keys() : [type]);
      return r;
    },
  };
  st.undo = patchInstance(emitter, methods);
}

// EventTarget has no signals; wrap this instance's methods and read the true
// count back, since duplicates are ignored and `once`/`signal` remove silently.
function hookTarget(target, st) {
  const methods = {};
  for (const n of ['addEventListener', 'removeEventListener', 'dispatchEvent']) {
    const orig = original(target, n);
    methods[n] = function (type, ...rest) {
      const r = Reflect.apply(orig, this, [type, ...rest]);
      const t = n === 'dispatchEvent' ? type?.type : type;
      const k = keyOf(st, t, 0);
      if (k !== undefined) sync(k, getEventListeners(target, t).length, methods[n]);
      return r;
    };
  }
  st.undo = patchInstance(target, methods);
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
  const cached = emitter[kState];
  if (cached !== undefined && cached.epoch === epoch) return cached;
  const st = states.get(emitter);
  if (st && (st.mode !== 'install' || st.epoch === epoch)) return st.mode === 'install' ? st : null;
  if (st) dropState(emitter, st);
  const fresh = newState(emitter, undefined, config.threshold, 'install');
  if (Object.isExtensible(emitter)) {
    Object.defineProperty(emitter, kState, { value: fresh, writable: true, configurable: true, enumerable: false });
  }
  return fresh;
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
  // The state lookup is written out here (then installState only on a
  // miss): these wrappers run on every add and remove of every emitter.
  const eeAdd = (orig) => function (type, listener) {
    const r = orig.call(this, type, listener);
    const st = this[kState];
    if (st === undefined || st.epoch !== epoch || !addedToLast(st, type, undefined)) {
      const slow = installState(this);
      if (slow) added(slow, this, type, undefined);
    }
    return r;
  };
  const eeRemove = (orig) => function (type, listener) {
    if (this === null || this === undefined) return orig.call(this, type, listener); // Node's own error
    const cached = this[kState];
    if (cached !== undefined && cached.epoch === epoch && cached.lastType === type) {
      const single = removeSingle(orig, cached.lastKey, this, type, listener);
      if (single !== noFastPath) return single;
    }
    const st = installState(this);
    if (!st) return orig.call(this, type, listener);
    // Listeners added before install() are the baseline of a new key.
    if (st.keys.get(type) === undefined) keyOf(st, type, this.listenerCount(type));
    return removeAndCount(orig, st, this, type, listener);
  };
  const eeRemoveAll = (orig) => function (type) {
    const r = Reflect.apply(orig, this, arguments);
    const st = states.get(this);
    if (st && st.mode === 'install' && st.epoch === epoch) {
      resync(st, this, arguments.length === 0 ? st.keys.keys() : [type]);
    }
    return r;
  };
  const etCount = (orig) => function (type) {
    const r = Reflect.apply(orig, this, arguments);
    const st = installState(this);
    const t = orig === origDispatch ? type?.type : type;
    const k = st ? keyOf(st, t, 0) : undefined;
    if (k !== undefined) sync(k, getEventListeners(this, t).length, undefined);
    return r;
  };
  const makers = { on: eeAdd, addListener: eeAdd, prependListener: eeAdd, removeListener: eeRemove, off: eeRemove, removeAllListeners: eeRemoveAll };
  for (const [obj, n, d] of saved) {
    const make = obj === E ? makers[n] : etCount;
    const fn = wrap(d.value, (orig) => {
      const f = make(orig);
      Object.defineProperty(f, 'name', { value: orig.name });
      Object.defineProperty(f, 'length', { value: orig.length });
      unwrapped.set(f, orig);
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
  unwrapped.clear();
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
