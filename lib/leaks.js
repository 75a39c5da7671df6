'use strict';

const native = require('./native.js');
const { LIMITS, Snapshot, loadSnapshot } = require('./snapshot.js');
const { callNative, translate, argError, checkOptions: checkOptionsObject, checkBoolean } = require('./errors.js');
const { checkFileSequence } = require('./snapshot-order.js');

// Accept loaded snapshots or anything loadSnapshot accepts; load the others
// concurrently and close only what we opened.
async function withSnapshots(sources, options, fn) {
  const opened = [];
  try {
    const snaps = await Promise.all(
      sources.map(async (src) => {
        if (src instanceof Snapshot) return src;
        const s = await loadSnapshot(src, { signal: options.signal });
        opened.push(s);
        return s;
      }),
    );
    return await fn(snaps);
  } catch (err) {
    throw translate(err);
  } finally {
    for (const s of opened) s.close();
  }
}

/** Redaction asked for, or implied by a snapshot loaded with `redact: true`. */
function redacting(opts, snapshots) {
  return opts.redact === true || snapshots.some((s) => s.redacted);
}

function checkOptions(options, fnName) {
  const o = checkOptionsObject(options, fnName);
  checkBoolean(o.redact, 'redact', { fnName });
  return o;
}

/** Why the snapshots are not one process's history oldest first, or null. */
function fileSequenceProblem(sources) {
  try {
    checkFileSequence(sources);
    return null;
  } catch (err) {
    return { code: err.code, message: err.message };
  }
}

/**
 * DevTools' Comparison view: per class, objects allocated since `before`
 * and objects of `before` that were freed, matched by heap id. Comparing
 * a later snapshot with an earlier one, or two processes, is allowed (as in
 * DevTools); the rows' `sequence` then says so ({ code, message }: the
 * ERR_SNAPSHOT_ORDER or ERR_SNAPSHOT_MISMATCH findLeaks would throw).
 */
async function diffSnapshots(before, after, options) {
  const opts = checkOptions(options, 'diffSnapshots');
  if (before == null || after == null) throw argError('diffSnapshots needs two snapshots');
  return withSnapshots([before, after], opts, async ([a, b]) => {
    const [rows, problem] = await Promise.all([
      callNative(() => native.diffSnapshots(a._native, b._native, { redact: redacting(opts, [a, b]) })),
      callNative(() => native.checkSnapshotSequence([a._native, b._native])),
    ]);
    Object.defineProperty(rows, 'sequence', { value: fileSequenceProblem([before, after]) ?? problem ?? null, enumerable: false });
    return rows;
  });
}

function checkCount(v, name, max = 0xffffffff) {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw argError(`${name} must be an integer from 1 to ${max}`);
  return v;
}

const MAX_SNAPSHOTS = 64;

/**
 * Leak suspects from three or more snapshots of one process taken in order:
 * a baseline, then one after each equal round of work. A holder is a suspect
 * only if it grew at every step. The array also carries `notes` (growth in
 * Node's own queues, explained) and `snapshots` (per-snapshot totals).
 */
async function findLeaks(snapshots, options) {
  const opts = checkOptions(options, 'findLeaks');
  if (!Array.isArray(snapshots) || snapshots.length < 3 || snapshots.length > MAX_SNAPSHOTS || snapshots.some((s) => s == null)) {
    throw argError(`findLeaks needs an array of 3 to ${MAX_SNAPSHOTS} snapshots of one process, oldest first`);
  }
  const nativeOptions = { minCount: checkCount(opts.minCount, 'minCount'), maxSuspects: checkCount(opts.maxSuspects, 'maxSuspects', LIMITS.suspects) };
  checkFileSequence(snapshots);
  const report = await withSnapshots(snapshots, opts, (snaps) =>
    callNative(() => native.findLeaksIn(snaps.map((s) => s._native), { ...nativeOptions, redact: redacting(opts, snaps) })),
  );
  const suspects = report.suspects;
  Object.defineProperty(suspects, 'notes', { value: report.notes, enumerable: false });
  Object.defineProperty(suspects, 'snapshots', { value: report.snapshots, enumerable: false });
  return suspects;
}

module.exports = { diffSnapshots, findLeaks };
