// The zero-code agent, as users start it: an application directory with
// leakwatch installed under node_modules, a service that never imports it,
// and only `-r` / `--import leakwatch/register` / NODE_OPTIONS plus LEAKWATCH_*
// variables. Reports, warnings, files and metrics are read from outside.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { readConfig } = require('../lib/agent.js');
const SERVICE = path.join(ROOT, '__test__', 'fixtures', 'agent-service.js');
const REPORT = /^leakwatch-report-\d{8}T\d{6}-\d{3}Z-(\d+)(-\d+)?\.(json|html)$/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An application directory with leakwatch installed where npm puts it.
function appDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-agent-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'leakwatch'), 'dir');
  return dir;
}

function baseEnv(env) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LEAKWATCH_') && k !== 'NODE_OPTIONS' && !k.startsWith('NODE_TEST')));
  return { ...clean, ...env };
}

class Service {
  stderr = '';
  stdout = '';

  static async start({ cwd, args = [], env = {}, script = SERVICE }) {
    const child = spawn(process.execPath, [...args, script], { cwd, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new Service(child);
    const line = await s.waitFor(/^\{.*\}$/m, 20_000, 'stdout');
    s.port = JSON.parse(line).port;
    return s;
  }

  constructor(child) {
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (d) => { this.stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { this.stderr += d; });
    this.exited = once(child, 'exit');
  }

  /** Resolves to the first match of `re` in the stream, or fails with what the process said. */
  async waitFor(re, timeoutMs = 60_000, stream = 'stderr') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this[stream]);
      if (m) return m[0];
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        assert.fail(`no ${re} in ${stream} (exit ${this.child.exitCode ?? this.child.signalCode}); stderr:\n${this.stderr}`);
      }
      await sleep(50);
    }
  }

  warnings(code) {
    return this.stderr.split('\n').filter((l) => l.includes(`[${code}]`));
  }

  async stop(signal = 'SIGKILL') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

// Fixed concurrency over keep-alive connections, as a load balancer sends it.
function load(port, sockets = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  let stopped = false;
  let requests = 0;
  let errors = 0;
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/order/${requests}`, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
  const loops = Array.from({ length: sockets }, async () => {
    while (!stopped) {
      await one();
      requests++;
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return { requests, errors };
    },
  };
}

function reportFiles(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

function readReport(dir) {
  const files = reportFiles(dir);
  const json = files.filter((f) => f.endsWith('.json'));
  assert.equal(json.length, 1, files.join());
  return { report: JSON.parse(fs.readFileSync(path.join(dir, json[0]), 'utf8')), json: path.join(dir, json[0]), files };
}

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

const modeOf = (p) => fs.statSync(p).mode & 0o777;

// The agent opens its endpoint on the event loop's first turn, which may
// come after the service printed its own port.
async function fetchWhenUp(url, options) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fetch(url, options);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

test('a leaking service started with --import and env vars only: after the signal, the top suspect names the leak', async (t) => {
  const cwd = appDir();
  const dir = path.join(cwd, 'leakwatch');
  const svc = await Service.start({
    cwd,
    args: ['--import', 'leakwatch/register'],
    env: { SERVICE_LEAK: '1', LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'SIGUSR2', LEAKWATCH_INTERVAL_MS: '1000' },
  });
  t.after(() => svc.stop());
  const traffic = load(svc.port);
  await sleep(2500);
  svc.child.kill('SIGUSR2');
  await svc.waitFor(/\[LEAKWATCH_INVESTIGATING\]/);
  svc.child.kill('SIGUSR2');
  const warning = await svc.waitFor(/\[LEAKWATCH_LEAK_FOUND\].*/);
  const { requests, errors } = await traffic.stop();
  assert.equal(errors, 0, 'no request failed while the agent investigated');
  assert.ok(requests > 500, `${requests} requests`);

  // One investigation at a time.
  assert.match(svc.warnings('LEAKWATCH_INVESTIGATION_SKIPPED').join('\n'), /signal ignored: an investigation is already running/);
  const { report, json, files } = readReport(dir);
  assert.equal(files.length, 2, `only the JSON and HTML reports remain: ${files}`);
  for (const f of files) {
    assert.equal(Number(REPORT.exec(f)?.[1]), svc.child.pid, f);
    assert.equal(modeOf(path.join(dir, f)), 0o600, f);
  }
  assert.equal(modeOf(dir), 0o700);
  assert.equal(report.status, 'found');
  assert.equal(report.trigger, 'signal');
  assert.equal(report.pid, svc.child.pid);
  assert.equal(report.snapshotsKept, false);
  assert.equal(report.snapshots.length, 3);
  for (const s of report.snapshots) {
    assert.ok(s.bytes > 1e6 && s.heapUsed > 1e6, JSON.stringify(s));
    assert.equal(s.fast, true);
    assert.ok(!fs.existsSync(s.path), 'snapshot deleted after the analysis');
    // V8 writes synchronously: the stall is most of the write, never more.
    assert.ok(s.eventLoopPauseMs > 5 && s.eventLoopPauseMs <= s.writeMs + 50, JSON.stringify(s));
  }
  t.diagnostic(`event-loop pause per snapshot (ms): ${report.snapshots.map((s) => s.eventLoopPauseMs).join(', ')}; analysis ${report.analysisMs} ms; whole investigation ${report.durationMs} ms`);

  const top = report.suspects[0];
  assert.equal(top.kind, 'listeners');
  assert.match(top.explanation, /orderEvents/);
  assert.match(top.explanation, /'update'/);
  assert.ok(top.retainerPath.length > 0 && top.growth > 0);
  assert.ok(warning.includes(top.explanation.slice(0, 60)) && warning.includes(json), warning);
  const html = fs.readFileSync(json.replace(/\.json$/, '.html'), 'utf8');
  assert.ok(html.startsWith('<!doctype html>') && html.includes('orderEvents'));

  // The application is unharmed and the minimum gap holds.
  const res = await fetch(`http://127.0.0.1:${svc.port}/after`);
  assert.equal(res.status, 200);
  svc.child.kill('SIGUSR2');
  await svc.waitFor(/signal ignored: the previous investigation ended less than LEAKWATCH_MIN_GAP_MS ago/);
  // The signal listener did not take over SIGTERM.
  await svc.stop('SIGTERM');
  assert.equal(svc.child.signalCode, 'SIGTERM');
});

test('the same service without the leak, started with -r: the report has no suspects', async (t) => {
  const cwd = appDir();
  const dir = path.join(cwd, 'reports');
  const svc = await Service.start({
    cwd,
    args: ['-r', 'leakwatch/register'],
    env: { SERVICE_LEAK: '0', LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'sigusr2', LEAKWATCH_INTERVAL_MS: '1000', LEAKWATCH_TRACKERS: 'listeners,timers' },
  });
  t.after(() => svc.stop());
  const traffic = load(svc.port);
  await sleep(2500);
  svc.child.kill('SIGUSR2');
  await svc.waitFor(/\[LEAKWATCH_NO_LEAK_FOUND\]/);
  const { errors } = await traffic.stop();
  assert.equal(errors, 0);
  const { report, files } = readReport(dir);
  assert.equal(report.status, 'clean');
  assert.deepEqual(report.suspects, []);
  assert.equal(report.snapshots.length, 3);
  assert.equal(files.filter((f) => f.endsWith('.heapsnapshot')).length, 0);
  const html = fs.readFileSync(path.join(dir, files.find((f) => f.endsWith('.html'))), 'utf8');
  assert.match(html, /No leak suspects/);
  // The installed trackers' view is part of the report. Under install() it
  // lists the emitters whose events reached half their threshold: this
  // service's bus holds only the listeners of requests in flight.
  assert.ok(Array.isArray(report.runtime.listeners.emitters), JSON.stringify(report.runtime.listeners).slice(0, 500));
  assert.ok(report.runtime.listeners.emitters.every((e) => e.events.some((ev) => ev.peak >= e.threshold / 2)));
  assert.equal(typeof report.runtime.timers.count, 'number');
});

test('the growth trigger (NODE_OPTIONS, short alert settings) investigates a leak on its own, and not the fixed service', async (t) => {
  const settings = {
    NODE_OPTIONS: '--require leakwatch/register',
    LEAKWATCH_INTERVAL_MS: '1000',
    LEAKWATCH_GROWTH_PCT_PER_HOUR: '5000',
    LEAKWATCH_WARMUP_MS: '3000',
    LEAKWATCH_WINDOW_MS: '8000',
    LEAKWATCH_MIN_DURATION_MS: '3000',
    LEAKWATCH_MIN_SAMPLES: '6',
    SERVICE_GC_MS: '200',
  };
  const start = async (leak) => {
    const cwd = appDir();
    const dir = path.join(cwd, 'reports');
    const svc = await Service.start({ cwd, args: ['--expose-gc'], env: { ...settings, SERVICE_LEAK: leak, LEAKWATCH_DIR: dir } });
    t.after(() => svc.stop());
    return { svc, dir, traffic: load(svc.port, 2) };
  };
  const leaking = await start('1');
  const fixed = await start('0');
  await leaking.svc.waitFor(/\[LEAKWATCH_LEAK_FOUND\]/, 90_000);
  await Promise.all([leaking.traffic.stop(), fixed.traffic.stop()]);

  const { report } = readReport(leaking.dir);
  assert.equal(report.trigger, 'leak-suspected');
  assert.ok(report.trend.pctPerHour >= 5000 && report.trend.confidence >= 0.5, JSON.stringify(report.trend));
  assert.match(leaking.svc.warnings('LEAKWATCH_INVESTIGATING')[0], /leak-suspected, heap growing [\d.]+%\/hour/);
  assert.equal(report.suspects[0].kind, 'listeners');
  assert.match(report.suspects[0].explanation, /orderEvents/);
  // The control ran as long, under the same load and GCs, and never alerted.
  assert.deepEqual(fixed.svc.warnings('LEAKWATCH_INVESTIGATING'), []);
  assert.deepEqual(reportFiles(fixed.dir), []);
});

test('metrics from env vars only: loopback Prometheus endpoint, OpenTelemetry SDK in-memory exporter, prom-client', async (t) => {
  const cwd = appDir();
  const port = await freePort();
  const svc = await Service.start({
    cwd,
    args: ['--expose-gc', '-r', 'leakwatch/register'],
    env: { LEAKWATCH_METRICS_PORT: String(port), LEAKWATCH_PROM_CLIENT: 'on', SERVICE_OTEL: '1', SERVICE_PROM: '1', SERVICE_GC_MS: '100' },
  });
  t.after(() => svc.stop());

  // Prometheus text, read at scrape time: no timer samples the heap, yet
  // the first scrape has the current heap.
  const scrape = await fetchWhenUp(`http://127.0.0.1:${port}/metrics`);
  assert.equal(scrape.status, 200);
  assert.match(scrape.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await scrape.text();
  const value = (name, body = text) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
  assert.ok(value('leakwatch_heap_used_bytes') > 1e6, text);
  assert.ok(value('leakwatch_rss_bytes') > value('leakwatch_heap_used_bytes'));
  assert.equal(value('leakwatch_leak_suspected'), 0);
  assert.match(text, /^leakwatch_investigations_total\{result="found"\} 0$/m);
  const open = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } })).text();
  assert.match(open, /^# TYPE leakwatch_gc counter$/m);
  assert.match(open, /^leakwatch_gc_total\{kind="major"\} \d+$/m);
  assert.doesNotMatch(open, /_total_total/);
  assert.ok(open.endsWith('# EOF\n'));
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status, 405);

  // OpenTelemetry: the application registers its SDK after start-up; the
  // agent binds to it within its poll period.
  let otel = [];
  const deadline = Date.now() + 15_000;
  const bound = () => otel.some((m) => m.name === 'leakwatch.leak.suspected') && otel.some((m) => m.name === 'v8js.gc.duration' && m.points.some((p) => p.attributes['v8js.gc.type'] === 'major'));
  while (!bound() && Date.now() < deadline) {
    await sleep(250);
    otel = await (await fetch(`http://127.0.0.1:${svc.port}/otel`)).json();
  }
  const metric = (name) => otel.find((m) => m.name === name);
  assert.ok(metric('leakwatch.leak.suspected'), `instruments: ${otel.map((m) => m.name)}`);
  assert.equal(metric('leakwatch.leak.suspected').scope, 'leakwatch');
  const heap = metric('v8js.memory.heap.used');
  assert.equal(heap.unit, 'By');
  const spaces = Object.fromEntries(heap.points.map((p) => [p.attributes['v8js.heap.space.name'], p.value]));
  assert.ok(spaces.old_space > 1e6 && 'new_space' in spaces, JSON.stringify(spaces));
  const gc = metric('v8js.gc.duration');
  assert.equal(gc.unit, 's');
  const major = gc.points.find((p) => p.attributes['v8js.gc.type'] === 'major');
  assert.ok(major.value.count >= 1 && major.value.sum > 0, JSON.stringify(major));
  assert.deepEqual(metric('leakwatch.leak.suspected').points.map((p) => p.value), [0]);
  assert.deepEqual(metric('leakwatch.investigations').points.map((p) => p.attributes['leakwatch.investigation.result']).sort(), ['clean', 'failed', 'found', 'skipped']);

  // prom-client: leakwatch's unique series beside prom-client's own, and
  // nothing prom-client already exports twice.
  const prom = await (await fetch(`http://127.0.0.1:${svc.port}/prom`)).text();
  assert.match(prom, /^nodejs_heap_size_used_bytes /m);
  assert.match(prom, /^leakwatch_leak_suspected 0$/m);
  assert.match(prom, /^leakwatch_investigations_total\{result="clean"\} 0$/m);
  assert.match(prom, /^# TYPE leakwatch_heap_growth_confidence gauge$/m);
  assert.doesNotMatch(prom, /^leakwatch_heap_used_bytes|^leakwatch_gc_total|^leakwatch_rss_bytes/m);
  assert.deepEqual(svc.warnings('LEAKWATCH_AGENT'), []);
});

test('prom-client in OpenMetrics mode: counters are not named _total_total', async (t) => {
  const cwd = appDir();
  const svc = await Service.start({
    cwd,
    args: ['-r', 'leakwatch/register'],
    env: { LEAKWATCH_PROM_CLIENT: 'all', SERVICE_PROM: '1', SERVICE_PROM_OPENMETRICS: '1' },
  });
  t.after(() => svc.stop());
  // The agent registers on the event loop's first turn.
  let res;
  let text = '';
  for (let tries = 0; tries < 100 && !text.includes('leakwatch_'); tries++) {
    res = await fetch(`http://127.0.0.1:${svc.port}/prom`);
    text = await res.text();
    if (!text.includes('leakwatch_')) await sleep(50);
  }
  assert.match(res.headers.get('content-type'), /openmetrics/);
  assert.match(text, /^# TYPE leakwatch_gc counter$/m);
  assert.match(text, /^leakwatch_gc_total\{kind="major"\} \d+$/m);
  assert.match(text, /^leakwatch_investigations_total\{result="found"\} 0$/m);
  assert.doesNotMatch(text, /_total_total/);
  assert.match(text, /^leakwatch_heap_used_bytes \d+$/m, 'all: the overlapping series too');
});

test('invalid settings: one warning each with the default used, and the application runs; loading twice is a no-op', async (t) => {
  const cwd = appDir();
  const port = await freePort();
  const bad = {
    LEAKWATCH_INTERVAL_MS: 'soon',
    LEAKWATCH_SIGNAL: 'SIGTERM',
    LEAKWATCH_GROWTH_PCT_PER_HOUR: '-5',
    LEAKWATCH_WINDOW_MS: '1e9x',
    LEAKWATCH_TRACKERS: 'listeners,sockets',
    LEAKWATCH_KEEP_SNAPSHOTS: 'maybe',
    LEAKWATCH_MAX_DISK_BYTES: '10 apples',
    LEAKWATCH_OTEL: '2',
  };
  const svc = await Service.start({
    cwd,
    // Both flags and NODE_OPTIONS: three loads, one agent.
    args: ['-r', 'leakwatch/register', '--import', 'leakwatch/register'],
    env: { ...bad, NODE_OPTIONS: '--require leakwatch/register', LEAKWATCH_METRICS_PORT: String(port) },
  });
  t.after(() => svc.stop());
  const res = await fetch(`http://127.0.0.1:${svc.port}/order`);
  assert.equal((await res.json()).ok, true);
  await sleep(300);
  const warnings = svc.warnings('LEAKWATCH_CONFIG');
  assert.equal(warnings.length, Object.keys(bad).length, warnings.join('\n'));
  for (const name of Object.keys(bad)) {
    assert.equal(warnings.filter((w) => w.includes(`ignoring ${name}=`)).length, 1, name);
  }
  assert.match(warnings.find((w) => w.includes('LEAKWATCH_INTERVAL_MS')), /using 60000$/);
  assert.match(warnings.find((w) => w.includes('LEAKWATCH_SIGNAL')), /SIGTERM is not available.*using unset$/);
  // One metrics endpoint: a second agent would have failed to listen.
  assert.equal((await fetchWhenUp(`http://127.0.0.1:${port}/metrics`)).status, 200);
  assert.deepEqual(svc.warnings('LEAKWATCH_AGENT'), []);
  // SIGTERM was refused as a trigger, so it still ends the process.
  await svc.stop('SIGTERM');
  assert.equal(svc.child.signalCode, 'SIGTERM');

  // LEAKWATCH_AGENT=off: nothing starts, and the export says so.
  const off = spawnSync(process.execPath, ['-r', 'leakwatch/register', '-p', "require('leakwatch/register') === null && !globalThis[Symbol.for('leakwatch.agent')]"], { cwd, env: baseEnv({ LEAKWATCH_AGENT: 'off' }), encoding: 'utf8' });
  assert.equal(off.stdout.trim(), 'true', off.stderr);
});

test('start-up: the entry loads no addon; the monitor starts when the event loop first turns', () => {
  const cwd = appDir();
  const probe = (body) => {
    const program = `process.on('exit', () => console.log(JSON.stringify({
      agent: typeof globalThis[Symbol.for('leakwatch.agent')],
      addon: Object.keys(require.cache).some((k) => k.endsWith('binding.js')),
    })));${body}`;
    const r = spawnSync(process.execPath, ['-r', 'leakwatch/register', '-e', program], { cwd, env: baseEnv({}), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  // A script that is done before the loop turns never pays for the agent.
  assert.deepEqual(probe(''), { agent: 'object', addon: false });
  assert.deepEqual(probe('setTimeout(() => {}, 20);'), { agent: 'object', addon: true });
});

test('short headroom or disk budget: a report that says why, and no snapshots', async (t) => {
  const cases = [
    { env: { LEAKWATCH_HEADROOM_FACTOR: '1000000' }, reason: /snapshot 1 of 3 was not taken: not enough memory/, field: 'headroom' },
    { env: { LEAKWATCH_MAX_DISK_BYTES: '1M' }, reason: /need about .*LEAKWATCH_MAX_DISK_BYTES \(1(\.0+)? MB\)/, field: 'disk' },
  ];
  for (const c of cases) {
    const cwd = appDir();
    const dir = path.join(cwd, 'reports');
    const svc = await Service.start({ cwd, args: ['-r', 'leakwatch/register'], env: { ...c.env, LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'SIGUSR2' } });
    t.after(() => svc.stop());
    svc.child.kill('SIGUSR2');
    const warning = await svc.waitFor(/\[LEAKWATCH_INVESTIGATION_SKIPPED\].*/);
    assert.match(warning, c.reason);
    const { report, files } = readReport(dir);
    assert.equal(report.status, 'skipped');
    assert.match(report.reason, c.reason);
    assert.ok(report[c.field], JSON.stringify(report));
    assert.deepEqual(report.suspects, []);
    assert.equal(files.filter((f) => f.endsWith('.heapsnapshot')).length, 0, files.join());
    const html = fs.readFileSync(path.join(dir, files.find((f) => f.endsWith('.html'))), 'utf8');
    assert.match(html, /investigation skipped/);
    for (const f of files) assert.equal(modeOf(path.join(dir, f)), 0o600);
  }
});

test('an unusable LEAKWATCH_DIR: warnings, no crash, the service keeps serving', async (t) => {
  const cwd = appDir();
  const file = path.join(cwd, 'not-a-dir');
  fs.writeFileSync(file, '');
  const svc = await Service.start({ cwd, args: ['-r', 'leakwatch/register'], env: { LEAKWATCH_DIR: path.join(file, 'reports'), LEAKWATCH_SIGNAL: 'SIGUSR2' } });
  t.after(() => svc.stop());
  svc.child.kill('SIGUSR2');
  const failed = await svc.waitFor(/\[LEAKWATCH_INVESTIGATION_FAILED\] Warning: leakwatch: investigation failed: .*/);
  assert.match(failed, /ENOTDIR/);
  assert.match(svc.stderr, /cannot write the investigation report/);
  assert.equal((await fetch(`http://127.0.0.1:${svc.port}/order`)).status, 200);
  assert.equal(svc.child.exitCode, null);
});

test('worker threads: -r starts an agent per thread; a worker investigates its own heap', async () => {
  const cwd = appDir();
  const dir = path.join(cwd, 'reports');
  const program = `
    const { Worker } = require('node:worker_threads');
    const main = require('leakwatch/register');
    const w = new Worker(\`
      const { parentPort, threadId } = require('node:worker_threads');
      const agent = globalThis[Symbol.for('leakwatch.agent')];
      // The agent's timers are unref'd: this worker's own work keeps it alive.
      const busy = setInterval(() => {}, 1000);
      agent.investigate({ trigger: 'test' }).then((r) => {
        clearInterval(busy);
        parentPort.postMessage({ threadId, status: r.status, path: r.path, same: agent === require('leakwatch/register') });
      });
    \`, { eval: true });
    w.once('message', (m) => { console.log(JSON.stringify({ ...m, mainStarted: main !== null })); w.terminate(); });
  `;
  const r = spawnSync(process.execPath, ['-r', 'leakwatch/register', '-e', program], {
    cwd,
    env: baseEnv({ LEAKWATCH_DIR: dir, LEAKWATCH_INTERVAL_MS: '100', LEAKWATCH_WINDOW_MS: 'bad' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.ok(out.threadId > 0 && out.same && out.mainStarted, JSON.stringify(out));
  assert.ok(out.status === 'found' || out.status === 'clean', JSON.stringify(out));
  assert.ok(path.basename(out.path).endsWith(`-${out.threadId}.json`), out.path);
  assert.equal(JSON.parse(fs.readFileSync(out.path, 'utf8')).threadId, out.threadId);
  // The environment is the process's: its problems are reported once, by the main thread.
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('ignoring LEAKWATCH_WINDOW_MS')).length, 1, r.stderr);
});

test('readConfig: every setting parsed, bounded, or replaced by its default with a reason', () => {
  const { config, problems } = readConfig({
    LEAKWATCH_DIR: 'rel/dir',
    LEAKWATCH_SIGNAL: 'sigusr2',
    LEAKWATCH_INTERVAL_MS: ' 2500 ',
    LEAKWATCH_MAX_DISK_BYTES: '2GiB',
    LEAKWATCH_TRACKERS: 'all',
    LEAKWATCH_KEEP_SNAPSHOTS: 'Yes',
    LEAKWATCH_PROM_CLIENT: 'all',
    LEAKWATCH_GROWTH_PCT_PER_HOUR: '2.5',
    LEAKWATCH_METRICS_PORT: '9464',
  });
  assert.deepEqual(problems, []);
  assert.equal(config.dir, path.resolve('rel/dir'));
  assert.equal(config.signal, 'SIGUSR2');
  assert.equal(config.intervalMs, 2500);
  assert.equal(config.maxDiskBytes, 2 * 1024 ** 3);
  assert.deepEqual(config.trackers, ['listeners', 'timers']);
  assert.equal(config.keepSnapshots, true);
  assert.equal(config.promClient, 'all');
  assert.equal(config.growthPctPerHour, 2.5);
  assert.equal(config.metricsPort, 9464);

  const defaults = readConfig({}).config;
  assert.equal(defaults.dir, null);
  assert.equal(defaults.signal, null, 'no signal unless asked: process managers use SIGUSR2');
  assert.equal(defaults.metricsPort, null);
  const bad = {
    LEAKWATCH_SIGNAL: ['SIGUSR1', 'SIGKILL', 'SIGNOPE', 'SIGINT'],
    LEAKWATCH_INTERVAL_MS: ['-1', '1.5', '99999999999', 'abc'],
    LEAKWATCH_METRICS_PORT: ['0', '65536', 'http'],
    LEAKWATCH_GROWTH_PCT_PER_HOUR: ['0', 'Infinity', 'NaN'],
    LEAKWATCH_MIN_SAMPLES: ['3', '129'],
    LEAKWATCH_MAX_DISK_BYTES: ['0', '-1G', '1X'],
    LEAKWATCH_MAX_REPORTS: ['0'],
    LEAKWATCH_HEADROOM_FACTOR: ['-1', 'lots'],
    LEAKWATCH_TRACKERS: ['listeners,,bogus'],
    LEAKWATCH_AGENT: ['enabled'],
    LEAKWATCH_PROM_CLIENT: ['some'],
  };
  for (const [name, values] of Object.entries(bad)) {
    for (const value of values) {
      const r = readConfig({ [name]: value });
      assert.equal(r.problems.length, 1, `${name}=${value}`);
      assert.equal(r.problems[0].env, name);
      assert.match(r.problems[0].message, new RegExp(`^leakwatch: ignoring ${name}=.*: expected|not available`), r.problems[0].message);
      assert.deepEqual(r.config, defaults, `${name}=${value} falls back to the default`);
    }
  }
});
