// The JS API: sources (path, Buffer, stream), queries, reports, abort, progress.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import v8 from 'node:v8';
import { fixture, leakwatch, GLOBAL_CLASS, globalProperty } from './helpers.mjs';

const { loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync } = leakwatch;

function fixtureRoot(snap) {
  // The fixture hangs everything off globalThis.leakwatchFixture.
  const found = globalProperty(snap, 'leakwatchFixture', 5);
  assert.ok(found, 'the global holds leakwatchFixture, one of the largest objects');
  const edge = snap.edges(found.global.id).find((e) => e.name === 'leakwatchFixture');
  assert.equal(edge?.node.id, found.value.id, 'the global has the leakwatchFixture property');
  return edge.node;
}

test('path, Buffer and stream sources give the same analysis', async () => {
  const file = fixture('bare');
  const a = await loadSnapshot(file);
  const b = await loadSnapshot(fs.readFileSync(file));
  const c = await loadSnapshot(fs.createReadStream(file, { highWaterMark: 7777 }));
  const d = loadSnapshotSync(new Uint8Array(fs.readFileSync(file)));
  for (const s of [b, c, d]) {
    assert.equal(s.nodeCount, a.nodeCount);
    assert.equal(s.edgeCount, a.edgeCount);
    assert.equal(s.totalSize, a.totalSize);
    assert.deepEqual(s.summary(), a.summary());
  }
  [a, b, c, d].forEach((s) => s.close());
});

test('a live v8.getHeapSnapshot() stream is analysed without touching disk', async () => {
  const marker = (globalThis.__leakwatchMarker = { payload: Array.from({ length: 20_000 }, (_, i) => ({ key: `v${i}` })) });
  const snap = await loadSnapshot(v8.getHeapSnapshot());
  try {
    assert.ok(snap.nodeCount > 10_000);
    const found = globalProperty(snap, '__leakwatchMarker');
    assert.ok(found, 'our marker object is in the live snapshot, held by the global');
    const edge = snap.edges(found.global.id).find((e) => e.name === '__leakwatchMarker');
    assert.equal(edge?.node.id, found.value.id);
    assert.ok(edge.node.retainedSize >= 20_000 * 16, `marker retains its 20,000 objects (got ${edge.node.retainedSize})`);
  } finally {
    snap.close();
    delete globalThis.__leakwatchMarker;
    void marker;
  }
});

test('queries: node, edges, retainers, retainer path, dominator chain, children', async () => {
  const snap = await loadSnapshot(fixture('objects'));
  const root = fixtureRoot(snap);
  const users = snap.edges(root.id).find((e) => e.name === 'users');
  assert.equal(users.node.className, 'Map');
  const node = snap.node(users.node.id);
  assert.equal(node.id, users.node.id);
  assert.ok(node.retainedSize > node.selfSize);

  const path = snap.retainerPath(users.node.id);
  assert.equal(path.at(-1).node.id, users.node.id);
  assert.equal(path.at(-1).edgeName, 'users');
  assert.equal(path.at(-2).node.id, root.id);
  assert.equal(path.at(-2).edgeName, 'leakwatchFixture');
  assert.match(path[0].node.className, GLOBAL_CLASS);
  assert.equal(path[0].edgeName, undefined);
  for (let i = 1; i < path.length; i++) assert.ok(path[i].node.distance > path[i - 1].node.distance);

  const chain = snap.dominatorChain(users.node.id);
  assert.equal(chain[0].id, users.node.id);
  assert.equal(chain.at(-1).type, 'synthetic');
  for (let i = 1; i < chain.length; i++) assert.ok(chain[i].retainedSize >= chain[i - 1].retainedSize);

  const kids = snap.children(users.node.id);
  const kidSum = kids.reduce((s, k) => s + k.retainedSize, 0);
  assert.equal(kidSum + node.selfSize, node.retainedSize, 'retained = self + dominated children');

  const retainers = snap.retainers(users.node.id);
  assert.ok(retainers.some((r) => r.node.id === root.id && r.name === 'users' && r.label === '.users'));
  assert.equal(snap.node(2 ** 31), null);
  assert.throws(() => snap.retainerPath(2 ** 31), { code: 'ERR_UNKNOWN_NODE' });
  assert.throws(() => snap.node(-1), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => snap.node('12'), { code: 'ERR_INVALID_ARG' });
  snap.close();
  assert.equal(snap.closed, true);
  assert.throws(() => snap.summary(), { code: 'ERR_SNAPSHOT_CLOSED' });
});

test('instances: a class\'s objects a page at a time, largest retained first, by key or by name', async () => {
  const snap = await loadSnapshot(fixture('objects'));
  try {
    // The independent answer, from the per-node columns (ties in node order).
    const cols = snap.columns();
    const bar = snap.summary().find((c) => c.name === 'Bar');
    const cls = cols.classKeys.indexOf(bar.key);
    const expected = [];
    for (let i = 0; i < cols.ids.length; i++) if (cols.classIds[i] === cls && cols.selfSizes[i] > 0) expected.push(i);
    expected.sort((x, y) => cols.retainedSizes[y] - cols.retainedSizes[x] || x - y);
    assert.ok(expected.length > 1000, `${expected.length} Bars`);
    const got = [];
    for (let offset = 0; ; ) {
      const page = snap.instances(bar.key, { offset, limit: 700 });
      assert.equal(page.total, bar.count);
      assert.deepEqual(page.classes, [bar]);
      if (page.length === 0) break;
      assert.ok(page.length <= 700);
      got.push(...page.map((n) => n.id));
      offset += page.length;
    }
    assert.deepEqual(got, expected.map((i) => cols.ids[i]));
    // A name covers every class of that name; the fixture has two Foos.
    const foos = snap.instances('Foo', { limit: 1 });
    assert.equal(foos.classes.length, 2);
    assert.equal(foos.total, foos.classes[0].count + foos.classes[1].count);
    assert.equal(foos.length, 1);
    const none = snap.instances('NoSuchClass');
    assert.deepEqual([none.length, none.total, none.classes], [0, 0, []]);
    assert.throws(() => snap.instances(''), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => snap.instances(bar), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => snap.instances(bar.key, { limit: 10 ** 6 }), { code: 'ERR_INVALID_ARG' });
  } finally {
    snap.close();
  }
});

test('analyzeSnapshot returns totals, classes and top objects with retainer paths', async () => {
  const file = fixture('objects');
  const report = await analyzeSnapshot(file, { top: 5, maxClasses: 10 });
  const sync = analyzeSnapshotSync(file, { top: 5, maxClasses: 10 });
  assert.deepEqual(report, sync);
  assert.equal(report.classes.length, 10);
  assert.equal(report.top.length, 5);
  for (let i = 1; i < report.classes.length; i++) assert.ok(report.classes[i - 1].retainedSize >= report.classes[i].retainedSize);
  for (let i = 1; i < report.top.length; i++) assert.ok(report.top[i - 1].node.retainedSize >= report.top[i].node.retainedSize);
  const fixtureObject = report.top.find((t) => t.retainerPath.some((s) => s.edgeName === 'leakwatchFixture'));
  assert.ok(fixtureObject, 'the fixture root is among the largest objects, reached through .leakwatchFixture');
  const classes = new Map(report.classes.map((c) => [c.name, c]));
  assert.ok(classes.has('Map') && classes.get('Map').count >= 20);
});

test('AbortSignal aborts a load; progress is reported', async () => {
  const file = fixture('objects');
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(loadSnapshot(file, { signal: controller.signal }), { code: 'ERR_ABORTED', name: 'AbortError' });

  const c2 = new AbortController();
  const pending = loadSnapshot(fs.createReadStream(file, { highWaterMark: 64 * 1024 }), { signal: c2.signal });
  setImmediate(() => c2.abort());
  await assert.rejects(pending, { code: 'ERR_ABORTED' });

  const phases = new Set();
  const snap = await loadSnapshot(file, { onProgress: (p) => phases.add(p.phase), progressIntervalMs: 1 });
  snap.close();
  assert.ok(phases.has('done'), `final progress reports done (saw ${[...phases]})`);
});

test('wrong argument types are ERR_INVALID_ARG errors', async () => {
  for (const bad of [undefined, null, 42, {}, ['a']]) {
    await assert.rejects(loadSnapshot(bad), { code: 'ERR_INVALID_ARG' });
    assert.throws(() => loadSnapshotSync(bad), { code: 'ERR_INVALID_ARG' });
  }
  await assert.rejects(loadSnapshot(''), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(loadSnapshot(fixture('bare'), { signal: 'nope' }), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(loadSnapshot(fixture('bare'), 5), { code: 'ERR_INVALID_ARG' });
  const snap = loadSnapshotSync(fixture('bare'));
  assert.throws(() => snap.topRetainers(-1), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => snap.report({ top: 1.5 }), { code: 'ERR_INVALID_ARG' });
  snap.close();
});
