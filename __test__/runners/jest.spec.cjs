'use strict';
// A user's test file under Jest: one clean and one leaky function, both at
// expectNoLeak's default options, with the timeout the README gives (Jest's
// 5 s default is too short for three heap snapshots of the test process). Run by
// __test__/runners.test.mjs, which expects the leaky test to fail.
const { expectNoLeak } = require('../../index.js');

const sessions = [];

test('a clean handler', async () => {
  await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
}, 60_000);

test('a handler that keeps every session', async () => {
  await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
}, 60_000);
