'use strict';

// Test-suite assertions: run code, snapshot the heap in-process (streamed
// straight into the engine, never written to disk), and fail with the
// retainer path of whatever leaked.

const v8 = require('node:v8');
const inspector = require('node:inspector');
const { AssertionError } = require('node:assert');
const native = require('./native.js');
const { LIMITS, loadSnapshot } = require('./snapshot.js');
const { argError, callNative, checkBoolean, checkOptions, translate } = require('./errors.js');
const { formatBytes, formatPath } = require('./format.js');
const { escapeTerminalDeep } = require('./terminal.js');
const { getGc, settle, withNodeNextTick } = require('./gc.js');
const { trackAllocations, trackingActive } = require('./allocation-tracking.js');

async function snapshotNow() {
  await settle();
  return withNodeNextTick(() => loadSnapshot(v8.getHeapSnapshot()));
}

/** Allocation tracking in this process, for snapshots that say where objects were allocated. */
function startAllocationTracking() {
  return trackAllocations(settle);
}

function checkPositiveInt(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw argError(`${name} must be a positive integer`);
  return value;
}

/** Calls of the short tracked run that finds where a leak allocates. */
const TRACKED_ITERATIONS = 20;

function describeSuspects(suspects) {
  // Test runners print this message to a terminal: no control characters
  // from the snapshot's names may reach it raw.
  return escapeTerminalDeep(suspects)
    .map((s, i) => {
      const path = formatPath(s.retainerPath, { indent: '     ' });
      const site = s.allocationSites && s.allocationSites[0];
      const where = site ? `\n     allocated in ${site.functionName || '(anonymous)'} (${site.script}:${site.line})` : '';
      return `  ${i + 1}. [${s.kind}, ${s.confidence} confidence] ${s.explanation}${where}\n     retained by:\n${path}`;
    })
    .join('\n');
}

/**
 * Runs the rounds and takes the snapshots in this process. The snapshots
 * live in native memory only (a SnapshotSeries), so the heap under test does
 * not grow by a handle per snapshot.
 */
async function measure(fn, { warmup, iterations, snapshots, minCount, maxSuspects, redact, track }) {
  let call = 0;
  const runRound = async (n) => {
    for (let k = 0; k < n; k++) await fn(call++);
  };
  const tracker = track ? trackAllocations(settle) : null;
  const series = new native.SnapshotSeries();
  // While a snapshot is taken this code is on the stack, and what only the
  // stack holds is not reachable from a user root: state that `fn` closes
  // over (a test's local Map) would be invisible. A global keeps `fn`, and
  // through it that state, on a path that names it.
  const anchor = Symbol('leakwatch: function under test');
  Object.defineProperty(globalThis, anchor, { value: fn, configurable: true });
  try {
    await runRound(warmup);
    for (let k = 0; k < snapshots; k++) {
      if (k > 0) await runRound(iterations);
      let snap;
      if (tracker) {
        snap = await tracker.snapshot();
      } else {
        await settle();
        snap = await withNodeNextTick(() => loadSnapshot(v8.getHeapSnapshot()));
      }
      callNative(() => series.push(snap._native));
      snap.close();
    }
    if (tracker) tracker.stop();
    const report = await callNative(() => series.findLeaks({ minCount, maxSuspects, redact }));
    const suspects = report.suspects;
    // The rounds run from this file: its frames are not the caller's code.
    const ours = (f) => f.script === __filename || f.script === `file://${__filename}`;
    for (const s of suspects) {
      for (const site of s.allocationSites) {
        site.callers = site.callers.filter((f) => !ours(f));
        if (site.appFrame && ours(site.appFrame)) delete site.appFrame;
      }
    }
    Object.defineProperty(suspects, 'notes', { value: report.notes, enumerable: false });
    Object.defineProperty(suspects, 'snapshots', { value: report.snapshots, enumerable: false });
    return { suspects, heapSizes: callNative(() => series.totalSizes()), tracked: Boolean(tracker) };
  } catch (err) {
    throw translate(err);
  } finally {
    delete globalThis[anchor];
    if (tracker) tracker.stop();
    series.clear();
  }
}

/**
 * Runs `fn` `warmup` times, then `iterations` times before each further
 * snapshot (`snapshots` in all, 3 by default), and throws an AssertionError
 * listing the leak suspects with their retainer paths. A holder is a suspect
 * only if it grew at every step. With `allocationSites: 'auto'` (the
 * default) a run that finds suspects is followed by a short one with
 * allocation tracking on, so the error names the function and file:line
 * that allocated what leaked; `true` tracks the whole run (slow), `false`
 * never. Resolves with the report when clean.
 */
async function expectNoLeak(fn, options = {}) {
  if (typeof fn !== 'function') throw argError('expectNoLeak needs a function to run');
  checkOptions(options, 'expectNoLeak');
  const iterations = checkPositiveInt(options.iterations, 'iterations', 100);
  const warmup = options.warmup === 0 ? 0 : checkPositiveInt(options.warmup, 'warmup', Math.max(1, Math.ceil(iterations / 4)));
  const snapshots = checkPositiveInt(options.snapshots, 'snapshots', 3);
  if (snapshots < 3 || snapshots > 64) throw argError('snapshots must be between 3 and 64');
  // A leak of one object per call leaves ~`iterations` survivors per round;
  // requiring half of that keeps one-off caches and lazy compilation quiet.
  const minCount = checkPositiveInt(options.minCount, 'minCount', Math.max(4, Math.floor(iterations / 2)));
  const maxSuspects = options.maxSuspects === undefined ? undefined : checkPositiveInt(options.maxSuspects, 'maxSuspects');
  if (maxSuspects > LIMITS.suspects) throw argError(`maxSuspects must be at most ${LIMITS.suspects}`);
  // A test's output goes to CI logs: redact keeps the program's data out of
  // the message, as it does for findLeaks.
  const redact = checkBoolean(options.redact, 'redact', { fnName: 'expectNoLeak' });
  const sites = options.allocationSites === undefined ? 'auto' : options.allocationSites;
  if (sites !== 'auto' && sites !== true && sites !== false) throw argError("allocationSites must be true, false or 'auto'");
  // V8 has one allocation tracker: when the caller runs one, leave it alone.
  const canTrack = !trackingActive();
  const plan = { warmup, iterations, snapshots, minCount, maxSuspects, redact, track: sites === true && canTrack };
  const result = await measure(fn, plan);
  if (result.suspects.length > 0 && sites === 'auto' && canTrack) {
    // The leak keeps leaking: a short second run with tracking on says where
    // it allocates. Tracking makes every allocation many times slower (see
    // the README), so that run is kept short; its sites go to the suspects
    // of the full run with the same holder.
    const short = Math.min(iterations, TRACKED_ITERATIONS);
    let tracked = { suspects: [] };
    try {
      tracked = await measure(fn, { ...plan, warmup: 1, iterations: short, minCount: Math.min(minCount, Math.max(4, Math.floor(short / 2))), track: true });
    } catch {
      // No inspector in this build, or the function failed this time: the
      // suspects of the full run stand, without sites.
    }
    for (const s of result.suspects) {
      const same = tracked.suspects.find((t) => t.holder.id === s.holder.id);
      if (same) s.allocationSites = same.allocationSites;
    }
    result.tracked = tracked.suspects.length > 0;
  }
  const report = { suspects: result.suspects, iterations, snapshots, heapSizes: result.heapSizes, allocationTracking: result.tracked };
  const { suspects } = result;
  if (suspects.length > 0) {
    const err = new AssertionError({
      message: `expected no leak after ${iterations * (snapshots - 1)} calls, found ${suspects.length} suspect${suspects.length === 1 ? '' : 's'}:\n${describeSuspects(suspects)}`,
      // operator 'fail', as assert.fail() sets it: test runners that render
      // assertion errors specially (Jest) then show the message alone instead
      // of an actual/expected comparison of two undefineds.
      operator: 'fail',
      stackStartFn: expectNoLeak,
    });
    err.suspects = suspects;
    err.report = report;
    throw err;
  }
  return report;
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
    const check = { attempts, redact: checkBoolean(options.redact, 'redact', { fnName: 'expectCollected' }) };
    if (typeof target !== 'function') return confirmCollected(weakRefTo(target, false), check);
    const result = target();
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return Promise.resolve(result).then((value) => confirmCollected(weakRefTo(value, true), check));
    }
    return confirmCollected(weakRefTo(result, true), check);
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

async function confirmCollected(ref, { attempts, redact }) {
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
    const node = snap.node(id, { redact });
    const path = node ? snap.retainerPath(id, { redact }) : [];
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

module.exports = { expectNoLeak, expectCollected, getGc, trackAllocations: startAllocationTracking };
