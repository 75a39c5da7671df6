// Soak: the bench's node:http service (bench/server-app.js) with every
// run-time primitive on, under load from another process, keep-alive and
// new connections. Its footprint stays flat and nothing it reports is false;
// the control, the same service leaking one listener per request, is
// reported, naming the handler that leaks.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { ROOT } from './helpers.mjs';

const require = (await import('node:module')).createRequire(import.meta.url);
const { run: load } = require('../bench/load.js');

const MB = 1024 * 1024;
// Tolerances over the soak (after a warm-up): a request that retained 20
// bytes would add 2 MB of heap over 100k requests. RSS also moves with the
// allocator's and V8's housekeeping: with the young generation pinned at
// 1 MB (left alone, V8 grows it by tens of MB under load) it stayed within
// 8 MB here, and any per-request native leak of 300 bytes would pass 32 MB.
const HEAP_TOLERANCE = 2 * MB;
const RSS_TOLERANCE = 32 * MB;
const SOAK_MS = 20_000;

async function start(args) {
  const child = fork(path.join(ROOT, 'bench', 'server-app.js'), args, { execArgv: ['--expose-gc', '--max-semi-space-size=1'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const [{ port }] = await once(child, 'message');
  const stats = async () => {
    child.send('stats');
    const [msg] = await once(child, 'message');
    return msg.stats;
  };
  const stop = async () => {
    child.send('exit');
    await once(child, 'exit');
    return stderr;
  };
  return { port, stats, stop };
}

test('soak: every primitive on under load; footprint flat, nothing false reported', async (t) => {
  const server = await start(['--with', 'all']);
  try {
    await load({ port: server.port, requests: 5000, connections: 16, mode: 'keepalive' });
    const base = await server.stats();
    const samples = [];
    const started = Date.now();
    let requests = 0;
    for (let phase = 0; Date.now() - started < SOAK_MS || phase < 4; phase++) {
      const close = phase % 3 === 2;
      const r = await load({ port: server.port, requests: close ? 1500 : 8000, connections: 16, mode: close ? 'close' : 'keepalive' });
      assert.equal(r.errors, 0);
      requests += r.requests;
      samples.push(await server.stats());
    }
    const last = samples.at(-1);
    const fmt = (b) => `${(b / MB).toFixed(2)} MB`;
    t.diagnostic(`${requests} requests in ${samples.length} phases, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.diagnostic(`heapUsed after GC: ${samples.map((s) => fmt(s.heapUsed - base.heapUsed)).join(', ')} against the warm-up`);
    t.diagnostic(`rss: ${samples.map((s) => fmt(s.rss - base.rss)).join(', ')}`);
    for (const s of samples) {
      assert.ok(s.heapUsed - base.heapUsed <= HEAP_TOLERANCE, `heap grew by ${fmt(s.heapUsed - base.heapUsed)}`);
      assert.ok(s.rss - base.rss <= RSS_TOLERANCE, `RSS grew by ${fmt(s.rss - base.rss)}`);
      // Native state: one watched emitter (the tracked bus), its one event,
      // one log, at most the monitor's interval among timers, all bounded.
      assert.deepEqual([s.native.emitters, s.native.keys, s.native.counts.logs], [1, 1, 1]);
      assert.ok(s.native.timers <= 2 && s.activeTimers <= 2, `timers: ${s.native.timers} native, ${s.activeTimers} listed`);
      assert.ok(s.native.counts.timerSites <= 2);
      assert.equal(s.native.log.size, 10_000);
      // Its byte ring grows by doubling: at most twice the payload, plus a slot per entry.
      assert.ok(s.native.log.heldBytes <= 2 * s.native.log.bytes + 16 * 10_000 + 256, JSON.stringify(s.native.log));
    }
    assert.equal(last.served, base.served + requests);
    // Nothing it reports is false: no warning, no alert, no warned event.
    assert.deepEqual(last.warnings, []);
    assert.equal(last.alerts, 0);
    assert.deepEqual(last.warnedEvents, []);
    assert.ok(last.monitorHistory > 0, 'the monitor did sample');
  } finally {
    await server.stop();
  }
});

test('soak control: the same service leaking a listener per request is reported, naming the leak', async () => {
  const server = await start(['--with', 'all', '--leak']);
  let stderr;
  try {
    const started = Date.now();
    // Several 500 ms observation windows under load: the floor rises in each.
    while (Date.now() - started < 4000) await load({ port: server.port, requests: 1500, connections: 16, mode: 'keepalive' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const s = await server.stats();
    const growth = s.warnings.filter((w) => w.code === 'LEAKWATCH_LISTENER_GROWTH');
    assert.ok(growth.length >= 1, JSON.stringify(s.warnings));
    assert.match(growth[0].message, /service-bus has \d+ 'config-changed' listeners.*top add site: leakyHandler \(.*server-app\.js:\d+:\d+\)/);
    assert.deepEqual(s.warnedEvents.map((e) => [e.emitter, e.event]), [['service-bus', 'config-changed']]);
    assert.match(s.warnedEvents[0].site, /^leakyHandler /);
  } finally {
    stderr = await server.stop();
  }
  assert.match(stderr, /LEAKWATCH_LISTENER_GROWTH/, 'the warning reached stderr too');
});
