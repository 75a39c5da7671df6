'use strict';

const native = require('./native.js');
const { translate, callNative, argError, abortError } = require('./errors.js');

const DEFAULT_PROGRESS_INTERVAL_MS = 200;

function checkId(id) {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
    throw argError(`node id must be a non-negative integer, got ${typeof id === 'number' ? id : typeof id}`);
  }
  return id;
}

function checkCount(n, name, fallback) {
  if (n === undefined) return fallback;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw argError(`${name} must be a non-negative integer`);
  }
  return n;
}

/** A loaded heap snapshot; the graph stays in native memory until close(). */
class Snapshot {
  #native;

  constructor(nativeSnapshot) {
    this.#native = nativeSnapshot;
  }

  get nodeCount() { return callNative(() => this.#native.nodeCount); }
  get edgeCount() { return callNative(() => this.#native.edgeCount); }
  get totalSize() { return callNative(() => this.#native.totalSize); }
  get closed() { return this.#native.closed; }

  summary() { return callNative(() => this.#native.summary()); }
  topRetainers(n = 10) { return callNative(() => this.#native.topRetainers(checkCount(n, 'n', 10))); }
  node(id) { return callNative(() => this.#native.node(checkId(id))); }
  retainerPath(id) { return callNative(() => this.#native.retainerPath(checkId(id))); }
  dominatorChain(id) { return callNative(() => this.#native.dominatorChain(checkId(id))); }
  children(id) { return callNative(() => this.#native.children(checkId(id))); }
  edges(id) { return callNative(() => this.#native.edges(checkId(id))); }
  retainers(id) { return callNative(() => this.#native.retainers(checkId(id))); }
  columns() { return callNative(() => this.#native.columns()); }

  report(options = {}) {
    const top = checkCount(options.top, 'top', 10);
    const maxClasses = checkCount(options.maxClasses, 'maxClasses', 50);
    return callNative(() => this.#native.report(top, maxClasses));
  }

  close() { this.#native.close(); }
  [Symbol.dispose]() { this.close(); }

  /** @internal the native handle, for other native calls (diff, leaks). */
  get _native() { return this.#native; }
}

function isBytes(x) {
  return x instanceof Uint8Array;
}

function isChunkStream(x) {
  return x != null && typeof x === 'object' && typeof x[Symbol.asyncIterator] === 'function';
}

function checkSource(source) {
  if (typeof source === 'string') {
    if (source.length === 0) throw argError('snapshot path is empty');
    return;
  }
  if (isBytes(source) || isChunkStream(source)) return;
  throw argError(
    `source must be a file path, a Buffer/Uint8Array, or an async iterable of chunks; got ${source === null ? 'null' : typeof source}`,
  );
}

function toBuffer(bytes) {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkOptions(options) {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw argError('options must be an object');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw argError('options.signal must be an AbortSignal');
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw argError('options.onProgress must be a function');
  }
  return options;
}

/**
 * Loads and analyses a snapshot off the main thread.
 * @param {string | Uint8Array | AsyncIterable<Uint8Array>} source
 */
async function loadSnapshot(source, options) {
  checkSource(source);
  const { signal, onProgress, progressIntervalMs = DEFAULT_PROGRESS_INTERVAL_MS } = checkOptions(options);
  if (signal && signal.aborted) throw abortError(signal);
  const job = new native.LoadJob();
  const onAbort = () => job.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer;
  if (onProgress) {
    timer = setInterval(() => onProgress(job.progress()), progressIntervalMs);
    timer.unref();
  }
  try {
    let nativeSnapshot;
    if (isChunkStream(source)) {
      const stream = new native.SnapshotStream();
      for await (const chunk of source) {
        if (signal && signal.aborted) throw abortError(signal);
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (!isBytes(bytes)) throw argError('snapshot stream chunks must be Buffers, Uint8Arrays or strings');
        callNative(() => stream.write(bytes));
      }
      nativeSnapshot = await callNative(() => stream.finish(job, signal));
    } else {
      const arg = typeof source === 'string' ? source : toBuffer(source);
      nativeSnapshot = await callNative(() => native.loadSnapshot(arg, job, signal));
    }
    if (onProgress) onProgress(job.progress());
    return new Snapshot(nativeSnapshot);
  } catch (err) {
    if (signal && signal.aborted) throw abortError(signal);
    throw translate(err);
  } finally {
    clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Blocking variant of loadSnapshot for a path or a Buffer. */
function loadSnapshotSync(source) {
  checkSource(source);
  if (isChunkStream(source)) throw argError('loadSnapshotSync cannot read a stream; use loadSnapshot');
  const arg = typeof source === 'string' ? source : toBuffer(source);
  return new Snapshot(callNative(() => native.loadSnapshotSync(arg, null)));
}

/** Totals, class summary and the largest objects with their retainer paths. */
async function analyzeSnapshot(source, options = {}) {
  const snapshot = source instanceof Snapshot ? source : await loadSnapshot(source, options);
  try {
    return snapshot.report(options);
  } finally {
    if (snapshot !== source) snapshot.close();
  }
}

function analyzeSnapshotSync(source, options = {}) {
  const snapshot = source instanceof Snapshot ? source : loadSnapshotSync(source);
  try {
    return snapshot.report(options);
  } finally {
    if (snapshot !== source) snapshot.close();
  }
}

module.exports = { Snapshot, loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync };
