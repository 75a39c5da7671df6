'use strict';

// BoundedLog: entries live in Rust memory, so a million of them cost the
// garbage collector nothing; this class only converts values.

const native = require('../binding.js');
const { argError, callNative, translate } = require('./errors.js');

const JSON_KIND = 2;
const PAGE = 1024;
const DEFAULTS = { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, onOverflow: 'drop-oldest' };

// A log the user forgets to close still gives its handle back when collected.
const handles = new FinalizationRegistry((h) => native.logClose(h));
let exitHook = false;
let opening = null;

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

  /**
   * @param {{ maxEntries?: number, maxBytes?: number, onOverflow?: 'drop-oldest' | 'reject', spillTo?: string }} [options]
   */
  constructor(options = {}) {
    const o = checkOptions(options);
    this.#h = opening ?? callNative(() => native.logOpen(o));
    handles.register(this, this.#h, this);
    if (o.spillTo !== undefined && !exitHook) {
      exitHook = true;
      process.on('exit', () => native.flushLogs());
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
    try {
      if (typeof entry === 'string') return native.logPushText(this.#h, entry);
      if (entry instanceof Uint8Array) return native.logPushBytes(this.#h, entry);
      return native.logPushJson(this.#h, encodeJson(entry));
    } catch (err) {
      throw translate(err);
    }
  }

  /** The newest `n` entries, oldest first. */
  tail(n = 10) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw argError('n must be a non-negative integer');
    return decode(callNative(() => native.logTail(this.#h, Math.min(n, 0xffffffff))));
  }

  toArray() {
    return decode(callNative(() => native.logRead(this.#h, 0, 0xffffffff)));
  }

  /** Takes every entry out (these are not counted as dropped). */
  drain() {
    return decode(callNative(() => native.logDrain(this.#h)));
  }

  clear() {
    callNative(() => native.logClear(this.#h));
  }

  stats() {
    return callNative(() => native.logStats(this.#h));
  }

  get size() { return this.stats().size; }
  get bytes() { return this.stats().bytes; }
  /** Entries evicted to make room (drop-oldest). */
  get dropped() { return this.stats().dropped; }
  /** Entries refused: log full in reject mode, or larger than maxBytes. */
  get rejected() { return this.stats().rejected; }
  /** Native memory the log owns: payloads, 24 B per ring slot, its fixed part. */
  get heldBytes() { return this.stats().heldBytes; }

  /** Pages through the log; entries evicted meanwhile are skipped, not repeated. */
  *[Symbol.iterator]() {
    let next = 0;
    for (;;) {
      const chunk = callNative(() => native.logRead(this.#h, next, PAGE));
      if (chunk.values.length === 0) return;
      next = chunk.next;
      yield* decode(chunk);
    }
  }

  /** Flushes the spill file and releases this handle. */
  close() {
    handles.unregister(this);
    native.logClose(this.#h);
    this.#closed = true;
  }

  get closed() { return this.#closed; }

  [Symbol.dispose]() { this.close(); }
}

module.exports = { BoundedLog };
