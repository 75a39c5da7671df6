// ESM consumers: `import { findLeaks, Snapshot, ... } from 'leakwatch'` must
// see every CommonJS export. Node finds a CJS module's names by static
// analysis (cjs-module-lexer), so this runs a real child process importing
// the package by name, on whichever Node runs the suite.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { consumerDir, runNode } from './consumer.mjs';
import { fixture, leakSeries, leakwatch } from './helpers.mjs';

const runtimeNames = Object.keys(leakwatch).sort();

function runModule(dir, name, source) {
  fs.writeFileSync(path.join(dir, name), source);
  const r = runNode(dir, name);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('every CommonJS export is a named ESM export, the same object, on this Node', (t) => {
  const dir = consumerDir(t, 'esm');
  const out = runModule(
    dir,
    'names.mjs',
    `import * as ns from 'leakwatch';
import leakwatch from 'leakwatch';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('leakwatch');
// Node 24+ also offers the whole object as a 'module.exports' name.
const named = Object.keys(ns).filter((k) => k !== 'default' && k !== 'module.exports').sort();
console.log(JSON.stringify({
  named,
  same: named.filter((k) => ns[k] === cjs[k]),
  defaultIsCjs: leakwatch === cjs,
}));
`,
  );
  assert.ok(runtimeNames.length >= 19, `index.js exports ${runtimeNames.length} names`);
  assert.deepEqual(out.named, runtimeNames);
  assert.deepEqual(out.same, runtimeNames, 'named imports are the CommonJS objects, not copies');
  assert.equal(out.defaultIsCjs, true);
});

test('named imports work end to end: load, analyze, diff and find leaks from an .mjs file', (t) => {
  const dir = consumerDir(t, 'esm-run');
  const file = fixture('bare');
  // findLeaks refuses one file three times (not one history): a real series.
  const series = leakSeries();
  const out = runModule(
    dir,
    'use.mjs',
    `import { loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync, diffSnapshots, findLeaks, Snapshot } from 'leakwatch';
const file = ${JSON.stringify(file)};
const snap = await loadSnapshot(file);
const sync = loadSnapshotSync(file);
const report = await analyzeSnapshot(snap, { top: 1 });
const reportSync = analyzeSnapshotSync(file, { top: 1 });
const rows = await diffSnapshots(snap, sync);
const suspects = await findLeaks(${JSON.stringify(series)});
console.log(JSON.stringify({
  isSnapshot: snap instanceof Snapshot,
  nodes: snap.nodeCount,
  reportNodes: report.nodeCount,
  syncNodes: reportSync.nodeCount,
  diffAdded: rows.reduce((n, r) => n + r.addedCount, 0),
  suspects: suspects.length,
  text: suspects[0]?.text,
}));
snap.close();
sync.close();
`,
  );
  const expected = leakwatch.loadSnapshotSync(file);
  try {
    assert.equal(out.isSnapshot, true);
    assert.equal(out.nodes, expected.nodeCount);
    assert.equal(out.reportNodes, expected.nodeCount);
    assert.equal(out.syncNodes, expected.nodeCount);
  } finally {
    expected.close();
  }
  assert.equal(out.diffAdded, 0, 'a snapshot compared with itself has no new objects');
  assert.equal(out.suspects, 1, 'the series leaks one array of requests');
  assert.match(out.text, /`requestLog`/);
});

test('control: an object spread in module.exports does hide names from ESM (what index.js must not do)', (t) => {
  const dir = consumerDir(t, 'esm-control');
  const pkg = path.join(dir, 'node_modules', 'spread-pkg');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"spread-pkg","main":"index.js"}');
  fs.writeFileSync(path.join(pkg, 'index.js'), "const inner = { hidden: 1 };\nmodule.exports = { ...inner, visible: 2 };\n");
  const out = runModule(dir, 'control.mjs', "import * as ns from 'spread-pkg';\nconsole.log(JSON.stringify(Object.keys(ns).sort()));\n");
  assert.ok(out.includes('default'), JSON.stringify(out));
  assert.ok(!out.includes('hidden'), `the spread name is not detected: ${JSON.stringify(out)}`);
});

test('package.json is exported and internals are not', (t) => {
  const dir = consumerDir(t, 'esm-paths');
  const out = runModule(
    dir,
    'paths.mjs',
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
let internal;
try { require('leakwatch/lib/format.js'); internal = 'loaded'; } catch (err) { internal = err.code; }
console.log(JSON.stringify({ version: require('leakwatch/package.json').version, internal }));
`,
  );
  assert.equal(out.version, JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  assert.equal(out.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});
