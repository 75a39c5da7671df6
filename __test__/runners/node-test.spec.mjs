// A user's test file under node:test: one clean and one leaky function, both
// at expectNoLeak's default options. Run by __test__/runners.test.mjs, which
// expects the leaky test to fail.
import test from 'node:test';
import { createRequire } from 'node:module';

const { expectNoLeak } = createRequire(import.meta.url)('../../index.js');

const sessions = [];

test('a clean handler', async () => {
  await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
});

test('a handler that keeps every session', async () => {
  await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
});
