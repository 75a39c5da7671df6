// Under real test runners: Jest gives each test file its own module
// registry (so its own copy of leakwatch), and Jest and Vitest fake the
// timer functions. The spec files in runners/state run under each runner in
// a child process.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

const dir = path.join(ROOT, '__test__', 'runners', 'state');

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1', NO_COLOR: '1' } });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('Jest: two test files (two copies of leakwatch) share one listener tracker; timers.install() and jest fake timers in either order', () => {
  const { status, out } = run([path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--rootDir', dir, '--testMatch', '**/*.jest.cjs', '--runInBand', '--ci']);
  assert.equal(status, 0, out);
  // The control: the second file really loaded a second copy.
  assert.match(out, /copies seen: 2/);
  assert.match(out, /Tests:\s+4 passed, 4 total/);
});

test('Vitest: timers.install() and vi fake timers in either order', () => {
  const { status, out } = run([path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run',
    '--config', path.join(dir, 'vitest.config.mjs')]);
  assert.equal(status, 0, out);
  assert.match(out, /Tests\s+2 passed \(2\)/);
});
