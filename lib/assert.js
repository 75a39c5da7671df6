'use strict';

// Test-suite assertions: run code, snapshot the heap in-process (streamed
// straight into the engine, never written to disk), and fail with the
// retainer path of whatever leaked.

const v8 = require('node:v8');
const vm = require('node:vm');
const inspector = require('node:inspector');
const { AssertionError } = require('node:assert');
const { loadSnapshot } = require('./snapshot.js');
const { findLeaks } = require('./leaks.js');
const { argError, checkOptions } = require('./errors.js');
const { formatBytes, formatPath } = require('./format.js');
const { escapeTerminalDeep } = require('./terminal.js');

let cachedGc;
/** A full-GC function, even when the process was not started with --expose-gc. */
function getGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  if (!cachedGc) {
    // The flag only has to be on while a fresh context is created; the `gc`
    // function that context receives stays usable afterwards.
    v8.setFlagsFromString('--expose-gc');
    cachedGc = vm.runInNewContext('gc');
  }
  return cachedGc;
}

async function settle() {
  // Two macrotask turns: pending callbacks run and WeakRef targets kept for
  // the current job are released before collecting.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const gc = getGc();
  gc();
  gc();
}

async function snapshotNow() {
  await settle();
  return loadSnapshot(v8.getHeapSnapshot());
}

function checkPositiveInt(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw argError(`${name} must be a positive integer`);
  return value;
}

function describeSuspects(suspects) {
  // Test runners print this message to a terminal: no control characters
  // from the snapshot's names may reach it raw.
  return escapeTerminalDeep(suspects)
    .map((s, i) => {
      const path = formatPath(s.retainerPath, { indent: '     ' });
      return `  ${i + 1}. [${s.kind}, ${s.confidence} confidence] ${s.explanation}\n     retained by:\n${path}`;
    })
    .join('\n');
}

/**
 * Runs `fn` `warmup` times, then twice `iterations` times with a heap
 * snapshot before, between and after, and throws an AssertionError listing
 * leak suspects with their retainer paths. Resolves with the report when clean.
 */
async function expectNoLeak(fn, options = {}) {
  if (typeof fn !== 'function') throw argError('expectNoLeak needs a function to run');
  checkOptions(options, 'expectNoLeak');
  const iterations = checkPositiveInt(options.iterations, 'iterations', 100);
  const warmup = options.warmup === 0 ? 0 : checkPositiveInt(options.warmup, 'warmup', Math.max(1, Math.ceil(iterations / 4)));
  // A leak of one object per call leaves ~`iterations` survivors per round;
  // requiring half of that keeps one-off caches and lazy compilation quiet.
  const minCount = checkPositiveInt(options.minCount, 'minCount', Math.max(4, Math.floor(iterations / 2)));
  let call = 0;
  const runRound = async (n) => {
    for (let k = 0; k < n; k++) await fn(call++);
  };
  await runRound(warmup);
  const snapshots = [];
  try {
    snapshots.push(await snapshotNow());
    await runRound(iterations);
    snapshots.push(await snapshotNow());
    await runRound(iterations);
    snapshots.push(await snapshotNow());
    const suspects = await findLeaks(snapshots, { minCount, maxSuspects: options.maxSuspects });
    const report = {
      suspects,
      iterations,
      heapSizes: snapshots.map((s) => s.totalSize),
    };
    if (suspects.length > 0) {
      // operator 'fail', as assert.fail() sets it: test runners that render
      // assertion errors specially (Jest) then show the message alone instead
      // of an actual/expected comparison of two undefineds.
      const err = new AssertionError({
        message: `expected no leak after ${iterations * 2} calls, found ${suspects.length} suspect${suspects.length === 1 ? '' : 's'}:\n${describeSuspects(suspects)}`,
        operator: 'fail',
        stackStartFn: expectNoLeak,
      });
      err.suspects = suspects;
      err.report = report;
      throw err;
    }
    return report;
  } finally {
    for (const s of snapshots) s.close();
  }
}

/** The heap snapshot id of a live object, via an in-process inspector session. */
function heapIdOf(value) {
  const session = new inspector.Session();
  session.connect();
  const key = `__leakwatchProbe${process.pid}`;
  // Also on a builtin module, which every vm context shares: under Jest this
  // code runs in a context of its own, while the inspector evaluates in the
  // main one, whose globalThis is another object.
  inspector[key] = value;
  globalThis[key] = value;
  let id;
  try {
    const post = (method, params) => {
      let result;
      let error;
      // In-process sessions answer synchronously.
      session.post(method, params, (err, res) => {
        error = err;
        result = res;
      });
      if (error) throw error;
      return result;
    };
    post('HeapProfiler.enable', {});
    const holder = "(process.getBuiltinModule ? process.getBuiltinModule('node:inspector') : globalThis)";
    const evaluated = post('Runtime.evaluate', { expression: `${holder}[${JSON.stringify(key)}]`, objectGroup: 'leakwatch' });
    id = Number(post('HeapProfiler.getHeapObjectId', { objectId: evaluated.result.objectId }).heapSnapshotObjectId);
    post('Runtime.releaseObjectGroup', { objectGroup: 'leakwatch' });
    post('HeapProfiler.disable', {});
  } finally {
    delete inspector[key];
    delete globalThis[key];
    session.disconnect();
  }
  return id;
}

function isObjectLike(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

/**
 * Asserts that an object can be garbage-collected. `target` is usually a
 * function that creates the object, does the work under test and returns
 * (or resolves to) the object: the caller then never holds a reference that
 * would keep it alive. An object passed directly is checked as is. On
 * failure the AssertionError shows the path that keeps it alive.
 */
function expectCollected(target, options = {}) {
  // Not an async function: V8 keeps an async function's arguments and
  // awaited values in its frame, which would keep the object alive. Only a
  // WeakRef crosses into the part that waits.
  try {
    checkOptions(options, 'expectCollected');
    const attempts = checkPositiveInt(options.attempts, 'attempts', 3);
    if (typeof target !== 'function') return confirmCollected(weakRefTo(target, false), attempts);
    const result = target();
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return Promise.resolve(result).then((value) => confirmCollected(weakRefTo(value, true), attempts));
    }
    return confirmCollected(weakRefTo(result, true), attempts);
  } catch (err) {
    return Promise.reject(err);
  }
}

function weakRefTo(value, returned) {
  if (value !== null && (typeof value === 'object' || typeof value === 'function')) return new WeakRef(value);
  if (returned) {
    throw argError(
      `expectCollected's function must return the object that should be collected, and it returned ${value === null ? 'null' : typeof value}: ` +
        'e.g. expectCollected(() => { const conn = pool.acquire(); pool.release(conn); return conn; })',
    );
  }
  throw argError('expectCollected needs an object, or a function returning one (primitives are never collected)');
}

async function confirmCollected(ref, attempts) {
  for (let k = 0; k < attempts; k++) {
    await settle();
    if (ref.deref() === undefined) return;
  }
  // V8 numbers objects only while it takes a snapshot, so look the id up
  // afterwards; the WeakRef still reaches the object.
  const snap = await snapshotNow();
  const alive = ref.deref();
  if (alive === undefined) {
    snap.close();
    return;
  }
  const id = heapIdOf(alive);
  try {
    const node = snap.node(id);
    const path = node ? snap.retainerPath(id) : [];
    const err = new AssertionError({
      message: node
        ? `expected ${escapeTerminalDeep(node.className)} @${id} to be garbage-collected, but it is still reachable (${formatBytes(node.retainedSize)} retained):\n${formatPath(escapeTerminalDeep(path))}`
        : `expected object @${id} to be garbage-collected, but it is still alive`,
      operator: 'fail', // as in expectNoLeak: Jest shows the message, not a comparison
      stackStartFn: confirmCollected,
    });
    err.retainerPath = path;
    throw err;
  } finally {
    snap.close();
  }
}

module.exports = { expectNoLeak, expectCollected, getGc };
