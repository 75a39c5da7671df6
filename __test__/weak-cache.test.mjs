// WeakValueCache against the seed's Map-of-WeakRefs: both let values go, only
// ours lets the entries go too.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { leakwatch, ROOT } from './helpers.mjs';

const { WeakValueCache } = leakwatch;

test('getOrCreate caches live values; get, has, delete, size', () => {
  const cache = new WeakValueCache();
  let calls = 0;
  const make = (k) => ({ k, n: ++calls });
  const a = cache.getOrCreate('a', make);
  assert.equal(cache.getOrCreate('a', make), a);
  assert.equal(calls, 1);
  assert.equal(cache.get('a'), a);
  assert.equal(cache.has('b'), false);
  cache.set('b', make('b'));
  assert.equal(cache.size, 2);
  assert.equal(cache.delete('a'), true);
  assert.equal(cache.delete('a'), false);
  assert.equal(cache.size, 1);
  assert.deepEqual([...cache].map(([k]) => k), ['b']);
});

test('primitives and non-function factories are refused with a code', () => {
  const cache = new WeakValueCache();
  assert.throws(() => cache.set('k', 5), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => cache.getOrCreate('k', () => 'str'), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => cache.getOrCreate('k', 'factory'), { code: 'ERR_INVALID_ARG' });
  assert.equal(cache.size, 0);
});

test('over 100k distinct keys the seed’s Map grows to 100k entries while ours stays flat', () => {
  const script = `
    const { WeakValueCache } = require(${JSON.stringify(ROOT)});
    // The seed's recommendation, as written there: values held weakly, entries never deleted.
    class SeedCache {
      constructor() { this.map = new Map(); }
      get(key, factory) {
        const v = this.map.get(key)?.deref();
        if (v) return v;
        const fresh = factory(key);
        this.map.set(key, new WeakRef(fresh));
        return fresh;
      }
    }
    // deref() keeps a target alive until the current job ends, so collect in a fresh one.
    const tick = () => new Promise((r) => setImmediate(r));
    const settle = async () => { await tick(); globalThis.gc(); for (let i = 0; i < 3; i++) await tick(); };
    (async () => {
      const seed = new SeedCache();
      const ours = new WeakValueCache();
      const seedSizes = [];
      const ourSizes = [];
      for (let round = 0; round < 10; round++) {
        for (let i = 0; i < 10000; i++) {
          const key = 'k' + (round * 10000 + i);
          seed.get(key, () => ({ payload: new Array(8).fill(i) }));
          ours.getOrCreate(key, () => ({ payload: new Array(8).fill(i) }));
        }
        await settle();
        seedSizes.push(seed.map.size);
        ourSizes.push(ours.size);
      }
      // The newest value under a key survives the finalizer of the older one.
      let old = ours.getOrCreate('same', () => ({ v: 1 }));
      old = null;
      const kept = { v: 2 };
      ours.set('same', kept);
      await settle();
      console.log(JSON.stringify({ seedSizes, ourSizes, newer: ours.get('same') === kept }));
    })();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const { seedSizes, ourSizes, newer } = JSON.parse(r.stdout);
  assert.equal(seedSizes.at(-1), 100_000);
  assert.deepEqual(seedSizes, seedSizes.map((_, i) => (i + 1) * 10_000));
  assert.ok(Math.max(...ourSizes) < 100, `ours: ${ourSizes}`);
  assert.equal(newer, true);
});
