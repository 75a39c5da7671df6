// A user's test file under Vitest: one clean and one leaky function, both at
// expectNoLeak's default options, with the timeout the README gives (Vitest's
// 5 s default is too short for three heap snapshots of the test process). Vitest
// wraps this module's code in a block, so `sessions` is a block-scoped
// variable to V8. Run by __test__/runners.test.mjs, which expects the leaky
// test to fail.
import { test } from 'vitest';
import { createRequire } from 'node:module';

const { expectNoLeak } = createRequire(import.meta.url)('../../index.js');

const sessions = [];

test('a clean handler', async () => {
  await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
}, 60_000);

test('a handler that keeps every session', async () => {
  await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
}, 60_000);
