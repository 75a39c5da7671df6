'use strict';

// BoundedLog: entries live in Rust memory, so a million of them cost the
// garbage collector nothing; this class only converts values.
//
// A napi call costs ~150-250 ns, forty times a JS array store, so push()
// stages string and JSON entries here (references to at most STAGE_ENTRIES
// strings of STAGE_CHARS units in all) and hands them over joined, one call
// per batch (as UTF-16: V8 copies that without the scan UTF-8 needs, and
// each entry's boundaries stay exact). Every read flushes first, and so do
// close(), process exit and a microtask queued with the first staged entry:
// a thread sees its own pushes at once, other threads (shared logs) by the
// end of the pushing job. Reject mode pushes directly, since only Rust knows
// whether the log is full.

const native = require('../binding.js');
const { argError, callNative } = require('./errors.js');

const JSON_KIND = 2;
const PAGE = 1024;
const STAGE_ENTRIES = 256;
const STAGE_CHARS = 4096;
// Layout of the staged-entry counters: src/bindings/trackers.rs.
const STAGED_PER_PAGE = 256;
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
      process.emitWarning(`leakwatch: a BoundedLog lost its staged entries: ${err.message}`, { code: 'LEAKWATCH_LOG_FLUSH_FAILED' });
    }
  }
  pending.clear();
}

const FLUSH = Symbol('flush');

function bound(v, name) {
  if (v === Infinity) return v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw argError(`${name} must be a positive integer or Infinity`);
  }
  return v;
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  const o = { ...DEFAULTS, ...options };
  o.maxEntries = bound(o.maxEntries, 'maxEntries');
  o.maxBytes = bound(o.maxBytes, 'maxBytes');
  if (o.onOverflow !== 'drop-oldest' && o.onOverflow !== 'reject') {
    throw argError("onOverflow must be 'drop-oldest' or 'reject'");
  }
  if (o.spillTo !== undefined && (typeof o.spillTo !== 'string' || o.spillTo.length === 0)) {
    throw argError('spillTo must be a non-empty file path');
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

/** A log bounded by entry count and bytes, stored outside the JS heap. */
class BoundedLog {
  #h;
  #closed = false;
  /** Longest string staged (UTF-16 units); -1 stages nothing (reject mode). */
  #stageMax;
  #texts = [];
  #meta = new Uint32Array(STAGE_ENTRIES);
  #chars = 0;
  /**
   * Rust-owned counter of this log's staged entries (Rust clears it when it
   * takes them): a worker stopped mid-job by terminate() runs no more JS,
   * and Rust counts what it left staged as dropped rather than losing it
   * silently.
   */
  #staged;
  #stagedAt;

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
    this.#staged = stagedPages[p];
    this.#stagedAt = slot % STAGED_PER_PAGE;
    // Three UTF-8 bytes per unit at most: a staged entry can never be too big to store.
    this.#stageMax = o.onOverflow === 'reject' ? -1 : Math.min(STAGE_CHARS, Math.floor(o.maxBytes / 3));
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
      // Bytes are copied now: the caller may reuse the buffer.
      this[FLUSH]();
      return callNative(() => native.logPushBytes(this.#h, entry));
    } else {
      text = encodeJson(entry);
      json = 1;
    }
    const len = text.length;
    if (len > this.#stageMax || this.#closed) {
      this[FLUSH]();
      return callNative(() => json === 1 ? native.logPushJson(this.#h, text) : native.logPushText(this.#h, text));
    }
    const n = this.#texts.length;
    if (n === 0) {
      pending.add(this);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flushPending);
      }
    }
    this.#texts.push(text);
    this.#staged[this.#stagedAt] = n + 1;
    this.#meta[n] = len * 2 + json;
    this.#chars += len;
    if (n + 1 === STAGE_ENTRIES || this.#chars > STAGE_CHARS) this[FLUSH]();
    return true;
  }

  /** Hands the staged entries to Rust. */
  [FLUSH]() {
    const texts = this.#texts;
    const n = texts.length;
    if (n === 0) return;
    const meta = this.#meta.subarray(0, n);
    const joined = texts.join('');
    this.#texts = [];
    this.#chars = 0;
    pending.delete(this);
    callNative(() => native.logPushBatch(this.#h, joined, meta));
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
  }

  get closed() { return this.#closed; }

  [Symbol.dispose]() { this.close(); }
}

module.exports = { BoundedLog };
