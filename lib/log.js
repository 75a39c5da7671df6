'use strict';

// BoundedLog: entries live in Rust memory, so a million of them cost the
// garbage collector nothing; this class only converts values.
//
// A napi call costs ~150-250 ns, forty times a JS array store, so push()
// stages string and JSON entries here, in a ring of references, and hands
// them over joined, one call per batch (as UTF-16: V8 copies that without
// the scan UTF-8 needs, and each entry's boundaries stay exact). Every read
// flushes first, and so do close() and a full stage: a thread sees its own
// pushes at once. A shared log, and one that spills, also flushes at the end
// of the pushing job (a microtask queued with the first staged entry), so
// other threads see the entries and the spill file gets what was evicted by
// then. A log of one thread's own that does not spill waits for a read or a
// full stage: a server pushing one entry per request would otherwise pay a
// napi call per request, 40 times the push.
//
// A reject-mode log is full when Rust says so, and push() must say at once
// whether the entry went in. After each call Rust writes the entries and
// bytes the log holds where this object reads them, so a log of one thread
// stages an entry while it surely fits (counting three bytes per UTF-16
// unit, the most UTF-8 takes) and asks Rust only near its bounds. Other
// threads may fill a shared reject log at any time: it pushes directly.
//
// A log that drops its oldest entries, spills nothing and holds at most
// ELIDE_ENTRIES entries stages up to maxEntries of them: a newer push
// then overwrites the oldest staged entry, which is counted as dropped but
// never copied. Pushing one by one would have evicted it all the same (a
// log keeps the longest suffix of its pushes within both bounds, and the
// overwritten entry is maxEntries pushes old), so contents and counts are
// those of pushing one by one, and a flood costs a reference store per entry
// plus one copy of what survives; a shared one too, since every thread
// opens it with the same options and evicting its own older pushes does not
// depend on what other threads push. Other logs stage STAGE_ENTRIES at most.

const native = require('./native.js');
const { argError, callNative } = require('./errors.js');
const { emitWarningEscaped } = require('./terminal.js');

const JSON_KIND = 2;
/** `#pushDirect` kinds besides push()'s own text (0) and JSON (1) flags. */
const BYTES = 2;
const PAGE = 1024;
const STAGE_ENTRIES = 256;
/** Longest entry staged (UTF-16 units); longer ones are pushed directly. */
const STAGE_CHARS = 4096;
/** Units staged in all before a batch is handed over. */
const STAGE_TOTAL_CHARS = 4096;
const ELIDE_ENTRIES = 16_384;
const ELIDE_TOTAL_CHARS = 1 << 20;
// Layout of the staged-entry records: src/bindings/trackers.rs.
const STAGED_PER_PAGE = 256;
const STAGED_FIELDS = 3;
const HELD_ENTRIES = 1;
const HELD_BYTES = 2;
const stagedPages = [];
const DEFAULTS = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, onOverflow: 'drop-oldest' };

// A log the user forgets to close still gives its handle back when collected.
const handles = new FinalizationRegistry((h) => native.logClose(h));
let exitHook = false;
let opening = null;
/** Logs holding staged entries; flushed together by one microtask. */
const pending = new Set();
let flushQueued = false;

function flushPending() {
  flushQueued = false;
  for (const log of pending) {
    try {
      log[FLUSH]();
    } catch (err) {
      // A background flush has no caller to throw to, and an uncaught error
      // here would end the process: say what was lost instead.
      emitWarningEscaped(`leakwatch: a BoundedLog lost its staged entries: ${err.message}`, { code: 'LEAKWATCH_LOG_FLUSH_FAILED' });
    }
  }
  pending.clear();
}

const FLUSH = Symbol('flush');

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function bound(v, name) {
  if (v === Infinity) return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw argError(`${name} must be a positive integer or Infinity, got ${describe(v)}`);
  }
  return v;
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw argError(`options must be an object, got ${describe(options)}`);
  }
  const o = { ...DEFAULTS, ...options };
  o.maxEntries = bound(o.maxEntries, 'maxEntries');
  o.maxBytes = bound(o.maxBytes, 'maxBytes');
  if (o.onOverflow !== 'drop-oldest' && o.onOverflow !== 'reject') {
    throw argError(`onOverflow must be 'drop-oldest' or 'reject', got ${describe(o.onOverflow)}`);
  }
  if (o.spillTo !== undefined && (typeof o.spillTo !== 'string' || o.spillTo.length === 0 || o.spillTo.includes('\0'))) {
    throw argError(`spillTo must be a non-empty file path, got ${describe(o.spillTo)}`);
  }
  return { maxEntries: o.maxEntries, maxBytes: o.maxBytes, onOverflow: o.onOverflow, spillTo: o.spillTo };
}

function decode(chunk) {
  const out = chunk.values;
  for (let i = 0; i < out.length; i++) {
    if (chunk.kinds[i] === JSON_KIND) out[i] = JSON.parse(out[i]);
  }
  return out;
}

function encodeJson(entry) {
  let text;
  try {
    text = JSON.stringify(entry);
  } catch (err) {
    throw argError(`log entry cannot be serialised: ${err.message}`);
  }
  if (text === undefined) throw argError(`a ${typeof entry} cannot be a log entry (not JSON-able)`);
  return text;
}

/**
 * The stage: an Array of a Leakwatch* class, so that findLeaks does not
 * report staged entries as the program's growing array (lib/own-state.js).
 */
class LeakwatchRing extends Array {}

/** A staged JSON entry's text (a bare string is a text entry). */
class JsonText {
  constructor(text) {
    this.text = text;
  }
}

/** A log bounded by entry count and bytes, stored outside the JS heap. */
class BoundedLog {
  #h;
  #closed = false;
  /** Longest string staged (UTF-16 units); -1 stages nothing (reject mode, closed). */
  #stageMax;
  /** Staged entries in `#capacity` slots; the next goes to `#head`, the oldest is `#count` before it. */
  #ring;
  #head = 0;
  #count = 0;
  /** Entries the ring holds; full, an eliding ring overwrites, the others flush. */
  #capacity;
  /** `#count` that makes a push flush: the capacity, or -1 when eliding. */
  #flushCount;
  #chars = 0;
  #maxChars;
  /** Entries pushed since the last hand-over: `#count` plus those overwritten. */
  #pushed = 0;
  /**
   * Rust-owned record: this log's staged entries (Rust clears the count when
   * it takes them: a worker stopped mid-job by terminate() runs no more JS,
   * and Rust counts what it left staged as dropped rather than losing it
   * silently), then the entries and bytes it held after the last call.
   */
  #staged;
  /** Shared or spilling: staged entries are handed over by the end of the job. */
  #flushAtJobEnd = false;
  /** Reject mode, one thread: bounds, and the room left for staged entries. */
  #reject = false;
  #maxEntries;
  #maxBytes;
  #roomEntries = 0;
  #roomBytes = 0;

  /**
   * @param {{ maxEntries?: number, maxBytes?: number, onOverflow?: 'drop-oldest' | 'reject', spillTo?: string }} [options]
   */
  constructor(options = {}) {
    const o = checkOptions(options);
    this.#h = opening ?? callNative(() => native.logOpen(o));
    handles.register(this, this.#h, this);
    const slot = callNative(() => native.logStagedSlot(this.#h));
    const p = Math.floor(slot / STAGED_PER_PAGE);
    stagedPages[p] ??= new Float64Array(callNative(() => native.logStagedPage(p)));
    const at = (slot % STAGED_PER_PAGE) * STAGED_FIELDS;
    this.#staged = stagedPages[p].subarray(at, at + STAGED_FIELDS);
    // Three UTF-8 bytes per unit at most: a staged entry can never be too big
    // to store. A reject log stages through #pushOther, which checks the room.
    this.#stageMax = o.onOverflow === 'reject' ? -1 : Math.min(STAGE_CHARS, Math.floor(o.maxBytes / 3));
    this.#reject = o.onOverflow === 'reject' && opening === null;
    this.#maxEntries = o.maxEntries;
    this.#maxBytes = o.maxBytes;
    const elide = o.onOverflow === 'drop-oldest' && o.spillTo === undefined && o.maxEntries <= ELIDE_ENTRIES;
    this.#capacity = elide ? o.maxEntries : STAGE_ENTRIES;
    this.#flushAtJobEnd = opening !== null || o.spillTo !== undefined;
    this.#flushCount = elide ? -1 : STAGE_ENTRIES;
    this.#maxChars = elide ? ELIDE_TOTAL_CHARS : STAGE_TOTAL_CHARS;
    this.#ring = new LeakwatchRing(this.#capacity);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        flushPending();
        native.flushLogs();
      });
    }
  }

  /** Opens (or creates) the log called `name`, shared by every thread that opens it. */
  static shared(name, options = {}) {
    if (typeof name !== 'string' || name.length === 0) throw argError('shared log name must be a non-empty string');
    const o = checkOptions(options);
    opening = callNative(() => native.logShared(name, o));
    try {
      return new BoundedLog(options);
    } finally {
      opening = null;
    }
  }

  /** Appends an entry; false if it was refused (counted in `rejected`, and spilled). */
  push(entry) {
    let text;
    let json = 0;
    if (typeof entry === 'string') {
      text = entry;
    } else if (entry instanceof Uint8Array) {
      return this.#pushDirect(entry, BYTES);
    } else {
      text = encodeJson(entry);
      json = 1;
    }
    const len = text.length;
    if (len > this.#stageMax) return this.#pushOther(text, json, len);
    this.#stage(text, json, len);
    return true;
  }

  /** Stages one entry (a string, or JSON text when `json` is 1). */
  #stage(text, json, len) {
    const pushed = this.#pushed;
    if (pushed === 0 && this.#flushAtJobEnd) {
      pending.add(this);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flushPending);
      }
    }
    this.#pushed = pushed + 1;
    this.#staged[0] = pushed + 1;
    const head = this.#head;
    this.#ring[head] = json === 1 ? new JsonText(text) : text;
    this.#head = head + 1 === this.#capacity ? 0 : head + 1;
    // Only an eliding ring is ever full here; it then overwrote its oldest entry.
    if (this.#count !== this.#capacity) this.#count++;
    // Counts every staged character but not those overwritten, so it can
    // only overstate: recounted when it crosses the bound.
    const chars = this.#chars + len;
    this.#chars = chars;
    if (chars > this.#maxChars) this.#recount();
    else if (this.#count === this.#flushCount) this[FLUSH]();
  }

  /** An entry that is not staged as it is: too long, or a reject log's. */
  #pushOther(text, json, len) {
    if (this.#reject && len <= STAGE_CHARS) {
      if (this.#count >= this.#roomEntries || 3 * len > this.#roomBytes) {
        this[FLUSH]();
        this.#readRoom();
      }
      if (this.#count < this.#roomEntries && 3 * len <= this.#roomBytes) {
        this.#roomBytes -= 3 * len;
        this.#stage(text, json, len);
        return true;
      }
    }
    return this.#pushDirect(text, json);
  }

  /**
   * Hands one entry straight to Rust, after the staged ones. Kept out of
   * push(): a closure there would make V8 allocate push's variables on the
   * heap on every call, a quarter of a staged push's cost.
   */
  #pushDirect(entry, kind) {
    this[FLUSH]();
    // Bytes are copied now: the caller may reuse the buffer.
    let stored;
    if (kind === BYTES) stored = callNative(() => native.logPushBytes(this.#h, entry));
    else if (kind === 1) stored = callNative(() => native.logPushJson(this.#h, entry));
    else stored = callNative(() => native.logPushText(this.#h, entry));
    this.#readRoom();
    return stored;
  }

  /** The room a reject log of one thread has, as Rust last reported it. */
  #readRoom() {
    if (!this.#reject) return;
    this.#roomEntries = this.#maxEntries - this.#staged[HELD_ENTRIES];
    this.#roomBytes = this.#maxBytes - this.#staged[HELD_BYTES];
  }

  /**
   * Recounts the staged characters; flushes unless they are under half the
   * bound, so that a recount is always followed by at least half the bound
   * in new characters before the next.
   */
  #recount() {
    let chars = 0;
    for (const entry of this.#ring) {
      if (entry !== undefined) chars += typeof entry === 'string' ? entry.length : entry.text.length;
    }
    this.#chars = chars;
    if (chars > this.#maxChars / 2 || this.#count === this.#flushCount) this[FLUSH]();
  }

  /** Hands the staged entries to Rust, oldest first. */
  [FLUSH]() {
    const n = this.#count;
    const elided = this.#pushed - n;
    if (this.#pushed === 0) return;
    const ring = this.#ring;
    const capacity = this.#capacity;
    const texts = new Array(n);
    const meta = new Uint32Array(n);
    for (let k = 0, i = (this.#head - n + capacity) % capacity; k < n; k++) {
      const entry = ring[i];
      if (typeof entry === 'string') {
        texts[k] = entry;
        meta[k] = entry.length * 2;
      } else {
        texts[k] = entry.text;
        meta[k] = entry.text.length * 2 + 1;
      }
      // The ring must not keep a handed-over string alive.
      ring[i] = undefined;
      i = i + 1 === capacity ? 0 : i + 1;
    }
    this.#count = 0;
    this.#pushed = 0;
    this.#chars = 0;
    pending.delete(this);
    callNative(() => native.logPushBatch(this.#h, texts.join(''), meta, elided));
    this.#readRoom();
  }

  /** The newest `n` entries, oldest first. */
  tail(n = 10) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw argError('n must be a non-negative integer');
    this[FLUSH]();
    return decode(callNative(() => native.logTail(this.#h, Math.min(n, 0xffffffff))));
  }

  toArray() {
    this[FLUSH]();
    return decode(callNative(() => native.logRead(this.#h, 0, 0xffffffff)));
  }

  /** Takes every entry out (these are not counted as dropped). */
  drain() {
    this[FLUSH]();
    return decode(callNative(() => native.logDrain(this.#h)));
  }

  clear() {
    this[FLUSH]();
    callNative(() => native.logClear(this.#h));
  }

  stats() {
    this[FLUSH]();
    return callNative(() => native.logStats(this.#h));
  }

  get size() { return this.stats().size; }
  get bytes() { return this.stats().bytes; }
  /** Entries evicted to make room (drop-oldest). */
  get dropped() { return this.stats().dropped; }
  /** Entries refused: log full in reject mode, or larger than maxBytes. */
  get rejected() { return this.stats().rejected; }
  /** Native memory the log owns: its payload ring, 16 B per entry slot, its fixed part. */
  get heldBytes() { return this.stats().heldBytes; }

  /** Pages through the log; entries evicted meanwhile are skipped, not repeated. */
  *[Symbol.iterator]() {
    let next = 0;
    for (;;) {
      this[FLUSH]();
      const chunk = callNative(() => native.logRead(this.#h, next, PAGE));
      if (chunk.values.length === 0) return;
      next = chunk.next;
      yield* decode(chunk);
    }
  }

  /** Flushes the spill file and releases this handle. */
  close() {
    if (!this.#closed) this[FLUSH]();
    handles.unregister(this);
    native.logClose(this.#h);
    this.#closed = true;
    this.#stageMax = -1;
    this.#reject = false;
  }

  get closed() { return this.#closed; }

  [Symbol.dispose]() { this.close(); }
}

module.exports = { BoundedLog };
