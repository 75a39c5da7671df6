'use strict';

// Heap snapshots on demand and on triggers. The policy (debounce, single
// flight, growth trigger, headroom, retention, the process-wide lease) is in
// Rust; this file does the file system, V8 and inspector calls.

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const { isMainThread, threadId } = require('node:worker_threads');
const native = require('./native.js');
const { callNative, argError } = require('./errors.js');
const { Monitor, monitor: startMonitor, now } = require('./monitor.js');

// Measured on Node 20: writing a snapshot raised peak RSS by 15-16x the heap
// in use (44 MB heap: +646 MB; 277 MB heap: +4.5 GB).
const DEFAULT_HEADROOM_FACTOR = 16;
const DEFAULT_MIN_INTERVAL_MS = 60_000;
// A lease held this long belongs to a thread that died mid-snapshot.
const LEASE_MAX_HOLD_MS = 30 * 60_000;
const UNLIMITED = 2 ** 60;

let sequence = 0;
// Per thread: concurrent requests for the same directory share one write.
const inFlight = new Map();

function snapshotError(message, cause) {
  const err = new Error(message, { cause });
  err.code = 'ERR_SNAPSHOT_WRITE';
  return err;
}

function readNumber(file) {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text === 'max') return Infinity;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

// The tightest (limit - usage) over this process's cgroup and its ancestors,
// for cgroup v2 and v1; undefined when no limit applies.
function cgroupFree() {
  let lines;
  try {
    lines = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const candidates = [];
  for (const line of lines) {
    const [, controllers, rel] = line.split(':');
    if (rel === undefined) continue;
    if (controllers === '') candidates.push({ root: '/sys/fs/cgroup', rel, limit: 'memory.max', usage: 'memory.current' });
    if (controllers.split(',').includes('memory')) {
      candidates.push({ root: '/sys/fs/cgroup/memory', rel, limit: 'memory.limit_in_bytes', usage: 'memory.usage_in_bytes' });
    }
  }
  let free;
  for (const c of candidates) {
    // Inside a container the process's own path is often not mounted; the
    // mount root then is its cgroup.
    for (let dir = path.join(c.root, c.rel); ; dir = path.dirname(dir)) {
      const limit = readNumber(path.join(dir, c.limit));
      const usage = readNumber(path.join(dir, c.usage));
      if (limit !== undefined && usage !== undefined && limit < UNLIMITED) {
        const room = Math.max(0, limit - usage);
        free = free === undefined ? room : Math.min(free, room);
      }
      if (dir === c.root || dir.length <= c.root.length) break;
    }
  }
  return free;
}

function systemAvailable() {
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: the kernel's free figure is the best there is.
  }
  return os.freemem();
}

let exposedGc;
function fullGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc();
  // Exposes V8's gc() to a fresh context only: the user's global stays untouched.
  if (!exposedGc) {
    v8.setFlagsFromString('--expose-gc');
    exposedGc = vm.runInNewContext('gc');
  }
  exposedGc();
}

// On Node 20, with large scripts loaded (TypeScript: 35 s here) writing a
// snapshot is slow until the inspector's Debugger domain has been enabled
// once (0.7 s). The speed-up survives Debugger.disable (measured), so the
// session lives only for the duration of the write and no debugger stays on.
function writeSnapshot(file, fast) {
  let session = null;
  if (fast) {
    try {
      const { Session } = require('node:inspector');
      session = new Session();
      session.connect();
      session.post('Debugger.enable');
    } catch {
      // No inspector in this build or thread: write the slow way.
      session = null;
    }
  }
  try {
    v8.writeHeapSnapshot(file);
  } finally {
    if (session) {
      try {
        session.post('Debugger.disable');
        session.disconnect();
      } catch {
        // The snapshot is written; a failing cleanup must not fail it.
      }
    }
  }
  return session !== null;
}

function fileName() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '-');
  sequence += 1;
  return `leakwatch-${stamp}-${process.pid}-${threadId}-${sequence}.heapsnapshot`;
}

async function applyRetention(dir, maxFiles, maxBytes) {
  if (maxFiles === undefined && maxBytes === undefined) return [];
  const files = [];
  for (const name of await fs.promises.readdir(dir)) {
    if (!name.startsWith('leakwatch-') || !name.endsWith('.heapsnapshot')) continue;
    try {
      const st = await fs.promises.stat(path.join(dir, name));
      if (st.isFile()) files.push({ name, bytes: st.size, mtimeMs: st.mtimeMs });
    } catch {
      // Deleted meanwhile by another process.
    }
  }
  const doomed = callNative(() => native.selectSnapshotsToDelete(files, maxFiles, maxBytes));
  for (const name of doomed) await fs.promises.rm(path.join(dir, name), { force: true });
  return doomed;
}

function checkCount(value, name) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw argError(`${name} must be a non-negative integer`);
  return value;
}

function checkTakeOptions(options) {
  if (options === null || typeof options !== 'object') throw argError('options must be an object with a dir');
  const { dir } = options;
  if (typeof dir !== 'string' || dir === '') throw argError('options.dir must be a non-empty path');
  const headroomFactor = options.headroomFactor ?? DEFAULT_HEADROOM_FACTOR;
  if (typeof headroomFactor !== 'number' || !(headroomFactor >= 0)) throw argError('headroomFactor must be a non-negative number');
  return {
    dir: path.resolve(dir),
    gcFirst: Boolean(options.gcFirst),
    fast: options.fast ?? true,
    headroomFactor,
    maxFiles: checkCount(options.maxFiles, 'maxFiles'),
    maxBytes: checkCount(options.maxBytes, 'maxBytes'),
  };
}

async function writeOne(o) {
  try {
    await fs.promises.mkdir(o.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw snapshotError(`cannot create the snapshot directory ${o.dir}: ${err.message}`, err);
  }
  if (o.gcFirst) fullGc();
  const heapUsed = v8.getHeapStatistics().used_heap_size;
  const room = callNative(() => native.checkSnapshotHeadroom(heapUsed, o.headroomFactor, cgroupFree(), systemAvailable()));
  if (!room.ok) {
    return { skipped: true, reason: `not enough memory (${room.source})`, heapUsed, needBytes: room.needBytes, availableBytes: room.availableBytes };
  }
  const lease = native.acquireSnapshotLease(now(), LEASE_MAX_HOLD_MS);
  if (lease === null) return { skipped: true, reason: 'another snapshot is being written in this process', heapUsed };
  const name = fileName();
  const final = path.join(o.dir, name);
  const temp = path.join(o.dir, `.${name}.tmp`);
  const started = performance.now();
  let fast;
  try {
    // Created 0600 before V8 writes into it: the heap's secrets are never
    // readable by others, not even while being written.
    await fs.promises.writeFile(temp, '', { mode: 0o600, flag: 'wx' });
    fast = writeSnapshot(temp, o.fast);
    const fh = await fs.promises.open(temp, 'r+');
    try {
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(temp, final);
  } catch (err) {
    await fs.promises.rm(temp, { force: true }).catch(() => {});
    throw snapshotError(`writing a heap snapshot in ${o.dir} failed: ${err.message}`, err);
  } finally {
    native.releaseSnapshotLease(lease);
  }
  const durationMs = performance.now() - started;
  const { size: bytes } = await fs.promises.stat(final);
  const deleted = await applyRetention(o.dir, o.maxFiles, o.maxBytes);
  return { path: final, bytes, durationMs, fast, heapUsed, deleted };
}

function takeChecked(o) {
  let pending = inFlight.get(o.dir);
  if (!pending) {
    pending = writeOne(o).finally(() => inFlight.delete(o.dir));
    inFlight.set(o.dir, pending);
  }
  return pending;
}

/**
 * Writes one heap snapshot into `dir`. Resolves to `{ path, bytes, durationMs,
 * fast, heapUsed, deleted }`, or `{ skipped: true, reason }` when the process
 * cannot afford it now; rejects with `ERR_SNAPSHOT_WRITE` when the write fails.
 */
async function take(options) {
  return takeChecked(checkTakeOptions(options));
}

/**
 * Snapshots on a timer, on heap growth, on `leak-suspected` or on a process
 * signal. Emits `snapshot`, `snapshot-skipped`, `report` (with `analyze`) and
 * `error`; write failures never throw.
 */
class SnapshotSchedule extends EventEmitter {
  #options;
  #trigger;
  #analyze;
  #timer = null;
  #monitor = null;
  #ownMonitor = false;
  #unsubscribe = [];

  constructor(options) {
    super();
    this.#options = checkTakeOptions(options);
    const o = options;
    const everyMs = o.everyMs;
    if (everyMs !== undefined && (typeof everyMs !== 'number' || !(everyMs > 0) || !Number.isFinite(everyMs))) {
      throw argError('everyMs must be a positive number');
    }
    const minIntervalMs = o.minIntervalMs ?? Math.min(everyMs ?? DEFAULT_MIN_INTERVAL_MS, DEFAULT_MIN_INTERVAL_MS);
    if (typeof minIntervalMs !== 'number' || !(minIntervalMs >= 0)) throw argError('minIntervalMs must be a non-negative number');
    if (o.onGrowthPct !== undefined && (typeof o.onGrowthPct !== 'number' || !(o.onGrowthPct > 0))) {
      throw argError('onGrowthPct must be a positive number');
    }
    if (o.monitor !== undefined && !(o.monitor instanceof Monitor)) throw argError('monitor must be a Monitor');
    if (o.signal !== undefined) {
      if (typeof o.signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(o.signal)) throw argError('signal must be a signal name such as "SIGUSR2"');
      if (!isMainThread) throw argError('signal triggers work only on the main thread');
      if (o.signal === 'SIGUSR1') throw argError('SIGUSR1 is reserved for the Node inspector');
    }
    this.#analyze = Boolean(o.analyze);
    this.#trigger = callNative(() => new native.NativeSnapshotTrigger(minIntervalMs, o.onGrowthPct));

    if (everyMs !== undefined) {
      this.#timer = setInterval(() => this.take('interval'), everyMs);
      this.#timer.unref();
    }
    if (o.onGrowthPct !== undefined || o.onLeakSuspected) {
      this.#monitor = o.monitor ?? startMonitor({ intervalMs: 0 });
      this.#ownMonitor = o.monitor === undefined;
      if (o.onGrowthPct !== undefined) {
        this.#listen(this.#monitor, 'sample', (s) => {
          if (s.afterGc && this.#trigger.observeHeap(s.heapUsed)) this.take('growth');
        });
      }
      if (o.onLeakSuspected) this.#listen(this.#monitor, 'leak-suspected', () => this.take('leak-suspected'));
    }
    if (o.signal !== undefined) {
      // Signal handles are unref'd by Node: listening does not hold the loop.
      this.#listen(process, o.signal, () => this.take('signal'));
    }
  }

  #listen(emitter, event, fn) {
    emitter.on(event, fn);
    this.#unsubscribe.push(() => emitter.off(event, fn));
  }

  #fail(err) {
    // An 'error' event with no listener would throw and crash the process:
    // the one thing a snapshot trigger must never do.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(err);
  }

  /**
   * Requests a snapshot now (through the debounce). Resolves to the result,
   * or to a skip; never rejects.
   */
  async take(trigger = 'manual') {
    const decision = this.#trigger.request(now());
    if (decision.action === 'in-flight') {
      const shared = inFlight.get(this.#options.dir);
      return shared ? shared.catch(() => undefined) : undefined;
    }
    if (decision.action === 'debounced') {
      const skipped = { skipped: true, reason: 'debounced', trigger, retryInMs: decision.retryInMs };
      this.emit('snapshot-skipped', skipped);
      return skipped;
    }
    let result;
    try {
      result = { ...(await takeChecked(this.#options)), trigger };
    } catch (err) {
      this.#fail(err);
      return undefined;
    } finally {
      this.#trigger.finish(now());
    }
    if (result.skipped) {
      this.emit('snapshot-skipped', result);
      return result;
    }
    this.emit('snapshot', result);
    if (this.#analyze) this.#report(result.path);
    return result;
  }

  async #report(file) {
    try {
      // Loaded lazily: the snapshot engine is not needed unless asked for.
      const { analyzeSnapshot } = require('./snapshot.js');
      this.emit('report', { path: file, report: await analyzeSnapshot(file) });
    } catch (err) {
      this.#fail(err);
    }
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#ownMonitor) this.#monitor.stop();
    this.#monitor = null;
    return this;
  }
}

function schedule(options) {
  return new SnapshotSchedule(options);
}

module.exports = { snapshots: { take, schedule }, SnapshotSchedule };
