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
// The stem, then the mark of the file's own inode.
const REPORT = /^leakwatch-report-\d{8}T\d{6}-\d{3}Z-(\d+)(-\d+)?-[0-9a-f]{16}\.(json|html)$/;

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
function load(port, sockets = 4, headers = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  let stopped = false;
  let requests = 0;
  let errors = 0;
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/order/${requests}`, agent, headers }, (res) => {
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
  t.diagnostic(`top suspect: ${report.suspects[0]?.explanation}; ${report.suspects.length} suspect(s)`);

  const top = report.suspects[0];
  assert.equal(top.kind, 'listeners');
  assert.match(top.explanation, /orderEvents/);
  // Written reports are redacted by default: the event name is a key of
  // Node's `_events` map, which redaction cannot tell from data.
  assert.match(top.explanation, /keeps gaining '<key:[0-9a-f]{8}>' listeners/);
  assert.ok(top.retainerPath.length > 0 && top.growth > 0);
  assert.ok(warning.includes(top.explanation.slice(0, 60)) && warning.includes(json), warning);
  const html = fs.readFileSync(path.join(dir, files.find((f) => f.endsWith('.html'))), 'utf8');
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

test('written reports are redacted by default: a secret on the leak\'s path shows only with LEAKWATCH_REDACT=0', async (t) => {
  // The service keeps an emitter per tenant under the request's API key,
  // so the key is a property name on the leak's retainer path.
  const secret = 'sk_live_PLANTED7f3a9c';
  const investigate = async (env, key = secret) => {
    const cwd = appDir();
    const dir = path.join(cwd, 'reports');
    const svc = await Service.start({
      cwd,
      args: ['-r', 'leakwatch/register'],
      env: { SERVICE_LEAK: 'tenant', LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'SIGUSR2', LEAKWATCH_INTERVAL_MS: '1000', ...env },
    });
    t.after(() => svc.stop());
    const traffic = load(svc.port, 4, { 'x-api-key': key });
    await sleep(2000);
    svc.child.kill('SIGUSR2');
    await svc.waitFor(/\[LEAKWATCH_LEAK_FOUND\].*/);
    await traffic.stop();
    const { report, files } = readReport(dir);
    const text = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
    return { report, text, stderr: svc.stderr };
  };

  const redacted = await investigate({});
  assert.equal(redacted.report.redacted, true);
  assert.equal(redacted.report.suspects[0].kind, 'listeners');
  // Code identifiers stay: the sentence still says what leaks.
  assert.match(redacted.report.suspects[0].explanation, /EventEmitter .*keeps gaining .* listeners/);
  t.diagnostic(`redacted top suspect: ${redacted.report.suspects[0].explanation}`);
  assert.ok(!redacted.text.includes('PLANTED'), 'no part of the secret in the JSON or HTML report');
  assert.ok(!redacted.stderr.includes('PLANTED'), 'nor in the warnings');

  // The control: the same investigation unredacted shows the key. Here the
  // key ends in an 8-bit CSI and a NEL (latin-1 header bytes, which
  // JSON.stringify passes through raw): the files hold them as escapes.
  const plain = await investigate({ LEAKWATCH_REDACT: '0' }, `${secret}\x9b2J\x85`);
  assert.equal(plain.report.redacted, false);
  assert.equal(plain.report.suspects[0].kind, 'listeners');
  assert.ok(plain.text.includes(secret), 'unredacted, the report shows the key on the path');
  assert.ok(JSON.stringify(plain.report.suspects).includes(`${secret}\u009b2J\u0085`), 'the JSON holds the exact key');
  assert.ok(!/[\u0085\u009b]/.test(plain.text), 'no raw control character in the JSON or HTML report');
});

test('the same service without the leak, started with -r: the report has no suspects', async (t) => {
  const cwd = appDir();
  const dir = path.join(cwd, 'reports');
  const svc = await Service.start({
    cwd,
    args: ['-r', 'leakwatch/register'],
    env: { SERVICE_LEAK: '0', SERVICE_SECRET: 'sk_live_AUDIT41d2', LEAKWATCH_DIR: dir, LEAKWATCH_SIGNAL: 'sigusr2', LEAKWATCH_INTERVAL_MS: '1000', LEAKWATCH_TRACKERS: 'listeners,timers' },
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
  // The audit emitter's event is named from data: redacted, like the analysis.
  const audit = report.runtime.listeners.emitters.flatMap((e) => e.events).find((ev) => ev.count === 6);
  assert.match(audit?.event ?? '', /^<event:[0-9a-f]{8}>$/, JSON.stringify(report.runtime.listeners));
  for (const f of files) assert.ok(!fs.readFileSync(path.join(dir, f), 'utf8').includes('AUDIT41d2'), f);
  assert.ok(!svc.stderr.includes('AUDIT41d2'));
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
  assert.equal(Number(REPORT.exec(path.basename(out.path))?.[2]?.slice(1)), out.threadId, out.path);
  assert.equal(JSON.parse(fs.readFileSync(out.path, 'utf8')).threadId, out.threadId);
  // The environment is the process's: its problems are reported once, by the main thread.
  assert.equal(r.stderr.split('\n').filter((l) => l.includes('ignoring LEAKWATCH_WINDOW_MS')).length, 1, r.stderr);
});

test('the agent\'s own timers are Node\'s: never in the application\'s timer registry, and an investigation runs under a fake clock', () => {
  const cwd = appDir();
  const program = `
    const agent = require('leakwatch/register');
    const { timers } = require('leakwatch');
    const FakeTimers = require(${JSON.stringify(require.resolve('@sinonjs/fake-timers'))});
    // The control: the application's own timers are listed.
    const busy = setInterval(() => {}, 1000);
    const sites = new Set();
    let samples = 0;
    const sampler = setInterval(() => {
      samples++;
      for (const t of timers.active().timers) sites.add(t.site);
    }, 25);
    // A test's fake clock, installed by the application and never ticked.
    const clock = FakeTimers.install();
    agent.investigate({ trigger: 'test' }).then((r) => {
      clock.uninstall();
      clearInterval(sampler);
      clearInterval(busy);
      console.log(JSON.stringify({ status: r.status, fast: r.report.snapshots?.map((s) => s.fast), samples, sites: [...sites], left: timers.active().count }));
    });
  `;
  const r = spawnSync(process.execPath, ['-r', 'leakwatch/register', '-e', program], {
    cwd,
    env: baseEnv({ LEAKWATCH_DIR: path.join(cwd, 'reports'), LEAKWATCH_TRACKERS: 'timers', LEAKWATCH_INTERVAL_MS: '300' }),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
  // With the globals, the agent's sleeps waited for the fake clock forever.
  assert.ok(out.status === 'found' || out.status === 'clean', JSON.stringify(out));
  assert.deepEqual(out.fast, [true, true, true]);
  // Samples through two 300 ms sleeps between the snapshots: only the
  // application's two intervals were ever listed.
  assert.ok(out.samples >= 10, JSON.stringify(out));
  assert.equal(out.sites.length, 2, JSON.stringify(out.sites));
  assert.ok(out.sites.every((site) => site.includes('[eval]')), JSON.stringify(out.sites));
  assert.equal(out.left, 0);
});

test('only files that carry their own mark are leakwatch\'s: pruning and the disk budget leave look-alikes and copies alone', async () => {
  const cwd = appDir();
  const dir = path.join(cwd, 'reports');
  // Investigations in a process of its own, one after another.
  const run = (count) => {
    const program = `
      const agent = require('leakwatch/register');
      // The agent's timers are unref'd: the program's own work keeps it alive.
      const busy = setInterval(() => {}, 1000);
      (async () => {
        const out = [];
        for (let i = 0; i < ${count}; i++) {
          const r = await agent.investigate({ trigger: 'test' });
          out.push({ status: r.status, reason: r.report?.reason, json: r.path && require('path').basename(r.path), html: r.htmlPath && require('path').basename(r.htmlPath) });
        }
        console.log(JSON.stringify(out));
        clearInterval(busy);
      })();
    `;
    const r = spawnSync(process.execPath, ['-r', 'leakwatch/register', '-e', program], {
      cwd,
      env: baseEnv({ LEAKWATCH_DIR: dir, LEAKWATCH_INTERVAL_MS: '50', LEAKWATCH_MIN_GAP_MS: '0', LEAKWATCH_MAX_REPORTS: '1', LEAKWATCH_MAX_DISK_BYTES: '600M' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1));
  };

  const [first] = run(1);
  assert.ok(first.status === 'found' || first.status === 'clean', JSON.stringify(first));
  assert.match(first.json, REPORT);
  // The user restores a copy of that report (a new inode under the same
  // name), and keeps files named like leakwatch's beside it.
  const copy = fs.readFileSync(path.join(dir, first.json));
  fs.writeFileSync(path.join(cwd, 'copy.json'), copy);
  fs.renameSync(path.join(cwd, 'copy.json'), path.join(dir, first.json));
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  // Temporary names of the secure writer, as an interrupted report write leaves them.
  const staged = (pid, ext = 'json', random = '0123456789ab') => `.leakwatch-report-20200101T000000-000Z-${pid}.${ext}.${pid}.${random}.tmp`;
  const reportHead = '{\n  "tool": "leakwatch",\n  "version": "0.1.0"';
  const planted = {
    'leakwatch-report-20200101T000000-000Z-1.json': 'a user\'s file',
    'leakwatch-report-20200101T000000-000Z-1-0123456789abcdef.html': 'a mark that is not its own',
    [staged(process.pid)]: `${reportHead} (staged by a live process)`,
    [staged(deadPid, 'html')]: 'a dead process\'s name, and not a report',
  };
  for (const [name, text] of Object.entries(planted)) fs.writeFileSync(path.join(dir, name), text);
  // A link under a dead process's name: neither it nor its target is touched.
  const victim = path.join(cwd, 'victim.json');
  fs.writeFileSync(victim, reportHead);
  const link = staged(deadPid, 'json', 'aaaaaaaaaaaa');
  fs.symlinkSync(victim, path.join(dir, link));
  // A look-alike snapshot of 1 GiB (sparse): counted, it would exceed the
  // 600 MB budget and the investigation would be skipped.
  const big = 'leakwatch-20200101T000000-000Z-1-0-1-0123456789abcdef.heapsnapshot';
  const fd = fs.openSync(path.join(dir, big), 'w');
  fs.ftruncateSync(fd, 1024 ** 3);
  fs.closeSync(fd);
  const stale = staged(deadPid);
  fs.writeFileSync(path.join(dir, stale), `${reportHead},\n  "status": "fou`);
  const emptyStale = staged(deadPid, 'html', 'ba9876543210');
  fs.writeFileSync(path.join(dir, emptyStale), '');

  const [a, b] = run(2);
  for (const r of [a, b]) assert.ok(r.status === 'found' || r.status === 'clean', JSON.stringify(r));
  const left = reportFiles(dir);
  // LEAKWATCH_MAX_REPORTS=1: the first of the two is pruned, the second
  // stays; the copy, the look-alikes and the live process's staged file stay.
  assert.deepEqual(left, [...Object.keys(planted), big, link, first.json, b.json, b.html].sort());
  assert.ok(!left.includes(a.json) && !left.includes(a.html));
  assert.ok(!left.includes(stale) && !left.includes(emptyStale), 'what an interrupted write of a process that is gone left is removed');
  assert.equal(fs.readFileSync(victim, 'utf8'), reportHead);
  for (const name of Object.keys(planted)) assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), planted[name]);
  assert.deepEqual(fs.readFileSync(path.join(dir, first.json)), copy);
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
    LEAKWATCH_REDACT: 'off',
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
  assert.equal(config.redact, false);

  const defaults = readConfig({}).config;
  assert.equal(defaults.redact, true, 'reports are redacted unless asked otherwise');
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
    LEAKWATCH_REDACT: ['partly'],
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
