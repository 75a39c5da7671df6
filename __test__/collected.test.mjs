// expectCollected's contract: a function that creates, uses and returns the
// object (sync or async), so the test itself holds no reference to it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { leakwatch, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);

const { expectCollected } = leakwatch;

// A connection pool as a test would exercise one; `leaky` keeps every
// released connection in a list, the bug expectCollected is for.
class Pool {
  constructor({ leaky = false, async = false } = {}) {
    this.open = new Set();
    this.released = [];
    this.leaky = leaky;
    this.async = async;
  }
  acquire() {
    const conn = { socket: { buffer: new Array(256).fill(0) }, pool: this };
    this.open.add(conn);
    return this.async ? new Promise((resolve) => setImmediate(() => resolve(conn))) : conn;
  }
  release(conn) {
    this.open.delete(conn);
    if (this.leaky) this.released.push(conn);
    return this.async ? new Promise((resolve) => setImmediate(resolve)) : undefined;
  }
}

function assertRetainedVia(err, edges) {
  assert.equal(err.name, 'AssertionError');
  assert.match(err.message, /^expected Object @\d+ to be garbage-collected, but it is still reachable \(\d[\d.]* (B|kB)/);
  const labels = err.retainerPath.map((s) => s.edgeLabel).filter(Boolean);
  assert.deepEqual(labels.slice(-edges.length), edges, labels.join(' '));
  return true;
}

test('a function returning the object: passes when released, fails with the path when kept', async () => {
  const pool = (globalThis.__collectedPool = new Pool());
  const leaky = (globalThis.__collectedLeakyPool = new Pool({ leaky: true }));
  try {
    await expectCollected(() => {
      const conn = pool.acquire();
      pool.release(conn);
      return conn;
    });
    assert.equal(pool.open.size, 0);
    await assert.rejects(
      expectCollected(() => {
        const conn = leaky.acquire();
        leaky.release(conn);
        return conn;
      }),
      (err) => assertRetainedVia(err, ['.__collectedLeakyPool', '.released', '[0]']),
    );
  } finally {
    delete globalThis.__collectedPool;
    delete globalThis.__collectedLeakyPool;
  }
});

test('an async function is awaited: its result is checked, not the promise', async () => {
  const pool = (globalThis.__collectedPool = new Pool({ async: true }));
  const leaky = (globalThis.__collectedLeakyPool = new Pool({ async: true, leaky: true }));
  try {
    await expectCollected(async () => {
      const conn = await pool.acquire();
      await pool.release(conn);
      return conn;
    });
    // Control: were the promise checked, this would pass (the promise is
    // garbage as soon as it settles) while the connection stays reachable.
    await assert.rejects(
      expectCollected(async () => {
        const conn = await leaky.acquire();
        await leaky.release(conn);
        return conn;
      }),
      (err) => assertRetainedVia(err, ['.__collectedLeakyPool', '.released', '[0]']),
    );
  } finally {
    delete globalThis.__collectedPool;
    delete globalThis.__collectedLeakyPool;
  }
});

test('a function that returns nothing is a usage error that shows the right form', async () => {
  const pool = new Pool();
  const conn = pool.acquire();
  await assert.rejects(
    expectCollected(() => pool.release(conn)),
    (err) => {
      assert.equal(err.code, 'ERR_INVALID_ARG');
      assert.match(err.message, /must return the object that should be collected, and it returned undefined/);
      assert.match(err.message, /return conn; \}\)$/);
      return true;
    },
  );
  await assert.rejects(expectCollected(async () => 7), { code: 'ERR_INVALID_ARG', message: /returned number/ });
  await assert.rejects(expectCollected(() => null), { code: 'ERR_INVALID_ARG', message: /returned null/ });
  await assert.rejects(expectCollected(() => conn, null), { code: 'ERR_INVALID_ARG', message: /options must be an object/ });
  await assert.rejects(expectCollected(() => conn, { attempts: 0 }), { code: 'ERR_INVALID_ARG', message: /attempts/ });
});

test('errors thrown by the function reach the caller unchanged', async () => {
  const boom = new Error('acquire failed');
  await assert.rejects(expectCollected(() => { throw boom; }), (err) => err === boom);
  await assert.rejects(expectCollected(async () => { throw boom; }), (err) => err === boom);
});

test('an object passed directly is checked as it is', async () => {
  await expectCollected(new Map([[1, { big: new Array(100).fill(1) }]]));
  const kept = (globalThis.__collectedKept = { big: new Array(100).fill(2) });
  try {
    await assert.rejects(expectCollected(kept), (err) => assertRetainedVia(err, ['.__collectedKept']));
  } finally {
    delete globalThis.__collectedKept;
  }
});

// sinon's default install fakes process.nextTick too (as Jest's modern fake
// timers do), through which the heap snapshot's stream is read.
const fakeClockCheck = `
  const kept = [];
  await expectCollected(() => ({ conn: 1 }));
  const err = await expectNoLeak((i) => kept.push({ i, user: 'u' + i }), { iterations: 60 }).then(() => null, (e) => e);
  console.log(JSON.stringify({ message: err && err.message.split('\\n')[0], holder: /Array \`kept\` grew/.test(err && err.message), stillFake: process.nextTick.clock === clock, onClock: clock.countTimers() }));
`;

for (const order of ['before', 'after']) {
  test(`leakwatch loaded ${order} a fake clock that is never advanced: expectCollected and expectNoLeak still finish, and the clock keeps its fakes`, () => {
    const load = `const { expectCollected, expectNoLeak } = require(${JSON.stringify(path.join(ROOT, 'index.js'))});`;
    const install = `const clock = require(${JSON.stringify(require.resolve('@sinonjs/fake-timers'))}).install();`;
    const program = `(async () => { ${order === 'before' ? load + install : install + load} ${fakeClockCheck} })();`;
    const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}');
    assert.match(out.message ?? '', /^expected no leak after \d+ calls, found 1 suspect:$/);
    assert.equal(out.holder, true, r.stdout);
    assert.equal(out.stillFake, true, 'the test\'s clock is put back');
    assert.equal(out.onClock, 0, 'nothing of leakwatch\'s went onto the fake clock');
  });
}
