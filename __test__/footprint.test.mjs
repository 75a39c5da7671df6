// Our own footprint: the trackers' hot paths retain nothing per call, and a
// BoundedLog holds no more than its byte bound plus the documented overhead.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { leakwatch, OUT, ROOT } from './helpers.mjs';

const native = createRequire(import.meta.url)('../binding.js');
const { BoundedLog, timers } = leakwatch;
const MB = 1024 * 1024;

// Documented in index.d.ts (BoundedLogStats.heldBytes) and the README.
const ENTRY_SLOT = 16;
const LOG_FIXED = 256;
const SPILL_BUFFER = 8 * 1024;

// Tolerances, from readings of this script (RSS moved by -6.6 to +0.5 MB and
// heapUsed by -0.03 to +0.10 MB across runs). 8 MB of RSS over 1M cycles
// catches any per-cycle native leak of 8 bytes or more (under 1 byte per
// push); 1 MB of heap over 1M cycles catches any retained JS object, the
// smallest of which is 12 bytes.
// RSS is judged by its steady growth: the second-smallest of a phase's four
// quarter deltas, times four. A leak grows every quarter alike; a one-off step
// of the engine's (the fixture runs V8's FinalizationRegistry step in plain JS
// before it measures) falls in one quarter and drops out.
const RSS_TOLERANCE = 8 * MB;
const HEAP_TOLERANCE = 1 * MB;

test('1M track/untrack, 1M timer create/clear and 10M log pushes leave RSS and heap flat', (t) => {
  const script = path.join(ROOT, '__test__', 'fixtures', 'footprint.js');
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=1', script], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.signal, null);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.cycles, { tracks: 1_000_000, timers: 1_000_000, pushes: 10_000_000 });
  const fmt = (b) => `${(b / MB).toFixed(2)} MB`;
  const lines = [`warm-up: rss ${fmt(out.warm.rss)}, heapUsed ${fmt(out.warm.heapUsed)}`];
  const signed = (b) => `${b >= 0 ? '+' : ''}${fmt(b)}`;
  let before = out.warm.rss;
  for (const [phase, m] of Object.entries(out.after)) {
    assert.equal(m.quarters.length, 4);
    const deltas = m.quarters.map((rss, q) => rss - (q === 0 ? before : m.quarters[q - 1]));
    before = m.quarters.at(-1);
    const steady = 4 * deltas.toSorted((a, b) => a - b)[1];
    const rss = m.rss - out.warm.rss;
    const heap = m.heapUsed - out.warm.heapUsed;
    lines.push(`${phase}: ${m.ms} ms (${m.cpuMs} ms CPU), rss ${signed(rss)} (quarters ${deltas.map(signed).join(' ')}), heapUsed ${signed(heap)}`);
    assert.ok(steady <= RSS_TOLERANCE, `${phase}: RSS grows by ${fmt(steady)} per ${out.cycles[phase]} cycles (quarters ${deltas.map(signed).join(' ')})`);
    assert.ok(heap <= HEAP_TOLERANCE, `${phase}: heapUsed grew by ${fmt(heap)}`);
  }
  for (const l of lines) t.diagnostic(l);
  // Nothing is left registered once every emitter is untracked and every timer cleared.
  assert.deepEqual(out.left, { emitters: 0, timers: 0, reportedEmitters: 0, activeTimers: 0 });
  // The default log (10000 entries) kept the newest entries and counted every eviction.
  const pushed = 11_000_000;
  assert.equal(out.log.size, 10_000);
  assert.equal(out.log.dropped, pushed - 10_000);
  assert.ok(out.log.heldBytes <= 16 * MB + 10_000 * ENTRY_SLOT + LOG_FIXED);
});

function boundOf(o) {
  return o.maxBytes + ENTRY_SLOT * o.maxEntries + LOG_FIXED + (o.spillTo ? SPILL_BUFFER + Buffer.byteLength(o.spillTo) : 0);
}

test('a BoundedLog never holds more than maxBytes + 16 B per entry slot + its fixed part', () => {
  const spillTo = path.join(OUT, `held-${process.pid}.jsonl`);
  const configs = [
    { maxEntries: 100, maxBytes: 4096, onOverflow: 'drop-oldest' },
    { maxEntries: 5000, maxBytes: 64 * 1024, onOverflow: 'drop-oldest' },
    { maxEntries: 300, maxBytes: 10_000, onOverflow: 'reject', spillTo },
  ];
  const entries = ['', 'x', 'é'.repeat(40), Buffer.alloc(200, 7), { k: 'v'.repeat(90) }, 'y'.repeat(5000), 12345];
  for (const o of configs) {
    const log = new BoundedLog(o);
    const bound = boundOf(o);
    let peak = 0;
    for (let i = 0; i < 20_000; i++) {
      log.push(entries[i % entries.length]);
      const s = log.stats();
      peak = Math.max(peak, s.heldBytes);
      assert.ok(s.heldBytes <= bound, `${JSON.stringify(o)}: held ${s.heldBytes} > ${bound} after push ${i}`);
      // heldBytes counts at least the payloads and one slot per entry held.
      assert.ok(s.heldBytes >= s.bytes + ENTRY_SLOT * s.size);
    }
    // The bound is approached, not met trivially by a log that stayed small.
    assert.ok(peak > o.maxBytes * 0.5 || peak > ENTRY_SLOT * o.maxEntries, `${JSON.stringify(o)}: peak ${peak}`);
    log.close();
  }
  // Without a count bound the slots are not capped by maxEntries: the
  // overhead is 16 B per entry held, which maxEntries exists to bound.
  const unbounded = new BoundedLog({ maxEntries: Infinity, maxBytes: 1000 });
  for (let i = 0; i < 10_000; i++) unbounded.push('');
  assert.equal(unbounded.size, 10_000);
  assert.equal(unbounded.bytes, 0);
  assert.ok(unbounded.heldBytes >= 10_000 * ENTRY_SLOT);
  unbounded.close();
});

test('timer sites from code loaded under ever-new names go with their timers', () => {
  const before = native.trackerCounts().timerSites;
  timers.install();
  const made = [];
  try {
    for (let i = 0; i < 2000; i++) {
      made.push(vm.runInThisContext('setInterval(() => {}, 60000)', { filename: `generated-${i}.js` }));
    }
    const sites = timers.active().bySite.filter((g) => /generated-\d+\.js/.test(g.site ?? ''));
    assert.equal(sites.length, 2000);
    assert.equal(native.trackerCounts().timerSites, before + 2000);
    for (const t of made) clearInterval(t);
  } finally {
    timers.uninstall();
  }
  timers.active(); // applies the journal of clears
  assert.equal(native.trackerCounts().timerSites, before);
});
