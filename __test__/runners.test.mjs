// The assertions under a second test runner (Mocha), in a child process.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

test('expectNoLeak and expectCollected work under Mocha', () => {
  const mocha = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
  const r = spawnSync(process.execPath, [mocha, '--reporter', 'json', path.join(ROOT, '__test__', 'runners', 'mocha.spec.cjs')], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.stats.passes, 3);
  assert.equal(result.stats.failures, 0);
});
