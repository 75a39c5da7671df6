// BoundedLog: bounds by count and bytes, nothing lost silently (counters and
// spill file), shared logs across worker threads, bad input.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { leakwatch, OUT, ROOT } from './helpers.mjs';

const { BoundedLog } = leakwatch;

test('drop-oldest keeps the newest entries within both bounds and counts every drop', () => {
  const log = new BoundedLog({ maxEntries: 3, maxBytes: 12 });
  for (const s of ['a1', 'b2', 'c3', 'd4']) assert.equal(log.push(s), true);
  assert.deepEqual(log.toArray(), ['b2', 'c3', 'd4']);
  assert.equal(log.push('eeeeeeeeee'), true);
  assert.deepEqual(log.toArray(), ['d4', 'eeeeeeeeee']);
  assert.deepEqual([log.size, log.bytes, log.dropped, log.rejected], [2, 12, 3, 0]);
  log.close();
});

test('strings, Buffers and JSON values round-trip; tail, iteration, drain and clear', () => {
  const log = new BoundedLog({ maxEntries: 100 });
  log.push('plain');
  log.push(Buffer.from([1, 2, 255]));
  log.push({ url: '/x', status: 200, tags: ['a'] });
  log.push(42);
  log.push(null);
  assert.deepEqual(log.tail(2), [42, null]);
  const all = [...log];
  assert.equal(all[0], 'plain');
  assert.ok(Buffer.isBuffer(all[1]));
  assert.deepEqual([...all[1]], [1, 2, 255]);
  assert.deepEqual(all[2], { url: '/x', status: 200, tags: ['a'] });
  assert.equal(log.bytes, 5 + 3 + JSON.stringify(all[2]).length + 2 + 4);
  assert.deepEqual(log.drain().length, 5);
  assert.deepEqual([log.size, log.bytes, log.dropped], [0, 0, 0]);
  log.push('again');
  log.clear();
  assert.deepEqual(log.toArray(), []);
  log.close();
  assert.equal(log.closed, true);
  assert.throws(() => log.push('late'), { code: 'ERR_LOG_CLOSED' });
});

test('iteration pages through more entries than one native read returns', () => {
  const log = new BoundedLog({ maxEntries: 5000 });
  for (let i = 0; i < 3000; i++) log.push(`e${i}`);
  let n = 0;
  for (const e of log) assert.equal(e, `e${n++}`);
  assert.equal(n, 3000);
  log.close();
});

test('reject mode and oversize entries are counted rejections', () => {
  const log = new BoundedLog({ maxEntries: 2, maxBytes: 100, onOverflow: 'reject' });
  assert.equal(log.push('a'), true);
  assert.equal(log.push('b'), true);
  assert.equal(log.push('c'), false);
  assert.equal(log.push('x'.repeat(101)), false);
  assert.deepEqual(log.toArray(), ['a', 'b']);
  assert.deepEqual([log.dropped, log.rejected], [0, 2]);
  const small = new BoundedLog({ maxEntries: 10, maxBytes: 4 });
  assert.equal(small.push('12345'), false);
  assert.equal(small.rejected, 1);
  log.close();
  small.close();
});

test('dropped and rejected entries go to the spill file, flushed on close()', () => {
  const file = path.join(OUT, `spill-close-${process.pid}.jsonl`);
  fs.rmSync(file, { force: true });
  const log = new BoundedLog({ maxEntries: 2, spillTo: file });
  log.push('one');
  log.push({ n: 2 });
  log.push(Buffer.from('hi'));
  log.push('four');
  log.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines, ['one', { n: 2 }]);
});

test('the spill file is flushed on process exit without close()', () => {
  const file = path.join(OUT, `spill-exit-${process.pid}.jsonl`);
  fs.rmSync(file, { force: true });
  const script = `
    const { BoundedLog } = require(${JSON.stringify(ROOT)});
    const log = new BoundedLog({ maxEntries: 10, spillTo: ${JSON.stringify(file)} });
    for (let i = 0; i < 1000; i++) log.push('entry ' + i);
    globalThis.keep = log;
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 990);
  assert.equal(JSON.parse(lines[989]), 'entry 989');
});

test('bad options and entries give errors with a code', () => {
  const bad = [{ maxEntries: -1 }, { maxEntries: 0 }, { maxBytes: 1.5 }, { maxBytes: '10' },
    { onOverflow: 'drop-newest' }, { spillTo: 7 }, { spillTo: '' }];
  for (const opts of bad) assert.throws(() => new BoundedLog(opts), { code: 'ERR_INVALID_ARG' }, JSON.stringify(opts));
  for (const options of [null, 'x', Symbol('o'), 10n, 5, [], () => {}]) {
    assert.throws(() => new BoundedLog(options), { code: 'ERR_INVALID_ARG' }, String(typeof options));
    assert.throws(() => BoundedLog.shared('named', options), { code: 'ERR_INVALID_ARG' });
  }
  for (const value of [Symbol('v'), 10n, null, NaN, {}]) {
    assert.throws(() => new BoundedLog({ maxEntries: value }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => new BoundedLog({ onOverflow: value }), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => new BoundedLog({ spillTo: value }), { code: 'ERR_INVALID_ARG' });
  }
  for (const name of [null, 5, Symbol('n'), 10n, {}]) assert.throws(() => BoundedLog.shared(name), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => new BoundedLog({ spillTo: '/nonexistent-dir/x/spill.jsonl' }), { code: 'ERR_LOG_SPILL' });
  const log = new BoundedLog();
  const circular = {};
  circular.self = circular;
  assert.throws(() => log.push(circular), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => log.push(undefined), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => log.push(() => {}), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => log.push(10n), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => log.tail(-1), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => BoundedLog.shared('', {}), { code: 'ERR_INVALID_ARG' });
  assert.equal(log.size, 0);
  log.close();
});

test('spill files are 0600, never written through a link, never another user\u2019s or a looser mode', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-spill-'));
  const fresh = path.join(dir, 'fresh.jsonl');
  const log = new BoundedLog({ maxEntries: 1, spillTo: fresh });
  log.push('secret-1');
  log.push('secret-2');
  log.close();
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(fresh, 'utf8'), '"secret-1"\n');
  // Appending to an existing file narrows a looser mode first.
  fs.chmodSync(fresh, 0o644);
  new BoundedLog({ spillTo: fresh }).close();
  assert.equal(fs.statSync(fresh).mode & 0o777, 0o600);
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'keep');
  fs.symlinkSync(victim, path.join(dir, 'link.jsonl'));
  assert.throws(() => new BoundedLog({ spillTo: path.join(dir, 'link.jsonl') }), { code: 'ERR_LOG_SPILL' });
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep');
});

test('staged pushes are visible to every read at once, in order, with Buffers and oversize entries in between', () => {
  const log = new BoundedLog({ maxEntries: 1000, maxBytes: 90 });
  log.push('a');
  assert.equal(log.size, 1, 'size flushes the staged entry');
  const buf = Buffer.from('xy');
  log.push('b');
  log.push(buf);
  buf[0] = 0x7a;
  log.push({ c: 1 });
  log.push('d'.repeat(40));
  assert.deepEqual(log.tail(5).map((e) => (Buffer.isBuffer(e) ? e.toString() : e)), ['a', 'b', 'xy', { c: 1 }, 'd'.repeat(40)]);
  log.push('e');
  assert.deepEqual([...log].at(-1), 'e');
  log.push('f');
  assert.deepEqual(log.drain().at(-1), 'f');
  log.push('g');
  log.clear();
  assert.deepEqual([log.size, log.dropped], [0, 0]);
  log.close();
});

test('many staged batches keep exact sizes, bytes and drops; lone surrogates at a boundary survive', () => {
  const log = new BoundedLog({ maxEntries: 700, maxBytes: Infinity });
  let bytes = 0;
  for (let i = 0; i < 5000; i++) {
    const e = `entry-${i}-é`;
    log.push(e);
    if (i >= 4300) bytes += Buffer.byteLength(e);
  }
  assert.deepEqual([log.size, log.dropped, log.bytes], [700, 4300, bytes]);
  assert.equal(log.tail(1)[0], 'entry-4999-é');
  log.clear();
  // Joined, these two would form one character; each must stay a lone (replaced) surrogate.
  log.push('x\uD83D');
  log.push('\uDE00y');
  assert.deepEqual(log.toArray(), ['x\uFFFD', '\uFFFDy']);
  log.close();
});

// A small drop-oldest log overwrites staged entries instead of copying them;
// the reference reads after every push, which hands each entry over alone.
test('a flood into a small log stores and counts exactly what pushing one by one does', () => {
  // Every fifth entry is long, so that the staged characters, not only the
  // entry count, also end a batch.
  const entry = (i) => (i % 7 === 0 ? { i, tag: 'é'.repeat(i % 5) } : i % 3 === 0 ? '' : i % 5 === 0
    ? `long ${i} ${'y'.repeat(300 + (i % 200))}`
    : `e${i}-${'x'.repeat(i % 40)}-€`);
  for (const opts of [
    { maxEntries: 100 },
    { maxEntries: 100, maxBytes: 900 },
    { maxEntries: 1, maxBytes: 64 },
    { maxEntries: 16_384, maxBytes: 50_000 },
  ]) {
    const flood = new BoundedLog(opts);
    const reference = new BoundedLog(opts);
    // Some entries are stored before the flood, so it also evicts those.
    for (let i = 0; i < 30; i++) {
      flood.push(`before ${i}`);
      reference.push(`before ${i}`);
      reference.size;
    }
    flood.size;
    for (let i = 0; i < 40_000; i++) {
      flood.push(entry(i));
      reference.push(entry(i));
      reference.size;
    }
    const stats = (log) => {
      const { size, bytes, dropped, rejected } = log.stats();
      return { size, bytes, dropped, rejected };
    };
    assert.deepEqual(stats(flood), stats(reference), JSON.stringify(opts));
    const { size, dropped, rejected } = stats(flood);
    assert.equal(size + dropped + rejected, 40_030);
    assert.deepEqual(flood.toArray(), reference.toArray(), JSON.stringify(opts));
    flood.close();
    reference.close();
  }
});

test('dropped entries reach the spill file even when they were staged', () => {
  const file = path.join(OUT, `spill-staged-${process.pid}.jsonl`);
  fs.rmSync(file, { force: true });
  const log = new BoundedLog({ maxEntries: 10, spillTo: file });
  for (let i = 0; i < 600; i++) log.push(i % 2 ? `s${i}` : { i });
  log.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 590);
  assert.deepEqual(lines.slice(0, 3), [{ i: 0 }, 's1', { i: 2 }]);
  assert.deepEqual(lines.at(-1), 's589');
});

function runWorker(code) {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    let msg;
    w.on('message', (m) => { msg = m; });
    w.on('error', reject);
    w.on('exit', () => resolve(msg));
  });
}

test('a shared log takes pushes from several worker threads; mismatched options are refused', async () => {
  const opts = { maxEntries: 100_000, maxBytes: Infinity };
  const main = BoundedLog.shared('workers', opts);
  assert.throws(() => BoundedLog.shared('workers', { maxEntries: 5 }), { code: 'ERR_LOG_OPTIONS' });
  const code = (i) => `
    const { parentPort } = require('node:worker_threads');
    const { BoundedLog } = require(${JSON.stringify(ROOT)});
    const log = BoundedLog.shared('workers', { maxEntries: 100000, maxBytes: Infinity });
    for (let k = 0; k < 2500; k++) log.push({ w: ${i}, k });
    parentPort.postMessage(log.size);`;
  await Promise.all([0, 1, 2, 3].map((i) => runWorker(code(i))));
  assert.equal(main.size, 10_000);
  const perWorker = [0, 0, 0, 0];
  const lastK = [-1, -1, -1, -1];
  for (const e of main) {
    perWorker[e.w]++;
    assert.equal(e.k, lastK[e.w] + 1, 'each worker’s entries stay in order');
    lastK[e.w] = e.k;
  }
  assert.deepEqual(perWorker, [2500, 2500, 2500, 2500]);
  main.close();
});

test('a shared log sees another thread’s staged pushes once that thread’s job ends, while it still runs', async () => {
  const main = BoundedLog.shared('staged-visibility', { maxEntries: 100 });
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const { BoundedLog } = require(${JSON.stringify(ROOT)});
    const log = BoundedLog.shared('staged-visibility', { maxEntries: 100 });
    log.push('from worker');
    setTimeout(() => parentPort.postMessage('pushed'), 0);
    setInterval(() => {}, 1000);`, { eval: true });
  const msg = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(msg, 'pushed');
  assert.deepEqual(main.toArray(), ['from worker']);
  await w.terminate();
  main.close();
});

test('a worker terminated mid-job: what it staged is counted as dropped, not lost silently', async () => {
  const main = BoundedLog.shared('terminated', { maxEntries: 1e7, maxBytes: Infinity });
  const pushed = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { BoundedLog } = require(${JSON.stringify(ROOT)});
    const log = BoundedLog.shared('terminated', { maxEntries: 1e7, maxBytes: Infinity });
    for (let i = 1; ; i++) {
      log.push('entry ' + i);
      workerData[0] = i;
      if (i === 1000) parentPort.postMessage('pushing');
    }`, { eval: true, workerData: pushed });
  await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  const n = Atomics.load(pushed, 0);
  assert.ok(n >= 1000, `pushed ${n}`);
  // The last push may have happened without its count being written.
  const accounted = main.size + main.dropped;
  assert.ok(accounted === n || accounted === n + 1, `${main.size} stored + ${main.dropped} dropped for ${n} pushed`);
  assert.ok(main.dropped <= 256, 'only the unfinished batch');
  main.close();
});

test('a worker exiting frees its tracker state', async () => {
  const { trackerCounts } = await import('../binding.js').then((m) => m.default ?? m);
  const before = trackerCounts().threads;
  const during = await runWorker(`
    const { parentPort } = require('node:worker_threads');
    const lw = require(${JSON.stringify(ROOT)});
    const { EventEmitter } = require('node:events');
    lw.trackEmitter(new EventEmitter(), { name: 'in-worker' });
    const log = new lw.BoundedLog();
    log.push('x');
    parentPort.postMessage(require(${JSON.stringify(path.join(ROOT, 'binding.js'))}).trackerCounts().threads);`);
  assert.equal(during, before + 1);
  assert.equal(trackerCounts().threads, before);
  assert.equal(leakwatch.listeners.report().emitters.some((e) => e.name === 'in-worker'), false);
});
