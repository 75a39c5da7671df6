'use strict';

// Listener tracking: counts per (emitter, event), the growth test and add
// sites.
//
// The counters an add updates are plain fields of a JS record held on the
// emitter itself under a symbol, collected with the emitter. Removals are
// not wrapped: an add reads the count it started from, and an observation
// reads the watched keys' counts, so what removals did between two reads
// is known from the counts alone (see added()). A napi
// call per on()/off() would cost more than the on()+off(), and so did a
// WeakMap lookup and registering every emitter with Rust and a
// FinalizationRegistry (6 µs against 0.12 µs for a first listener). A
// private class field would hide the record from reflection too, but its
// `#field in obj` check cost 5-9 ns more per lookup than a symbol load (two
// lookups per on()+off() of ~35 ns), and Object.defineProperty (to make the
// symbol non-enumerable) 175 ns per emitter: the record is an ordinary
// symbol-keyed property that prints as one short line.
//
// Only a key worth watching goes to Rust: every key of an emitter tracked
// with trackEmitter(), and, under install(), a key whose count reached half
// its threshold. Rust keeps the watched keys' names, floors, rising streaks,
// warnings and sampled add sites, and reads their counters when the
// observer or report() hands them over. An emitter that never held that
// many listeners for one event costs Rust nothing, and nothing outlives it.

const native = require('./native.js');
const { EventEmitter, getEventListeners } = require('node:events');
const { inspect } = require('node:util');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');
const { processGlobal } = require('./process-global.js');
const { plainTimers } = require('./timers.js');
const { LeakwatchState } = require('./own-state.js');
const { emitWarningEscaped } = require('./terminal.js');

const WARNING_CODE = 'LEAKWATCH_LISTENER_GROWTH';
// Row layout of the counters handed to Rust: src/trackers/listeners.rs.
const ROW = 7;
const ROW_ARM = 6;
/** The install generation of states made by trackEmitter(). */
const EXPLICIT = -1;
/** A state of no generation: untracked, counted by nobody. */
const UNUSED = -2;
/** The generation of an uninstalled install(): no state has it, none is made for it. */
const RETIRED = -3;
const NO_TYPE = Symbol('no event yet');
/**
 * Events per emitter kept in an array before a Map. A net.Socket uses 9 on
 * a server and 10 on a client (Node 20-26): with 8 here every connection
 * built a Map, and a new emitter with 9 events cost 2.5-2.7x a plain one
 * to fill and empty instead of 1.8-2.1x.
 */
const MAP_KEYS = 16;
/**
 * Add-site sampling: the first SAMPLES_PER_STRIDE candidate adds of a key
 * are each sampled, then about every 2nd, 4th, ... up to every MAX_STRIDE-th.
 * A stack costs 5-20 µs here, so a stack per add of a leaking key made
 * on()+off() 20-150x a plain one; this way a million adds take about 130
 * stacks. The gap to the next sample is drawn at random around the stride
 * (a fixed one would keep missing an add that recurs with a period), and
 * each sample stands for the adds of its gap. Sampled listeners found no
 * longer attached give their weight back (checkAttached), so sites rank by
 * the listeners they left attached.
 */
const SAMPLES_PER_STRIDE = 8;
const MAX_STRIDE = 65_536;
/**
 * Emitters first counted since the last observation that install() starts
 * to watch before the next one. Watching registers the emitter with a
 * FinalizationRegistry, whose targets V8's young-generation collector
 * keeps alive: each watched emitter was promoted with all it held, and
 * freed only by a full GC. 300k short-lived emitters with six listeners
 * for one event grew the heap to ~450 MB that way, which Node 22 and later
 * kept in RSS after collecting it. An emitter that outlives an observation
 * is watched at its next add regardless, so a burst of short-lived ones
 * cannot keep a leaking one from being watched.
 */
const YOUNG_WATCHES_PER_OBSERVATION = 100;

function createTracker() {
  const config = { threshold: 10, intervalMs: 1000 };
  /**
   * `watched`: native emitter id -> that emitter's watched keys, until it is
   * untracked or collected. (Held strongly: a WeakRef per key kept every
   * key alive to the end of the job that made it, 1M of them in a loop of
   * trackEmitter() calls.) On a LeakwatchState, and the records' classes
   * named Leakwatch*, so that findLeaks does not report them as a leak of
   * the program's (lib/own-state.js).
   */
  const registry = new LeakwatchState();
  registry.watched = new Map();
  const collected = new FinalizationRegistry((id) => {
    registry.watched.delete(id);
    native.listenerForget(id);
  });
  /** Our prototype wrappers -> the functions they wrap. */
  const wrapped = new WeakMap();
  /** States of non-extensible emitters. */
  const sideStates = new WeakMap();
  let useSideStates = false;
  let installed = null;
  /** Retires the installed generation's wrappers. */
  let retire = null;
  let epoch = 0;
  let explicit = 0;
  let observer = null;
  /** Observations so far: an emitter first counted before the last one is old. */
  let observations = 0;
  let youngWatches = YOUNG_WATCHES_PER_OBSERVATION;

  const kState = Symbol('leakwatch.listeners');

  // One per counted emitter: the generation that counts it, and its keys.
  // The key used last is found without a lookup.
  class LeakwatchEmitterState {
    constructor(gen, threshold, name) {
      this.epoch = gen;
      this.threshold = threshold;
      this.name = name;
      this.born = observations;
      this.id = 0;
      this.lastType = NO_TYPE;
      this.lastKey = null;
      this.keys = null;
      this.undo = null;
      /** A WeakRef to the emitter once watched, to read its counts when observing. */
      this.ref = null;
      /** A tracked emitter until the job that tracked it ends (see weaken). */
      this.strong = null;
    }

    reset(gen, threshold, name) {
      dropState(this);
      this.epoch = gen;
      this.threshold = threshold;
      this.name = name;
      this.born = observations;
      this.lastType = NO_TYPE;
      this.lastKey = null;
      this.keys = null;
      this.undo = null;
      return this;
    }

    [inspect.custom]() {
      return `[leakwatch listener counts${this.epoch === EXPLICIT ? `: ${this.name}` : ''}]`;
    }
  }

  /**
   * The counters of one (emitter, event). A server makes several per
   * request, so what only a sampled key needs waits in `sampling`.
   */
  class LeakwatchKey {
    constructor(state, type, arm) {
      this.state = state;
      this.type = type;
      this.count = 0;
      this.peak = 0;
      /**
       * The count when the key was made. The adds are `count - start +
       * removes`, worked out when read rather than written on every add.
       */
      this.start = 0;
      this.removes = 0;
      /** Lowest count since the last observation. */
      this.trough = 0;
      /** Adds that bring the count to this or above are sampling candidates. */
      this.arm = arm;
      /** Node's listener array while it holds two or more and the key is watched (see refresh). */
      this.list = undefined;
      /** Rust's key once watched, else 0. */
      this.id = 0;
      /** Candidate adds until the next sample. */
      this.countdown = 1;
      /** Once an add was sampled: { gap, stride, samples, sampled }. */
      this.sampling = null;
    }

    [inspect.custom]() {
      return `[leakwatch counts of '${eventName(this.type)}': ${this.count}]`;
    }
  }

  function stateOf(o) {
    const st = o[kState];
    return st === undefined && useSideStates ? sideStates.get(o) : st;
  }

  /** The emitter's state, made or reused for generation `gen`. */
  function newState(emitter, gen, threshold, name) {
    const old = stateOf(emitter);
    if (old !== undefined) return old.reset(gen, threshold, name);
    const st = new LeakwatchEmitterState(gen, threshold, name);
    if (Object.isExtensible(emitter)) {
      emitter[kState] = st;
    } else {
      useSideStates = true;
      sideStates.set(emitter, st);
    }
    return st;
  }

  function dropState(st) {
    if (st.id !== 0) {
      collected.unregister(st);
      registry.watched.delete(st.id);
      native.listenerForget(st.id);
      st.id = 0;
    }
  }

  function isTarget(x) {
    return typeof EventTarget === 'function' && x instanceof EventTarget;
  }

  /**
   * Node's count for an EventEmitter key, and the listener array behind it,
   * which Node lengthens and shortens in place: holding it makes the count
   * before and after an add two property reads. Held only for a watched
   * key with two or more listeners: removals are not seen, so a held array
   * that Node let go of (its last listeners removed, or copied while being
   * emitted) can hold removed listeners until the key's next add or the
   * next observation looks it up again; a key that never looked like a
   * leak holds none.
   */
  function refresh(k, emitter, type) {
    const events = emitter._events;
    const list = events === undefined || events === null ? undefined : events[type];
    if (Array.isArray(list)) {
      k.list = list.length >= 2 && k.id !== 0 ? list : undefined;
      return list.length;
    }
    k.list = undefined;
    if (typeof list === 'function') return 1;
    return list === undefined && events ? 0 : emitter.listenerCount(type);
  }

  function newKey(st, emitter, type) {
    const k = new LeakwatchKey(st, type, Math.max(1, Math.floor(st.threshold / 2)));
    // Node's table for an EventEmitter; no lookup when it is empty, as in
    // a new emitter. An object without one is an EventTarget, or an
    // EventEmitter mixin before its first add.
    const events = emitter._events;
    let n = 0;
    if (events !== undefined && events !== null) {
      if (emitter._eventsCount !== 0) n = refresh(k, emitter, type);
    } else if (isTarget(emitter)) {
      n = getEventListeners(emitter, type).length;
    }
    k.count = k.peak = k.trough = k.start = n;
    if (st.epoch === EXPLICIT) watch(st, k, emitter);
    return k;
  }

  /**
   * The key of `type` (hot callers check the key used last themselves).
   * An emitter's keys are a short array, searched in order: most emitters
   * use a few events, and a Map per emitter cost a request's emitters
   * about 0.2 µs. Past MAP_KEYS events they move to a Map.
   */
  function keyFor(st, emitter, type) {
    if (st.lastType === type) return st.lastKey;
    const keys = st.keys;
    let k;
    if (keys instanceof Map) {
      k = keys.get(type);
    } else if (keys !== null) {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i].type === type) {
          k = keys[i];
          break;
        }
      }
    }
    if (k === undefined) {
      k = newKey(st, emitter, type);
      // The first key is only the last used: most emitters have one event.
      if (keys === null) st.keys = st.lastKey === null ? null : [st.lastKey, k];
      else if (keys instanceof Map) keys.set(type, k);
      else if (keys.length < MAP_KEYS) keys.push(k);
      else st.keys = new Map([...keys.map((x) => [x.type, x]), [type, k]]);
    }
    st.lastType = type;
    st.lastKey = k;
    return k;
  }

  function eventName(type) {
    return typeof type === 'symbol' ? type.toString() : String(type);
  }

  /**
   * Hands the key to Rust; its count so far closes a first window. Not for
   * a young emitter while the budget of young watches is spent.
   */
  function watch(st, k, emitter) {
    if (st.id === 0) {
      const young = st.born === observations;
      if (young && youngWatches === 0) return;
      const name = st.name ?? (emitter.constructor?.name || 'Object');
      st.id = callNative(() => native.listenerRegister(name, st.threshold));
      registry.watched.set(st.id, []);
      collected.register(emitter, st.id, st);
      st.ref = new WeakRef(emitter);
      if (young) youngWatches--;
    }
    const id = native.listenerKey(st.id, eventName(k.type), k.trough);
    if (id === null) return;
    k.id = id;
    k.trough = k.count;
    registry.watched.get(st.id).push(k);
  }

  // xorshift32 for the sampling gaps: seeded, so one program samples the
  // same adds on every run, and a test of the estimates cannot flake.
  let seed = 0x2545f491;
  function nextRandom() {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  }

  function sampleSite(k, emitter, listener) {
    const site = captureSite();
    const s = (k.sampling ??= { gap: 1, stride: 1, samples: 0, sampled: [] });
    native.listenerAddSite(k.id, site, s.gap);
    if (listener !== null && (typeof listener === 'function' || typeof listener === 'object')) {
      s.sampled.push({ listener, site, adds: s.gap });
    }
    s.samples++;
    if (s.samples % SAMPLES_PER_STRIDE === 0 && s.stride < MAX_STRIDE) s.stride *= 2;
    s.gap = 1 + (nextRandom() % (2 * s.stride - 1));
    k.countdown = s.gap;
  }

  /**
   * A sampled add (the count at or above the key's arm level, and its
   * countdown run out). A key not yet watched has a countdown of one, so
   * its first such add also hands it to Rust; while the budget of young
   * emitters to watch is spent, each such add of a young one tries again.
   */
  function sampledAdd(st, k, emitter, listener) {
    if (k.id === 0) watch(st, k, emitter);
    if (k.id !== 0) sampleSite(k, emitter, listener);
  }

  /**
   * The sampled listeners of watched keys that are no longer attached no
   * longer count for their site: a handler that adds and removes a listener
   * per request adds as often as one that leaks one.
   */
  function checkAttached() {
    for (const list of registry.watched.values()) {
      for (const k of list) {
        const sampling = k.sampling;
        const emitter = sampling?.sampled.length > 0 ? emitterOf(k.state) : undefined;
        if (emitter === undefined) continue;
        const attached = new Set(isTarget(emitter) ? getEventListeners(emitter, k.type) : emitter.rawListeners(k.type));
        sampling.sampled = sampling.sampled.filter((s) => {
          if (attached.has(s.listener)) return true;
          native.listenerDetachSite(k.id, s.site, s.adds);
          return false;
        });
      }
    }
  }

  /**
   * An EventTarget's count after one of its wrapped calls: the key now has
   * `n` listeners; `listener` is the one an add added (for sampling), else
   * undefined.
   */
  function setCount(st, k, emitter, n, listener) {
    if (n > k.count) {
      k.count = n;
      if (n > k.peak) k.peak = n;
      if (n >= k.arm && --k.countdown <= 0) sampledAdd(st, k, emitter, listener);
    } else {
      lowered(k, n);
    }
  }

  /** Removals took the key's count to `n`, if below its last count. */
  function lowered(k, n) {
    const c = k.count;
    if (n < c) {
      k.removes += c - n;
      if (n < k.trough) k.trough = n;
      k.count = n;
    }
  }

  /**
   * After an EventEmitter add. `list` is the array the key held (if any)
   * and `held` its length then; `events` is the emitter's `_eventsCount`
   * then. Every add adds exactly one listener, so the new count is:
   * - `held + 1` if the held array grew by one;
   * - else 1 if the emitter gained an event (Node counts an event when its
   *   first listener comes);
   * - else 2 if the key had at most one listener when last counted
   *   (removals only lower a count, and the event was still there);
   * - else, for a key not watched whose last count plus one is still below
   *   the level that watches it, that bound: the true count can only be
   *   lower, so there is nothing to watch or sample yet;
   * - else it is looked up.
   * Between two counts only removals change a count (and adds behind the
   * wrappers' back), so one less than the new count is where removals left
   * it: the removals and the window's floor come from that. A window's
   * lowest count is always just before an add or at the observation that
   * ends it (sync()).
   */
  function added(st, k, emitter, list, held, events, listener) {
    let n;
    if (list !== undefined && list.length === held + 1) {
      n = held + 1;
    } else {
      k.list = undefined;
      if (emitter._eventsCount !== events) {
        n = 1;
      } else if ((list === undefined ? k.count : held) <= 1) {
        n = 2;
      } else if (k.id === 0 && k.count + 1 < k.arm) {
        k.count++;
        return;
      } else {
        n = refresh(k, emitter, k.type);
      }
    }
    lowered(k, n - 1);
    k.count = n;
    if (n > k.peak) k.peak = n;
    if (n >= k.arm && --k.countdown <= 0) sampledAdd(st, k, emitter, listener);
  }

  /**
   * States of emitters tracked in this job, held strongly until it ends. A
   * WeakRef keeps its target alive to the end of the job that made it, so
   * one made by trackEmitter() kept every emitter of a loop of a million
   * trackEmitter()/untrack() calls alive (830 MB); made a job later, it
   * holds only those still tracked, and untrack() lets go at once.
   */
  let unweakened = [];
  let weakening = false;
  function weaken() {
    weakening = false;
    for (const st of unweakened) {
      if (st.strong !== null) st.ref = new WeakRef(st.strong);
      st.strong = null;
    }
    unweakened = [];
  }

  function emitterOf(st) {
    return st.strong ?? st.ref?.deref();
  }

  /** A watched key's count read at an observation or report: what removals did since its last add. */
  function sync(k) {
    const emitter = emitterOf(k.state);
    // An EventTarget's wrappers see every change; a collected emitter's keys are dropped.
    if (emitter === undefined || isTarget(emitter)) return;
    const n = refresh(k, emitter, k.type);
    lowered(k, n);
    k.count = n;
    if (n > k.peak) k.peak = n;
  }

  /** The emitter's method without our install() wrapper (it would only pass through). */
  function base(obj, n) {
    const f = obj[n];
    return wrapped.get(f) ?? f;
  }

  // The wrappers count through one add path, added(); what removals did is
  // read from the counts (added(), sync()). trackEmitter() puts its
  // wrappers on an instance and install() on the prototypes: two copies of
  // the same few lines, because V8 shares type feedback and optimized code
  // among the closures of one function literal, and one literal for both
  // made every wrapper call polymorphic (on()+off() at 1.55x plain instead
  // of 1.3-1.4x). trackEmitter() wraps methods rather than listening to
  // 'newListener': Node emits it as an extra emit per add, and a bare
  // removeAllListeners() removed it. once() and prependOnceListener() go
  // through on() and prependListener().
  const instanceAdder = (add) => function (type, listener) {
    const st = explicitState(this);
    if (st === null) return add.call(this, type, listener);
    const k = st.lastType === type ? st.lastKey : keyFor(st, this, type);
    const list = k.list;
    const held = list === undefined ? 0 : list.length;
    const events = this._eventsCount;
    const r = add.call(this, type, listener);
    added(st, k, this, list, held, events, listener);
    return r;
  };
  // EventTarget has no count to read cheaply and ignores duplicates, and
  // `once`/`signal` listeners leave silently: read Node's count after each call.
  const targetCounter = (orig, stateFor, dispatch) => function (type) {
    const st = stateFor(this);
    if (st === null) return Reflect.apply(orig, this, arguments);
    const t = dispatch ? type?.type : type;
    const k = keyFor(st, this, t);
    const r = Reflect.apply(orig, this, arguments);
    setCount(st, k, this, getEventListeners(this, t).length, dispatch ? undefined : arguments[1]);
    return r;
  };
  /** Wrapper makers by method name, given the adder to use. */
  const makersWith = (adder) => ({
    on: adder, addListener: adder, prependListener: adder,
    addEventListener: (f, stateFor) => targetCounter(f, stateFor, false),
    removeEventListener: (f, stateFor) => targetCounter(f, stateFor, false),
    dispatchEvent: (f, stateFor) => targetCounter(f, stateFor, true),
  });
  const instanceMakers = makersWith(instanceAdder);
  const EMITTER_METHODS = ['on', 'addListener', 'prependListener'];
  const TARGET_METHODS = ['addEventListener', 'removeEventListener', 'dispatchEvent'];

  /** The state trackEmitter() counts `o` with, or null. */
  function explicitState(o) {
    const st = o?.[kState];
    return st !== undefined && st.epoch === EXPLICIT ? st : null;
  }

  /**
   * trackEmitter()'s wrapper of method `n` whose original is `orig`: one
   * per original, shared by every tracked instance, so that a program's
   * tracked emitters run one optimized code.
   */
  const instanceWrappers = new WeakMap();
  function instanceWrapper(n, orig) {
    let fn = instanceWrappers.get(orig);
    if (fn === undefined) {
      fn = instanceMakers[n](orig, explicitState);
      Object.defineProperty(fn, 'name', { value: n });
      instanceWrappers.set(orig, fn);
    }
    return fn;
  }

  /** Wraps `emitter`'s own methods; returns the undo. */
  function hookInstance(emitter, names) {
    const own = names.map((n) => [n, Object.getOwnPropertyDescriptor(emitter, n)]);
    for (const n of names) {
      const fn = instanceWrapper(n, base(emitter, n));
      Object.defineProperty(emitter, n, { value: fn, writable: true, configurable: true, enumerable: false });
    }
    return () => {
      for (const [n, d] of own) {
        if (d) Object.defineProperty(emitter, n, d);
        else delete emitter[n];
      }
    };
  }

  function checkOptionsObject(options, what = 'options') {
    if (options === undefined) return {};
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw argError(`${what} must be an object, got ${describe(options)}`);
    }
    return options;
  }

  function checkThreshold(t, fallback) {
    if (t === undefined) return fallback;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) throw argError(`threshold must be a positive integer, got ${describe(t)}`);
    return t;
  }

  /**
   * Tracks one EventEmitter or EventTarget (AbortSignal included).
   * @param {EventEmitter | EventTarget} emitter
   * @param {{ name?: string, threshold?: number }} [options]
   */
  function trackEmitter(emitter, options) {
    const ee = emitter instanceof EventEmitter;
    if (!ee && !isTarget(emitter)) throw argError(`trackEmitter needs an EventEmitter or EventTarget, got ${describe(emitter)}`);
    const o = checkOptionsObject(options);
    if (o.name !== undefined && typeof o.name !== 'string') throw argError(`options.name must be a string, got ${describe(o.name)}`);
    const threshold = checkThreshold(o.threshold, config.threshold);
    const prev = stateOf(emitter);
    if (prev !== undefined && prev.epoch === EXPLICIT) return emitter;
    if (!Object.isExtensible(emitter)) {
      throw argError('trackEmitter cannot wrap the methods of a frozen, sealed or non-extensible emitter; track it before freezing it, or use listeners.install(), which counts every emitter without touching the instance');
    }
    const st = newState(emitter, EXPLICIT, threshold, o.name ?? (emitter.constructor?.name || 'Object'));
    watchExisting(st, emitter, ee);
    st.undo = hookInstance(emitter, ee ? EMITTER_METHODS : TARGET_METHODS);
    explicit++;
    startObserver();
    return emitter;
  }

  /** An explicitly tracked emitter appears in report() from the start, with every event it already has. */
  function watchExisting(st, emitter, ee) {
    st.id = callNative(() => native.listenerRegister(st.name, st.threshold));
    registry.watched.set(st.id, []);
    collected.register(emitter, st.id, st);
    st.strong = emitter;
    unweakened.push(st);
    if (!weakening) {
      weakening = true;
      plainTimers.setImmediate(weaken).unref();
    }
    if (ee) for (const type of emitter.eventNames()) keyFor(st, emitter, type);
  }

  function untrack(emitter) {
    if (emitter === null || typeof emitter !== 'object') return false;
    const st = stateOf(emitter);
    if (st === undefined || st.epoch !== EXPLICIT) return false;
    st.undo();
    st.strong = null;
    if (unweakened.at(-1) === st) unweakened.pop();
    st.reset(UNUSED, 0, undefined);
    explicit--;
    stopObserverIfIdle();
    return true;
  }

  // install(): state for any emitter on first use, unless tracked explicitly
  // (its instance wrappers count it). Null: not ours to count.
  function installState(o, gen) {
    if (gen === RETIRED || o === null || typeof o !== 'object') return null;
    const st = stateOf(o);
    if (st !== undefined && st.epoch === gen) return st;
    if (st !== undefined && st.epoch === EXPLICIT) return null;
    return newState(o, gen, config.threshold, undefined);
  }

  /**
   * The state install() generation `gen` counts `o` with, or null. A state
   * of `gen` is answer enough: whether `gen` is still installed and `o` an
   * object are asked only on the way to making one, since uninstall()
   * retires `gen` instead. Asked on every call, they cost 1-2 ns of the
   * ~10 install() adds to an on()+off() of ~26 ns on Node 24.
   */
  function current(o, gen) {
    const st = o?.[kState];
    return st !== undefined && st.epoch === gen ? st : installState(o, gen);
  }

  function install() {
    if (installed !== null) return;
    let gen = ++epoch;
    const E = EventEmitter.prototype;
    const T = typeof EventTarget === 'function' ? EventTarget.prototype : null;
    const stateFor = (o) => current(o, gen);
    const adder = (add) => function (type, listener) {
      const st = current(this, gen);
      if (st === null) return add.call(this, type, listener);
      const k = st.lastType === type ? st.lastKey : keyFor(st, this, type);
      const list = k.list;
      const held = list === undefined ? 0 : list.length;
      const events = this._eventsCount;
      const r = add.call(this, type, listener);
      added(st, k, this, list, held, events, listener);
      return r;
    };
    const makers = makersWith(adder);
    const slots = EMITTER_METHODS.map((n) => [E, n]);
    if (T) slots.push(...TARGET_METHODS.map((n) => [T, n]));
    // `on` and `addListener` are one function: it is wrapped once, so they
    // stay one.
    const made = new Map();
    installed = slots.map(([obj, n]) => {
      const d = Object.getOwnPropertyDescriptor(obj, n);
      // A wrapper of ours left under someone else's patch by uninstall()
      // only passes through: wrap what it wraps.
      const orig = wrapped.get(d.value) ?? d.value;
      let fn = made.get(orig);
      if (fn === undefined) {
        fn = makers[n](orig, stateFor);
        Object.defineProperty(fn, 'name', { value: orig.name });
        Object.defineProperty(fn, 'length', { value: orig.length });
        wrapped.set(fn, orig);
        made.set(orig, fn);
      }
      Object.defineProperty(obj, n, { ...d, value: fn });
      return { obj, n, d: { ...d, value: orig }, fn };
    });
    retire = () => { gen = RETIRED; };
    startObserver();
  }

  /**
   * Puts back each original property descriptor that still holds our
   * wrapper. A method someone patched after install() keeps their patch:
   * it calls our wrapper, which from now on only calls the original.
   */
  function uninstall() {
    if (installed === null) return;
    for (const { obj, n, d, fn } of installed) {
      if (Object.getOwnPropertyDescriptor(obj, n)?.value === fn) Object.defineProperty(obj, n, d);
    }
    installed = null;
    retire();
    stopObserverIfIdle();
  }

  /** The watched keys' counters as rows for Rust, and the keys in row order. */
  function rows() {
    const keys = [];
    for (const list of registry.watched.values()) {
      for (const k of list) {
        sync(k);
        keys.push(k);
      }
    }
    const a = new Float64Array(keys.length * ROW);
    for (let i = 0, o = 0; i < keys.length; i++, o += ROW) {
      const k = keys[i];
      a[o] = k.id;
      a[o + 1] = k.count;
      a[o + 2] = k.peak;
      a[o + 3] = k.removes + k.count - k.start;
      a[o + 4] = k.removes;
      a[o + 5] = k.trough;
      a[o + 6] = k.arm;
    }
    return { keys, a };
  }

  function describeSite(g) {
    if (!g.topSite) return 'not sampled yet';
    return `${g.topSite} (~${Math.round(g.topSiteShare * 100)}% of the sampled listeners still attached, ${g.samples} samples)`;
  }

  function observe() {
    observations++;
    youngWatches = YOUNG_WATCHES_PER_OBSERVATION;
    checkAttached();
    const { keys, a } = rows();
    const found = native.listenerObserve(a);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      k.arm = a[i * ROW + ROW_ARM] | 0;
      k.trough = k.count;
    }
    for (const g of found) {
      emitWarningEscaped(
        `Possible listener leak: ${g.emitter} has ${g.count} '${g.event}' listeners and the count keeps rising; top add site: ${describeSite(g)}`,
        { code: WARNING_CODE, detail: `peak ${g.peak}; see leakwatch listeners.report()` },
      );
    }
    return found;
  }

  function startObserver() {
    if (observer !== null || config.intervalMs === 0) return;
    observer = plainTimers.setInterval(observe, config.intervalMs);
    observer.unref();
  }

  function stopObserverIfIdle() {
    if (observer !== null && explicit === 0 && installed === null) {
      plainTimers.clearInterval(observer);
      observer = null;
    }
  }

  /**
   * @param {{ threshold?: number, samples?: number, intervalMs?: number }} [options]
   */
  function configure(options) {
    const o = checkOptionsObject(options);
    const threshold = checkThreshold(o.threshold, config.threshold);
    if (o.samples !== undefined && (typeof o.samples !== 'number' || !Number.isInteger(o.samples) || o.samples < 1 || o.samples > 2 ** 32 - 1)) {
      throw argError(`samples must be a positive integer, got ${describe(o.samples)}`);
    }
    const ms = o.intervalMs;
    if (ms !== undefined && (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 2 ** 31 - 1)) {
      throw argError(`intervalMs must be a non-negative integer (0 = observe only when called), got ${describe(ms)}`);
    }
    config.threshold = threshold;
    if (o.samples !== undefined) native.listenerSetSamples(o.samples);
    if (ms !== undefined) {
      config.intervalMs = ms;
      if (observer !== null) {
        plainTimers.clearInterval(observer);
        observer = null;
      }
      if (explicit > 0 || installed !== null) startObserver();
    }
  }

  function report() {
    checkAttached();
    return { emitters: native.listenerReport(rows().a) };
  }

  const listeners = {
    install,
    uninstall,
    observe,
    report,
    configure,
    get installed() { return installed !== null; },
  };

  return { trackEmitter, untrack, listeners, LISTENER_WARNING_CODE: WARNING_CODE };
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return `a string`;
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

module.exports = processGlobal(EventEmitter, 'listeners', createTracker);
