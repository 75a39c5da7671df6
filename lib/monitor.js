'use strict';

// The heap monitor's JS half: reads memory after major GCs and on an interval,
// and hands every reading to the native monitor, which owns the history, the
// trend and the leak-suspected / recovered decision.

const { EventEmitter } = require('node:events');
const { PerformanceObserver, performance, constants: perfConstants } = require('node:perf_hooks');
const v8 = require('node:v8');
const native = require('./native.js');
const { callNative, argError } = require('./errors.js');

const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_PREFIX = 'leakwatch_';
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

// Epoch-based and monotonic: wall-clock steps cannot reorder samples.
function now() {
  return performance.timeOrigin + performance.now();
}

function checkObject(value, name) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw argError(`${name} must be an object`);
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
      this.#timer = setInterval(() => this.sample(), this.#intervalMs);
      this.#timer.unref();
    }
    this.#observer = new PerformanceObserver((list) => this.#onGc(list.getEntries()));
    this.#observer.observe({ entryTypes: ['gc'] });
    return this;
  }

  stop() {
    clearInterval(this.#timer);
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
      afterGc: Boolean(r.afterGc),
    };
    const transition = callNative(() => this.#native.record(sample));
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

  /** Prometheus text exposition (format 0.0.4). */
  metrics() {
    return this.#native.metricsText(this.#prefix, this.#labels);
  }

  /**
   * Exposes the same metrics through a prom-client registry (the default
   * registry of an installed `prom-client` when none is given). Returns a
   * function that removes them again.
   */
  register(registry) {
    if (registry === undefined) {
      const prom = promClient();
      if (!prom) throw argError('prom-client is not installed: pass a registry to register()');
      registry = prom.register;
    }
    if (!registry || typeof registry.registerMetric !== 'function') {
      throw argError('registry must have a registerMetric() method (a prom-client Registry)');
    }
    const constLabels = Object.fromEntries(this.#labels.map((l) => [l.name, l.value]));
    const current = (name) => this.#native.metricFamilies(this.#prefix).find((f) => f.name === name);
    const names = [];
    for (const family of this.#native.metricFamilies(this.#prefix)) {
      const { name, help, type } = family;
      // prom-client's metric interface: its registry calls get() on each scrape.
      registry.registerMetric({
        name,
        help,
        type,
        aggregator: 'sum',
        get() {
          const values = (current(name)?.samples ?? []).map((s) => ({ value: s.value, labels: { ...constLabels, ...s.labels } }));
          return { name, help, type, aggregator: 'sum', values };
        },
        reset() {},
      });
      names.push(name);
    }
    return () => {
      for (const name of names) registry.removeSingleMetric?.(name);
    };
  }
}

/** Starts a heap monitor: samples after major GCs and every `intervalMs` (unref'd). */
function monitor(options) {
  return new Monitor(options).start();
}

module.exports = { Monitor, monitor, now };
