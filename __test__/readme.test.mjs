// Every ```js block of README.md runs, exactly as written, in its own child
// process: as an ES module (.mjs) when it uses `import` or top-level await,
// else as CommonJS (.cjs). Each runs in a fresh directory where `leakwatch`
// resolves to this checkout, and where the snapshot files it names exist
// (real snapshots from the leak fixtures). ```ts blocks are compiled by
// types.test.mjs.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { consumerDir, readmeBlocks, runNode } from './consumer.mjs';
import { OUT, fixture } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { makeScenario } = require('./fixtures/scenarios.js');

/** ESM when the block imports or awaits at top level; CommonJS otherwise. */
function moduleKind(code) {
  if (/^import\s/m.test(code) || /^export\s/m.test(code)) return 'mjs';
  if (/^(?:const|let|var|for)?\b[^\n]*\bawait\b/m.test(code.split('\n').filter((l) => !/^\s/.test(l)).join('\n'))) return /\brequire\(/.test(code) ? 'cjs' : 'mjs';
  return 'cjs';
}

// Snapshots a block may name, by the role the name gives them: a series of
// one leaking process (s1..s3, before/after), or any single snapshot.
function snapshotFor(name) {
  const series = makeScenario('global-array', OUT, { reuse: true });
  const roles = { 's1.heapsnapshot': series[0], 's2.heapsnapshot': series[1], 's3.heapsnapshot': series[2], 'before.heapsnapshot': series[0], 'after.heapsnapshot': series[2] };
  return roles[name] ?? fixture('bare');
}

const blocks = readmeBlocks('js');

test('the README has runnable examples, CommonJS and ESM', () => {
  assert.ok(blocks.length >= 4, `${blocks.length} js blocks`);
  const kinds = new Set(blocks.map((b) => moduleKind(b.code)));
  assert.deepEqual([...kinds].sort(), ['cjs', 'mjs']);
});

test('control: a block mixing require with top-level await is run as CommonJS and fails', (t) => {
  const code = "const { analyzeSnapshot } = require('leakwatch');\nconst report = await analyzeSnapshot('app.heapsnapshot');\n";
  assert.equal(moduleKind(code), 'cjs');
  const dir = consumerDir(t, 'readme-control');
  fs.writeFileSync(path.join(dir, 'block.cjs'), code);
  const r = runNode(dir, 'block.cjs');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /SyntaxError/);
});

for (const { code, line } of blocks) {
  test(`README.md line ${line}: the js block runs as written`, (t) => {
    const dir = consumerDir(t, `readme-${line}`);
    for (const [, name] of code.matchAll(/['"`]([\w.-]+\.heapsnapshot)['"`]/g)) {
      const target = path.join(dir, name);
      if (!fs.existsSync(target)) fs.symlinkSync(snapshotFor(name), target);
    }
    const file = `block.${moduleKind(code)}`;
    fs.writeFileSync(path.join(dir, file), code);
    const r = runNode(dir, file, { timeout: 180_000 });
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  });
}
