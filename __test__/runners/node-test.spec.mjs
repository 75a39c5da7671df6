// A user's test file under node:test: one clean and one leaky function, both
// at expectNoLeak's default options, and an object expectCollected finds
// still referenced. Run by __test__/runners.test.mjs, which expects the two
// leaky tests to fail.
import test from 'node:test';
import { createRequire } from 'node:module';

const { expectNoLeak, expectCollected } = createRequire(import.meta.url)('../../index.js');

const sessions = [];
const keptConnections = [];

test('a clean handler', async () => {
  await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
});

test('a handler that keeps every session', async () => {
  await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
});

test('a released connection that is still referenced', async () => {
  await expectCollected(() => {
    const conn = { socket: 'x'.repeat(100) };
    keptConnections.push(conn);
    return conn;
  });
});
