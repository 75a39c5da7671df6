'use strict';

const native = require('./native.js');
const { Snapshot, loadSnapshot } = require('./snapshot.js');
const { callNative, translate, argError, checkOptions: checkOptionsObject, checkBoolean } = require('./errors.js');

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

/**
 * DevTools' Comparison view: per class, objects allocated since `before`
 * and objects of `before` that were freed, matched by heap id.
 */
async function diffSnapshots(before, after, options) {
  const opts = checkOptions(options, 'diffSnapshots');
  if (before == null || after == null) throw argError('diffSnapshots needs two snapshots');
  return withSnapshots([before, after], opts, ([a, b]) =>
    callNative(() => native.diffSnapshots(a._native, b._native, { redact: redacting(opts, [a, b]) })),
  );
}

function checkCount(v, name) {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) throw argError(`${name} must be a positive integer`);
  return v;
}

/**
 * Leak suspects from three snapshots of one process taken in order:
 * a baseline, after some work, after the same amount of work again.
 */
async function findLeaks(snapshots, options) {
  const opts = checkOptions(options, 'findLeaks');
  if (!Array.isArray(snapshots) || snapshots.length !== 3 || snapshots.some((s) => s == null)) {
    throw argError('findLeaks needs an array of three snapshots, oldest first');
  }
  const nativeOptions = { minCount: checkCount(opts.minCount, 'minCount'), maxSuspects: checkCount(opts.maxSuspects, 'maxSuspects') };
  return withSnapshots(snapshots, opts, (snaps) => {
    const [a, b, c] = snaps;
    return callNative(() => native.findLeaksIn(a._native, b._native, c._native, { ...nativeOptions, redact: redacting(opts, snaps) }));
  });
}

module.exports = { diffSnapshots, findLeaks };
