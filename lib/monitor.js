'use strict';

// The heap monitor's JS half: reads memory after major GCs and on an interval,
// and hands every reading to the native monitor, which owns the history, the
// trend and the leak-suspected / recovered decision. It also exports that
// state as metrics: Prometheus text, a prom-client registry, or an
// OpenTelemetry meter.

const { EventEmitter } = require('node:events');
const { PerformanceObserver, performance, constants: perfConstants } = require('node:perf_hooks');
const v8 = require('node:v8');
const native = require('./native.js');
const { callNative, argError, describeValue, checkBoolean } = require('./errors.js');
const { plainTimers } = require('./timers.js');

const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_PREFIX = 'leakwatch_';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// A scrape reads memory itself unless a reading this recent exists: several
// families scraped together share one reading.
const FRESH_MS = 500;
// perf_hooks' GC kinds, named as OpenTelemetry's `v8js.gc.type` names them.
const GC_TYPES = new Map([
  [perfConstants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);
// The semantic conventions' advisory buckets for `v8js.gc.duration`.
const GC_DURATION_BUCKETS = [0.01, 0.1, 1, 10];

// Epoch-based and monotonic: wall-clock steps cannot reorder samples.
function now() {
  return performance.timeOrigin + performance.now();
}

function checkObject(value, name) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw argError(`${name} must be an object, got ${describeValue(value)}`);
  return value;
}

function checkNumber(value, name, { min = 0, integer = false, positive = false } = {}) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (positive && value <= 0) || (integer && !Number.isInteger(value))) {
    throw argError(`${name} must be a ${positive ? 'positive' : 'non-negative'} ${integer ? 'integer' : 'number'}`);
  }
  return value;
}

function checkPrefix(prefix) {
  if (prefix === undefined) return DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || (prefix !== '' && !METRIC_NAME.test(prefix))) {
    throw argError('prefix must be a valid Prometheus metric name prefix');
  }
  return prefix;
}

function checkLabels(labels) {
  const out = [];
  for (const [name, value] of Object.entries(checkObject(labels, 'labels'))) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || name === 'kind') {
      throw argError(`label name ${JSON.stringify(name)} is not allowed`);
    }
    out.push({ name, value: String(value) });
  }
  return out;
}

function checkAlert(alert) {
  const a = checkObject(alert, 'alert');
  return {
    growthPctPerHour: checkNumber(a.growthPctPerHour, 'alert.growthPctPerHour', { positive: true }),
    minDurationMs: checkNumber(a.minDurationMs, 'alert.minDurationMs'),
    minSamples: checkNumber(a.minSamples, 'alert.minSamples', { integer: true }),
    windowMs: checkNumber(a.windowMs, 'alert.windowMs', { positive: true }),
    warmupMs: checkNumber(a.warmupMs, 'alert.warmupMs'),
    minConfidence: checkNumber(a.minConfidence, 'alert.minConfidence', { min: -1 }),
  };
}

function readMemory(afterGc, t = now()) {
  const m = process.memoryUsage();
  return {
    t,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    rss: m.rss,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    afterGc,
  };
}

function publicSample(s) {
  const { t, ...rest } = s;
  return { time: t, ...rest };
}

/** Optional dependency: only used when the user has it installed. */
function promClient() {
  try {
    return require('prom-client');
  } catch {
    return null;
  }
}

/**
 * Samples the heap and raises `leak-suspected` / `recovered`. Create with
 * `monitor(options)` (started) or `new Monitor(options)` and `record()` your
 * own readings (from another process, or a recorded series).
 */
class Monitor extends EventEmitter {
  #native;
  #intervalMs;
  #onSample;
  #spaces;
  #prefix;
  #labels;
  #timer = null;
  #observer = null;
  #gcHistograms = new Set();
  #lastReadingAt = -Infinity;

  constructor(options) {
    super();
    const o = checkObject(options, 'options');
    this.#intervalMs = checkNumber(o.intervalMs, 'intervalMs') ?? DEFAULT_INTERVAL_MS;
    if (o.onSample !== undefined && typeof o.onSample !== 'function') throw argError('onSample must be a function');
    this.#onSample = o.onSample;
    this.#spaces = Boolean(o.spaces);
    this.#prefix = checkPrefix(o.prefix);
    this.#labels = checkLabels(o.labels);
    const alert = checkAlert(o.alert);
    const historySize = checkNumber(o.historySize, 'historySize', { integer: true, positive: true });
    this.#native = callNative(() => new native.NativeMonitor({ ...alert, historySize }));
  }

  get running() {
    return this.#timer !== null || this.#observer !== null;
  }

  /** True between `leak-suspected` and `recovered`. */
  get alerting() {
    return this.#native.alerting;
  }

  start() {
    if (this.running) return this;
    if (this.#intervalMs > 0) {
      // Node's own setInterval: not listed by timers.install(), not driven by a test's fake clock.
      this.#timer = plainTimers.setInterval(() => this.sample(), this.#intervalMs);
      this.#timer.unref();
    }
    this.#observer = new PerformanceObserver((list) => this.#onGc(list.getEntries()));
    this.#observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop() {
    if (this.#timer !== null) plainTimers.clearInterval(this.#timer);
    this.#timer = null;
    this.#observer?.disconnect();
    this.#observer = null;
    return this;
  }

  #onGc(entries) {
    let major = false;
    for (const e of entries) {
      const kind = e.detail?.kind ?? 0;
      this.#native.recordGc(kind, e.duration);
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) major = true;
      for (const h of this.#gcHistograms) h.record(e.duration / 1000, { ...this.#attributes(), 'v8js.gc.type': GC_TYPES.get(kind) ?? 'other' });
    }
    // One reading per batch: entries arrive together after the GCs are over.
    if (major) this.record(readMemory(true));
  }

  /** Reads memory now (not after a GC: it counts for metrics and history, not for the trend). */
  sample() {
    return this.record(readMemory(false));
  }

  /**
   * Feeds one reading. `t` is milliseconds on a monotonic clock (default: now);
   * only readings with `afterGc: true` make the trend.
   */
  record(reading) {
    const r = checkObject(reading, 'sample');
    const sample = {
      t: checkNumber(r.t ?? r.time, 'sample.t') ?? now(),
      heapUsed: checkNumber(r.heapUsed, 'sample.heapUsed') ?? 0,
      heapTotal: checkNumber(r.heapTotal, 'sample.heapTotal') ?? 0,
      rss: checkNumber(r.rss, 'sample.rss') ?? 0,
      external: checkNumber(r.external, 'sample.external') ?? 0,
      arrayBuffers: checkNumber(r.arrayBuffers, 'sample.arrayBuffers') ?? 0,
      afterGc: checkBoolean(r.afterGc, 'sample.afterGc'),
    };
    const transition = callNative(() => this.#native.record(sample));
    this.#lastReadingAt = sample.t;
    const event = publicSample(sample);
    if (this.#spaces) event.spaces = v8.getHeapSpaceStatistics();
    this.#onSample?.(event);
    this.emit('sample', event);
    if (transition) this.emit(transition.event, { ...transition.trend, sample: event });
    return event;
  }

  /** Growth over the trend window, or null before there are two post-GC samples. */
  trend() {
    return this.#native.trend();
  }

  /** The retained readings, oldest first (bounded by `historySize`). */
  history() {
    return this.#native.history().map(publicSample);
  }

  /**
   * Counts one investigation of the agent by outcome (`found`, `clean`,
   * `skipped` or `failed`), for the `investigations` metrics.
   */
  recordInvestigation(outcome) {
    callNative(() => this.#native.recordInvestigation(outcome));
  }

  // A started monitor reports memory as of the scrape, not of the last GC.
  #refresh() {
    if (!this.running) return;
    if (now() - this.#lastReadingAt > FRESH_MS) this.sample();
  }

  #attributes() {
    return Object.fromEntries(this.#labels.map((l) => [l.name, l.value]));
  }

  /**
   * Prometheus text exposition (format 0.0.4), or OpenMetrics 1.0 with
   * `{ openMetrics: true }`. A started monitor reads memory first.
   */
  metrics(options) {
    const o = checkObject(options, 'options');
    this.#refresh();
    return this.#native.metricsText(this.#prefix, this.#labels, Boolean(o.openMetrics));
  }

  /**
   * The metric families with their current values; `overlaps` names the
   * prom-client default series that carries the same reading.
   */
  metricFamilies() {
    this.#refresh();
    return this.#native.metricFamilies(this.#prefix);
  }

  /**
   * Exposes the metrics through a prom-client registry (the default
   * registry of an installed `prom-client` when none is given), read at
   * scrape time. Only the series prom-client's `collectDefaultMetrics()` does
   * not already export, unless `{ includeOverlapping: true }`. Returns a
   * function that removes them again.
   */
  register(registry, options) {
    const o = checkObject(options, 'options');
    if (registry === undefined) {
      const prom = promClient();
      if (!prom) throw argError('prom-client is not installed: pass a registry to register()');
      registry = prom.register;
    }
    if (!registry || typeof registry.registerMetric !== 'function') {
      throw argError('registry must have a registerMetric() method (a prom-client Registry)');
    }
    const constLabels = this.#attributes();
    const families = () => this.metricFamilies();
    const names = [];
    for (const family of this.#native.metricFamilies(this.#prefix)) {
      if (family.overlaps && !o.includeOverlapping) continue;
      const { name: key, help, type } = family;
      // prom-client's metric interface: its registry calls get() on each
      // scrape. In OpenMetrics mode it renames a counter to drop `_total` and
      // appends `_total` to each sample itself, so the name comes from the
      // object (as prom-client's own metrics do), never from a copy.
      registry.registerMetric({
        name: key,
        help,
        type,
        aggregator: 'sum',
        get() {
          const values = (families().find((f) => f.name === key)?.samples ?? []).map((s) => ({ value: s.value, labels: { ...constLabels, ...s.labels } }));
          return { name: this.name, help, type, aggregator: 'sum', values };
        },
        reset() {},
      });
      names.push(key);
    }
    return () => {
      for (const name of names) registry.removeSingleMetric?.(name);
    };
  }

  /**
   * Observable OpenTelemetry instruments on `meter` (from `@opentelemetry/api`
   * `metrics.getMeter()`), read at each collection: the semantic
   * conventions' `v8js.memory.heap.*` per heap space and the
   * `v8js.gc.duration` histogram (recorded as GCs happen while the monitor
   * runs), and leakwatch's `leakwatch.heap.growth.rate`,
   * `leakwatch.heap.growth.relative_rate`, `leakwatch.heap.growth.confidence`,
   * `leakwatch.leak.suspected` and `leakwatch.investigations`. Returns a
   * function that detaches them.
   */
  bindMeter(meter) {
    const needed = ['createObservableGauge', 'createObservableUpDownCounter', 'createObservableCounter', 'createHistogram', 'addBatchObservableCallback'];
    if (!meter || needed.some((m) => typeof meter[m] !== 'function')) {
      throw argError('meter must be an OpenTelemetry Meter (@opentelemetry/api 1.3 or later)');
    }
    const bytes = (name, description) => meter.createObservableUpDownCounter(name, { unit: 'By', description });
    const heapUsed = bytes('v8js.memory.heap.used', 'Heap memory in use, per V8 heap space.');
    const spaceSize = bytes('v8js.memory.heap.space.size', 'Heap memory reserved for a V8 heap space.');
    const available = bytes('v8js.memory.heap.space.available_size', 'Heap space available size.');
    const physical = bytes('v8js.memory.heap.space.physical_size', 'Committed size of a heap space.');
    const rate = meter.createObservableGauge('leakwatch.heap.growth.rate', { unit: 'By/h', description: 'Theil-Sen growth of the post-GC heap over the trend window.' });
    const relative = meter.createObservableGauge('leakwatch.heap.growth.relative_rate', { unit: '%/h', description: 'Post-GC heap growth relative to the start of the trend window.' });
    const confidence = meter.createObservableGauge('leakwatch.heap.growth.confidence', { unit: '1', description: 'Kendall tau of the post-GC heap against time (1 = always growing).' });
    const suspected = meter.createObservableGauge('leakwatch.leak.suspected', { unit: '1', description: '1 while the monitor suspects a leak.' });
    const investigations = meter.createObservableCounter('leakwatch.investigations', { unit: '{investigation}', description: 'Investigations by the agent, by outcome.' });
    const gcDuration = meter.createHistogram('v8js.gc.duration', {
      unit: 's',
      description: 'Garbage collection duration.',
      advice: { explicitBucketBoundaries: GC_DURATION_BUCKETS },
    });
    const observables = [heapUsed, spaceSize, available, physical, rate, relative, confidence, suspected, investigations];
    const callback = (result) => {
      const base = this.#attributes();
      for (const s of v8.getHeapSpaceStatistics()) {
        const attrs = { ...base, 'v8js.heap.space.name': s.space_name };
        result.observe(heapUsed, s.space_used_size, attrs);
        result.observe(spaceSize, s.space_size, attrs);
        result.observe(available, s.space_available_size, attrs);
        result.observe(physical, s.physical_space_size, attrs);
      }
      const trend = this.trend();
      if (trend) {
        result.observe(rate, trend.bytesPerHour, base);
        if (trend.pctPerHour != null) result.observe(relative, trend.pctPerHour, base);
        result.observe(confidence, trend.confidence, base);
      }
      result.observe(suspected, this.alerting ? 1 : 0, base);
      const counts = this.#native.metricFamilies('').find((f) => f.name === 'investigations_total');
      for (const s of counts?.samples ?? []) {
        result.observe(investigations, s.value, { ...base, 'leakwatch.investigation.result': s.labels.result });
      }
    };
    meter.addBatchObservableCallback(callback, observables);
    this.#gcHistograms.add(gcDuration);
    return () => {
      meter.removeBatchObservableCallback?.(callback, observables);
      this.#gcHistograms.delete(gcDuration);
    };
  }
}

/** Starts a heap monitor: samples after major GCs and every `intervalMs` (unref'd). */
function monitor(options) {
  return new Monitor(options).start();
}

module.exports = { Monitor, monitor, now };
