// A Rust panic must never abort Node. For each way native code is entered
// (a synchronous call, an AsyncTask on the libuv pool, the analysis's second
// thread, the parser's second thread, the streaming parser, a tracker holding
// its lock), a child process
// arms the hidden fault hook so that path really panics, and must see a JS
// Error with code ERR_INTERNAL, keep working, and exit normally: a panic
// unwinding into napi's `extern "C"` callbacks would instead end it with
// SIGABRT.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

// root --shortcut "g"--> Thing --property "x"--> Thing
const SNAPSHOT = JSON.stringify({
  snapshot: {
    meta: {
      node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
      node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic'], 'string', 'number', 'number', 'number'],
      edge_fields: ['type', 'name_or_index', 'to_node'],
      edge_types: [['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'], 'string_or_number', 'node'],
    },
    node_count: 3,
    edge_count: 2,
  },
  nodes: [9, 0, 1, 0, 1, 3, 1, 3, 100, 1, 3, 1, 5, 50, 0],
  edges: [5, 2, 5, 2, 3, 10],
  strings: ['', 'Thing', 'g', 'x'],
});

// Big enough (about 1 MB) that the parser reads its arrays on two threads:
// root --element i--> Thing, THINGS times. Built in the child (a command
// line cannot carry it).
const THINGS = 40_000;
function bigSnapshot(meta, things) {
  return JSON.stringify({
    snapshot: { meta, node_count: things + 1, edge_count: things },
    nodes: [9, 0, 1, 0, things, ...Array.from({ length: things }, (_, k) => [3, 1, 2 * k + 3, 100, 0]).flat()],
    edges: Array.from({ length: things }, (_, k) => [1, k, 5 * (k + 1)]).flat(),
    strings: ['', 'Thing'],
  });
}

// Each scenario runs in its own child. `expectPanic(fn)` calls fn, which must
// fail with the panic; the scenario then proves the same path works again.
const PRELUDE = `
const lw = require(${JSON.stringify(ROOT)});
const binding = require(${JSON.stringify(path.join(ROOT, 'binding.js'))});
const { callNative } = require(${JSON.stringify(path.join(ROOT, 'lib', 'errors.js'))});
const bytes = Buffer.from(${JSON.stringify(SNAPSHOT)});
const bigBytes = Buffer.from((${bigSnapshot.toString()})(${JSON.stringify(JSON.parse(SNAPSHOT).snapshot.meta)}, ${THINGS}));
async function expectPanic(fn) {
  try {
    await fn();
  } catch (err) {
    return { isError: err instanceof Error, code: err.code, message: err.message };
  }
  throw new Error('the forced panic did not surface');
}
async function* chunks(size) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
`;

const SCENARIOS = {
  // NativeSnapshot.summary(): guarded by napi's #[napi(catch_unwind)] alone.
  'sync-call': `
    const snap = lw.loadSnapshotSync(bytes);
    binding.__forcePanic('sync-call');
    const failure = await expectPanic(() => snap.summary());
    const after = snap.summary().map((r) => [r.name, r.count]);
    return { failure, after };`,
  // loadSnapshot(Buffer): LoadTask::compute on the libuv pool rejects its Promise.
  task: `
    binding.__forcePanic('task');
    const failure = await expectPanic(() => lw.loadSnapshot(bytes));
    const after = (await lw.loadSnapshot(bytes)).totalSize;
    return { failure, after };`,
  // The retainer index is built on a scoped thread inside analyze(); its
  // panic is resumed on the pool thread, then caught there.
  'phase-thread': `
    binding.__forcePanic('phase-thread');
    const failure = await expectPanic(() => lw.loadSnapshot(bytes));
    binding.__forcePanic('phase-thread');
    const syncFailure = await expectPanic(() => lw.loadSnapshotSync(bytes));
    const after = (await lw.loadSnapshot(bytes)).totalSize;
    return { failure, syncFailure, after };`,
  // The parser's second thread, reading part of the nodes array: its panic
  // is resumed on the parsing thread, then caught like the others.
  'parser-thread': `
    binding.__forcePanic('parser-thread');
    const failure = await expectPanic(() => lw.loadSnapshot(bigBytes));
    binding.__forcePanic('parser-thread');
    const syncFailure = await expectPanic(() => lw.loadSnapshotSync(bigBytes));
    const after = (await lw.loadSnapshot(bigBytes)).totalSize;
    return { failure, syncFailure, after };`,
  // SnapshotStream.write(): the parser panics mid-stream; that stream is
  // finished (its parser state is unknown), a new one loads.
  parser: `
    binding.__forcePanic('parser');
    const failure = await expectPanic(() => lw.loadSnapshot(chunks(40)));
    const stream = new binding.SnapshotStream();
    binding.__forcePanic('parser');
    const direct = await expectPanic(() => callNative(() => stream.write(bytes.subarray(0, 10))));
    let reuse;
    try { callNative(() => stream.write(bytes.subarray(10))); } catch (err) { reuse = err.code; }
    const after = (await lw.loadSnapshot(chunks(7))).totalSize;
    return { failure, direct, reuse, after };`,
  // A BoundedLog flush panics while the log's lock is held; the lock must be
  // released by the unwind, or the next push would deadlock. Pushes are staged
  // in JS, so the read that flushes them is where the panic surfaces (and the
  // staged 'b' is what it loses).
  tracker: `
    const log = new lw.BoundedLog({ maxEntries: 10 });
    log.push('a');
    log.toArray();
    binding.__forcePanic('tracker');
    log.push('b');
    const failure = await expectPanic(() => log.toArray());
    log.push('c');
    log.toArray();
    // A shared log flushes at the end of the pushing job: that flush has no
    // caller, so a panic there is a warning, not an uncaught error.
    const shared = lw.BoundedLog.shared('no-abort', { maxEntries: 10 });
    binding.__forcePanic('tracker');
    const warned = new Promise((resolve) => process.once('warning', (w) => resolve(w.code)));
    shared.push('d');
    const background = await warned;
    shared.push('e');
    const after = [...log.toArray(), ...shared.toArray()];
    return { failure, background, after };`,
};

function runChild(name) {
  const script = `${PRELUDE}
(async () => { ${SCENARIOS[name]} })().then(
  (result) => { process.stdout.write(JSON.stringify(result)); },
  (err) => { console.error(err); process.exitCode = 2; });`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
}

function check(name, verify) {
  test(`a panic on the ${name} path is a JS error, not an abort`, () => {
    const child = runChild(name);
    assert.equal(child.signal, null, `child was killed by ${child.signal}; stderr:\n${child.stderr}`);
    assert.equal(child.status, 0, `child failed; stderr:\n${child.stderr}`);
    // The default hook printed the panic: it really happened, and was caught.
    assert.match(child.stderr, /panicked at .*\n.*fault injected at/);
    verify(JSON.parse(child.stdout));
  });
}

function isPanicError(failure, site) {
  assert.equal(failure.isError, true);
  assert.equal(failure.code, 'ERR_INTERNAL');
  assert.match(failure.message, new RegExp(`fault injected at ${site}`));
}

check('sync-call', (r) => {
  isPanicError(r.failure, 'SyncCall');
  assert.deepEqual(r.after, [['Thing', 2]]);
});

check('task', (r) => {
  isPanicError(r.failure, 'Task');
  assert.equal(r.after, 150);
});

check('phase-thread', (r) => {
  isPanicError(r.failure, 'PhaseThread');
  isPanicError(r.syncFailure, 'PhaseThread');
  assert.equal(r.after, 150);
});

check('parser-thread', (r) => {
  isPanicError(r.failure, 'ParserThread');
  isPanicError(r.syncFailure, 'ParserThread');
  assert.equal(r.after, THINGS * 100);
});

check('parser', (r) => {
  isPanicError(r.failure, 'Parser');
  isPanicError(r.direct, 'Parser');
  assert.equal(r.reuse, 'ERR_STREAM_FINISHED');
  assert.equal(r.after, 150);
});

check('tracker', (r) => {
  isPanicError(r.failure, 'Tracker');
  assert.equal(r.background, 'LEAKWATCH_LOG_FLUSH_FAILED');
  assert.deepEqual(r.after, ['a', 'c', 'e']);
});

test('the fault hook names only known sites', () => {
  const child = spawnSync(process.execPath, ['-e', `
    const binding = require(${JSON.stringify(path.join(ROOT, 'binding.js'))});
    try { binding.__forcePanic('nowhere'); } catch (err) { process.stdout.write(err.message); }`], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, "ERR_INVALID_ARG: no fault site named 'nowhere'");
});
