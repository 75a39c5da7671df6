'use strict';
// A user's test file under Mocha: one clean and one leaky function, both at
// expectNoLeak's default options, and expectCollected on a dropped and on a
// still referenced object. Mocha's 2 s default timeout is too short for three
// heap snapshots of the test process, so the suite sets the timeout the README
// gives. Run by __test__/runners.test.mjs, which expects the two leaky tests
// to fail.
const { expectNoLeak, expectCollected } = require('../../index.js');

const sessions = [];
const keptConnections = [];

describe('leakwatch under mocha', function () {
  this.timeout(60_000);

  it('a clean handler', async () => {
    await expectNoLeak((i) => JSON.stringify({ id: i, user: `u${i}` }));
  });

  it('a handler that keeps every session', async () => {
    await expectNoLeak((i) => sessions.push({ id: i, user: `u${i}` }));
  });

  it('expectCollected passes for a dropped object', async () => {
    await expectCollected(() => new Map([[1, 'x']]));
  });

  it('a released connection that is still referenced', async () => {
    await expectCollected(() => {
      const conn = { socket: 'x'.repeat(100) };
      keptConnections.push(conn);
      return conn;
    });
  });
});
