// Allocation sites: snapshots taken with V8's allocation tracking say which
// function and line allocated what leaked, in expectNoLeak's errors and in
// findLeaks on tracked snapshot files. And expectNoLeak of code that does
// not leak stays clean in a fresh process, whatever V8 compiles meanwhile.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { leakwatch, OUT, ROOT } from './helpers.mjs';

const { expectNoLeak, findLeaks, trackAllocations } = leakwatch;
const HERE = fileURLToPath(import.meta.url);
const SOURCE = fs.readFileSync(HERE, 'utf8').split('\n');
const lineOf = (text) => SOURCE.findIndex((l) => l.includes(text)) + 1;

const sessions = [];
function openSession(i) {
  sessions.push({ id: `s${i}`, user: { name: `u${i}` } });
}

test('expectNoLeak names the function and line that allocated the leak', async () => {
  await assert.rejects(expectNoLeak((i) => openSession(i), { iterations: 40 }), (err) => {
    const top = err.suspects[0];
    assert.equal(top.kind, 'collection');
    assert.equal(top.holderName, 'sessions');
    const site = top.allocationSites[0];
    assert.ok(site, 'an allocation site');
    assert.equal(site.functionName, 'openSession');
    assert.equal(site.script, pathToFileURL(HERE).href, 'the script as stack traces name it');
    // V8 records frames by function: the line is where openSession begins.
    assert.equal(site.line, lineOf('function openSession'));
    assert.ok(err.message.includes(`allocated in openSession (${pathToFileURL(HERE).href}:${site.line})`), err.message);
    assert.equal(err.report.allocationTracking, true, 'the failing run was repeated with tracking');
    assert.equal(err.report.heapSizes.length, 3);
    return true;
  });
  sessions.length = 0;
});

test('expectNoLeak sees state local to the test, and names it', async () => {
  const pendingReplies = new Map();
  await assert.rejects(expectNoLeak((i) => pendingReplies.set(i, { reply: `r${i}` }), { iterations: 30, allocationSites: false }), (err) => {
    assert.equal(err.suspects[0].holderName, 'pendingReplies', err.message);
    assert.match(err.message, /Map `pendingReplies` grew by 30 entries/);
    return true;
  });
});

test('expectNoLeak takes as many snapshots as asked, and tracks only on request', async () => {
  const report = await expectNoLeak(() => JSON.stringify({ a: [1, 2, 3] }), { iterations: 20, snapshots: 4, allocationSites: false });
  assert.deepEqual(report.suspects, []);
  assert.equal(report.heapSizes.length, 4);
  assert.equal(report.allocationTracking, false);
  await assert.rejects(expectNoLeak(() => {}, { snapshots: 2 }), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(expectNoLeak(() => {}, { allocationSites: 'sometimes' }), { code: 'ERR_INVALID_ARG' });
});

const orders = [];
function placeOrder(i) {
  orders.push({ order: i, lines: [{ sku: `k${i}` }] });
}

test('trackAllocations: in-process tracked snapshots name the allocating function', async () => {
  const tracker = trackAllocations();
  assert.throws(() => trackAllocations(), { code: 'ERR_TRACKING_ACTIVE' });
  const snaps = [];
  try {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 50; i++) placeOrder(round * 50 + i);
      snaps.push(await tracker.snapshot());
    }
  } finally {
    tracker.stop();
  }
  await assert.rejects(tracker.snapshot(), { code: 'ERR_TRACKING_STOPPED' });
  try {
    const suspects = await findLeaks(snaps);
    assert.ok(suspects.snapshots.every((s) => s.tracked), 'every snapshot carries allocation stacks');
    const top = suspects[0];
    assert.equal(top.holderName, 'orders', top.explanation);
    assert.equal(top.allocationSites[0].functionName, 'placeOrder');
    assert.equal(top.allocationSites[0].line, lineOf('function placeOrder'));
    // Every order of rounds 1 and 2 keeps its stack, though each went
    // through forced full GCs (a compacting GC loses them on Node 20 and 24
    // unless tracking turns compaction off).
    assert.equal(top.allocationSites[0].count, 100);
    assert.deepEqual(top.counts, [50, 100, 150]);
  } finally {
    for (const s of snaps) s.close();
  }
});

test('findLeaks on tracked snapshot files written by another process names the site', () => {
  const dir = path.join(OUT, `tracked-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const program = `
    const { trackAllocations } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
    const { EventEmitter } = require('node:events');
    const feed = new EventEmitter();
    feed.setMaxListeners(0);
    function subscribe(i) {
      feed.on('tick', function onTick() { return i; });
    }
    (async () => {
      const tracker = trackAllocations();
      for (let k = 1; k <= 3; k++) {
        for (let i = 0; i < 40; i++) subscribe(i);
        await tracker.writeSnapshot(${JSON.stringify(dir)} + '/s' + k + '.heapsnapshot');
      }
      tracker.stop();
      globalThis.feed = feed;
    })();
  `;
  // A link planted at a target is replaced, never written through.
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'untouched');
  fs.symlinkSync(victim, path.join(dir, 's1.heapsnapshot'));
  const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched');
  for (const k of [1, 2, 3]) {
    const st = fs.lstatSync(path.join(dir, `s${k}.heapsnapshot`));
    assert.ok(st.isFile(), `s${k} is a file of its own`);
    assert.equal(st.mode & 0o777, 0o600, `s${k} is private`);
  }
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.leakwatch-')), [], 'no temporary left');
  return findLeaks([1, 2, 3].map((k) => path.join(dir, `s${k}.heapsnapshot`))).then((suspects) => {
    const top = suspects[0];
    assert.equal(top.kind, 'listeners', top.explanation);
    assert.match(top.leakedClass, /^closures `onTick` created in `subscribe` \(\[eval\]:\d+\)$/);
    assert.equal(top.allocationSites[0].functionName, 'subscribe');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

// A fresh process, so V8's lazy compilation and feedback for everything
// expectNoLeak itself runs happen between the snapshots.
const FRESH = `
  const { expectNoLeak } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});
  const { EventEmitter } = require('node:events');
  (async () => {
    const cases = [
      [async () => {}, { iterations: 5 }],
      [() => {}, { iterations: 5 }],
      [(i) => new Map([[i, () => i]]).size, { iterations: 5 }],
      [() => JSON.stringify({ a: [1, 2, 3] }), {}],
      [async (i) => { await Promise.resolve(i).then((x) => x + 1); }, {}],
      [() => { const e = new EventEmitter(); const f = () => {}; e.on('x', f); e.emit('x'); e.off('x', f); }, {}],
    ];
    for (const [fn, options] of cases) {
      const report = await expectNoLeak(fn, options);
      if (report.suspects.length) throw new Error('suspects: ' + report.suspects.map((s) => s.explanation).join('; '));
    }
  })().catch((err) => { console.error(err.message); process.exit(1); });
`;

test(`expectNoLeak of code that does not leak is clean in a fresh process (${process.version})`, () => {
  const r = spawnSync(process.execPath, ['-e', FRESH], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
