// Diff exactness against DevTools' Comparison view, and the leak-finding
// quality gate: every seed leak is the top suspect, every control is clean.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fixture, leakSeries, leakwatch, OUT, GLOBAL_CLASS } from './helpers.mjs';
import { devtoolsDiff } from './oracle/devtools.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');
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

const LEAKS = {
  'global-array': { kind: 'collection', holderName: 'requestLog', text: /Array `requestLog` grew by 400 elements/ },
  'request-listener': { kind: 'listeners', holderName: 'someEmitter', text: /'data' listeners: 800 → 1,200/ },
  'closure-large-data': { kind: 'closure', holderName: 'processors', text: /scope keeps `largeData`/ },
  'uncleared-interval': { kind: 'timers', text: /40 Timeout objects .* keep PollingService instances alive/ },
  'unbounded-map': { kind: 'collection', holderName: 'cache', text: /Map `cache` grew by 400 entries/ },
  'weakref-cache': { kind: 'weakrefs', holderName: 'weakCache', text: /WeakRef entries whose keys are never deleted: 400 → 1,200/ },
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

for (const name of ['bounded-cache', 'once-listeners', 'stopped-interval']) {
  test(`findLeaks reports nothing for the "${name}" control`, async () => {
    const files = makeScenario(name, OUT, { reuse: true });
    const suspects = await findLeaks(files);
    assert.deepEqual(suspects.map((s) => s.explanation), []);
  });
}
