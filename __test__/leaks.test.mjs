// Diff exactness against DevTools' Comparison view, and the leak-finding
// quality gate: every seed leak is the top suspect, every control is clean.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fixture, leakSeries, leakwatch, OUT, GLOBAL_CLASS } from './helpers.mjs';
import { devtoolsDiff } from './oracle/devtools.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');
const { leaksReport } = require('../lib/html-report.js');
const { formatBytes, formatCount } = require('../lib/format.js');
const { diffSnapshots, findLeaks, loadSnapshot } = leakwatch;

async function compareDiff(base, current) {
  const ours = await diffSnapshots(base, current);
  const dt = await devtoolsDiff(base, current);
  const dtKeys = Object.keys(dt);
  assert.equal(ours.length, dtKeys.length, `number of changed classes (${path.basename(base)} → ${path.basename(current)})`);
  const byKey = new Map(ours.map((r) => [r.key, r]));
  for (const key of dtKeys) {
    const d = dt[key];
    const r = byKey.get(key);
    assert.ok(r, `class ${key} missing from our diff`);
    assert.deepEqual(
      { name: r.name, addedCount: r.addedCount, removedCount: r.removedCount, addedSize: r.addedSize, removedSize: r.removedSize, countDelta: r.countDelta, sizeDelta: r.sizeDelta },
      { name: d.name, addedCount: d.addedCount, removedCount: d.removedCount, addedSize: d.addedSize, removedSize: d.removedSize, countDelta: d.countDelta, sizeDelta: d.sizeDelta },
      `class ${key}`,
    );
    assert.deepEqual([...r.addedIds], [...d.addedIds], `added ids of ${key}`);
    assert.deepEqual([...r.removedIds], [...d.deletedIds], `removed ids of ${key}`);
  }
  return ours;
}

test('diffSnapshots equals DevTools calculateSnapshotDiff on a growing process', async () => {
  const [s1, s2, s3] = leakSeries();
  const rows = await compareDiff(s1, s3);
  await compareDiff(s1, s2);
  await compareDiff(s3, s1);
  const urls = rows.find((r) => r.name === '{url, method}');
  assert.ok(urls && urls.addedCount >= 4000, 'the 4,000 request records appear as added');
});

test('diffSnapshots equals DevTools between two different processes', async () => {
  await compareDiff(fixture('bare'), fixture('objects'));
});

test('diffSnapshots compares any two snapshots, and says when they are not one history', async () => {
  const [s1, s2] = leakSeries();
  assert.equal((await diffSnapshots(s1, s2)).sequence, null);
  assert.equal((await diffSnapshots(s2, s1)).sequence.code, 'ERR_SNAPSHOT_ORDER');
  const other = await diffSnapshots(s1, makeScenario('global-array', OUT, { reuse: true })[1]);
  assert.equal(other.sequence.code, 'ERR_SNAPSHOT_MISMATCH');
  assert.match(other.sequence.message, /different processes/);
});

test('diffSnapshots accepts loaded snapshots and leaves them open', async () => {
  const [s1, s2] = leakSeries();
  const a = await loadSnapshot(s1);
  const b = await loadSnapshot(s2);
  const rows = await diffSnapshots(a, b);
  assert.ok(rows.length > 0);
  assert.equal(a.closed, false);
  assert.ok(a.summary().length > 0);
  a.close();
  b.close();
  await assert.rejects(diffSnapshots(s1), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(findLeaks([s1, s2]), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(findLeaks([s1, s2, s2], { minCount: 0 }), { code: 'ERR_INVALID_ARG' });
});

// The seed's PollingService interval leak, named by its callback's site.
const INTERVAL_LEAK = /setInterval timers calling an anonymous callback \(.*scenarios\.js:56\) are still scheduled \(40 → 80 → 120 across the snapshots\); their callbacks keep PollingService objects alive/;

const LEAKS = {
  'global-array': { kind: 'collection', holderName: 'requestLog', text: /Array `requestLog` grew by 400 elements/ },
  'request-listener': { kind: 'listeners', holderName: 'someEmitter', text: /'data' listeners: 800 → 1,200/ },
  'closure-large-data': { kind: 'closure', holderName: 'processors', text: /scope keeps `largeData`/ },
  'uncleared-interval': { kind: 'timers', text: INTERVAL_LEAK },
  // timers.install() on: leakwatch's callback stand-in and its timer slots are not the leak.
  'uncleared-interval-installed': { kind: 'timers', text: INTERVAL_LEAK },
  'request-listener-installed': { kind: 'listeners', holderName: 'someEmitter', text: /'data' listeners: 800 → 1,200/ },
  'emitters-installed': { kind: 'collection', holderName: 'sessions', text: /Array `sessions` grew by 40 elements/ },
  'unbounded-map': { kind: 'collection', holderName: 'cache', text: /Map `cache` grew by 400 entries/ },
  'block-scoped-array': { kind: 'collection', holderName: 'sessionStore', text: /Array `sessionStore` grew by 400 elements/ },
  'weakref-cache': { kind: 'weakrefs', holderName: 'weakCache', text: /WeakRef entries whose keys are never deleted: 400 → 800 → 1,200/ },
};

for (const [name, expected] of Object.entries(LEAKS)) {
  test(`findLeaks names the culprit of the "${name}" leak first`, async () => {
    const files = makeScenario(name, OUT, { reuse: true });
    const suspects = await findLeaks(files);
    assert.ok(suspects.length >= 1, 'at least one suspect');
    const top = suspects[0];
    assert.equal(top.kind, expected.kind, top.explanation);
    if (expected.holderName) assert.equal(top.holderName, expected.holderName, top.explanation);
    assert.match(top.explanation, expected.text);
    assert.equal(top.confidence, 'high');
    assert.ok(top.retainerPath.length >= 2, 'a retainer path from a global');
    assert.match(top.retainerPath[0].node.className, GLOBAL_CLASS);
    assert.ok(top.survivors >= 8 && top.newObjects >= 1);
  });
}

test("with leakwatch's run-time primitives on, findLeaks reports the program's leak and nothing of leakwatch's", async () => {
  // Its timer slots, watched keys and sampled sites grow with the leak too.
  for (const name of ['uncleared-interval-installed', 'request-listener-installed', 'emitters-installed']) {
    const suspects = await findLeaks(makeScenario(name, OUT, { reuse: true }));
    assert.equal(suspects.length, 1, `${name}:\n${suspects.map((x) => x.explanation).join('\n')}`);
  }
});

test("the sentences' sizes read as every other size does (formatBytes: DevTools' decimal units)", async () => {
  const [top] = await findLeaks(makeScenario('global-array', OUT, { reuse: true }));
  const [, before, after] = top.retainedSizes;
  assert.ok(top.text.includes(`(+${formatBytes(after - before)}) between snapshots 2 and 3`), top.text);
  assert.ok(top.text.includes(`still alive (${formatBytes(top.addedBytes[0])})`), top.text);
  const sizes = top.parts.filter((p) => p.kind === 'bytes').map((p) => p.text);
  assert.ok(sizes.length >= 3, top.text);
  for (const size of sizes) assert.match(size, /^(\d+ B|\d+\.\d (kB|MB|GB)|\d{3} (kB|MB|GB))$/);
  assert.doesNotMatch(top.explanation, /\bKi?B\b|MiB/);
});

for (const name of ['bounded-cache', 'once-listeners', 'stopped-interval', 'bounded-log', 'weak-value-cache']) {
  test(`findLeaks reports nothing for the "${name}" control`, async () => {
    const files = makeScenario(name, OUT, { reuse: true });
    const suspects = await findLeaks(files);
    assert.deepEqual(suspects.map((s) => s.explanation), []);
  });
}

test('findLeaks refuses snapshots of two runs of one program (ERR_SNAPSHOT_MISMATCH)', async () => {
  const a = makeScenario('global-array', OUT, { reuse: true });
  // A second run that served a different workload, as two runs of a service
  // do: two runs of this small program doing exactly the same work lay out
  // their heaps nearly alike (81-92% of shared ids name the same object,
  // against 90% required) and can pass for one process.
  const b = makeScenario('global-array', path.join(OUT, 'second-run'), { reuse: true, perRound: 250 });
  await assert.rejects(findLeaks([a[0], b[1], b[2]]), { code: 'ERR_SNAPSHOT_MISMATCH', message: /snapshots 1 and 2 come from different processes/ });
  // One run's own snapshots are fine.
  assert.equal((await findLeaks(b)).length, 1);
});

test("Node's default snapshot names are checked before loading: order and process", async () => {
  const files = makeScenario('global-array', OUT, { reuse: true });
  const dir = fs.mkdtempSync(path.join(OUT, 'named-'));
  try {
    const name = (pid, seq) => path.join(dir, `Heap.20260102.101010.${pid}.0.00${seq}.heapsnapshot`);
    files.forEach((f, k) => fs.linkSync(f, name(4242, k + 1)));
    fs.linkSync(files[2], name(777, 3));
    assert.equal((await findLeaks([1, 2, 3].map((k) => name(4242, k)))).length, 1);
    await assert.rejects(findLeaks([name(4242, 1), name(4242, 3), name(4242, 2)]), { code: 'ERR_SNAPSHOT_ORDER', message: /snapshot 3 \(Heap\.\S+\.002\.heapsnapshot\) was written before snapshot 2/ });
    await assert.rejects(findLeaks([name(4242, 1), name(4242, 2), name(777, 3)]), { code: 'ERR_SNAPSHOT_MISMATCH', message: /from pid 4242, .* from pid 777/ });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the HTML leak report shows every snapshot: totals, and each suspect across them', async () => {
  const files = makeScenario('unbounded-map', OUT, { reuse: true });
  const suspects = await findLeaks(files);
  const html = leaksReport({ files: files.map((f) => path.basename(f)), suspects, diff: await diffSnapshots(files[0], files[2]) });
  assert.match(html, /<h2>Snapshots<\/h2>/);
  for (const [k, t] of suspects.snapshots.entries()) assert.ok(html.includes(`<td>s${k + 1}</td>`) && html.includes(formatCount(t.nodeCount)), `totals row of s${k + 1}`);
  assert.match(html, /<th>s1<\/th><th>s2<\/th><th>s3<\/th>/);
  assert.match(html, /Own size \(elements, entries or properties\)<\/th><td>400<\/td><td>800<\/td><td>1,200<\/td>/);
  assert.match(html, /entries rose at every snapshot \(400 → 800 → 1,200\)/);
});
