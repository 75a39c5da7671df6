// The quality gate on realistic programs: services on express, ws,
// lru-cache, generic-pool, rxjs and lodash, driven over loopback, each
// writing its snapshots from a child process (fixtures/realistic/). Every
// leak must be the top suspect, under the holder a person would name; no
// control may yield a suspect. Snapshots are cached per Node version and
// program source, so a run generates each once.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { leakwatch, OUT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { generate, programNames, programSource } = require('./fixtures/realistic/harness.js');
const { findLeaks } = leakwatch;

// Programs whose point needs a fourth snapshot; the others write three.
const SNAPSHOTS = { 'lru-fills-to-max': 4, 'express-request-log': 4, 'keepalive-socket-listeners': 4 };

const LEAKS = {
  'express-request-log': { kind: 'collection', holderClass: 'Array', holderName: 'requestLog', leaked: /^\{url, method/, text: /Array `requestLog` grew by 200 elements .*\(200 → 400 → 600 → 800\)/ },
  'express-emitter-listener': { kind: 'listeners', holderClass: 'EventEmitter', holderName: 'priceFeed', leaked: /^closures `onPrice`/, text: /EventEmitter `priceFeed` keeps gaining 'price' listeners: 400 → 600/ },
  'keepalive-socket-listeners': { kind: 'listeners', holderClass: 'Socket', holders: 4, leaked: /^closures `onSocketClose`/, text: /'close' listeners are added to 4 Socket objects and never removed: \+50 on each/ },
  'poller-timeout-chain': { kind: 'timers', holderClass: 'InventoryPoller', holderName: 'this', text: /InventoryPoller objects are kept alive only by their own setTimeout chains/, advice: /clearTimeout\(this\.timer\)/ },
  'ws-client-set': { kind: 'collection', holderClass: 'Set', holderName: 'subscribers', leaked: /^WebSocket$/, text: /Set `subscribers` grew by 40 entries/ },
  'rpc-pending-map': { kind: 'collection', holderClass: 'Map', holderName: 'pendingCalls', leaked: /^\{resolve, reject, method/, text: /Map `pendingCalls` grew by 200 entries/ },
  'als-timer-store': { kind: 'timers', text: /setTimeout timers calling `writeAudit` .* are pending \(200 → 400 → 600 .*AsyncLocalStorage store/, leaked: /^\{requestId, user, payload\}$/, advice: /clearTimeout/ },
  'require-cache-reload': { kind: 'modules', holderClass: 'Array', holderName: 'children', leaked: /^Module$/, text: /Module objects accumulate in `module\.children` of .*leaks\.js: 48 → 88 → 128 .*copies of .*pricing-rules\.js/ },
  'sliced-body-tokens': { kind: 'collection', holderClass: 'Map', holderName: 'lastTokenByClient', text: /400 of them are sliced strings .* keep their parent strings alive: 1\.2 MB of parents, 3\.0 kB each/, advice: /copy of the substring/ },
  'audit-lines-concatenated': { kind: 'collection', holderClass: 'Array', holderName: 'auditTrail', text: /400 of them are concatenated strings .* keep the strings they join alive: \d{3} kB of parts, 2\.\d kB each/ },
  'buffer-uploads': { kind: 'collection', holderClass: 'Array', holderName: 'pendingUploads', leaked: /^\{id, data\}$/, text: /outside the JS heap in \d+ ArrayBuffer backing stores \((16\.4 kB each\)\.|\d+\.\d kB each\), shared by 200 Buffers or typed arrays\.)/ },
  'arraybuffer-thumbnails': { kind: 'collection', holderClass: 'Map', holderName: 'thumbnails', leaked: /^ArrayBuffer$/, text: /They hold 6\.6 MB outside the JS heap in 200 ArrayBuffer backing stores \(32\.8 kB each\)/ },
  'rxjs-subscriptions': { kind: 'collection', holderClass: 'Array', holderPath: 'priceUpdates$.observers', leaked: /^SafeSubscriber$/, text: /Array `priceUpdates\$\.observers` grew by 200 elements/ },
  'lodash-memoize': { kind: 'collection', holderPath: 'loadProfile.cache.__data__.string.__data__', leaked: /^\{url, profile\}$/, text: /grew by 200 properties/ },
  'lru-ttl-unbounded': { kind: 'collection', holderClass: 'Array', holderPath: 'sessionCache.#t', leaked: /^\{sid, cart/, text: /grew by 200 elements .* It grows together with `#i`/ },
  'pool-no-release': { kind: 'collection', holderClass: 'Map', holderPath: 'dbPool._resourceLoans', text: /grew by 100 entries .* It grows together with `_allObjects` \(Set, 100 → 200 → 300 entries\)/ },
};

const CONTROLS = [
  'lru-bounded-churn',
  'lru-fills-to-max',
  'pool-plateau',
  'once-listeners-no-yield',
  'microtasks-no-yield',
  'replaced-values',
  'poller-stopped',
  'ws-clients-removed',
  'rpc-pending-settled',
  'keepalive-listener-removed',
  'als-timers-fire',
  'memoize-bounded-rxjs-take',
  'buffer-ring',
];

assert.deepEqual([...Object.keys(LEAKS), ...CONTROLS].sort(), [...programNames].sort(), 'every program is a leak or a control');

// Snapshots are kept per Node version and program source: editing one
// program regenerates only its own.
const DIR = path.join(OUT, 'realistic', process.version);

// One program also runs with allocation tracking on, at a fifth of the
// traffic: tracking makes allocation about 20 times slower.
const TRACKED = { name: 'express-emitter-listener', perRound: 40 };

function dirOf(name, variant = '') {
  const hash = crypto.createHash('sha256').update(programSource(name)).update(variant).digest('hex').slice(0, 12);
  return path.join(DIR, `${name}${variant}-${hash}`);
}

function filesOf(name, variant = '') {
  const count = variant ? 3 : SNAPSHOTS[name] ?? 3;
  return Array.from({ length: count }, (_, k) => path.join(dirOf(name, variant), `s${k + 1}.heapsnapshot`));
}

/** Each program once per run and Node version, two at a time (CI has two cores). */
async function generateAll() {
  const jobs = [
    ...programNames.map((name) => ({ name, variant: '', run: () => generate(name, dirOf(name), SNAPSHOTS[name] ?? 3) })),
    { name: TRACKED.name, variant: '-tracked', run: () => generate(TRACKED.name, dirOf(TRACKED.name, '-tracked'), 3, { track: true, perRound: TRACKED.perRound }) },
  ];
  const todo = jobs.filter((j) => !filesOf(j.name, j.variant).every((f) => fs.existsSync(f)));
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const job = todo[next++];
      // Drop this program's snapshots from older sources.
      const stale = `${job.name}${job.variant}`;
      for (const old of fs.readdirSync(DIR).filter((d) => d.slice(0, -13) === stale)) fs.rmSync(path.join(DIR, old), { recursive: true, force: true });
      await job.run();
    }
  };
  await Promise.all([worker(), worker()]);
}

fs.mkdirSync(DIR, { recursive: true });
await generateAll();

function summary(s) {
  return `[${s.kind}, ${s.confidence}] ${s.explanation}`;
}

for (const [name, want] of Object.entries(LEAKS)) {
  test(`leak "${name}": the top suspect names it`, async (t) => {
    const suspects = await findLeaks(filesOf(name));
    assert.ok(suspects.length >= 1, 'at least one suspect');
    const top = suspects[0];
    t.diagnostic(summary(top));
    assert.equal(top.kind, want.kind, summary(top));
    if (want.holderClass) assert.equal(top.holderClass, want.holderClass, summary(top));
    if (want.holderName) assert.equal(top.holderName, want.holderName, summary(top));
    if (want.holderPath) assert.equal(top.holderPath, want.holderPath, summary(top));
    if (want.leaked) assert.match(top.leakedClass, want.leaked, summary(top));
    if (want.advice) assert.match(top.advice, want.advice);
    assert.match(top.text, want.text);
    assert.equal(top.holders, want.holders ?? 1, 'one suspect per bug');
    assert.equal(top.confidence, 'high', summary(top));
    const n = filesOf(name).length;
    assert.equal(top.counts.length, n, 'a count per snapshot');
    assert.equal(top.retainedSizes.length, n);
    assert.equal(top.added.length, n - 1);
    assert.ok(top.survivors >= 8 && top.newObjects >= 1);
    // Node's queues, timer lists and module registry never appear as a
    // user's holder, nor do V8's own classes.
    for (const s of suspects) {
      assert.doesNotMatch(s.holderClass, /^(FixedQueue|FixedCircularBuffer|TimersList|PriorityQueue|FreeList|\(|system \/)/, summary(s));
      assert.doesNotMatch(s.leakedClass, /^(\(|system \/)/, summary(s));
    }
  });
}

for (const name of CONTROLS) {
  test(`control "${name}": no suspect`, async () => {
    const suspects = await findLeaks(filesOf(name));
    assert.deepEqual(suspects.map(summary), []);
  });
}

test('Node queues that grow while the loop never yields are explained, not reported', async () => {
  const ticks = await findLeaks(filesOf('once-listeners-no-yield'));
  assert.deepEqual([...ticks], []);
  const tick = ticks.notes.find((n) => n.kind === 'nextTick');
  assert.ok(tick, JSON.stringify(ticks.notes));
  assert.match(tick.text, /^200 callbacks queued with process\.nextTick since snapshot 1 have not run: the event loop has not turned/);
  const micro = await findLeaks(filesOf('microtasks-no-yield'));
  assert.deepEqual([...micro], []);
  const note = micro.notes.find((n) => n.kind === 'microtasks');
  assert.ok(note, JSON.stringify(micro.notes));
  // 600 reactions a round (300 promise reactions, 300 queueMicrotask
  // callbacks), over what was already queued at the first snapshot.
  assert.deepEqual(note.counts.slice(1).map((c, k) => c - note.counts[k]), [600, 600]);
  assert.ok(note.counts[0] >= 600);
});

test('growth must hold at every step: a fourth snapshot shows a filling cache plateau', async () => {
  const files = filesOf('lru-fills-to-max');
  const firstThree = await findLeaks(files.slice(0, 3));
  assert.equal(firstThree.length, 1, 'over three snapshots the filling cache rises at every step');
  assert.deepEqual(firstThree[0].counts, [100, 300, 500]);
  assert.deepEqual([...(await findLeaks(files))], []);
  const log = await findLeaks(filesOf('express-request-log'));
  assert.deepEqual(log[0].counts, [200, 400, 600, 800]);
  assert.deepEqual(log[0].added, [200 * 3, 200 * 3, 200 * 3], 'each interval adds 200 records of 3 objects, all still alive');
  assert.equal(log.snapshots.length, 4);
  assert.ok(log.snapshots.every((s, k) => s.nodeCount > 0 && (k === 0 || s.totalSize > log.snapshots[k - 1].totalSize)));
});

test('findLeaks on snapshots of a tracked service names where the leak was allocated', async () => {
  const suspects = await findLeaks(filesOf(TRACKED.name, '-tracked'));
  assert.ok(suspects.snapshots.every((s) => s.tracked));
  const top = suspects[0];
  assert.equal(top.kind, 'listeners', top.explanation);
  assert.deepEqual(top.counts, [40, 80, 120]);
  const source = fs.readFileSync(require.resolve('./fixtures/realistic/leaks.js'), 'utf8').split('\n');
  const line = source.findIndex((l) => l.includes('function startWatching')) + 1;
  assert.match(top.leakedClass, new RegExp(`^closures \`onPrice\` created in \`startWatching\` \\(.*leaks\\.js:${line}\\)$`));
  const site = top.allocationSites[0];
  assert.equal(site.functionName, 'startWatching');
  assert.equal(site.line, line);
  assert.ok(site.count >= 8);
});

test('snapshots out of order are refused with ERR_SNAPSHOT_ORDER', async () => {
  const [s1, s2, s3] = filesOf('express-emitter-listener');
  await assert.rejects(findLeaks([s3, s2, s1]), { code: 'ERR_SNAPSHOT_ORDER', message: /snapshot 2 was taken before snapshot 1/ });
  await assert.rejects(findLeaks([s1, s3, s2]), { code: 'ERR_SNAPSHOT_ORDER', message: /snapshot 3 was taken before snapshot 2/ });
  await assert.rejects(findLeaks([s1, s2, s2]), { code: 'ERR_SNAPSHOT_ORDER', message: /hold the same heap/ });
});

test('snapshots of different processes are refused with ERR_SNAPSHOT_MISMATCH', async () => {
  const a = filesOf('express-request-log');
  const b = filesOf('lru-bounded-churn');
  await assert.rejects(findLeaks([a[0], b[1], b[2]]), { code: 'ERR_SNAPSHOT_MISMATCH', message: /snapshots 1 and 2 come from different processes/ });
  await assert.rejects(findLeaks([a[0], a[1], b[2]]), { code: 'ERR_SNAPSHOT_MISMATCH', message: /snapshots 2 and 3/ });
});
