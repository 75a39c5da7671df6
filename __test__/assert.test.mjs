// expectNoLeak / expectCollected inside node:test, without --expose-gc.
import test from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { leakwatch } from './helpers.mjs';

const { expectNoLeak, expectCollected } = leakwatch;

test('expectNoLeak fails on a growing global array, naming it with its path', async () => {
  const sink = (globalThis.__leakyRequestLog = []);
  try {
    await assert.rejects(
      expectNoLeak((i) => sink.push({ url: `/r/${i}`, at: i }), { iterations: 60 }),
      (err) => {
        assert.equal(err.name, 'AssertionError');
        assert.match(err.message, /Array `__leakyRequestLog` grew by 60 elements/);
        assert.match(err.message, /\.__leakyRequestLog Array/);
        assert.equal(err.suspects[0].holderName, '__leakyRequestLog');
        return true;
      },
    );
  } finally {
    delete globalThis.__leakyRequestLog;
  }
});

test('expectNoLeak fails on per-call listeners and passes once they are removed', async () => {
  const emitter = (globalThis.__leakyEmitter = new EventEmitter());
  emitter.setMaxListeners(0);
  try {
    await assert.rejects(
      expectNoLeak(() => emitter.on('tick', () => {}), { iterations: 40 }),
      (err) => err.suspects[0].kind === 'listeners' && /'tick' listeners/.test(err.message),
    );
    emitter.removeAllListeners();
    const report = await expectNoLeak(
      () => {
        const f = () => {};
        emitter.on('tick', f);
        emitter.off('tick', f);
      },
      { iterations: 40 },
    );
    assert.deepEqual(report.suspects, []);
    assert.equal(report.heapSizes.length, 3);
  } finally {
    delete globalThis.__leakyEmitter;
  }
});

test('expectCollected passes for garbage and shows the path of a retained object', async () => {
  await expectCollected(() => ({ big: new Array(1000).fill(1) }));
  const holder = (globalThis.__collectedHolder = { kept: { big: new Array(1000).fill(2) } });
  try {
    await assert.rejects(expectCollected(() => holder.kept), (err) => {
      assert.equal(err.name, 'AssertionError');
      assert.match(err.message, /still reachable/);
      const labels = err.retainerPath.map((s) => s.edgeLabel).filter(Boolean);
      assert.deepEqual(labels.slice(-2), ['.__collectedHolder', '.kept']);
      return true;
    });
  } finally {
    delete globalThis.__collectedHolder;
  }
  await assert.rejects(expectCollected(42), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(expectNoLeak('nope'), { code: 'ERR_INVALID_ARG' });
});
