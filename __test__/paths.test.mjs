// On every Node version the retainer path a user reads starts at the global
// object they recognise (`global → .sessionStore`), never at an engine node:
// Node 26 puts the realm's `(system) NativeContext` above the global object,
// and the distances (DevTools' own) stay as they are.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { OUT, leakwatch } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');

function sessionStoreSnapshot() {
  const file = path.join(OUT, `session-store-${process.version.split('.')[0]}.heapsnapshot`);
  const program = `
    globalThis.sessionStore = new Map();
    for (let i = 0; i < 500; i++) globalThis.sessionStore.set('s' + i, { user: i, data: new Array(50).fill(i) });
    require('node:v8').writeHeapSnapshot(process.argv[1]);
  `;
  const r = spawnSync(process.execPath, ['-e', program, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

const isGlobal = (node) => /^global\b/.test(node.className) && node.type === 'object';

test('a global variable\'s path starts at the global object', async () => {
  const snap = await leakwatch.loadSnapshot(sessionStoreSnapshot());
  try {
    const store = snap
      .topRetainers(200)
      .filter(isGlobal)
      .flatMap((g) => snap.edges(g.id))
      .find((e) => e.name === 'sessionStore')?.node;
    assert.ok(store, 'a global object holds the session store');
    const steps = snap.retainerPath(store.id);
    assert.ok(isGlobal(steps[0].node), `the path starts at ${steps[0].node.className} ${steps[0].node.name}`);
    assert.equal(steps[1].edgeName, 'sessionStore');
    assert.equal(steps[1].node.id, store.id);
    assert.equal(steps.length, 2, 'global → .sessionStore');
    assert.equal(steps[1].node.distance, steps[0].node.distance + 1, 'distances are DevTools\' own');
    // No path of an object a user can reach starts at an engine node.
    const report = snap.report({ top: 200 });
    for (const top of report.top) {
      if (top.node.distance >= 100_000_000) continue;
      assert.ok(isGlobal(top.retainerPath[0].node), `${top.node.className} @${top.node.id}: path starts at ${top.retainerPath[0].node.className}`);
      assert.notEqual(top.retainerPath[0].node.className, '(system)');
    }
    // A builtin the realm holds in a context slot is shown as the global's property.
    const error = report.top.flatMap((t) => t.retainerPath).find((s) => s.node.className === 'Function' && s.node.name === 'Error');
    if (error) assert.match(error.edgeLabel, /^\.Error$|^\{/);
  } finally {
    snap.close();
  }
});

test('a leak suspect\'s printed path starts at the global object', async () => {
  const suspects = await leakwatch.findLeaks(makeScenario('global-array', OUT, { reuse: true }));
  assert.ok(suspects.length >= 1);
  const steps = suspects[0].retainerPath;
  assert.ok(isGlobal(steps[0].node), `starts at ${steps[0].node.className}`);
  assert.equal(steps[1].edgeName, 'requestLog');
});
