'use strict';

const native = require('./native.js');
const { plainTimers } = require('./timers.js');
const { translate, callNative, argError, abortError, checkOptions, checkInteger, checkBoolean, checkFunction, checkString } = require('./errors.js');

const DEFAULT_PROGRESS_INTERVAL_MS = 200;

// Documented limits (README "Limits"): every answer is bounded, whatever the
// heap's shape. A retainer path shows at most `maxSteps` steps (a longer one
// its first third and last two thirds, with `skipped` on the step after the
// cut); queries whose answer grows with the heap return one page.
const LIMITS = Object.freeze({
  top: 1000,
  suspects: 1000,
  maxClasses: 100_000,
  topRetainers: 100_000,
  pathSteps: { default: 24, min: 2, max: 1000 },
  page: { default: 10_000, max: 100_000 },
});

const LOAD_KEYS = ['signal', 'onProgress', 'progressIntervalMs', 'redact'];
const REPORT_KEYS = ['top', 'maxClasses', 'maxSteps', 'redact'];

function checkId(id, fnName) {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
    throw argError(`${fnName}: node id must be a non-negative integer, got ${describeId(id)}`);
  }
  return id;
}

function describeId(id) {
  return typeof id === 'number' ? String(id) : typeof id;
}

/**
 * The options a native query takes, checked: only the keys `known` lists.
 * A snapshot loaded with `redact: true` redacts every answer, whatever the
 * query asks: redaction cannot be turned off downstream of the load.
 */
function queryOptions(options, fnName, known, snapshot) {
  const o = checkOptions(options, fnName, known);
  const q = { redact: checkBoolean(o.redact, 'redact', { fnName }) || (snapshot !== undefined && snapshot.redacted) };
  if (known.includes('offset')) {
    q.offset = checkInteger(o.offset, 'offset', { fnName, max: 2 ** 32, fallback: 0 });
    q.limit = checkInteger(o.limit, 'limit', { fnName, max: LIMITS.page.max, fallback: LIMITS.page.default });
  }
  if (known.includes('maxSteps')) {
    const { default: fallback, min, max } = LIMITS.pathSteps;
    q.maxSteps = checkInteger(o.maxSteps, 'maxSteps', { fnName, min, max, fallback });
  }
  return q;
}

/** A page as an array, with how many there are in all as `total`. */
function page({ items, total }) {
  Object.defineProperty(items, 'total', { value: total, enumerable: false });
  return items;
}

/** A page of a class's objects, with the summary rows it covers as `classes`. */
function instancePage({ items, total, classes }) {
  Object.defineProperty(items, 'classes', { value: classes, enumerable: false });
  return page({ items, total });
}

const PAGE_KEYS = ['redact', 'offset', 'limit'];

/** A loaded heap snapshot; the graph stays in native memory until close(). */
class Snapshot {
  #native;
  #redact;

  // Made by loadSnapshot()/loadSnapshotSync(); the class is exported for
  // `instanceof`, so a direct call gets an error with a code, not a shell
  // whose every getter throws a TypeError.
  constructor(nativeSnapshot, options) {
    if (!(nativeSnapshot instanceof native.NativeSnapshot)) {
      throw argError('a Snapshot comes from loadSnapshot() or loadSnapshotSync(); it cannot be constructed directly');
    }
    const o = checkOptions(options, 'Snapshot', ['redact']);
    this.#native = nativeSnapshot;
    this.#redact = checkBoolean(o.redact, 'redact', { fnName: 'Snapshot' });
  }

  /** Whether every answer is redacted (the snapshot was loaded with `redact: true`). */
  get redacted() { return this.#redact; }

  get nodeCount() { return callNative(() => this.#native.nodeCount); }
  get edgeCount() { return callNative(() => this.#native.edgeCount); }
  get totalSize() { return callNative(() => this.#native.totalSize); }
  get closed() { return this.#native.closed; }

  summary(options) {
    const q = queryOptions(options, 'summary', ['redact'], this);
    return callNative(() => this.#native.summary(q));
  }

  topRetainers(n = 10, options) {
    const count = checkInteger(n, 'n', { fnName: 'topRetainers', max: LIMITS.topRetainers });
    const q = queryOptions(options, 'topRetainers', ['redact'], this);
    return callNative(() => this.#native.topRetainers(count, q));
  }

  node(id, options) {
    const q = queryOptions(options, 'node', ['redact'], this);
    return callNative(() => this.#native.node(checkId(id, 'node'), q));
  }

  retainerPath(id, options) {
    const q = queryOptions(options, 'retainerPath', ['redact', 'maxSteps'], this);
    return callNative(() => this.#native.retainerPath(checkId(id, 'retainerPath'), q));
  }

  dominatorChain(id, options) {
    const q = queryOptions(options, 'dominatorChain', PAGE_KEYS, this);
    return page(callNative(() => this.#native.dominatorChain(checkId(id, 'dominatorChain'), q)));
  }

  children(id, options) {
    const q = queryOptions(options, 'children', PAGE_KEYS, this);
    return page(callNative(() => this.#native.children(checkId(id, 'children'), q)));
  }

  edges(id, options) {
    const q = queryOptions(options, 'edges', PAGE_KEYS, this);
    return page(callNative(() => this.#native.edges(checkId(id, 'edges'), q)));
  }

  retainers(id, options) {
    const q = queryOptions(options, 'retainers', PAGE_KEYS, this);
    return page(callNative(() => this.#native.retainers(checkId(id, 'retainers'), q)));
  }

  /**
   * The objects of a class, largest retained size first (one page): `cls`
   * is a class key from `summary()`, or a name, which covers every class
   * of that name. On a redacted snapshot or with `redact`, names are
   * compared as redaction shows them.
   */
  instances(cls, options) {
    const selector = checkString(cls, 'class', { fnName: 'instances', nonEmpty: true });
    const q = queryOptions(options, 'instances', PAGE_KEYS, this);
    return instancePage(callNative(() => this.#native.instances(selector, q)));
  }

  columns(options) {
    const q = queryOptions(options, 'columns', ['redact'], this);
    return callNative(() => this.#native.columns(q));
  }

  report(options) {
    return reportOf(this, options, 'report', REPORT_KEYS);
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

function reportOf(snapshot, options, fnName, known) {
  const o = checkOptions(options, fnName, known);
  const top = checkInteger(o.top, 'top', { fnName, max: LIMITS.top, fallback: 10 });
  const maxClasses = checkInteger(o.maxClasses, 'maxClasses', { fnName, max: LIMITS.maxClasses, fallback: 50 });
  const q = queryOptions({ redact: o.redact, maxSteps: o.maxSteps }, fnName, ['redact', 'maxSteps'], snapshot);
  return callNative(() => snapshot._native.report(top, maxClasses, q));
}

function loadOptions(options, fnName, known = LOAD_KEYS) {
  const o = checkOptions(options, fnName, known);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw argError(`${fnName}: options.signal must be an AbortSignal`);
  }
  checkFunction(o.onProgress, 'onProgress', { fnName });
  const progressIntervalMs = checkInteger(o.progressIntervalMs, 'progressIntervalMs', { fnName, min: 1, max: 2 ** 31 - 1, fallback: DEFAULT_PROGRESS_INTERVAL_MS });
  const redact = checkBoolean(o.redact, 'redact', { fnName });
  return { signal: o.signal, onProgress: o.onProgress, progressIntervalMs, redact };
}

/**
 * Loads and analyses a snapshot off the main thread.
 * @param {string | Uint8Array | AsyncIterable<Uint8Array>} source
 */
async function loadSnapshot(source, options) {
  return load(source, loadOptions(options, 'loadSnapshot'));
}

async function load(source, { signal, onProgress, progressIntervalMs, redact }) {
  checkSource(source);
  if (signal && signal.aborted) throw abortError(signal);
  const job = new native.LoadJob();
  const onAbort = () => job.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer;
  if (onProgress) {
    // Node's own interval: never in the user's timer registry, never on a fake clock.
    timer = plainTimers.setInterval(() => onProgress(job.progress()), progressIntervalMs);
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
    return new Snapshot(nativeSnapshot, { redact });
  } catch (err) {
    if (signal && signal.aborted) throw abortError(signal);
    throw translate(err);
  } finally {
    plainTimers.clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Blocking variant of loadSnapshot for a path or a Buffer. */
function loadSnapshotSync(source, options) {
  const o = checkOptions(options, 'loadSnapshotSync', ['redact']);
  const redact = checkBoolean(o.redact, 'redact', { fnName: 'loadSnapshotSync' });
  checkSource(source);
  if (isChunkStream(source)) throw argError('loadSnapshotSync cannot read a stream; use loadSnapshot');
  const arg = typeof source === 'string' ? source : toBuffer(source);
  return new Snapshot(callNative(() => native.loadSnapshotSync(arg, null)), { redact });
}

/** Totals, class summary and the largest objects with their retainer paths. */
async function analyzeSnapshot(source, options) {
  const o = checkOptions(options, 'analyzeSnapshot', [...LOAD_KEYS, ...REPORT_KEYS]);
  // Report options are checked before the (long) load, not after it.
  const { top, maxClasses, maxSteps, redact, ...load } = o;
  const reportOptions = { top, maxClasses, maxSteps, redact };
  if (redact !== undefined) load.redact = redact;
  checkReportOptions(reportOptions, 'analyzeSnapshot');
  const snapshot = source instanceof Snapshot ? source : await loadSnapshot(source, load);
  try {
    return reportOf(snapshot, reportOptions, 'analyzeSnapshot', REPORT_KEYS);
  } finally {
    if (snapshot !== source) snapshot.close();
  }
}

function analyzeSnapshotSync(source, options) {
  const o = checkOptions(options, 'analyzeSnapshotSync', REPORT_KEYS);
  checkReportOptions(o, 'analyzeSnapshotSync');
  const snapshot = source instanceof Snapshot ? source : loadSnapshotSync(source);
  try {
    return reportOf(snapshot, o, 'analyzeSnapshotSync', REPORT_KEYS);
  } finally {
    if (snapshot !== source) snapshot.close();
  }
}

/** Throws for bad report options without needing a snapshot. */
function checkReportOptions(o, fnName) {
  checkInteger(o.top, 'top', { fnName, max: LIMITS.top, fallback: 10 });
  checkInteger(o.maxClasses, 'maxClasses', { fnName, max: LIMITS.maxClasses, fallback: 50 });
  queryOptions({ redact: o.redact, maxSteps: o.maxSteps }, fnName, ['redact', 'maxSteps']);
}

module.exports = { Snapshot, loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync, LIMITS };
