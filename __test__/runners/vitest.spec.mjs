// A user's test file under Vitest: one clean and one leaky function, both at
// expectNoLeak's default options, and an object expectCollected finds still
// referenced, with the timeout the README gives (Vitest's 5 s default is too
// short for three heap snapshots of the test process). Vitest wraps this
// module's code in a block, so `sessions` is a block-scoped variable to V8.
// Run by __test__/runners.test.mjs, which expects the two leaky tests to fail.
import { test } from 'vitest';
import { createRequire } from 'node:module';

const { expectNoLeak, expectCollected } = createRequire(import.meta.url)('../../index.js');

const sessions = [];
const keptConnections = [];

test('a clean handler', async () => {
  await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
}, 60_000);

test('a handler that keeps every session', async () => {
  await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
}, 60_000);

test('a released connection that is still referenced', async () => {
  await expectCollected(() => {
    const conn = { socket: 'x'.repeat(100) };
    keptConnections.push(conn);
    return conn;
  });
}, 60_000);
