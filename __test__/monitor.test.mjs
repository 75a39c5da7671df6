// The heap monitor: trend decisions on injected series, bounded history,
// Prometheus text and prom-client registration, and real GC-driven sampling
// in a child process that must exit on its own.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { leakwatch, ROOT } from './helpers.mjs';

const require = createRequire(import.meta.url);

const { Monitor, monitor } = leakwatch;
const MIN = 60_000;
const MB = 1024 * 1024;
const alert = { growthPctPerHour: 10, minDurationMs: 10 * MIN, minSamples: 8, windowMs: 30 * MIN, warmupMs: MIN };

// Feeds one post-GC reading every 30 s of fake time and collects the events.
function feed(m, minutes, heapAt) {
  const events = [];
  for (const name of ['leak-suspected', 'recovered']) m.on(name, (e) => events.push({ name, minute: e.sample.time / MIN, ...e }));
  for (let t = 0; t <= minutes * MIN; t += 30_000) {
    m.record({ t, heapUsed: heapAt(t / MIN), heapTotal: 2 * heapAt(t / MIN), rss: 3 * heapAt(t / MIN), afterGc: true });
  }
  return events;
}

const wobble = (min) => Math.round((Math.sin(min * 7.3) + 1) * 200_000);

test('steady growth raises leak-suspected once, with its rate', () => {
  const m = new Monitor({ alert });
  const events = feed(m, 60, (min) => 100 * MB + min * MB + wobble(min));
  assert.equal(events.length, 1);
  const [e] = events;
  assert.equal(e.name, 'leak-suspected');
  assert.ok(e.minute >= 11 && e.minute <= 12, `fired at minute ${e.minute}`);
  assert.ok(Math.abs(e.bytesPerHour / MB - 60) < 5, `${e.bytesPerHour / MB} MB/h`);
  assert.ok(e.pctPerHour > 50 && e.pctPerHour < 65);
  assert.ok(e.confidence > 0.8);
  assert.ok(e.samples >= 8 && e.windowMs >= 10 * MIN);
  assert.equal(m.alerting, true);
  assert.equal(m.trend().samples, 61, 'a 30-minute window of 30-second samples, both ends included');
});

test('a GC sawtooth back to baseline, a warm-up and a one-off step never fire', () => {
  const shapes = {
    sawtooth: (min) => 100 * MB + Math.round(((min * 3) % 1) * 40 * MB) + wobble(min),
    warmup: (min) => 50 * MB + Math.round((1 - Math.exp(-min / 3)) * 150 * MB) + wobble(min),
    step: (min) => 100 * MB + (min >= 40 ? 80 * MB : 0) + wobble(min),
  };
  for (const [name, shape] of Object.entries(shapes)) {
    const m = new Monitor({ alert });
    assert.deepEqual(feed(m, 120, shape), [], name);
    assert.equal(m.alerting, false);
  }
});

test('recovered follows when the growth stops; heaps above 4 GiB do not wrap', () => {
  const m = new Monitor({ alert });
  const events = feed(m, 90, (min) => 5 * 1024 * MB + Math.min(min, 30) * 32 * MB);
  assert.deepEqual(events.map((e) => e.name), ['leak-suspected', 'recovered']);
  assert.ok(Math.abs(events[0].bytesPerHour / MB - 1920) < 1, `${events[0].bytesPerHour / MB} MB/h`);
  assert.ok(events[0].baselineBytes > 5 * 1024 * MB);
  assert.ok(events[1].minute > 30 && events[1].minute < 60);
  assert.equal(m.alerting, false);
});

test('history is bounded; readings without afterGc do not make a trend', () => {
  const m = new Monitor({ historySize: 5 });
  for (let i = 0; i < 12; i++) m.record({ t: i * 1000, heapUsed: i * MB });
  const h = m.history();
  assert.equal(h.length, 5);
  assert.deepEqual(h.map((s) => s.time), [7000, 8000, 9000, 10000, 11000]);
  assert.equal(h[4].heapUsed, 11 * MB);
  assert.equal(h[4].afterGc, false);
  assert.equal(m.trend(), null);
});

// The text exposition format, parsed strictly: every family declared once
// with HELP and TYPE before its samples, every sample line well formed.
function parsePrometheus(text) {
  const families = new Map();
  let current = null;
  assert.ok(text.endsWith('\n'));
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `${m[1]} declared twice`);
      current = { help: m[2], type: null, samples: [] };
      families.set(m[1], current);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$/.exec(line))) {
      assert.equal(families.get(m[1]), current);
      current.type = m[2];
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line))) {
      assert.equal(families.get(m[1]), current, `sample ${m[1]} outside its family`);
      const labels = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      const value = m[3] === 'NaN' ? NaN : m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
      assert.ok(!Number.isNaN(value) || m[3] === 'NaN', `bad value in ${line}`);
      current.samples.push({ labels, value });
    } else {
      assert.fail(`unparseable line: ${line}`);
    }
  }
  return families;
}

test('metrics() is valid Prometheus text with the monitor\'s numbers', () => {
  const m = new Monitor({ alert, prefix: 'app_', labels: { service: 'api "v2"' } });
  feed(m, 20, (min) => 100 * MB + min * MB);
  const fams = parsePrometheus(m.metrics());
  const one = (name) => {
    const f = fams.get(name);
    assert.ok(f, name);
    return f.samples;
  };
  assert.deepEqual(one('app_heap_used_bytes'), [{ labels: { service: 'api \\"v2\\"' }, value: 120 * MB }]);
  assert.equal(one('app_heap_total_bytes')[0].value, 240 * MB);
  assert.equal(one('app_rss_bytes')[0].value, 360 * MB);
  assert.equal(fams.get('app_gc_total').type, 'counter');
  assert.deepEqual(one('app_gc_total').map((s) => s.labels.kind), ['minor', 'major', 'incremental', 'weakcb', 'other']);
  const rate = one('app_heap_growth_bytes_per_hour')[0].value;
  assert.ok(Math.abs(rate - 60 * MB) < 1, `${rate}`);
  assert.ok(one('app_heap_growth_percent_per_hour')[0].value > 40);
  assert.equal(one('app_heap_growth_confidence')[0].value, 1);
  assert.equal(one('app_leak_suspected')[0].value, 1);
});

// leakwatch's families in a prom-client scrape (which also holds prom-client's
// own default series), in the strict parser's terms.
function leakwatchPart(text) {
  const lines = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?leakwatch_/.test(l));
  return parsePrometheus(`${lines.join('\n')}\n`);
}

// A major GC in this process without --expose-gc on the test runner: V8's
// gc() exposed to a fresh context only. GC entries reach observers later.
async function majorGc() {
  v8.setFlagsFromString('--expose-gc');
  vm.runInNewContext('gc')();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const UNIQUE = ['array_buffers_bytes', 'heap_growth_bytes_per_hour', 'heap_growth_percent_per_hour', 'heap_growth_confidence', 'leak_suspected', 'investigations_total'];

test('register() adds to a prom-client registry only what its default metrics lack, read at scrape time', async () => {
  const prom = require('prom-client');
  const registry = new prom.Registry();
  prom.collectDefaultMetrics({ register: registry });
  const m = new Monitor({ alert, labels: { worker: '0' } });
  feed(m, 20, (min) => 100 * MB + min * MB);
  m.recordInvestigation('found');
  const unregister = m.register(registry);
  assert.throws(() => m.register(registry), /already been registered/);
  await majorGc();
  const text = await registry.metrics();
  const scraped = leakwatchPart(text);
  assert.deepEqual([...scraped.keys()], UNIQUE.map((n) => `leakwatch_${n}`));
  const direct = parsePrometheus(m.metrics());
  for (const [name, fam] of scraped) assert.deepEqual(fam.samples, direct.get(name).samples, name);
  assert.equal(scraped.get('leakwatch_leak_suspected').samples[0].value, 1);
  assert.deepEqual(scraped.get('leakwatch_investigations_total').samples.find((s) => s.labels.result === 'found'), { labels: { worker: '0', result: 'found' }, value: 1 });
  // Every family left out is one that prom-client's defaults carry: the
  // overlap table is checked against the real series names.
  const overlapping = m.metricFamilies().filter((f) => f.overlaps);
  assert.equal(overlapping.length, 6);
  for (const f of overlapping) {
    assert.ok(!scraped.has(f.name), f.name);
    assert.match(text, new RegExp(`^${f.overlaps}[{ ]`, 'm'), `${f.name} overlaps ${f.overlaps}, which prom-client exports`);
  }
  // Values come from the monitor at scrape time, not from registration time.
  m.recordInvestigation('found');
  const again = leakwatchPart(await registry.metrics());
  assert.equal(again.get('leakwatch_investigations_total').samples.find((s) => s.labels.result === 'found').value, 2);
  unregister();
  assert.doesNotMatch(await registry.metrics(), /leakwatch_/);
  assert.throws(() => m.register({}), { code: 'ERR_INVALID_ARG' });
});

test('includeOverlapping registers every family; OpenMetrics names counters once, without _total_total', async () => {
  const prom = require('prom-client');
  const m = new Monitor();
  m.record({ t: 1, heapUsed: 42 * MB, rss: 99 * MB, afterGc: true });
  const plain = new prom.Registry();
  m.register(plain, { includeOverlapping: true });
  const scraped = leakwatchPart(await plain.metrics());
  assert.equal(scraped.size, 12);
  assert.deepEqual(scraped.get('leakwatch_heap_used_bytes').samples, [{ labels: {}, value: 42 * MB }]);
  assert.equal(scraped.get('leakwatch_gc_total').type, 'counter');

  const open = new prom.Registry(prom.Registry.OPENMETRICS_CONTENT_TYPE);
  m.register(open, { includeOverlapping: true });
  const text = await open.metrics();
  assert.doesNotMatch(text, /_total_total/);
  assert.match(text, /^# TYPE leakwatch_gc counter\n/m);
  assert.match(text, /^leakwatch_gc_total\{kind="major"\} 0$/m);
  assert.match(text, /^# TYPE leakwatch_investigations counter\n/m);
  assert.match(text, /^leakwatch_investigations_total\{result="clean"\} 0$/m);
  // The monitor's own exposition in OpenMetrics says the same.
  const own = m.metrics({ openMetrics: true });
  assert.match(own, /^# TYPE leakwatch_gc counter\nleakwatch_gc_total\{kind="minor"\} 0$/m);
  assert.doesNotMatch(own, /_total_total|^# TYPE leakwatch_gc_total/m);
  assert.ok(own.endsWith('\n# EOF\n'));
  assert.throws(() => m.recordInvestigation('maybe'), { code: 'ERR_INVALID_ARG' });
});

test('a started monitor reads memory when scraped; readings a scrape apart are shared', () => {
  const m = monitor({ intervalMs: 0 });
  try {
    assert.equal(m.history().length, 0);
    const fams = parsePrometheus(m.metrics());
    const heap = fams.get('leakwatch_heap_used_bytes').samples[0].value;
    assert.ok(heap > 1 * MB && heap < 1024 * MB, `${heap}`);
    assert.ok(fams.get('leakwatch_rss_bytes').samples[0].value > heap);
    m.metrics();
    m.metricFamilies();
    assert.equal(m.history().length, 1, 'one reading for scrapes within 500 ms');
    // A monitor fed by hand is never sampled behind its back.
    const fed = new Monitor();
    fed.metrics();
    assert.equal(fed.history().length, 0);
  } finally {
    m.stop();
  }
});

test('bindMeter(): semantic-convention and leakwatch instruments through the OpenTelemetry SDK', async () => {
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const m = new Monitor({ alert, labels: { service: 'api' } });
  feed(m, 20, (min) => 100 * MB + min * MB);
  m.recordInvestigation('clean');
  const unbind = m.bindMeter(provider.getMeter('test'));
  const collect = async () => {
    await reader.forceFlush();
    return new Map(exporter.getMetrics().at(-1).scopeMetrics.flatMap((s) => s.metrics).map((x) => [x.descriptor.name, x]));
  };
  const metrics = await collect();
  const heap = metrics.get('v8js.memory.heap.used');
  assert.equal(heap.descriptor.unit, 'By');
  const spaces = new Map(heap.dataPoints.map((p) => [p.attributes['v8js.heap.space.name'], p.value]));
  assert.ok(spaces.get('old_space') > 0 && spaces.has('new_space'), [...spaces.keys()].join());
  assert.equal(heap.dataPoints[0].attributes.service, 'api');
  for (const name of ['v8js.memory.heap.space.size', 'v8js.memory.heap.space.available_size', 'v8js.memory.heap.space.physical_size']) {
    assert.equal(metrics.get(name).dataPoints.length, spaces.size, name);
  }
  const trend = m.trend();
  const one = (name) => metrics.get(name).dataPoints[0].value;
  assert.equal(one('leakwatch.heap.growth.rate'), trend.bytesPerHour);
  assert.ok(Math.abs(one('leakwatch.heap.growth.rate') - 60 * MB) < 1);
  assert.equal(one('leakwatch.heap.growth.relative_rate'), trend.pctPerHour);
  assert.equal(one('leakwatch.heap.growth.confidence'), 1);
  assert.equal(one('leakwatch.leak.suspected'), 1);
  const inv = new Map(metrics.get('leakwatch.investigations').dataPoints.map((p) => [p.attributes['leakwatch.investigation.result'], p.value]));
  assert.deepEqual(Object.fromEntries(inv), { found: 0, clean: 1, skipped: 0, failed: 0 });
  assert.ok(!metrics.has('v8js.gc.duration'), 'no GC seen yet');
  // GC durations are recorded while the monitor runs.
  m.start();
  await majorGc();
  m.stop();
  await majorGc();
  const gc = (await collect()).get('v8js.gc.duration');
  assert.equal(gc.descriptor.unit, 's');
  const major = gc.dataPoints.find((p) => p.attributes['v8js.gc.type'] === 'major');
  assert.equal(major.value.count, 1, 'the GC while running, not the one after stop()');
  assert.ok(major.value.sum > 0 && major.value.sum < 5, `${major.value.sum} s`);
  assert.deepEqual(major.value.buckets.boundaries, [0.01, 0.1, 1, 10]);
  unbind();
  m.recordInvestigation('found');
  const after = (await collect()).get('leakwatch.investigations')?.dataPoints ?? [];
  assert.ok(!after.some((p) => p.value > 0 && p.attributes['leakwatch.investigation.result'] === 'found'), 'not observed after unbind');
  assert.throws(() => m.bindMeter({}), { code: 'ERR_INVALID_ARG' });
  await provider.shutdown();
});

test('bad options throw ERR_INVALID_ARG', () => {
  const bad = [
    { intervalMs: -1 },
    { alert: { growthPctPerHour: 0 } },
    { alert: { minSamples: 1.5 } },
    { alert: { minConfidence: 2 } },
    { prefix: '1bad' },
    { labels: { kind: 'x' } },
    { onSample: 'no' },
    { historySize: 0 },
  ];
  for (const options of bad) assert.throws(() => new Monitor(options), { code: 'ERR_INVALID_ARG' }, JSON.stringify(options));
  const m = new Monitor();
  assert.throws(() => m.record({ heapUsed: -5 }), { code: 'ERR_INVALID_ARG' });
  assert.throws(() => m.record({ heapUsed: NaN }), { code: 'ERR_INVALID_ARG' });
});

test('real process: samples after major GCs, counts GCs, and never keeps the process alive', () => {
  const program = `
    const { monitor } = require(${JSON.stringify(ROOT)});
    const m = monitor({ intervalMs: 20, spaces: true });
    let gcSamples = 0, spaces = 0;
    m.on('sample', (s) => { if (s.afterGc) { gcSamples++; spaces = Object.keys(s.spaces).length; } });
    for (let i = 0; i < 5; i++) globalThis.gc();
    setTimeout(() => {
      const text = m.metrics();
      const major = Number(/leakwatch_gc_total\\{kind="major"\\} (\\d+)/.exec(text)[1]);
      console.log(JSON.stringify({ gcSamples, spaces, major, history: m.history().length }));
      // No stop(): the interval and the GC observer must not hold the loop.
    }, 150);
  `;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', program], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 10_000);
  const out = JSON.parse(r.stdout);
  assert.ok(out.major >= 5, `major GCs counted: ${out.major}`);
  assert.ok(out.gcSamples >= 1, 'at least one post-GC sample');
  assert.ok(out.spaces >= 5, 'per-space statistics included');
  assert.ok(out.history > out.gcSamples, 'interval samples too');
});

test('the monitor\'s own interval is Node\'s: not in the timer registry, not driven by a fake clock', () => {
  const program = `
    const { monitor, timers } = require(${JSON.stringify(ROOT)});
    const FakeTimers = require(${JSON.stringify(require.resolve('@sinonjs/fake-timers'))});
    timers.install();
    const m = monitor({ intervalMs: 20 });
    // The control: the application's own interval is listed.
    const own = setInterval(() => {}, 1000);
    const listed = timers.active().timers.map((t) => t.site);
    // A test's fake clock, installed after the monitor and never ticked.
    const clock = FakeTimers.install();
    const before = m.history().length;
    clock._setTimeout(() => {
      const during = m.history().length - before;
      clock.uninstall();
      clearInterval(own);
      m.stop();
      console.log(JSON.stringify({ listed, during }));
    }, 300);
  `;
  const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.listed.length, 1, JSON.stringify(out.listed));
  assert.match(out.listed[0], /\[eval\]/);
  // 300 ms of real time at 20 ms: about 15 samples, none of them from the fake clock.
  assert.ok(out.during >= 5, `samples on real time: ${out.during}`);
});

test('monitor() in a worker thread keeps its own state', async () => {
  const { Worker } = await import('node:worker_threads');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { Monitor } = require(${JSON.stringify(ROOT)});
    const m = new Monitor();
    m.record({ t: 1, heapUsed: 7 });
    parentPort.postMessage(m.history().length);
  `;
  const mine = new Monitor();
  mine.record({ t: 1, heapUsed: 1 });
  mine.record({ t: 2, heapUsed: 1 });
  const w = new Worker(code, { eval: true });
  const [count] = await Promise.all([new Promise((res, rej) => w.once('message', res).once('error', rej))]);
  assert.equal(count, 1);
  assert.equal(mine.history().length, 2);
  monitor({ intervalMs: 0 }).stop();
});
