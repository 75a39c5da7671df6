// Snapshot files for real, in temp dirs: atomic names, mode bits, retention,
// coalescing, headroom skips, write failures as events, triggers; fast mode
// and whole-process behaviour in child processes.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { leakwatch, ROOT } from './helpers.mjs';

const { snapshots, Monitor } = leakwatch;
const NAME = /^leakwatch-\d{8}T\d{6}-\d{3}Z-(\d+)-\d+-\d+-[0-9a-f]{16}\.heapsnapshot$/;

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-snap-'));
}

const listing = (dir) => fs.readdirSync(dir).sort();

function child(program, { shellPrefix = '', timeout = 25_000 } = {}) {
  // bash only to set resource limits; the program goes through argv untouched.
  const r = spawnSync('bash', ['-c', `${shellPrefix} exec "$0" -e "$1"`, process.execPath, program], { encoding: 'utf8', timeout, cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

test('take() writes a complete 0600 file named with time and pid, via a temp name', async () => {
  const dir = tempDir();
  const r = await snapshots.take({ dir });
  assert.equal(path.dirname(r.path), dir);
  const name = path.basename(r.path);
  assert.equal(Number(NAME.exec(name)?.[1]), process.pid, name);
  const st = fs.statSync(r.path);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(r.bytes, st.size);
  assert.ok(r.bytes > 100_000 && r.durationMs > 0 && r.heapUsed > 0);
  assert.deepEqual(listing(dir), [name], 'no temp file left behind');
  // Complete JSON: the tail closes the top-level object.
  const text = fs.readFileSync(r.path, 'utf8');
  assert.ok(text.startsWith('{"snapshot":') && text.trimEnd().endsWith('}'));
  assert.equal(typeof JSON.parse(text).snapshot.node_count, 'number');
});

test('concurrent requests share one snapshot', async () => {
  const dir = tempDir();
  const results = await Promise.all([snapshots.take({ dir }), snapshots.take({ dir }), snapshots.take({ dir })]);
  assert.equal(new Set(results.map((r) => r.path)).size, 1);
  assert.equal(listing(dir).length, 1);
  const s = snapshots.schedule({ dir, minIntervalMs: 0 });
  const events = [];
  s.on('snapshot', (e) => events.push(e));
  const [a, b] = await Promise.all([s.take('interval'), s.take('signal')]);
  assert.equal(a.path, b.path, 'the second trigger got the first one\'s file');
  assert.equal(events.length, 1);
  assert.equal(listing(dir).length, 2);
  s.stop();
});

test('retention keeps maxFiles / maxBytes of our files and never touches others', async () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'app.heapsnapshot'), 'mine');
  fs.writeFileSync(path.join(dir, 'leakwatch-notes.txt'), 'mine too');
  const paths = [];
  for (let i = 0; i < 4; i++) paths.push((await snapshots.take({ dir, maxFiles: 2 })).path);
  const ours = listing(dir).filter((n) => NAME.test(n));
  assert.deepEqual(ours, paths.slice(2).map((p) => path.basename(p)));
  assert.ok(fs.existsSync(path.join(dir, 'app.heapsnapshot')) && fs.existsSync(path.join(dir, 'leakwatch-notes.txt')));
  // A byte budget smaller than two files keeps only the newest.
  const last = await snapshots.take({ dir, maxBytes: fs.statSync(paths[3]).size + 1000 });
  assert.deepEqual(last.deleted.sort(), ours);
  assert.deepEqual(listing(dir).filter((n) => NAME.test(n)), [path.basename(last.path)]);
});

test('not enough memory: skipped with the reason, nothing written', async () => {
  const dir = tempDir();
  const r = await snapshots.take({ dir, headroomFactor: 1e9 });
  assert.equal(r.skipped, true);
  assert.match(r.reason, /^not enough memory \((cgroup|system)\)$/);
  assert.ok(r.needBytes > r.availableBytes);
  assert.deepEqual(listing(dir), []);
  const s = snapshots.schedule({ dir, headroomFactor: 1e9, minIntervalMs: 0 });
  const [skipped] = await Promise.all([once(s, 'snapshot-skipped'), s.take()]);
  assert.equal(skipped[0].trigger, 'manual');
  assert.match(skipped[0].reason, /not enough memory/);
});

test('debounce: a second trigger inside minIntervalMs is skipped', async () => {
  const dir = tempDir();
  const s = snapshots.schedule({ dir, minIntervalMs: 60_000 });
  const first = await s.take();
  assert.ok(first.path);
  const second = await s.take('growth');
  assert.equal(second.reason, 'debounced');
  assert.ok(second.retryInMs > 50_000 && second.retryInMs <= 60_000);
  assert.equal(listing(dir).length, 1);
  s.stop();
});

test('unwritable dir: take() rejects with a code, schedule emits error, no crash', async () => {
  const base = tempDir();
  const file = path.join(base, 'not-a-dir');
  fs.writeFileSync(file, '');
  await assert.rejects(snapshots.take({ dir: path.join(file, 'sub') }), (err) => err.code === 'ERR_SNAPSHOT_WRITE' && err.cause.code === 'ENOTDIR');
  const s = snapshots.schedule({ dir: file, minIntervalMs: 0 });
  const [err] = await Promise.all([once(s, 'error').then(([e]) => e), s.take()]);
  assert.equal(err.code, 'ERR_SNAPSHOT_WRITE');
  assert.equal(err.cause.code, 'EEXIST');
  // Without an error listener the failure becomes a process warning, not an exception.
  const s2 = snapshots.schedule({ dir: file, minIntervalMs: 0 });
  const [warning] = await Promise.all([once(process, 'warning').then(([w]) => w), s2.take()]);
  assert.ok(warning instanceof Error);
  s.stop();
  s2.stop();
});

test('disk full mid-write: error event, no partial file, process carries on', () => {
  // RLIMIT_FSIZE makes writes past 256 KiB fail with EFBIG, like a full disk.
  const out = child(
    `
    const fs = require('fs');
    const { snapshots } = require(${JSON.stringify(ROOT)});
    const dir = fs.mkdtempSync(require('os').tmpdir() + '/leakwatch-full-');
    globalThis.keep = Array.from({ length: 50000 }, (_, i) => ({ i }));
    // No headroom check: this test is about the write failing, not the
    // memory a busy test machine happens to have free.
    const s = snapshots.schedule({ dir, minIntervalMs: 0, headroomFactor: 0 });
    s.on('error', (e) => {
      console.log(JSON.stringify({ code: e.code, cause: e.cause && e.cause.code, files: fs.readdirSync(dir) }));
    });
    s.on('snapshot-skipped', (r) => console.log(JSON.stringify({ skipped: r })));
    s.take();
  `,
    { shellPrefix: 'ulimit -f 256;' },
  );
  assert.equal(out.code, 'ERR_SNAPSHOT_WRITE');
  assert.equal(out.cause, 'EFBIG');
  assert.deepEqual(out.files, []);
});

test('growth and leak-suspected triggers fire from a monitor\'s samples', async () => {
  const dir = tempDir();
  const m = new Monitor({ alert: { minDurationMs: 60_000, warmupMs: 0, windowMs: 600_000 } });
  const s = snapshots.schedule({ dir, monitor: m, onGrowthPct: 50, onLeakSuspected: true, minIntervalMs: 0 });
  const triggers = [];
  s.on('snapshot', (e) => triggers.push(e.trigger));
  const MB = 1 << 20;
  m.record({ t: 0, heapUsed: 100 * MB, afterGc: true });
  m.record({ t: 1000, heapUsed: 140 * MB, afterGc: true });
  m.record({ t: 2000, heapUsed: 150 * MB, afterGc: true });
  m.record({ t: 2500, heapUsed: 999 * MB, afterGc: false });
  await once(s, 'snapshot');
  assert.deepEqual(triggers, ['growth']);
  for (let i = 1; i <= 20; i++) m.record({ t: 2000 + i * 10_000, heapUsed: 150 * MB + i * MB, afterGc: true });
  while (!triggers.includes('leak-suspected')) await once(s, 'snapshot');
  assert.equal(m.alerting, true);
  s.stop();
  assert.equal(m.listenerCount('sample'), 0, 'stop() unsubscribes');
});

test('analyze: true emits the analysis of each new file', async () => {
  const dir = tempDir();
  const s = snapshots.schedule({ dir, analyze: true, minIntervalMs: 0 });
  const [[report], taken] = await Promise.all([once(s, 'report'), s.take()]);
  assert.equal(report.path, taken.path);
  assert.ok(report.report.nodeCount > 10_000);
  assert.ok(report.report.classes.length > 0);
  s.stop();
});

test('bad options throw ERR_INVALID_ARG', async () => {
  await assert.rejects(snapshots.take({}), { code: 'ERR_INVALID_ARG' });
  await assert.rejects(snapshots.take({ dir: 'x', maxFiles: -1 }), { code: 'ERR_INVALID_ARG' });
  for (const o of [{ dir: 'x', everyMs: 0 }, { dir: 'x', onGrowthPct: -1 }, { dir: 'x', signal: 'USR2' }, { dir: 'x', signal: 'SIGUSR1' }, { dir: 'x', monitor: {} }]) {
    assert.throws(() => snapshots.schedule(o), { code: 'ERR_INVALID_ARG' }, JSON.stringify(o));
  }
});

test('signal and interval triggers in a real process, which still exits on its own', () => {
  const out = child(`
    const fs = require('fs');
    const { snapshots } = require(${JSON.stringify(ROOT)});
    const dir = fs.mkdtempSync(require('os').tmpdir() + '/leakwatch-sig-');
    const events = [];
    // A trigger that comes while a write is under way joins that write, and
    // a loaded machine can take longer than a short interval per write: then
    // an overdue tick starts the next write before the signal is handled,
    // every time. 2 s leaves the signal a gap.
    const s = snapshots.schedule({ dir, signal: 'SIGUSR2', everyMs: 2000, minIntervalMs: 0 });
    const complete = () => fs.readdirSync(dir).filter((n) => !n.startsWith('.')).length;
    let reported = false;
    const report = () => {
      if (reported) return;
      reported = true;
      console.log(JSON.stringify({ events, files: complete() }));
      // Once this goes, nothing holds the loop: the process must exit by itself.
      clearTimeout(keep);
    };
    s.on('snapshot', (e) => {
      events.push(e.trigger);
      if (events.length === 1) process.kill(process.pid, 'SIGUSR2');
      // Let the interval fire once more while the signal's write is pending.
      if (e.trigger === 'signal') setTimeout(report, 300);
    });
    // Under load a snapshot write can take seconds; give up well before the test's timeout.
    const keep = setTimeout(report, 20000);
  `);
  assert.equal(out.events[0], 'interval');
  assert.ok(out.events.includes('signal'), JSON.stringify(out.events));
  // A write may be under way at the moment of listing: under its temp name only.
  assert.ok(out.files === out.events.length || out.files === out.events.length + 1, JSON.stringify(out));
  const idle = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(ROOT)}).snapshots.schedule({ dir: require('os').tmpdir(), everyMs: 60000, signal: 'SIGUSR2', onLeakSuspected: true })`], { timeout: 10_000 });
  assert.equal(idle.status, 0, 'a schedule alone does not keep the process alive');
});

test('fast mode: with TypeScript loaded the snapshot takes well under the slow path\'s tens of seconds', () => {
  const out = child(`
    require('typescript');
    const { snapshots } = require(${JSON.stringify(ROOT)});
    const dir = require('fs').mkdtempSync(require('os').tmpdir() + '/leakwatch-fast-');
    snapshots.take({ dir }).then((r) => console.log(JSON.stringify({ fast: r.fast, ms: r.durationMs, bytes: r.bytes })));
  `);
  assert.equal(out.fast, true);
  assert.ok(out.ms < 8000, `fast snapshot took ${out.ms} ms`);
  assert.ok(out.bytes > 1_000_000);
});

test('everyMs means every everyMs: a write that takes time does not make the next tick look too soon', () => {
  const out = child(`
    const fs = require('fs');
    const { snapshots } = require(${JSON.stringify(ROOT)});
    const dir = fs.mkdtempSync(require('os').tmpdir() + '/leakwatch-every-');
    // A heap that takes a while to write, so each write ends well after its
    // tick (counted from the end of the write, every second tick was skipped).
    globalThis.keep = Array.from({ length: 50000 }, (_, i) => ({ i, s: 'v' + i }));
    const s = snapshots.schedule({ dir, everyMs: 300 });
    const taken = [];
    const skipped = [];
    const done = () => {
      s.stop();
      clearTimeout(limit);
      console.log(JSON.stringify({ taken, skipped }));
    };
    s.on('snapshot', (e) => { taken.push(Math.round(e.durationMs)); if (taken.length === 4) done(); });
    s.on('snapshot-skipped', (e) => skipped.push(e.reason));
    const limit = setTimeout(done, 20000);
  `);
  assert.equal(out.taken.length, 4, JSON.stringify(out));
  assert.ok(out.taken.every((ms) => ms > 0));
  assert.deepEqual(out.skipped, []);
});

function deadPid() {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

test('temp files of interrupted writes are removed on the next take or schedule; nothing else is', async () => {
  const dir = tempDir();
  const gone = deadPid();
  const snapshotHead = '{"snapshot":{"meta":{"node_fields":';
  const stale = [`.leakwatch-20250101T000000-000Z-${gone}-0-1.tmp`, `.leakwatch-20250101T000000-000Z-${gone}-3-7.tmp`, `.leakwatch-20250101T000000-000Z-${process.pid}-0-999.tmp`];
  fs.writeFileSync(path.join(dir, stale[0]), snapshotHead + '[...'.repeat(100));
  fs.writeFileSync(path.join(dir, stale[1]), ''); // created, then the process died before V8 wrote
  fs.writeFileSync(path.join(dir, stale[2]), snapshotHead);
  const kept = {
    [`.leakwatch-20250101T000000-000Z-${gone}-0-2.tmp`]: 'a user file that only looks like ours',
    [`.leakwatch-20250101T000000-000Z-${process.ppid}-0-1.tmp`]: snapshotHead, // its process is alive
    '.leakwatch-notes.tmp': snapshotHead,
  };
  for (const [name, text] of Object.entries(kept)) fs.writeFileSync(path.join(dir, name), text);
  const victim = path.join(tempDir(), 'victim.heapsnapshot');
  fs.writeFileSync(victim, snapshotHead);
  const link = `.leakwatch-20250101T000000-000Z-${gone}-0-5.tmp`;
  fs.symlinkSync(victim, path.join(dir, link));
  const r = await snapshots.take({ dir });
  assert.deepEqual(r.staleTemps.sort(), stale.slice().sort());
  assert.deepEqual(listing(dir), [path.basename(r.path), ...Object.keys(kept), link].sort());
  assert.ok(fs.existsSync(victim), 'a link is never followed or removed');
  // schedule() cleans its directory too, in the background.
  fs.writeFileSync(path.join(dir, stale[0]), snapshotHead);
  const s = snapshots.schedule({ dir, everyMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  s.stop();
  assert.equal(fs.existsSync(path.join(dir, stale[0])), false);
});

test('retention never deletes a file leakwatch did not write, even one named like ours', async () => {
  const dir = tempDir();
  const first = await snapshots.take({ dir });
  // The user keeps a copy as a baseline under one of our names (a new file, so not its mark).
  const copy = path.basename(first.path).replace(/-(\d+)-([0-9a-f]{16})\.heapsnapshot$/, '-9$1-$2.heapsnapshot');
  fs.copyFileSync(first.path, path.join(dir, copy));
  const lookalike = 'leakwatch-20250101T000000-000Z-1-0-1-0123456789abcdef.heapsnapshot';
  fs.writeFileSync(path.join(dir, lookalike), '{}');
  fs.writeFileSync(path.join(dir, 'leakwatch-baseline.heapsnapshot'), '{}');
  const second = await snapshots.take({ dir, maxFiles: 1 });
  assert.deepEqual(second.deleted, [path.basename(first.path)]);
  assert.deepEqual(listing(dir), [copy, 'leakwatch-baseline.heapsnapshot', lookalike, path.basename(second.path)].sort());
});

test('a created directory is 0700; an existing one every user may write to gets one warning', async () => {
  const base = tempDir();
  const nested = path.join(base, 'a', 'b');
  await snapshots.take({ dir: nested });
  for (const d of [path.join(base, 'a'), nested]) assert.equal(fs.statSync(d).mode & 0o777, 0o700, d);
  const open = path.join(base, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  const warnings = [];
  const onWarning = (w) => { if (w.code === 'LEAKWATCH_SNAPSHOT_DIR') warnings.push(w.message); };
  process.on('warning', onWarning);
  try {
    await snapshots.take({ dir: open });
    await snapshots.take({ dir: open });
    await snapshots.take({ dir: nested });
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /every user may write to \(mode 777\)/);
});

test('a link planted under the temporary name is never written through', async () => {
  const FakeTimers = (await import('@sinonjs/fake-timers')).default;
  const dir = tempDir();
  const victim = path.join(tempDir(), 'precious');
  fs.writeFileSync(victim, 'keep me');
  const at = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
  const stamp = '20250102T030405-006Z';
  // The next names leakwatch would pick at that instant, all taken by links.
  for (let seq = 1; seq <= 500; seq++) fs.symlinkSync(victim, path.join(dir, `.leakwatch-${stamp}-${process.pid}-0-${seq}.tmp`));
  const clock = FakeTimers.install({ now: at, toFake: ['Date'] });
  let err;
  try {
    await snapshots.take({ dir });
  } catch (e) {
    err = e;
  } finally {
    clock.uninstall();
  }
  assert.equal(err?.code, 'ERR_SNAPSHOT_WRITE');
  assert.equal(err.cause.code, 'EEXIST');
  assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me');
});

// Per snapshot file: each instance of `className`, known by the string its
// `tag` property holds, mapped to its heap object id.
async function idsByTag(files, className) {
  const maps = [];
  for (const file of files) {
    const snap = await leakwatch.loadSnapshot(file);
    try {
      const { ids, classIds, classNames } = snap.columns();
      const cls = classNames.indexOf(className);
      const byTag = new Map();
      for (let i = 0; i < ids.length; i++) {
        if (classIds[i] !== cls) continue;
        const tag = snap.edges(ids[i]).find((e) => e.name === 'tag');
        byTag.set(tag.node.name, ids[i]);
      }
      maps.push(byTag);
    } finally {
      snap.close();
    }
  }
  return maps;
}

test('a series of fast-mode snapshots keeps every long-lived object\'s id; a session disconnected between writes renumbers them', async (t) => {
  // A process with 2,000 long-lived Survivor objects, and objects freed and
  // allocated between the writes, as a service has. The control connects
  // and disconnects an inspector session after each write, which is what
  // fast mode did before: V8 then numbers the heap afresh, in heap order,
  // so a survivor gets another id once the objects before it changed.
  const series = (disconnect) => child(`
    const { snapshots } = require(${JSON.stringify(ROOT)});
    const { Session } = require('node:inspector');
    class Survivor { constructor(i) { this.tag = 'survivor-' + i; } }
    const early = Array.from({ length: 6000 }, (_, i) => ({ i }));
    const survivors = Array.from({ length: 2000 }, (_, i) => new Survivor(i));
    const grown = [];
    (async () => {
      const dir = require('fs').mkdtempSync(require('os').tmpdir() + '/leakwatch-ids-');
      const out = [];
      for (let k = 0; k < 3; k++) {
        early.length -= 2000;
        for (let j = 0; j < 2000; j++) grown.push({ j, text: 'item ' + j });
        const r = await snapshots.take({ dir, fast: true, gcFirst: true });
        out.push({ path: r.path, fast: r.fast });
        if (${disconnect}) {
          const s = new Session();
          s.connect();
          s.disconnect();
        }
      }
      console.log(JSON.stringify({ snapshots: out, survivors: survivors.length }));
    })();
  `);
  // Survivors whose id is the same in all three snapshots.
  const kept = async (out) => {
    assert.deepEqual(out.snapshots.map((s) => s.fast), [true, true, true]);
    const [a, b, c] = await idsByTag(out.snapshots.map((s) => s.path), 'Survivor');
    for (const s of out.snapshots) fs.rmSync(path.dirname(s.path), { recursive: true, force: true });
    assert.deepEqual([a.size, b.size, c.size], [2000, 2000, 2000]);
    return [...a].filter(([tag, id]) => b.get(tag) === id && c.get(tag) === id).length;
  };
  assert.equal(await kept(series(false)), 2000, 'every survivor has one id in all three snapshots');
  const control = await kept(series(true));
  t.diagnostic(`control: ${control} of 2000 survivors kept their ids`);
  assert.ok(control < 1000, `with a disconnect between writes ${control} of 2000 survivors kept their ids`);
});

test('fast mode keeps no console arguments in a snapshot, though its session makes Node keep them', () => {
  // Node 20 needs the inspector session for fast writes; while it is
  // connected Node hands console calls to the inspector, which keeps their
  // arguments. A plain write after the first fast one shows them (the
  // control); the next fast write, which discards them first, does not.
  const out = child(`
    const v8 = require('node:v8');
    const { snapshots, loadSnapshot } = require(${JSON.stringify(ROOT)});
    class Logged { constructor(i) { this.i = i; } }
    const dir = require('fs').mkdtempSync(require('os').tmpdir() + '/leakwatch-console-');
    const count = async (file) => {
      const snap = await loadSnapshot(file);
      const row = snap.summary().find((c) => c.name === 'Logged');
      snap.close();
      return row ? row.count : 0;
    };
    (async () => {
      const first = await snapshots.take({ dir });
      const log = () => { for (let i = 0; i < 200; i++) console.error('request', new Logged(i)); };
      log();
      const plain = v8.writeHeapSnapshot(dir + '/plain.heapsnapshot');
      log();
      const fast = await snapshots.take({ dir });
      console.log(JSON.stringify({ fast: fast.fast, plain: await count(plain), afterFast: await count(fast.path) }));
      require('fs').rmSync(dir, { recursive: true });
    })();
  `);
  assert.equal(out.fast, true);
  assert.equal(out.afterFast, 0);
  if (Number(process.versions.v8.split('.')[0]) < 12) assert.equal(out.plain, 200, 'the session keeps logged objects');
  else assert.equal(out.plain, 0, 'no session on V8 12+');
});

test('a take() as a new schedule starts is never skipped for the start-up clean-up\'s lease', async () => {
  const reasons = [];
  for (let round = 0; round < 20; round++) {
    const dir = tempDir();
    // Temp names of a process that is gone (not leakwatch's files: kept),
    // so that the clean-up spends a while checking each under its lease.
    for (let seq = 1; seq <= 200; seq++) fs.writeFileSync(path.join(dir, `.leakwatch-20250102T030405-006Z-2147483646-0-${seq}.tmp`), 'not a snapshot');
    const s = snapshots.schedule({ dir, minIntervalMs: 0, headroomFactor: 0, fast: true });
    // Right behind the clean-up's own immediate, which takes the lease.
    const r = await new Promise((resolve) => setImmediate(() => resolve(s.take())));
    s.stop();
    if (r?.skipped) reasons.push(r.reason);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(reasons, []);
});
