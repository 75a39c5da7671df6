'use strict';
// Run by __test__/runners.test.mjs under Mocha (a second test runner): the
// assertions must work with Mocha's own async handling and reporters.
const assert = require('node:assert');
const { expectNoLeak, expectCollected } = require('../../index.js');

describe('leakwatch under mocha', function () {
  this.timeout(60_000);

  it('passes a function that does not leak', async () => {
    const report = await expectNoLeak(() => JSON.stringify({ a: [1, 2, 3] }), { iterations: 30 });
    assert.deepStrictEqual(report.suspects, []);
  });

  it('fails a function that leaks, naming the array', async () => {
    const leaked = (globalThis.mochaLeak = []);
    await assert.rejects(expectNoLeak((i) => leaked.push({ i }), { iterations: 40 }), /Array `mochaLeak` grew by 40 elements/);
    delete globalThis.mochaLeak;
  });

  it('expectCollected passes for a dropped object', async () => {
    await expectCollected(() => new Map([[1, 'x']]));
  });
});
