// expectNoLeak under the four test runners users run it in: node:test, Mocha,
// Jest and Vitest, each in a child process with its own reporter, as a user
// would see it. Each spec in __test__/runners/ has a clean test, which must
// pass, and a leaky one, which must fail with leakwatch's message intact:
// the holder's name, the retainer path, and nothing a runner made up; and an
// object expectCollected finds still referenced, which must fail the same way.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { leakwatch, OUT, ROOT } from './helpers.mjs';

const SPECS = path.join(ROOT, '__test__', 'runners');
const bin = (...p) => path.join(ROOT, 'node_modules', ...p);
// Each runner's default timeout for one test; node:test has none.
const DEFAULT_TIMEOUT_MS = { 'node:test': Infinity, mocha: 2000, jest: 5000, vitest: 5000 };
const CLEAN = 'a clean handler';
const LEAKY = 'a handler that keeps every session';
const KEPT = 'a released connection that is still referenced';

function run(args) {
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' };
  // node:test marks its own children; without the mark the node:test child reports as a user's run would.
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env });
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stdout}${r.stderr}`);
  return { status: r.status, text: r.stdout + r.stderr };
}

/** Passed and failed test titles, and the clean test's duration, from a Jest-format JSON report. */
function fromJson(file) {
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const results = report.testResults.flatMap((f) => f.assertionResults);
  const titles = (status) => results.filter((r) => r.status === status).map((r) => r.title).sort();
  return { passed: titles('passed'), failed: titles('failed'), cleanMs: results.find((r) => r.title === CLEAN)?.duration };
}

const runners = {
  'node:test': () => {
    const { status, text } = run(['--test', '--test-reporter=spec', path.join(SPECS, 'node-test.spec.mjs')]);
    const titles = (mark) => [...text.matchAll(new RegExp(`^${mark} (.+?) \\([\\d.]+ms\\)$`, 'gm'))].map((m) => m[1]).filter((t) => !t.endsWith('.mjs')).sort();
    return { status, text, passed: titles('✔'), failed: [...new Set(titles('✖'))], cleanMs: Number(text.match(new RegExp(`✔ ${CLEAN} \\(([\\d.]+)ms\\)`))?.[1]) };
  },
  mocha: () => {
    const { status, text } = run([bin('mocha', 'bin', 'mocha.js'), '--reporter', 'spec', path.join(SPECS, 'mocha.spec.cjs')]);
    return {
      status,
      text,
      passed: [...text.matchAll(/^ {4}✔ (.+?)(?: \(\d+ms\))?$/gm)].map((m) => m[1]).sort(),
      failed: [...text.matchAll(/^ {4}\d+\) (.+)$/gm)].map((m) => m[1]).sort(),
      cleanMs: Number(text.match(new RegExp(`✔ ${CLEAN} \\((\\d+)ms\\)`))?.[1]),
    };
  },
  jest: () => {
    const json = path.join(OUT, 'jest.json');
    const { status, text } = run([bin('jest', 'bin', 'jest.js'), '--ci', '--rootDir', SPECS, '--testMatch', '**/jest.spec.cjs', '--json', '--outputFile', json]);
    return { status, text, ...fromJson(json) };
  },
  vitest: () => {
    const json = path.join(OUT, 'vitest.json');
    const { status, text } = run([bin('vitest', 'vitest.mjs'), 'run', '--root', ROOT, '--dir', SPECS, 'vitest.spec', '--reporter=default', '--reporter=json', `--outputFile=${json}`]);
    return { status, text, ...fromJson(json) };
  },
};

for (const [name, runner] of Object.entries(runners)) {
  test(`under ${name}: a clean test passes, a leaky one fails with a readable message naming \`sessions\``, (t) => {
    const r = runner();
    // Mocha exits with the number of failed tests, the others with 1.
    assert.equal(r.status, name === 'mocha' ? 2 : 1, r.text);
    assert.deepEqual(r.failed, [KEPT, LEAKY].sort(), r.text);
    assert.deepEqual(r.passed, name === 'mocha' ? [CLEAN, 'expectCollected passes for a dropped object'].sort() : [CLEAN], r.text);
    // The message as leakwatch wrote it, holder name included.
    assert.match(r.text, /expected no leak after 200 calls, found 1 suspect:\n/);
    assert.match(r.text, /1\. \[collection, high confidence\] Array `sessions` grew by 100 elements/);
    assert.match(r.text, /retained by:\n.*\n/);
    assert.match(r.text, /expected Object @\d+ to be garbage-collected, but it is still reachable \([\d.]+ k?B retained\):\n.*\n/);
    // Nothing a runner adds when it takes the error for a failed comparison.
    assert.doesNotMatch(r.text, /Expected value|Received:|no visual difference|Compared values/);
    assert.ok(r.cleanMs > 0, `the clean test's duration is reported: ${r.text}`);
    const limit = DEFAULT_TIMEOUT_MS[name];
    t.diagnostic(`${name}: the clean test at default options took ${(r.cleanMs / 1000).toFixed(1)} s (default timeout ${limit === Infinity ? 'none' : `${limit / 1000} s`})`);
  });
}

// Why Vitest lost the name: it runs a test file's code inside a block, and V8
// names no variable of a block scope in a heap snapshot. leakwatch takes the
// name from the scope's own list when the numbering is unambiguous. The blocks
// sit at module level: held only by a pending async function's locals, an
// object counts as reachable from system roots alone and is not reported.
const holders = {};
{
  const blockSessions = [];
  const config = { limit: 10 };
  holders.named = (i) => blockSessions.push({ i, config });
}
{
  // A small integer takes no number in V8's numbering of the block's slots.
  let calls = 0;
  const counted = [];
  holders.ambiguous = (i) => counted.push({ i, calls: calls++ });
}

test('a block-scoped holder is named, unless a small integer in its scope makes the slot ambiguous', async () => {
  const suspectOf = async (fn) => {
    const err = await leakwatch.expectNoLeak(fn, { iterations: 40 }).then(() => null, (e) => e);
    assert.ok(err, 'the leak is found');
    assert.equal(err.suspects.length, 1, err.message);
    return err.suspects[0];
  };
  const named = await suspectOf(holders.named);
  assert.equal(named.holderName, 'blockSessions');
  assert.match(named.explanation, /^Array `blockSessions` grew by 40 elements/);
  const ambiguous = await suspectOf(holders.ambiguous);
  assert.equal(ambiguous.holderName ?? null, null, 'no name is given rather than a wrong one');
  assert.match(ambiguous.explanation, /^Array grew by 40 elements/);
});
