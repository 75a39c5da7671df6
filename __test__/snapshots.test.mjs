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
const NAME = /^leakwatch-\d{8}T\d{6}-\d{3}Z-(\d+)-\d+-\d+\.heapsnapshot$/;

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
    const s = snapshots.schedule({ dir, minIntervalMs: 0 });
    s.on('error', (e) => {
      console.log(JSON.stringify({ code: e.code, cause: e.cause && e.cause.code, files: fs.readdirSync(dir) }));
    });
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
    const s = snapshots.schedule({ dir, signal: 'SIGUSR2', everyMs: 200, minIntervalMs: 0 });
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
