'use strict';

// Timer registry. The records (kind, delay, age, fires, site, owner) live in
// Rust keyed by each timer's async id, which is also the number
// `Symbol.toPrimitive` gives, so clearTimeout(numericId) needs no extra map.
//
// A napi call per setTimeout and clearTimeout doubled their cost, so each
// creation, fire and end is written as a record into a journal that Rust
// owns and JS sees as a Float64Array (src/trackers/timers.rs); Rust applies
// the journal when it is full and before anything reads the registry. A
// record's creation time is the timer's `_idleStart`, Node's event-loop
// clock, free to read where Date.now() costs ~60 ns on some VMs. A timer
// that ends before Rust applied its creation blanks that record instead of
// adding one: most of a server's timers (a request's deadline, an
// immediate) never reach Rust.
//
// A timer leaves the registry however it ends. Our wrappers see a fire and
// a clear through them; a clear that bypasses them (a clear function saved
// before install(), after uninstall(), or timers.setInterval's timer cleared
// by the plain global) marks the timer `_destroyed`, as Node does for every
// timer that ended, and a sweep finds it before anything reads the registry.

const native = require('./native.js');
const nodeTimers = require('node:timers');
const timersPromises = require('node:timers/promises');
const { syncBuiltinESMExports } = require('node:module');
const { argError, callNative } = require('./errors.js');
const { captureSite } = require('./site.js');
const { processGlobal } = require('./process-global.js');
const { LeakwatchState } = require('./own-state.js');
const { emitWarningEscaped } = require('./terminal.js');

const OUTLIVED_CODE = 'LEAKWATCH_TIMER_OUTLIVED_OWNER';
const TIMEOUT = 0;
const INTERVAL = 1;
const IMMEDIATE = 2;
const TIMEOUT_MAX = 2 ** 31 - 1;
// Journal layout and ops: src/trackers/timers.rs. The count of records
// written is the journal's first cell.
const RECORD = 5;
const JOURNAL_RECORDS = 1024;
const HEADER = 1;
/** A creation record blanked before Rust read it (see annul). */
const ANNULLED = 0;
const ADD = 1;
const FIRE = 4;
const REMOVE = 5;
const NAMES = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate'];
const PROMISE_NAMES = ['setTimeout', 'setImmediate', 'setInterval'];
/** Ended timers a bypassed clear may leave in the slots before a sweep. */
const SWEEP_SLACK = 1024;

function createTimers() {
  /** Our wrappers -> { fn, displaced: the function it replaced, live }. */
  const ours = new WeakMap();
  // Node's own functions, for leakwatch's own timers (never tracked, never
  // replaced by a test's fake clock) and to learn how Node marks a timer.
  // Normally node:timers' functions when the first copy loads; a fake clock
  // installed before that (sinon's, which Jest and Vitest use) replaced
  // them, but keeps the originals on `fake.clock._setTimeout` and so on.
  let plain = null;
  let ASYNC_ID;
  let ImmediateProto;

  function findPlain() {
    if (plain !== null) return true;
    const sets = [nodeTimers];
    const clock = nodeTimers.setTimeout?.clock;
    if (clock !== null && typeof clock === 'object') sets.push(Object.fromEntries(NAMES.map((n) => [n, clock[`_${n}`]])));
    for (const set of sets) {
      const fns = Object.fromEntries(NAMES.map((n) => [n, unwrap(set[n])]));
      if (NAMES.some((n) => typeof fns[n] !== 'function')) continue;
      const t = fns.setTimeout(noop, 1);
      fns.clearTimeout(t);
      const id = t !== null && typeof t === 'object' ? Object.getOwnPropertySymbols(t).find((sym) => sym.description === 'asyncId') : undefined;
      if (id === undefined || typeof t[id] !== 'number') continue;
      const imm = fns.setImmediate(noop);
      fns.clearImmediate(imm);
      if (typeof imm?.[id] !== 'number') continue;
      plain = fns;
      ASYNC_ID = id;
      ImmediateProto = Object.getPrototypeOf(imm);
      return true;
    }
    return false;
  }

  function needPlain() {
    if (!findPlain()) {
      throw argError('leakwatch cannot reach Node\'s own timer functions: a fake clock replaced them before leakwatch was first loaded, and does not expose the originals. Load leakwatch before installing fake timers.', 'ERR_TIMERS_UNAVAILABLE');
    }
  }

  // Timers in the registry, for clearAll, `refed` and the sweep: each has a
  // slot in a plain array, remembered on the timer under a symbol (a Map by
  // id cost more than the rest of the tracking together); freed slots are
  // reused.
  const kSlot = Symbol('leakwatch.timerSlot');
  // On a LeakwatchState, not in a variable: a heap snapshot then shows the
  // timers it holds as leakwatch's, not as an array of the program's.
  const registry = new LeakwatchState();
  registry.slots = [];
  const freeSlots = [];
  /** Journal offset of each slot's creation record, while it may be unapplied. */
  const addedAt = [];
  /** Occupied slots that trigger the next sweep. */
  let sweepAt = SWEEP_SLACK;
  const ownerTokens = new WeakMap();
  let nextOwnerToken = 1;
  const owners = new FinalizationRegistry((token) => {
    settle();
    for (const t of native.timerOwnerCollected(token)) {
      emitWarningEscaped(
        `${t.kind === 'interval' ? 'An' : 'A'} ${t.kind} (every ${t.delay} ms, fired ${t.fired} times) outlived its owner, which was garbage-collected; created at ${t.site ?? 'an unrecorded site'}`,
        { code: OUTLIVED_CODE, detail: 'clear it when its owner stops, e.g. timers.clearAll({ owner }) in a stop() method' },
      );
    }
  });

  /** Function replaced -> name (`promises.` prefixed for timers/promises) -> our wrapper's record. */
  const wrappers = new WeakMap();
  let installed = [];
  let sites = 'intervals';
  let journal = null;

  function noop() {}

  /** The event loop's clock now, as Node stamps `_idleStart`. */
  function loopNow() {
    const t = plain.setTimeout(noop, 1);
    plain.clearTimeout(t);
    return t._idleStart;
  }

  function applyJournal() {
    if (journal === null || journal[0] === 0) return;
    native.timerApply(loopNow());
  }

  function hold(timer) {
    const slots = registry.slots;
    const s = freeSlots.length > 0 ? freeSlots.pop() : slots.length;
    slots[s] = timer;
    timer[kSlot] = s;
    if (slots.length - freeSlots.length >= sweepAt) sweep();
    return s;
  }

  /** Whether the timer holds a slot (a lookup of `undefined` would be a slow string key). */
  function held(timer) {
    const s = timer[kSlot];
    return s !== undefined && registry.slots[s] === timer;
  }

  /** Ends the timer's record, once. */
  function end(timer, op) {
    const s = timer[kSlot];
    const slots = registry.slots;
    if (s === undefined || slots[s] !== timer) return;
    slots[s] = undefined;
    freeSlots.push(s);
    const id = timer[ASYNC_ID];
    if (!annul(addedAt[s], id)) record(op, id, 0, 0, 0);
  }

  /**
   * Blanks the timer's creation record if it is still in the journal, not
   * yet applied: a timer that starts and ends between two hand-overs (a
   * request's deadline, an immediate) then never reaches Rust, which skips
   * a blank record. The op and id at `at` tell whether it is still ours.
   */
  function annul(at, id) {
    const j = journal;
    if (at < HEADER + j[0] * RECORD && j[at + 1] === id && j[at] >= ADD && j[at] < FIRE) {
      j[at] = ANNULLED;
      return true;
    }
    return false;
  }

  /**
   * Ends every held timer that Node has marked destroyed: cleared by a
   * function other than our wrappers. Runs before any read, and when the
   * occupied slots reach twice the live timers of the previous sweep.
   */
  function sweep() {
    let live = 0;
    for (const t of registry.slots) {
      if (t === undefined) continue;
      if (t._destroyed === true) end(t, REMOVE);
      else live++;
    }
    sweepAt = 2 * live + SWEEP_SLACK;
  }

  /** Makes the registry current: the journal applied, ended timers gone. */
  function settle() {
    sweep();
    applyJournal();
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
    return o;
  }

  // Node's own delay rule, so the registry shows the delay that applies.
  function normalDelay(d) {
    const n = Number(d);
    return n >= 1 && n <= TIMEOUT_MAX ? n : 1;
  }

  function wantsSite(kind) {
    return sites === 'all' || (sites === 'intervals' && kind === INTERVAL);
  }

  function trackable(timer) {
    return timer !== null && typeof timer === 'object' && typeof timer[ASYNC_ID] === 'number';
  }

  /**
   * Lists a timer Node made (a fake timer from a test's clock has no async
   * id and is not listed). `skip`: the frame above which the site is taken;
   * null takes none.
   */
  function register(timer, kind, delay, skip, created = kind === IMMEDIATE ? NaN : timer._idleStart) {
    // Already listed: made through a wrapper of ours below a patch.
    if (!trackable(timer) || held(timer)) return false;
    const id = timer[ASYNC_ID];
    // Immediates have no _idleStart; they live less than a loop turn.
    const s = hold(timer);
    addedAt[s] = record(ADD + kind, id, delay, created, s);
    if (skip !== null && wantsSite(kind)) {
      applyJournal();
      native.timerSetSite(id, captureSite(skip));
    }
    return true;
  }

  /** A timer we listed fired: a one-shot ends, an interval counts a fire. */
  function fired(timer, kind) {
    if (kind !== INTERVAL) end(timer, FIRE);
    else if (held(timer)) record(FIRE, timer[ASYNC_ID], 0, 0, 0);
  }

  /** A clear through our wrapper: the timer, or its numeric id. */
  function forget(timer) {
    if (timer !== null && typeof timer === 'object') {
      end(timer, REMOVE);
    } else if (typeof timer === 'number' || typeof timer === 'string') {
      // clearTimeout(+timer): Rust knows the slot of that id.
      const id = Number(timer);
      applyJournal();
      const s = native.timerSlot(id);
      const t = s === null ? undefined : registry.slots[s];
      if (t !== undefined && t[ASYNC_ID] === id) end(t, REMOVE);
    }
  }

  // Node runs a timer's callback as a method of the timer, `_onTimeout`
  // (`_onImmediate` for an immediate). A timer we list gets one of these in
  // its place, with the caller's callback kept on the timer: a closure per
  // timer cost two allocations. A timer we do not list (a fake clock's)
  // keeps the caller's callback.
  const kCallback = Symbol('leakwatch.timerCallback');
  function onTimeout() {
    fired(this, TIMEOUT);
    return Reflect.apply(this[kCallback], this, arguments);
  }
  function onInterval() {
    fired(this, INTERVAL);
    return Reflect.apply(this[kCallback], this, arguments);
  }
  function onImmediate() {
    fired(this, IMMEDIATE);
    return Reflect.apply(this[kCallback], this, arguments);
  }

  // The wrappers call the function they replaced, which is Node's unless
  // something patched it first (a test's fake timers: their timers then
  // fire on the fake clock, untracked). A wrapper left below a newer patch
  // by uninstall() only passes through. A spread call is markedly slower
  // than a plain one: spread only when the caller passed arguments.
  function wrapSet(kind, displaced, w) {
    if (kind === IMMEDIATE) {
      return function setImmediate(callback) {
        if (!w.live || typeof callback !== 'function') return Reflect.apply(displaced, this, arguments);
        const immediate = arguments.length <= 1 ? displaced(callback) : displaced(callback, ...Array.prototype.slice.call(arguments, 1));
        if (register(immediate, IMMEDIATE, 0, w.fn)) {
          immediate[kCallback] = callback;
          immediate._onImmediate = onImmediate;
        }
        return immediate;
      };
    }
    const onFire = kind === INTERVAL ? onInterval : onTimeout;
    return function setTimer(callback, delay) {
      if (!w.live || typeof callback !== 'function') return Reflect.apply(displaced, this, arguments);
      const timer = arguments.length <= 2 ? displaced(callback, delay) : displaced(callback, delay, ...Array.prototype.slice.call(arguments, 2));
      if (register(timer, kind, normalDelay(delay), w.fn)) {
        timer[kCallback] = callback;
        timer._onTimeout = onFire;
      }
      return timer;
    };
  }

  function wrapClear(displaced, w) {
    return function clearTimer(timer) {
      const r = displaced(timer);
      if (w.live) forget(timer);
      return r;
    };
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
      this._destroyed = false;
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
    timer._destroyed = true;
    end(timer, op);
  }

  function wrapPromise(name, displaced, w) {
    if (name === 'setTimeout') {
      return function setTimeout(delay, value, options) {
        if (!w.live) return Reflect.apply(displaced, this, arguments);
        const timer = promiseTimer(TIMEOUT, normalDelay(delay), options, w.fn);
        return Reflect.apply(displaced, this, arguments).then(
          (v) => { promiseDone(timer, FIRE); return v; },
          (err) => { promiseDone(timer, REMOVE); throw err; },
        );
      };
    }
    if (name === 'setImmediate') {
      return function setImmediate(value, options) {
        if (!w.live) return Reflect.apply(displaced, this, arguments);
        const timer = promiseTimer(IMMEDIATE, 0, options, w.fn);
        return Reflect.apply(displaced, this, arguments).then(
          (v) => { promiseDone(timer, FIRE); return v; },
          (err) => { promiseDone(timer, REMOVE); throw err; },
        );
      };
    }
    // Node's interval starts when its generator first runs; so does this
    // one, but the site is taken at the call.
    return function setInterval(delay, value, options) {
      if (!w.live) return Reflect.apply(displaced, this, arguments);
      const site = wantsSite(INTERVAL) ? captureSite(w.fn) : undefined;
      const inner = Reflect.apply(displaced, this, arguments);
      return (async function* interval() {
        const timer = promiseTimer(INTERVAL, normalDelay(delay), options, null);
        if (site !== undefined) native.timerSetSite(timer[ASYNC_ID], site);
        try {
          for await (const v of inner) {
            record(FIRE, timer[ASYNC_ID], 0, 0, 0);
            yield v;
          }
        } finally {
          promiseDone(timer, REMOVE);
        }
      })();
    };
  }

  /**
   * Our wrapper of `displaced` for `name`, made once and reused by every
   * install(): new closures on each install() cost their warm-up again.
   */
  function wrapperOf(holder, name, displaced) {
    const key = holder === timersPromises ? `promises.${name}` : name;
    let byName = wrappers.get(displaced);
    if (byName === undefined) wrappers.set(displaced, (byName = new Map()));
    let w = byName.get(key);
    if (w !== undefined) return w;
    w = { fn: null, displaced, live: false };
    if (holder === timersPromises) w.fn = wrapPromise(name, displaced, w);
    else if (name.startsWith('clear')) w.fn = wrapClear(displaced, w);
    else w.fn = wrapSet(name === 'setTimeout' ? TIMEOUT : name === 'setInterval' ? INTERVAL : IMMEDIATE, displaced, w);
    // Wrappers look like what they replace: name, length and symbol-keyed
    // extras (util.promisify.custom).
    Object.defineProperty(w.fn, 'name', { value: displaced.name });
    Object.defineProperty(w.fn, 'length', { value: displaced.length });
    for (const k of Reflect.ownKeys(displaced)) {
      if (typeof k === 'symbol') Object.defineProperty(w.fn, k, Object.getOwnPropertyDescriptor(displaced, k));
    }
    ours.set(w.fn, w);
    byName.set(key, w);
    return w;
  }

  /** What our wrapper `f` replaced; `f` itself when it is not one of ours. */
  function unwrap(f) {
    return ours.get(f)?.displaced ?? f;
  }

  function checkSites(s) {
    if (s === undefined) return sites;
    if (s !== 'all' && s !== 'intervals' && s !== 'none') throw argError(`options.sites must be 'all', 'intervals' or 'none', got ${describe(s)}`);
    return s;
  }

  /**
   * Wraps the timer functions of `global`, `node:timers` and
   * `node:timers/promises` that are not wrapped yet (not `scheduler.wait`,
   * which calls Node's internal function directly), and updates ESM named
   * imports of those modules.
   */
  function install(options, global) {
    const o = checkOptions(options);
    sites = checkSites(o.sites);
    needPlain();
    const targets = [[global, NAMES], [nodeTimers, NAMES], [timersPromises, PROMISE_NAMES]];
    for (const [holder, names] of targets) {
      for (const n of names) {
        const d = Object.getOwnPropertyDescriptor(holder, n);
        if (!d || typeof d.value !== 'function' || ours.get(d.value)?.live) continue;
        // A wrapper of ours left below a patch since removed is skipped; the
        // global and node:timers share their functions, so they share wrappers.
        const displaced = unwrap(d.value);
        const w = wrapperOf(holder, n, displaced);
        w.live = true;
        Object.defineProperty(holder, n, { ...d, value: w.fn });
        installed.push({ holder, n, d: { ...d, value: displaced }, w });
      }
    }
    syncBuiltinESMExports();
  }

  /**
   * Puts back each original descriptor that still holds our wrapper. A
   * function patched after install() (a test's fake timers) keeps its patch,
   * which calls our wrapper, which from now on only passes through. Timers
   * already tracked stay listed until they end.
   */
  function uninstall() {
    for (const { holder, n, d, w } of installed) {
      if (Object.getOwnPropertyDescriptor(holder, n)?.value === w.fn) Object.defineProperty(holder, n, d);
      w.live = false;
    }
    installed = [];
    syncBuiltinESMExports();
  }

  function isInstalled() {
    return installed.some(({ holder, n, w }) => holder[n] === w.fn);
  }

  function checkOwner(owner) {
    if (owner === null || (typeof owner !== 'object' && typeof owner !== 'function')) {
      throw argError(`owner must be an object, got ${describe(owner)}`);
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
    if (!trackable(timer) || !held(timer) || timer._destroyed === true) {
      throw argError('setOwner needs a running timer created while leakwatch timers were installed, or by timers.setInterval/setTimeout', 'ERR_TIMER_UNTRACKED');
    }
    applyJournal();
    callNative(() => native.timerSetOwner(timer[ASYNC_ID], tokenOf(owner)));
    return timer;
  }

  function checkTimerArgs(fn, ms, options) {
    if (typeof fn !== 'function') throw argError(`callback must be a function, got ${describe(fn)}`);
    if (ms !== undefined && (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0)) throw argError(`delay must be a non-negative number, got ${describe(ms)}`);
    const o = checkOptions(options);
    if (o.owner !== undefined) checkOwner(o.owner);
    return o;
  }

  /**
   * A tracked timer whose owner is held weakly and passed to the callback, so
   * an owner dropped without stop() can be collected and the timer reported.
   * Made with the global function in use (under a test's fake timers, a fake
   * timer: it runs on the fake clock and is not listed).
   */
  function owned(kind, fn, ms, options, global) {
    const o = checkTimerArgs(fn, ms, options);
    findPlain();
    const ref = o.owner === undefined ? null : new WeakRef(o.owner);
    const begin = unwrap(kind === INTERVAL ? global.setInterval : global.setTimeout);
    let mine = false;
    const timer = begin(function () {
      if (mine) fired(timer, kind);
      return fn.call(this, ref === null ? undefined : ref.deref());
    }, ms);
    mine = register(timer, kind, normalDelay(ms), owned);
    if (ref !== null && mine) {
      applyJournal();
      native.timerSetOwner(timer[ASYNC_ID], tokenOf(o.owner));
    }
    return timer;
  }

  function liveById() {
    const byId = new Map();
    for (const t of registry.slots) if (t !== undefined) byId.set(t[ASYNC_ID], t);
    return byId;
  }

  function active() {
    if (!findPlain()) return { count: 0, timers: [], bySite: [] };
    settle();
    const list = native.timerActive();
    const live = liveById();
    for (const t of list) {
      const timer = live.get(t.id);
      t.refed = timer !== undefined && timer.hasRef();
    }
    return { count: list.length, timers: list, bySite: native.timerBySite() };
  }

  /**
   * Clears every tracked timer matching the filters (all of them with none).
   * @param {{ site?: string, owner?: object }} [filter]
   */
  function clearAll(filter) {
    const f = checkOptions(filter, 'filter');
    if (f.site !== undefined && typeof f.site !== 'string') throw argError(`filter.site must be a string, got ${describe(f.site)}`);
    let token = null;
    if (f.owner !== undefined) {
      checkOwner(f.owner);
      token = ownerTokens.get(f.owner);
      if (token === undefined) return 0;
    }
    if (!findPlain()) return 0;
    settle();
    const ids = native.timerSelect(f.site ?? null, token);
    const live = liveById();
    let cleared = 0;
    for (const id of ids) {
      const timer = live.get(id);
      // A timers/promises timer has no handle to clear.
      if (timer === undefined || timer instanceof PromiseTimer) continue;
      if (Object.getPrototypeOf(timer) === ImmediateProto) plain.clearImmediate(timer);
      else plain.clearTimeout(timer);
      end(timer, REMOVE);
      cleared++;
    }
    return cleared;
  }

  findPlain();
  // For every timer leakwatch schedules for its own work (monitor, agent,
  // snapshot schedule, listener observation).
  const own = () => (findPlain() ? plain : nodeTimers);
  const plainTimers = {
    setTimeout: (...args) => own().setTimeout(...args),
    clearTimeout: (t) => own().clearTimeout(t),
    setInterval: (...args) => own().setInterval(...args),
    clearInterval: (t) => own().clearInterval(t),
    setImmediate: (...args) => own().setImmediate(...args),
  };

  return {
    plainTimers,
    install,
    uninstall,
    isInstalled,
    active,
    clearAll,
    setOwner,
    owned,
    kinds: { TIMEOUT, INTERVAL },
  };
}

function checkOptions(options, what = 'options') {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw argError(`${what} must be an object, got ${describe(options)}`);
  }
  return options;
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

// One registry per thread, shared by every copy of this module (see
// process-global.js); each copy's facade passes its own global object,
// which a test runner's per-file context may make different from the first
// copy's.
const core = processGlobal(nodeTimers, 'timers', createTimers);
const { TIMEOUT: KIND_TIMEOUT, INTERVAL: KIND_INTERVAL } = core.kinds;

const timers = {
  /**
   * Wraps the timer functions on globalThis, in `node:timers` and in
   * `node:timers/promises`.
   * @param {{ sites?: 'all' | 'intervals' | 'none' }} [options]
   */
  install: (options) => core.install(options, globalThis),
  /** Puts the exact original property descriptors back (see core.uninstall). */
  uninstall: () => core.uninstall(),
  active: () => core.active(),
  clearAll: (filter) => core.clearAll(filter),
  setOwner: (timer, owner) => core.setOwner(timer, owner),
  setInterval: (fn, ms, options) => core.owned(KIND_INTERVAL, fn, ms, options, globalThis),
  setTimeout: (fn, ms, options) => core.owned(KIND_TIMEOUT, fn, ms, options, globalThis),
  get installed() { return core.isInstalled(); },
};

module.exports = { timers, TIMER_WARNING_CODE: 'LEAKWATCH_TIMER_OUTLIVED_OWNER', plainTimers: core.plainTimers };
