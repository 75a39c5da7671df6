'use strict';

// The production agent behind `leakwatch/register`: a heap monitor started
// from environment variables, and an investigation (three snapshots, then
// findLeaks off the main thread) when the monitor suspects a leak or on a
// signal, written as a JSON and an HTML report.
//
// Everything here must keep the host application running: bad settings fall
// back to defaults with a warning, and every failure becomes a warning or a
// report, never an exception on the application's stack.

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const diagnosticsChannel = require('node:diagnostics_channel');
const { performance } = require('node:perf_hooks');
const { isMainThread, threadId } = require('node:worker_threads');
const { escapeTerminal, jsonForTerminal, emitWarningEscaped } = require('./terminal.js');

// The boot timer's functions, as node:timers has them when the agent loads:
// as a preload, before the application (or a test's fake clock) could
// replace them, and before the addon behind lib/timers.js is loaded. Every
// later timer of the agent's comes from lib/timers.js's plainTimers.
const { setTimeout: setTimeoutAtLoad, clearTimeout: clearTimeoutAtLoad } = require('node:timers');

const AGENT = Symbol.for('leakwatch.agent');
const REPORT_CHANNEL = 'leakwatch:report';
const WARNING_CODES = {
  config: 'LEAKWATCH_CONFIG',
  agent: 'LEAKWATCH_AGENT',
  investigating: 'LEAKWATCH_INVESTIGATING',
  found: 'LEAKWATCH_LEAK_FOUND',
  clean: 'LEAKWATCH_NO_LEAK_FOUND',
  skipped: 'LEAKWATCH_INVESTIGATION_SKIPPED',
  failed: 'LEAKWATCH_INVESTIGATION_FAILED',
};
const GiB = 1024 ** 3;
// Measured on Node 20: a snapshot file is about 1.4x the heap in use; the
// estimate leaves room for heaps of many small objects, whose files run larger.
const SNAPSHOT_FILE_FACTOR = 2;
// Measured: loading three snapshots and running findLeaks raised RSS by
// about 1.25x the three files together.
const ANALYSIS_MEMORY_FACTOR = 1.5;
// Disk the agent leaves free for the application, beside its own budget.
const DISK_RESERVE_BYTES = 256 * 1024 * 1024;
// A provider registered by the application after the agent started is
// picked up within this time.
const OTEL_POLL_MS = 2000;

// Signals whose default action or owner an agent must not take over: those
// a process is stopped with (a listener would keep it alive), faults and
// timers, SIGUSR1 (the inspector) and those that cannot be caught.
const FORBIDDEN_SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGKILL', 'SIGSTOP', 'SIGUSR1', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGTRAP', 'SIGSYS', 'SIGPROF', 'SIGCHLD', 'SIGPIPE', 'SIGALRM', 'SIGVTALRM', 'SIGXFSZ']);
const TRACKERS = ['listeners', 'timers'];
const BOOLEAN = new Map([
  ['1', true], ['true', true], ['yes', true], ['on', true],
  ['0', false], ['false', false], ['no', false], ['off', false],
]);
const BYTE_UNITS = { '': 1, k: 1024, m: 1024 ** 2, g: GiB, t: 1024 ** 4 };

// Each setting: its variable, its default and a parser that returns the
// value or throws a sentence saying what was expected.
const SETTINGS = [
  { key: 'enabled', env: 'LEAKWATCH_AGENT', default: true, parse: boolean },
  { key: 'dir', env: 'LEAKWATCH_DIR', default: null, parse: directory },
  { key: 'signal', env: 'LEAKWATCH_SIGNAL', default: null, parse: signal },
  { key: 'intervalMs', env: 'LEAKWATCH_INTERVAL_MS', default: 60_000, parse: (v) => integer(v, 0, 24 * 3_600_000) },
  { key: 'minGapMs', env: 'LEAKWATCH_MIN_GAP_MS', default: 600_000, parse: (v) => integer(v, 0, 7 * 24 * 3_600_000) },
  { key: 'keepSnapshots', env: 'LEAKWATCH_KEEP_SNAPSHOTS', default: false, parse: boolean },
  { key: 'redact', env: 'LEAKWATCH_REDACT', default: true, parse: boolean },
  { key: 'maxDiskBytes', env: 'LEAKWATCH_MAX_DISK_BYTES', default: 10 * GiB, parse: bytes },
  { key: 'maxReports', env: 'LEAKWATCH_MAX_REPORTS', default: 20, parse: (v) => integer(v, 1, 100_000) },
  { key: 'headroomFactor', env: 'LEAKWATCH_HEADROOM_FACTOR', default: undefined, parse: (v) => number(v, 0, 1_000_000) },
  { key: 'growthPctPerHour', env: 'LEAKWATCH_GROWTH_PCT_PER_HOUR', default: 10, parse: (v) => positive(v) },
  { key: 'windowMs', env: 'LEAKWATCH_WINDOW_MS', default: 30 * 60_000, parse: (v) => integer(v, 1, 7 * 24 * 3_600_000) },
  { key: 'warmupMs', env: 'LEAKWATCH_WARMUP_MS', default: 60_000, parse: (v) => integer(v, 0, 7 * 24 * 3_600_000) },
  { key: 'minDurationMs', env: 'LEAKWATCH_MIN_DURATION_MS', default: 10 * 60_000, parse: (v) => integer(v, 0, 7 * 24 * 3_600_000) },
  { key: 'minSamples', env: 'LEAKWATCH_MIN_SAMPLES', default: 8, parse: (v) => integer(v, 4, 128) },
  { key: 'trackers', env: 'LEAKWATCH_TRACKERS', default: [], parse: trackers },
  { key: 'metricsPort', env: 'LEAKWATCH_METRICS_PORT', default: null, parse: (v) => integer(v, 1, 65_535) },
  { key: 'otel', env: 'LEAKWATCH_OTEL', default: true, parse: boolean },
  { key: 'promClient', env: 'LEAKWATCH_PROM_CLIENT', default: 'off', parse: promClientMode },
];

function boolean(text) {
  const v = BOOLEAN.get(text.trim().toLowerCase());
  if (v === undefined) throw new Error('expected 1/0, true/false, yes/no or on/off');
  return v;
}

function integer(text, min, max) {
  if (!/^\s*\d+\s*$/.test(text)) throw new Error(`expected a whole number from ${min} to ${max}`);
  const v = Number(text);
  if (v < min || v > max) throw new Error(`expected a whole number from ${min} to ${max}`);
  return v;
}

function number(text, min, max) {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max) throw new Error(`expected a number from ${min} to ${max}`);
  return v;
}

function positive(text) {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new Error('expected a positive number');
  return v;
}

function bytes(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error('expected a size in bytes, optionally with K, M, G or T (powers of 1024)');
  const v = Math.floor(Number(m[1]) * BYTE_UNITS[m[2].toLowerCase()]);
  if (v < 1) throw new Error('expected a size of at least one byte');
  return v;
}

function directory(text) {
  if (text.trim() === '' || text.includes('\0')) throw new Error('expected a directory path');
  return path.resolve(text);
}

function signal(text) {
  const name = text.trim().toUpperCase();
  if (!Object.hasOwn(os.constants.signals, name)) throw new Error('expected a signal name such as SIGUSR2');
  if (FORBIDDEN_SIGNALS.has(name)) throw new Error(`${name} is not available: it ends the process, belongs to the inspector, or cannot be caught; use SIGUSR2`);
  return name;
}

function trackers(text) {
  const names = text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return [];
  if (names.length === 1 && names[0] === 'all') return [...TRACKERS];
  const unknown = names.filter((n) => !TRACKERS.includes(n));
  if (unknown.length > 0) throw new Error(`expected a comma-separated list of ${TRACKERS.join(', ')} (or all, none); unknown: ${unknown.join(', ')}`);
  return [...new Set(names)];
}

function promClientMode(text) {
  const t = text.trim().toLowerCase();
  if (t === 'all') return 'all';
  try {
    return boolean(t) ? 'on' : 'off';
  } catch {
    throw new Error('expected on (the series prom-client does not export itself), all, or off');
  }
}

function describeDefault(value) {
  if (value === null || value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length ? value.join(',') : 'none';
  return String(value);
}

/**
 * Reads the agent's settings from `env`. Returns `{ config, problems }`:
 * every invalid or unusable value is replaced by its default and listed in
 * `problems` with a message saying what was expected.
 */
function readConfig(env = process.env) {
  const config = {};
  const problems = [];
  for (const s of SETTINGS) {
    const raw = env[s.env];
    config[s.key] = s.default;
    if (raw === undefined || raw === '') continue;
    try {
      config[s.key] = s.parse(String(raw));
    } catch (err) {
      problems.push({
        env: s.env,
        value: raw,
        message: `leakwatch: ignoring ${s.env}=${JSON.stringify(String(raw).slice(0, 200))}: ${err.message}; using ${describeDefault(s.default)}`,
      });
    }
  }
  return { config, problems };
}

function warn(message, code, detail) {
  emitWarningEscaped(message, { code, detail });
}

function stamp(date) {
  return date.toISOString().replace(/[-:]/g, '').replace('.', '-');
}

function sleep(ms) {
  // Unref'd: an investigation never keeps an exiting process alive. Whole
  // milliseconds: a fractional delay changes the field representation of
  // Node's Timeout objects, and the hidden classes V8 makes for that (13 of
  // them, measured) would be new objects between two snapshots.
  return new Promise((resolve) => plainTimers().setTimeout(resolve, Math.ceil(ms)).unref());
}

// Node's own timer functions (lib/timers.js): the agent's timers are not
// listed by timers.install() and not driven by a test's fake clock.
function plainTimers() {
  return require('./timers.js').plainTimers;
}

const REPORT_EXTS = ['.json', '.html'];
// What a report write interrupted by the process's death leaves: the shared
// secure writer's temporary file, `.<nominal name>.<pid>.<random>.tmp`.
const STAGED_REPORT = /^\.leakwatch-report-[^/]*\.(?:json|html)\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const REPORT_HEADS = ['{\n  "tool": "leakwatch"', '<!doctype html>'];

/**
 * Writes a report through the shared secure writer (0600, exclusive,
 * no-follow, atomic) under the name that carries the mark of its own inode,
 * as snapshots do: only files with their own mark are ever pruned, so a
 * user's file named like a report, or a copy of one, is safe.
 */
function writeReport(dir, stem, ext, data) {
  const { writeFileSecureAs } = require('./secure-file.js');
  const { markedName } = require('./snapshots.js');
  return writeFileSecureAs(path.join(dir, `leakwatch-${stem}${ext}`), data, (st) => path.join(dir, markedName(stem, st, ext)));
}

// A staged report's first bytes: nothing yet, or the start of a report.
async function startsLikeAReport(file) {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(32), 0, 32, 0);
    const head = buffer.toString('utf8', 0, bytesRead);
    return REPORT_HEADS.some((h) => h.startsWith(head) || head.startsWith(h));
  } finally {
    await fh.close();
  }
}

function resolveOptional(name) {
  // The application's copy first: it holds the application's registry or
  // meter provider.
  const bases = [process.cwd(), __dirname];
  try {
    return require(require.resolve(name, { paths: bases }));
  } catch {
    return null;
  }
}

/**
 * One agent per thread. Emits `investigation` when one starts and `report`
 * with `{ status, path, htmlPath, report }` when it ends; the same payload
 * is published on the `leakwatch:report` diagnostics channel.
 */
class Agent extends EventEmitter {
  #config;
  #monitor = null;
  #gate = null;
  #running = null;
  #cleanup = [];
  #stopped = false;
  #toldNoDir = false;

  constructor(config) {
    super();
    this.#config = config;
    if (config.signal && isMainThread) this.#listenForSignal(config.signal);
    // Trackers wrap what the application creates from its first line on.
    for (const name of config.trackers) this.#installTracker(name);
    // The rest waits for the event loop's first turn: the application's own
    // start-up goes first, and a process that ends before its loop turns (a
    // short script under NODE_OPTIONS) never loads the addon at all.
    const boot = setTimeoutAtLoad(() => this.#boot(), 0);
    boot.unref();
    this.#cleanup.push(() => clearTimeoutAtLoad(boot));
  }

  #boot() {
    if (this.#monitor || this.#stopped) return this.#monitor;
    const c = this.#config;
    const { Monitor } = require('./monitor.js');
    this.#monitor = new Monitor({
      // Readings come after major GCs and at each scrape; no timer of our own.
      intervalMs: 0,
      alert: {
        growthPctPerHour: c.growthPctPerHour,
        windowMs: c.windowMs,
        warmupMs: c.warmupMs,
        minDurationMs: c.minDurationMs,
        minSamples: c.minSamples,
      },
    });
    this.#gate = new (require('./native.js').NativeSnapshotTrigger)(c.minGapMs);
    this.#monitor.on('leak-suspected', (trend) => this.#onSuspected(trend));
    this.#monitor.start();
    this.#cleanup.push(() => this.#monitor.stop());
    if (c.metricsPort && isMainThread) this.#serveMetrics(c.metricsPort);
    if (c.otel) this.#watchOtel();
    if (c.promClient !== 'off') this.#registerPromClient(c.promClient === 'all');
    return this.#monitor;
  }

  /** The settings in effect, after defaults. */
  get config() {
    return { ...this.#config };
  }

  /** The agent's heap monitor (for `register()`, `bindMeter()`, `trend()`, ...); null once stopped. */
  get monitor() {
    return this.#boot();
  }

  /** True while an investigation runs. */
  get investigating() {
    return this.#running !== null;
  }

  #listenForSignal(name) {
    const onSignal = () => {
      this.investigate({ trigger: 'signal' });
    };
    try {
      process.on(name, onSignal);
      this.#cleanup.push(() => process.off(name, onSignal));
    } catch (err) {
      warn(`leakwatch: cannot listen for ${name}: ${err.message}`, WARNING_CODES.config);
    }
  }

  #serveMetrics(port) {
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      try {
        const url = (req.url ?? '').split('?')[0];
        if (url !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('leakwatch serves /metrics only\n');
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('GET only\n');
          return;
        }
        const openMetrics = /application\/openmetrics-text/i.test(req.headers.accept ?? '');
        const body = this.#monitor.metrics({ openMetrics });
        res.writeHead(200, {
          'content-type': openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${escapeTerminal(err.message)}\n`);
      }
    });
    server.on('error', (err) => {
      warn(`leakwatch: no metrics endpoint on 127.0.0.1:${port}: ${err.message}`, WARNING_CODES.agent);
    });
    // Loopback only: the endpoint has no authentication.
    server.listen(port, '127.0.0.1');
    server.unref();
    this.#cleanup.push(() => server.close());
  }

  // OpenTelemetry's metrics API has no proxy provider: a meter taken before
  // the application registers its SDK stays a no-op forever. So the agent
  // waits for a provider and binds to it once. Until one is registered the
  // check is a property read: every copy of @opentelemetry/api 1.x keeps
  // its registrations on globalThis under this symbol, and the package is
  // only loaded once a meter provider is there.
  #watchOtel() {
    const registry = Symbol.for('opentelemetry.js.api.1');
    const tryBind = () => {
      if (!globalThis[registry]?.metrics) return false;
      try {
        const api = resolveOptional('@opentelemetry/api');
        if (!api?.metrics) return true;
        this.#cleanup.push(this.#monitor.bindMeter(api.metrics.getMeter('leakwatch', version())));
      } catch (err) {
        warn(`leakwatch: cannot create OpenTelemetry instruments: ${err.message}`, WARNING_CODES.agent);
      }
      return true;
    };
    if (tryBind()) return;
    const { setInterval, clearInterval } = plainTimers();
    const timer = setInterval(() => {
      if (tryBind()) clearInterval(timer);
    }, OTEL_POLL_MS);
    timer.unref();
    this.#cleanup.push(() => clearInterval(timer));
  }

  #registerPromClient(includeOverlapping) {
    const prom = resolveOptional('prom-client');
    if (!prom?.register) {
      warn('leakwatch: LEAKWATCH_PROM_CLIENT is set but prom-client cannot be loaded', WARNING_CODES.config);
      return;
    }
    try {
      this.#cleanup.push(this.#monitor.register(prom.register, { includeOverlapping }));
    } catch (err) {
      warn(`leakwatch: cannot register in prom-client: ${err.message}`, WARNING_CODES.agent);
    }
  }

  #installTracker(name) {
    try {
      if (name === 'listeners') require('./listeners.js').listeners.install();
      if (name === 'timers') require('./timers.js').timers.install();
    } catch (err) {
      warn(`leakwatch: cannot install the ${name} tracker: ${err.message}`, WARNING_CODES.agent);
    }
  }

  #onSuspected(trend) {
    if (!this.#config.dir) {
      if (!this.#toldNoDir) {
        this.#toldNoDir = true;
        warn(
          `leakwatch: the heap grows ${formatRate(trend)} (confidence ${trend.confidence.toFixed(2)}); set LEAKWATCH_DIR to let the agent take snapshots and name the leak`,
          WARNING_CODES.investigating,
        );
      }
      return;
    }
    this.investigate({ trigger: 'leak-suspected', trend });
  }

  /**
   * Starts an investigation now (subject to one at a time and the minimum
   * gap). Resolves to `{ status, path?, htmlPath?, report? }`; never rejects.
   */
  investigate(options = {}) {
    const trigger = typeof options.trigger === 'string' ? options.trigger : 'manual';
    if (!this.#config.dir) {
      warn('leakwatch: cannot investigate: LEAKWATCH_DIR is not set', WARNING_CODES.skipped);
      return Promise.resolve({ status: 'refused', reason: 'LEAKWATCH_DIR is not set' });
    }
    if (!this.#boot()) return Promise.resolve({ status: 'refused', reason: 'the agent is stopped' });
    const decision = this.#gate.request(now());
    if (decision.action !== 'take') {
      const reason = decision.action === 'in-flight'
        ? 'an investigation is already running'
        : `the previous investigation ended less than LEAKWATCH_MIN_GAP_MS ago; next possible in ${Math.ceil(decision.retryInMs / 1000)} s`;
      warn(`leakwatch: ${trigger} ignored: ${reason}`, WARNING_CODES.skipped);
      return Promise.resolve({ status: 'refused', reason });
    }
    const trend = options.trend ?? this.#monitor.trend();
    const startedAt = new Date();
    // The report is written once the investigation, and with it the deletion
    // of its snapshots, has ended.
    this.#running = this.#investigate(trigger, trend, startedAt)
      .catch((err) => ({ status: 'failed', trigger, reason: err.message, startedAt }))
      .then((result) => this.#finish(result))
      .catch((err) => {
        warn(`leakwatch: investigation failed: ${err.message}`, WARNING_CODES.failed);
        return { status: 'failed', reason: err.message };
      })
      .finally(() => {
        this.#gate.finish();
        this.#running = null;
      });
    return this.#running;
  }

  async #investigate(trigger, trend, startedAt) {
    const c = this.#config;
    const base = { trigger, startedAt, trend: trend ?? null };
    await fs.promises.mkdir(c.dir, { recursive: true, mode: 0o700 });
    const heapUsed = require('node:v8').getHeapStatistics().used_heap_size;
    const diskShort = await this.#diskShortfall(heapUsed);
    if (diskShort) return { ...base, status: 'skipped', reason: diskShort.reason, disk: diskShort };

    warn(
      `leakwatch: investigating (${trigger}${trend ? `, heap growing ${formatRate(trend)}` : ''}): three heap snapshots ${c.intervalMs} ms apart into ${c.dir}`,
      WARNING_CODES.investigating,
    );
    this.emit('investigation', { trigger, trend: base.trend, dir: c.dir });

    const snapshots = loadInvestigationModules();
    // One dry run of the timers an investigation uses: the hidden classes
    // V8 creates the first time they run would otherwise be new objects
    // between the first two snapshots.
    pauseProbe().stop();
    await sleep(1);
    // Filled in place: the agent's own bookkeeping growing between the
    // snapshots would show up in them as a small leak suspect of its own.
    const records = [snapshotRecord(), snapshotRecord(), snapshotRecord()];
    let taken = 0;
    try {
      for (; taken < 3; taken++) {
        if (taken > 0) await sleep(Math.max(0, c.intervalMs - (performance.now() - records[taken - 1].startedMs)));
        const skipped = await this.#takeOne(snapshots, records[taken]);
        if (skipped) {
          return {
            ...base,
            status: 'skipped',
            reason: `snapshot ${taken + 1} of 3 was not taken: ${skipped.reason}`,
            headroom: { heapUsed: skipped.heapUsed, needBytes: skipped.needBytes, availableBytes: skipped.availableBytes },
            snapshots: records.slice(0, taken).map(describeSnapshot),
          };
        }
      }
      const snaps = records.map(describeSnapshot);
      const analysis = await this.#analyze(snaps.map((s) => s.path));
      if (analysis.skipped) return { ...base, status: 'skipped', reason: analysis.reason, memory: analysis.memory, snapshots: snaps };
      return {
        ...base,
        status: analysis.suspects.length > 0 ? 'found' : 'clean',
        snapshots: snaps,
        analysisMs: analysis.ms,
        analysisPhases: analysis.phases,
        suspects: analysis.suspects,
        diff: analysis.diff,
      };
    } finally {
      if (!c.keepSnapshots) {
        for (const r of records.slice(0, taken)) await fs.promises.rm(r.path, { force: true }).catch(() => {});
      }
    }
  }

  // Its own frame: the result of `take` is dropped before the next snapshot.
  async #takeOne(snapshots, record) {
    const c = this.#config;
    record.startedMs = performance.now();
    const probe = pauseProbe();
    let r;
    try {
      // Fast mode never disconnects its inspector session (lib/snapshots.js),
      // so V8's object ids, by which findLeaks and the diff match objects,
      // hold across the three.
      r = await snapshots.take({ dir: c.dir, fast: true, headroomFactor: c.headroomFactor, maxFiles: c.keepSnapshots ? 3 : undefined });
    } finally {
      probe.stop();
    }
    if (r.skipped) return r;
    record.path = r.path;
    record.bytes = r.bytes;
    record.heapUsed = r.heapUsed;
    record.writeMs = round(r.durationMs);
    record.fast = r.fast;
    // V8 writes the file synchronously: the application stalls.
    record.eventLoopPauseMs = round(probe.longestMs);
    return null;
  }

  // Bounded disk use: the agent's own files plus three snapshots must fit in
  // LEAKWATCH_MAX_DISK_BYTES and in the free space less a reserve.
  async #diskShortfall(heapUsed) {
    const c = this.#config;
    const needBytes = 3 * SNAPSHOT_FILE_FACTOR * heapUsed;
    const ours = await require('./snapshots.js').ownFiles(c.dir, ['.heapsnapshot', ...REPORT_EXTS]);
    const usedBytes = ours.reduce((sum, f) => sum + f.bytes, 0);
    if (usedBytes + needBytes > c.maxDiskBytes) {
      return {
        reason: `three snapshots of a ${formatSize(heapUsed)} heap need about ${formatSize(needBytes)}; leakwatch's files already use ${formatSize(usedBytes)} of LEAKWATCH_MAX_DISK_BYTES (${formatSize(c.maxDiskBytes)})`,
        needBytes,
        usedBytes,
        maxDiskBytes: c.maxDiskBytes,
      };
    }
    try {
      const st = await fs.promises.statfs(c.dir);
      const freeBytes = st.bavail * st.bsize;
      if (needBytes + DISK_RESERVE_BYTES > freeBytes) {
        return {
          reason: `three snapshots of a ${formatSize(heapUsed)} heap need about ${formatSize(needBytes)}, and only ${formatSize(freeBytes)} is free in ${c.dir} (${formatSize(DISK_RESERVE_BYTES)} stays free for the application)`,
          needBytes,
          freeBytes,
        };
      }
    } catch {
      // statfs is missing on some platforms: the budget above still holds.
    }
    return null;
  }

  // On the libuv pool: loading, findLeaks and the diff are native tasks, so
  // the event loop only waits for their results.
  async #analyze(files) {
    const total = (await Promise.all(files.map((f) => fs.promises.stat(f)))).reduce((sum, st) => sum + st.size, 0);
    const needBytes = Math.round(total * ANALYSIS_MEMORY_FACTOR);
    const availableBytes = typeof process.availableMemory === 'function' ? process.availableMemory() : os.freemem();
    if (needBytes > availableBytes) {
      return {
        skipped: true,
        reason: `analysing the three snapshots (${formatSize(total)}) needs about ${formatSize(needBytes)} of memory and ${formatSize(availableBytes)} is available`,
        memory: { needBytes, availableBytes },
      };
    }
    const { loadSnapshot } = require('./snapshot.js');
    const { findLeaks, diffSnapshots } = require('./leaks.js');
    const t0 = performance.now();
    const loaded = [];
    try {
      // One at a time: the application keeps the other pool threads.
      for (const f of files) loaded.push(await loadSnapshot(f));
      const t1 = performance.now();
      const { redact } = this.#config;
      const suspects = await findLeaks(loaded, { redact });
      const t2 = performance.now();
      const diff = await diffSnapshots(loaded[0], loaded[2], { redact });
      const t3 = performance.now();
      return { suspects, diff, ms: round(t3 - t0), phases: { loadMs: round(t1 - t0), findLeaksMs: round(t2 - t1), diffMs: round(t3 - t2) } };
    } finally {
      for (const s of loaded) s.close();
    }
  }

  async #finish(result) {
    const c = this.#config;
    const finishedAt = new Date();
    const { diff, startedAt, ...rest } = result;
    const report = {
      tool: 'leakwatch',
      version: version(),
      formatVersion: 1,
      status: rest.status,
      reason: rest.reason,
      trigger: rest.trigger,
      pid: process.pid,
      threadId,
      hostname: os.hostname(),
      node: process.version,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt - startedAt,
      intervalMs: c.intervalMs,
      redacted: c.redact,
      ...rest,
      snapshotsKept: c.keepSnapshots && rest.snapshots?.length === 3,
      suspects: rest.suspects ?? [],
      runtime: this.#runtimeState(),
    };
    this.#monitor.recordInvestigation(report.status);

    const stem = `report-${stamp(startedAt)}-${process.pid}${isMainThread ? '' : `-${threadId}`}`;
    let file = null;
    let htmlFile = null;
    try {
      await fs.promises.mkdir(c.dir, { recursive: true, mode: 0o700 });
      // Printed with cat, the report cannot drive the terminal.
      file = await writeReport(c.dir, stem, '.json', `${jsonForTerminal(report)}\n`);
      htmlFile = await writeReport(c.dir, stem, '.html', htmlReport(report, diff));
      await this.#pruneReports();
    } catch (err) {
      warn(`leakwatch: cannot write the investigation report in ${c.dir}: ${err.message}`, WARNING_CODES.failed);
    }
    const payload = { status: report.status, path: file, htmlPath: htmlFile, report };
    this.#announce(payload);
    return payload;
  }

  #runtimeState() {
    const out = {};
    try {
      if (this.#config.trackers.includes('listeners')) {
        out.listeners = require('./listeners.js').listeners.report();
        if (this.#config.redact) redactEventNames(out.listeners);
      }
      if (this.#config.trackers.includes('timers')) {
        const { count, bySite } = require('./timers.js').timers.active();
        out.timers = { count, bySite };
      }
    } catch (err) {
      out.error = err.message;
    }
    return out;
  }

  // Only reports that carry their own mark, and what interrupted report
  // writes of processes that are gone left: regular files of this user's,
  // named as the secure writer names its temporary files, that are empty or
  // start like a report.
  async #pruneReports() {
    const { dir, maxReports } = this.#config;
    const { ownFiles, alive, isOwnFile } = require('./snapshots.js');
    const reports = (await ownFiles(dir, REPORT_EXTS)).map((f) => f.name).filter((n) => n.startsWith('leakwatch-report-'));
    for (const ext of REPORT_EXTS) {
      // Names start with the UTC time: the lexical order is the age order.
      const mine = reports.filter((n) => n.endsWith(ext)).sort();
      for (const old of mine.slice(0, Math.max(0, mine.length - maxReports))) {
        await fs.promises.rm(path.join(dir, old), { force: true });
      }
    }
    for (const name of await fs.promises.readdir(dir).catch(() => [])) {
      const pid = Number(STAGED_REPORT.exec(name)?.[1]);
      if (!pid || pid === process.pid || alive(pid)) continue;
      const file = path.join(dir, name);
      try {
        if (isOwnFile(await fs.promises.lstat(file, { bigint: true })) && (await startsLikeAReport(file))) await fs.promises.unlink(file);
      } catch {
        // Gone meanwhile, or not ours to read: leave it.
      }
    }
  }

  #announce(payload) {
    const { report } = payload;
    const where = payload.path ? ` Report: ${payload.path}` : '';
    if (report.status === 'found') {
      const top = report.suspects[0];
      warn(`leakwatch: leak found: ${sentence(top.explanation)}${where}`, WARNING_CODES.found, `${report.suspects.length} suspect(s); HTML report: ${payload.htmlPath}`);
    } else if (report.status === 'clean') {
      warn(`leakwatch: the investigation found no leak suspect.${where}`, WARNING_CODES.clean);
    } else {
      warn(`leakwatch: investigation ${report.status}: ${sentence(report.reason)}${where}`, WARNING_CODES[report.status] ?? WARNING_CODES.failed);
    }
    try {
      this.emit('report', payload);
      const channel = diagnosticsChannel.channel(REPORT_CHANNEL);
      if (channel.hasSubscribers) channel.publish(payload);
    } catch (err) {
      // A listener that throws must not turn the report into a crash.
      warn(`leakwatch: a report listener threw: ${err.message}`, WARNING_CODES.agent);
    }
  }

  /** Stops the monitor, the signal listener, the metrics endpoint and the OpenTelemetry binding. */
  stop() {
    this.#stopped = true;
    for (const fn of this.#cleanup.splice(0).reverse()) {
      try {
        fn();
      } catch {
        // Best effort: stopping must not throw.
      }
    }
  }
}

let eventKey = null;

// Event names are usually code, but a program may build them from data
// (`user:${id}`), and nothing tells the two apart. Under redaction each
// becomes a keyed hash, the same for the same name within the process and
// not recomputable outside it; emitter names (constructors) and add sites
// (code locations) stay.
function redactEventNames(report) {
  const crypto = require('node:crypto');
  eventKey ??= crypto.randomBytes(32);
  for (const emitter of report.emitters) {
    for (const e of emitter.events) e.event = `<event:${crypto.createHmac('sha256', eventKey).update(e.event).digest('hex').slice(0, 8)}>`;
  }
}

// Loaded when an investigation starts, not at start-up, and all before its
// first snapshot: module code appearing between snapshots would look like
// growth of the application's heap.
function loadInvestigationModules() {
  require('./snapshot.js');
  require('./leaks.js');
  require('./html-report.js');
  require('./format.js');
  return require('./snapshots.js').snapshots;
}

// The longest time the event loop could not run a timer, from a ticker
// started before the work: unlike monitorEventLoopDelay, whose first tick
// only sets its baseline, a stall right at the start is not missed.
function pauseProbe() {
  const tickMs = 5;
  let last = performance.now();
  let longest = 0;
  const { setInterval, clearInterval } = plainTimers();
  const timer = setInterval(() => {
    const t = performance.now();
    longest = Math.max(longest, t - last - tickMs);
    last = t;
  }, tickMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      longest = Math.max(longest, performance.now() - last - tickMs);
    },
    get longestMs() {
      return Math.max(0, longest);
    },
  };
}

function snapshotRecord() {
  // Doubles from the start, so that storing the figures allocates nothing.
  return { startedMs: 0.5, path: '', bytes: 0.5, heapUsed: 0.5, writeMs: 0.5, fast: false, eventLoopPauseMs: 0.5 };
}

// The monitor's clock: epoch-based and monotonic.
function now() {
  return performance.timeOrigin + performance.now();
}

function version() {
  return require('../package.json').version;
}

function describeSnapshot(s) {
  const { startedMs, ...rest } = s;
  return rest;
}

function sentence(text) {
  const t = String(text ?? '').trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function round(ms) {
  return Math.round(ms * 10) / 10;
}

function formatSize(n) {
  return require('./format.js').formatBytes(n);
}

function formatRate(trend) {
  return trend.pctPerHour != null ? `${trend.pctPerHour.toFixed(1)}%/hour` : `${formatSize(trend.bytesPerHour)}/hour`;
}

function htmlReport(report, diff) {
  const { leaksReport, escapeHtml } = require('./html-report.js');
  if (report.status === 'found' || report.status === 'clean') {
    return leaksReport({ files: report.snapshots.map((s) => path.basename(s.path)), suspects: report.suspects, diff: diff ?? [] });
  }
  // No analysis to show: a page that says why.
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>leakwatch: investigation ${escapeHtml(report.status)}</title></head>
<body><h1>leakwatch: investigation ${escapeHtml(report.status)}</h1><p>${escapeHtml(report.reason ?? '')}</p>
<p>Process ${report.pid} on ${escapeHtml(report.hostname)}, Node ${escapeHtml(report.node)}, ${escapeHtml(report.startedAt)}.</p></body></html>
`;
}

/**
 * Starts the agent for this thread from the environment, once: a second call
 * (e.g. `-r` and `--import` together) returns the first agent. Returns null
 * when LEAKWATCH_AGENT=off.
 */
function start(env = process.env) {
  if (Object.hasOwn(globalThis, AGENT)) return globalThis[AGENT];
  Object.defineProperty(globalThis, AGENT, { value: null, writable: true, configurable: true });
  const { config, problems } = readConfig(env);
  // Workers share the environment: the main thread has said it already.
  if (isMainThread) for (const p of problems) warn(p.message, WARNING_CODES.config);
  if (!config.enabled) return null;
  const agent = new Agent(config);
  globalThis[AGENT] = agent;
  return agent;
}

module.exports = { Agent, readConfig, start, REPORT_CHANNEL };
