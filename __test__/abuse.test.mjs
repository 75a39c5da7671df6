// Wrong-typed arguments and options are errors with a code, never ignored:
// every analyzer function and Snapshot method, the CLI, the test assertions
// and the heap monitor, called with null, Symbols, BigInts, strings, numbers,
// arrays and functions where an options object or a number belongs.
// (The runtime trackers add their rows in their own tests.)
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { inspect } from 'node:util';
import { OUT, ROOT, fixture, leakwatch } from './helpers.mjs';

const NOT_OPTIONS = [null, Symbol('options'), 10n, 'x', 5, true, [], () => {}];
const NOT_IDS = [-1, 1.5, NaN, Infinity, 2 ** 53 + 2, '12', null, Symbol('id'), 10n, {}, []];
const CLI = path.join(ROOT, 'bin', 'leakwatch.js');

function describe(v) {
  return inspect(v, { breakLength: Infinity });
}

/** Calls `call(bad)` for each value; each must throw or reject ERR_INVALID_ARG. */
async function rejectsEach(what, values, call) {
  for (const bad of values) {
    let outcome;
    try {
      outcome = await call(bad);
    } catch (err) {
      assert.ok(err instanceof Error, `${what}(${describe(bad)}) threw a non-Error`);
      assert.equal(err.code, 'ERR_INVALID_ARG', `${what}(${describe(bad)}): ${err.code} ${err.message}`);
      assert.ok(err.message.length > 10);
      continue;
    }
    assert.fail(`${what}(${describe(bad)}) was accepted and returned ${typeof outcome}`);
  }
}

test('analyzer functions reject wrong-typed sources and options with ERR_INVALID_ARG', async () => {
  const file = fixture('bare');
  const { loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync, diffSnapshots, findLeaks } = leakwatch;
  await rejectsEach('loadSnapshot(file, …)', NOT_OPTIONS, (o) => loadSnapshot(file, o));
  await rejectsEach('loadSnapshotSync(file, …)', NOT_OPTIONS, (o) => loadSnapshotSync(file, o));
  await rejectsEach('analyzeSnapshot(file, …)', NOT_OPTIONS, (o) => analyzeSnapshot(file, o));
  await rejectsEach('analyzeSnapshotSync(file, …)', NOT_OPTIONS, (o) => analyzeSnapshotSync(file, o));
  await rejectsEach('diffSnapshots(a, b, …)', NOT_OPTIONS, (o) => diffSnapshots(file, file, o));
  await rejectsEach('findLeaks(files, …)', NOT_OPTIONS, (o) => findLeaks([file, file, file], o));
  await rejectsEach('loadSnapshot(…)', [null, undefined, 5, Symbol('s'), 10n, {}, [], ''], (s) => loadSnapshot(s));
  await rejectsEach('loadSnapshotSync(…)', [null, undefined, 5, Symbol('s'), 10n, {}, [], ''], (s) => loadSnapshotSync(s));
  // Option values of the wrong type or beyond their documented maximum.
  const badValues = [
    { top: -1 }, { top: 1.5 }, { top: '10' }, { top: 10n }, { top: 1001 }, { top: null },
    { maxClasses: -1 }, { maxClasses: 100_001 }, { maxSteps: 1 }, { maxSteps: 1001 }, { maxSteps: 'all' },
    { redact: 'yes' }, { redact: 1 }, { redact: null },
    { tpo: 5 }, { [Symbol('key')]: 1 },
  ];
  await rejectsEach('analyzeSnapshotSync(file, {…})', badValues, (o) => analyzeSnapshotSync(file, o));
  await rejectsEach('analyzeSnapshot(file, {…})', badValues, (o) => analyzeSnapshot(file, o));
  await rejectsEach('loadSnapshot(file, {…})', [{ signal: 'nope' }, { onProgress: 5 }, { progressIntervalMs: 0 }, { progressIntervalMs: 'x' }, { top: 5 }], (o) => loadSnapshot(file, o));
  await rejectsEach('diffSnapshots(a, b, {…})', [{ redact: 'yes' }], (o) => diffSnapshots(file, file, o));
  await rejectsEach('findLeaks(files, {…})', [{ redact: 'yes' }, { minCount: 0 }, { maxSuspects: -1 }, { maxSuspects: 1001 }], (o) => findLeaks([file, file, file], o));
});

test('every Snapshot method rejects wrong-typed ids, counts and options', async () => {
  const snap = await leakwatch.loadSnapshot(fixture('bare'));
  try {
    const id = snap.topRetainers(1)[0].id;
    for (const method of ['report', 'summary', 'columns']) {
      await rejectsEach(`snap.${method}`, NOT_OPTIONS, (o) => snap[method](o));
      await rejectsEach(`snap.${method}`, [{ redact: 'yes' }, { nope: 1 }], (o) => snap[method](o));
    }
    for (const method of ['node', 'retainerPath', 'dominatorChain', 'children', 'edges', 'retainers']) {
      await rejectsEach(`snap.${method}`, NOT_IDS, (bad) => snap[method](bad));
      await rejectsEach(`snap.${method}(id, …)`, NOT_OPTIONS, (o) => snap[method](id, o));
      await rejectsEach(`snap.${method}(id, {…})`, [{ redact: 1 }, { unknown: true }], (o) => snap[method](id, o));
    }
    for (const method of ['dominatorChain', 'children', 'edges', 'retainers']) {
      await rejectsEach(`snap.${method}(id, {…})`, [{ limit: -1 }, { limit: 1.5 }, { limit: 100_001 }, { offset: -1 }, { offset: '0' }], (o) => snap[method](id, o));
    }
    await rejectsEach('snap.retainerPath(id, {…})', [{ maxSteps: 0 }, { maxSteps: 1001 }, { offset: 1 }], (o) => snap.retainerPath(id, o));
    await rejectsEach('snap.topRetainers', [-1, 1.5, '3', null, Symbol('n'), 10n, 100_001], (n) => snap.topRetainers(n));
    await rejectsEach('snap.topRetainers(3, …)', NOT_OPTIONS, (o) => snap.topRetainers(3, o));
    // The controls: well-typed calls answer.
    assert.ok(snap.report({ top: 3, redact: true, maxSteps: 5 }).top.length === 3);
    assert.ok(Array.isArray(snap.edges(id, { offset: 0, limit: 2 })));
  } finally {
    snap.close();
  }
  assert.throws(() => snap.summary(), { code: 'ERR_SNAPSHOT_CLOSED' });
  // Snapshot is exported for instanceof; constructing one is not a way in.
  await rejectsEach('new Snapshot(…)', [undefined, null, 1, {}, snap], (n) => new leakwatch.Snapshot(n));
  assert.ok(snap instanceof leakwatch.Snapshot);
});

test('expectNoLeak, expectCollected and the monitor reject wrong-typed options', async () => {
  await rejectsEach('expectNoLeak(fn, …)', NOT_OPTIONS, (o) => leakwatch.expectNoLeak(() => {}, o));
  await rejectsEach('expectNoLeak(fn, {…})', [{ iterations: 0 }, { iterations: '5' }, { warmup: -1 }, { redact: 'yes' }, { maxSuspects: 0 }, { maxSuspects: 1001 }], (o) => leakwatch.expectNoLeak(() => {}, o));
  await rejectsEach('expectNoLeak(…)', [null, 'fn', 5, {}], (fn) => leakwatch.expectNoLeak(fn));
  await rejectsEach('expectCollected(obj, …)', NOT_OPTIONS, (o) => leakwatch.expectCollected(() => ({}), o));
  await rejectsEach('expectCollected(…)', [null, 5, 'x', Symbol('x'), 10n], (v) => leakwatch.expectCollected(v));
  await rejectsEach('expectCollected(obj, {…})', [{ redact: 1 }, { attempts: 0 }], (o) => leakwatch.expectCollected(() => ({}), o));
  await rejectsEach('new Monitor(…)', NOT_OPTIONS, (o) => new leakwatch.Monitor(o));
  await rejectsEach('monitor(…)', NOT_OPTIONS, (o) => leakwatch.monitor(o).stop());
  const m = new leakwatch.Monitor();
  await rejectsEach('monitor.record(…)', [...NOT_OPTIONS, { heapUsed: -5 }, { heapUsed: NaN }, { heapUsed: '5' }, { afterGc: 'yes' }], (r) => m.record(r));
  await rejectsEach('monitor.register(…)', [null, 5, {}, 'registry'], (r) => m.register(r));
});

test('the CLI exits 2 with one line for bad arguments, never a stack trace', () => {
  const file = fixture('bare');
  const cases = [
    ['analyze', file, '--top', '-1'],
    ['analyze', file, '--top', 'abc'],
    ['analyze', file, '--top', '99999999'],
    ['analyze', file, '--classes', 'x'],
    ['analyze', file, '--html'],
    ['analyze', file, '--no-such-flag'],
    ['analyze'],
    ['analyze', path.join(OUT, 'no-such-file.heapsnapshot')],
    ['diff', file],
    ['leaks', file, file],
    ['no-such-command'],
  ];
  for (const args of cases) {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `leakwatch ${args.join(' ')} exits 2 (got ${r.status}): ${r.stderr}`);
    assert.match(r.stderr, /^leakwatch: /, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `leakwatch ${args.join(' ')} printed a stack trace`);
  }
});
