// Exactness: every node and every class row must equal what Chrome DevTools'
// own heap snapshot worker (chrome-devtools-frontend 1.0.1705227) computes
// for the same file. The worker is bundled from the npm package by the oracle
// harness and run in this process.
import test from 'node:test';
import assert from 'node:assert/strict';
import { fixture, leakwatch } from './helpers.mjs';
import { devtoolsAnalyze } from './oracle/devtools.mjs';

function compareColumns(file, ours, dt) {
  assert.equal(ours.ids.length, dt.ids.length, 'node count');
  const columns = [
    ['id', ours.ids, dt.ids],
    ['shallow size', ours.selfSizes, dt.selfSize],
    ['retained size', ours.retainedSizes, dt.retainedSize],
    ['immediate dominator', ours.dominatorIds, dt.dominatorId],
    ['distance', ours.distances, dt.distance],
  ];
  for (const [what, a, b] of columns) {
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) {
        if (first < 0) first = i;
        mismatches++;
      }
    }
    assert.equal(mismatches, 0, `${file}: ${what} differs on ${mismatches} nodes; first at ordinal ${first}: ours ${a[first]}, DevTools ${b[first]} (node @${dt.ids[first]} ${dt.name[first]})`);
  }
  let keyMismatches = 0;
  for (let i = 0; i < ours.ids.length; i++) {
    if (ours.classKeys[ours.classIds[i]] !== dt.classKey[i]) keyMismatches++;
  }
  assert.equal(keyMismatches, 0, `${file}: class key differs on ${keyMismatches} nodes`);
}

function compareClasses(file, summary, dt) {
  assert.equal(summary.length, dt.classes.length, `${file}: number of class rows`);
  const ours = new Map(summary.map((r) => [r.key, r]));
  for (const c of dt.classes) {
    const r = ours.get(c.key);
    assert.ok(r, `${file}: class ${c.key} missing`);
    assert.deepEqual(
      { name: r.name, count: r.count, self: r.selfSize, retained: r.retainedSize, distance: r.distance },
      { name: c.name, count: c.count, self: c.self, retained: c.retained, distance: c.distance },
      `${file}: class ${c.key}`,
    );
  }
}

for (const scenario of ['bare', 'objects']) {
  test(`every node and class matches DevTools on the "${scenario}" snapshot`, async () => {
    const file = fixture(scenario);
    const dt = await devtoolsAnalyze(file);
    const snap = await leakwatch.loadSnapshot(file);
    try {
      compareColumns(file, snap.columns(), dt);
      compareClasses(file, snap.summary(), dt);
      assert.equal(snap.totalSize, dt.totalSize, 'total size');
      assert.ok(snap.nodeCount > (scenario === 'objects' ? 400_000 : 10_000), 'fixture is non-trivial');
    } finally {
      snap.close();
    }
  });
}
