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
const { emitWarningEscaped } = require('./terminal.js');
const { Monitor, monitor: startMonitor, now } = require('./monitor.js');
const { plainTimers } = require('./timers.js');
const { processGlobal } = require('./process-global.js');

// Peak RSS while writing, over the heap in use (bench/snapshot-headroom.js,
// Node 20-26, fast mode on and off, which changes it by under 0.5x): small
// objects 12.6-14.2x, a graph with doubles, dates, closures and maps 6.6x,
// large strings and arrays 4.4-5.0x, a TypeScript program 4.1x; a heap of
// one-element arrays, the extreme, 25x; a real 59 MB heap was seen at 19x.
const DEFAULT_HEADROOM_FACTOR = 24;
const DEFAULT_MIN_INTERVAL_MS = 60_000;
// A lease held this long belongs to a thread that died mid-snapshot.
const LEASE_MAX_HOLD_MS = 30 * 60_000;
const UNLIMITED = 2 ** 60;
const TIMEOUT_MAX = 2 ** 31 - 1;

const DIR_WARNING_CODE = 'LEAKWATCH_SNAPSHOT_DIR';
const { O_CREAT, O_EXCL, O_RDWR, O_RDONLY } = fs.constants;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

let sequence = 0;
// Per thread: concurrent requests for the same directory share one write.
const inFlight = new Map();
const warnedDirs = new Set();

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

// Fast mode. V8 11 (Node 20) writes a snapshot slowly when its scripts have
// no line-end tables yet: with TypeScript loaded, 25 to 35 s instead of 1 s
// (bench/snapshot-fast.js). The inspector's Debugger.enable builds the tables
// of every script loaded so far; scripts loaded later need it again
// (measured: enabling before loading TypeScript left the write at 25 s), so
// it is posted before each write and disabled after. From V8 12 (Node 22)
// the snapshot itself builds them: measured with TypeScript loaded on Node
// 22, 24 and 26, enabling the Debugger first made no difference, so no
// session is used there.
const DEBUGGER_MAKES_FAST = Number(process.versions.v8.split('.')[0]) < 12;

// The session is connected once per thread and never disconnected.
// Disconnecting an inspector session disables its HeapProfiler agent, and
// that clears V8's heap object ids: the next snapshot numbers objects afresh
// (measured: a quarter to all of 2,000 long-lived objects got other ids), and
// diffSnapshots and findLeaks match objects across snapshots by those ids.
// While it is connected Node also hands console calls to the inspector, which
// keeps the arguments of the last 1,000 (measured: 10 MB for 1,000 logged
// 10 kB objects) and makes console.log about 2x slower; the messages are
// discarded before each write, so no snapshot holds them.
function threadSession() {
  try {
    const inspector = require('node:inspector');
    return processGlobal(inspector, 'inspectorSession', () => {
      const session = new inspector.Session();
      session.connect();
      return session;
    });
  } catch {
    // No inspector in this build or thread: writes go the slow way.
    return null;
  }
}

/** Writes the snapshot; true when it was written in fast mode. */
function writeSnapshot(file, fast) {
  let session = fast && DEBUGGER_MAKES_FAST ? threadSession() : null;
  try {
    session?.post('Runtime.discardConsoleEntries');
    session?.post('Debugger.enable');
  } catch {
    // Disconnected by someone else: write the slow way.
    session = null;
  }
  try {
    v8.writeHeapSnapshot(file);
  } finally {
    // The tables stay built after Debugger.disable (measured), so no
    // debugger stays on between writes.
    try {
      session?.post('Debugger.disable');
    } catch {
      // The snapshot is written; a failing cleanup must not fail it.
    }
  }
  return fast && (!DEBUGGER_MAKES_FAST || session !== null);
}

/** `<utc stamp>-<pid>-<thread>-<sequence>`: unique to this write. */
function fileStem() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '-');
  sequence += 1;
  return `${stamp}-${process.pid}-${threadId}-${sequence}`;
}

const myUid = typeof process.getuid === 'function' ? BigInt(process.getuid()) : null;

/** A regular file (not a link) that belongs to this user. */
function isOwnFile(st) {
  return st.isFile() && (myUid === null || st.uid === myUid);
}

/**
 * The name of a file of leakwatch's: `leakwatch-<stem>-<mark><ext>`, the mark
 * a check value over the stem and the file's own device and inode (see
 * file_mark in Rust). A file named like ours but written by someone else, or
 * a copy of one of ours (a new inode), does not carry its own mark.
 */
function markedName(stem, st, ext) {
  return `leakwatch-${stem}-${native.snapshotFileMark(stem, String(st.dev), String(st.ino))}${ext}`;
}

/**
 * leakwatch's own files in `dir` whose names end with one of `exts`: regular
 * files of this user's that carry their own mark.
 * `[{ name, bytes, mtimeMs, dev, ino }]`.
 */
async function ownFiles(dir, exts) {
  let names;
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const files = [];
  for (const name of names) {
    const ext = exts.find((e) => name.endsWith(e));
    if (ext === undefined || !name.startsWith('leakwatch-')) continue;
    const body = name.slice('leakwatch-'.length, name.length - ext.length);
    const stem = body.slice(0, body.lastIndexOf('-'));
    try {
      const st = await fs.promises.lstat(path.join(dir, name), { bigint: true });
      if (stem !== '' && isOwnFile(st) && markedName(stem, st, ext) === name) {
        files.push({ name, bytes: Number(st.size), mtimeMs: Number(st.mtimeMs), dev: String(st.dev), ino: String(st.ino) });
      }
    } catch {
      // Deleted meanwhile.
    }
  }
  return files;
}

/**
 * A path that names the open file itself, for V8 to write through: the file
 * was created here, exclusively and without following links, and V8 opening
 * this name cannot land anywhere else, whatever happens to the directory
 * meanwhile. Null where the system has no such names.
 */
function fdPath(fd) {
  for (const dir of ['/proc/self/fd', '/dev/fd']) {
    if (process.platform !== 'win32' && fs.existsSync(dir)) return `${dir}/${fd}`;
  }
  return null;
}

/**
 * Creates the directory 0700 (with any missing parents) or checks the one
 * there: a directory every user may write to gets a warning, once.
 */
async function prepareDir(dir) {
  let created;
  try {
    created = await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw snapshotError(`cannot create the snapshot directory ${dir}: ${err.message}`, err);
  }
  if (created !== undefined || warnedDirs.has(dir)) return;
  const st = await fs.promises.stat(dir);
  if ((st.mode & 0o002) !== 0) {
    warnedDirs.add(dir);
    emitWarningEscaped(
      `heap snapshots go to ${dir}, which every user may write to (mode ${(st.mode & 0o7777).toString(8)}): others can see when snapshots are taken and fill the disk`,
      { code: DIR_WARNING_CODE, detail: 'leakwatch creates its files 0600, exclusively and without following links; use a directory of your own (leakwatch creates a missing one 0700)' },
    );
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

async function startsLikeASnapshot(file) {
  const fh = await fs.promises.open(file, O_RDONLY | O_NOFOLLOW);
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(12), 0, 12, 0);
    const head = buffer.toString('latin1', 0, bytesRead);
    return '{"snapshot":'.startsWith(head) || head.startsWith('{"snapshot":');
  } finally {
    await fh.close();
  }
}

/**
 * Removes what interrupted writes left in `dir`: temporary files of ours
 * (by name, and a regular file of this user's that starts like a snapshot)
 * whose process is gone. The caller holds the process-wide lease, so no
 * other thread of this process is writing one.
 */
async function removeStaleTemps(dir) {
  const removed = [];
  let names;
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = native.snapshotTempPid(name);
    if (pid === null || (pid !== process.pid && alive(pid))) continue;
    const file = path.join(dir, name);
    try {
      if (!isOwnFile(await fs.promises.lstat(file, { bigint: true })) || !(await startsLikeASnapshot(file))) continue;
      await fs.promises.unlink(file);
      removed.push(name);
    } catch {
      // Gone meanwhile, or not ours to read: leave it.
    }
  }
  return removed;
}

async function applyRetention(dir, maxFiles, maxBytes) {
  if (maxFiles === undefined && maxBytes === undefined) return [];
  const files = await ownFiles(dir, ['.heapsnapshot']);
  // The policy checks each mark again (see file_mark in Rust).
  const doomed = callNative(() => native.selectSnapshotsToDelete(files, maxFiles, maxBytes));
  for (const name of doomed) await fs.promises.rm(path.join(dir, name), { force: true });
  return doomed;
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'a bigint';
  if (typeof v === 'symbol') return 'a symbol';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function checkCount(value, name) {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw argError(`${name} must be a non-negative integer, got ${describe(value)}`);
  return value;
}

function checkBoolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argError(`${name} must be true or false, got ${describe(value)}`);
  return value;
}

function checkTakeOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw argError(`options must be an object with a dir, got ${describe(options)}`);
  }
  const { dir } = options;
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) throw argError(`options.dir must be a non-empty path, got ${describe(dir)}`);
  const headroomFactor = options.headroomFactor ?? DEFAULT_HEADROOM_FACTOR;
  if (typeof headroomFactor !== 'number' || !(headroomFactor >= 0) || headroomFactor === Infinity) {
    throw argError(`headroomFactor must be a finite non-negative number, got ${describe(headroomFactor)}`);
  }
  return {
    dir: path.resolve(dir),
    gcFirst: checkBoolean(options.gcFirst, 'gcFirst', false),
    fast: checkBoolean(options.fast, 'fast', true),
    headroomFactor,
    maxFiles: checkCount(options.maxFiles, 'maxFiles'),
    maxBytes: checkCount(options.maxBytes, 'maxBytes'),
  };
}

async function writeOne(o) {
  await prepareDir(o.dir);
  if (o.gcFirst) fullGc();
  const heapUsed = v8.getHeapStatistics().used_heap_size;
  const room = callNative(() => native.checkSnapshotHeadroom(heapUsed, o.headroomFactor, cgroupFree(), systemAvailable()));
  if (!room.ok) {
    return { skipped: true, reason: `not enough memory (${room.source})`, heapUsed, needBytes: room.needBytes, availableBytes: room.availableBytes };
  }
  await settleCleanups(o.dir);
  const lease = native.acquireSnapshotLease(now(), LEASE_MAX_HOLD_MS);
  if (lease === null) return { skipped: true, reason: 'another snapshot is being written in this process', heapUsed };
  let written;
  let staleTemps;
  try {
    staleTemps = await removeStaleTemps(o.dir);
    written = await writeFile(o);
  } finally {
    native.releaseSnapshotLease(lease);
  }
  const deleted = await applyRetention(o.dir, o.maxFiles, o.maxBytes);
  return { ...written, heapUsed, deleted, staleTemps };
}

/**
 * Writes the snapshot under a hidden temporary name created 0600,
 * exclusively and without following links, then renames it to a name that
 * carries the mark of its own inode (how retention knows its files).
 */
async function writeFile(o) {
  const stem = fileStem();
  const temp = path.join(o.dir, `.leakwatch-${stem}.tmp`);
  const started = performance.now();
  let fh;
  try {
    fh = await fs.promises.open(temp, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW, 0o600);
  } catch (err) {
    throw snapshotError(`writing a heap snapshot in ${o.dir} failed: ${err.message}`, err);
  }
  try {
    const fast = writeSnapshot(fdPath(fh.fd) ?? temp, o.fast);
    await fh.chmod(0o600);
    await fh.sync();
    const st = await fh.stat({ bigint: true });
    const final = path.join(o.dir, markedName(stem, st, '.heapsnapshot'));
    await fh.close();
    fh = null;
    await fs.promises.rename(temp, final);
    return { path: final, bytes: Number(st.size), durationMs: performance.now() - started, fast };
  } catch (err) {
    await fh?.close().catch(() => {});
    await fs.promises.rm(temp, { force: true }).catch(() => {});
    throw snapshotError(`writing a heap snapshot in ${o.dir} failed: ${err.message}`, err);
  }
}

/**
 * Clean-ups a new schedule started, by directory: `running` once its
 * immediate ran and it holds the lease.
 */
const cleanups = new Map();

/** A new schedule clears what interrupted writes left in its directory, in the background. */
function cleanSoon(dir) {
  if (cleanups.has(dir)) return;
  const entry = { dropped: false, running: null };
  cleanups.set(dir, entry);
  plainTimers.setImmediate(() => {
    if (entry.dropped) return;
    entry.running = (async () => {
      const lease = native.acquireSnapshotLease(now(), LEASE_MAX_HOLD_MS);
      if (lease === null) return; // a write is under way; it cleans up first
      try {
        await removeStaleTemps(dir);
      } finally {
        native.releaseSnapshotLease(lease);
      }
    })().finally(() => cleanups.delete(dir));
  }).unref();
}

/**
 * Before a write takes the lease: a clean-up of its own directory that has
 * not started is dropped (the write cleans first), and any clean-up under
 * way is waited for, so that its lease never makes the write skip.
 */
async function settleCleanups(dir) {
  for (const [cleaned, entry] of cleanups) {
    if (entry.running) {
      await entry.running.catch(() => {});
    } else if (cleaned === dir) {
      entry.dropped = true;
      cleanups.delete(dir);
    }
  }
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
    // Node turns a longer interval into 1 ms.
    if (everyMs !== undefined && (typeof everyMs !== 'number' || !(everyMs > 0) || everyMs > TIMEOUT_MAX)) {
      throw argError(`everyMs must be a positive number of at most ${TIMEOUT_MAX}, got ${describe(everyMs)}`);
    }
    const minIntervalMs = o.minIntervalMs ?? Math.min(everyMs ?? DEFAULT_MIN_INTERVAL_MS, DEFAULT_MIN_INTERVAL_MS);
    if (typeof minIntervalMs !== 'number' || !(minIntervalMs >= 0) || minIntervalMs === Infinity) {
      throw argError(`minIntervalMs must be a finite non-negative number, got ${describe(minIntervalMs)}`);
    }
    if (o.onGrowthPct !== undefined && (typeof o.onGrowthPct !== 'number' || !(o.onGrowthPct > 0) || o.onGrowthPct === Infinity)) {
      throw argError(`onGrowthPct must be a positive number, got ${describe(o.onGrowthPct)}`);
    }
    if (o.monitor !== undefined && !(o.monitor instanceof Monitor)) throw argError(`monitor must be a Monitor, got ${describe(o.monitor)}`);
    if (o.signal !== undefined) {
      if (typeof o.signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(o.signal)) throw argError('signal must be a signal name such as "SIGUSR2"');
      if (!isMainThread) throw argError('signal triggers work only on the main thread');
      if (o.signal === 'SIGUSR1') throw argError('SIGUSR1 is reserved for the Node inspector');
    }
    const onLeakSuspected = checkBoolean(o.onLeakSuspected, 'onLeakSuspected', false);
    this.#analyze = checkBoolean(o.analyze, 'analyze', false);
    this.#trigger = callNative(() => new native.NativeSnapshotTrigger(minIntervalMs, o.onGrowthPct));

    if (everyMs !== undefined) {
      // Node's own setInterval: not listed by timers.install(), not driven by a test's fake clock.
      this.#timer = plainTimers.setInterval(() => this.take('interval'), everyMs);
      this.#timer.unref();
    }
    if (o.onGrowthPct !== undefined || onLeakSuspected) {
      this.#monitor = o.monitor ?? startMonitor({ intervalMs: 0 });
      this.#ownMonitor = o.monitor === undefined;
      if (o.onGrowthPct !== undefined) {
        this.#listen(this.#monitor, 'sample', (s) => {
          if (s.afterGc && this.#trigger.observeHeap(s.heapUsed)) this.take('growth');
        });
      }
      if (onLeakSuspected) this.#listen(this.#monitor, 'leak-suspected', () => this.take('leak-suspected'));
    }
    if (o.signal !== undefined) {
      // Signal handles are unref'd by Node: listening does not hold the loop.
      this.#listen(process, o.signal, () => this.take('signal'));
    }
    cleanSoon(this.#options.dir);
  }

  #listen(emitter, event, fn) {
    emitter.on(event, fn);
    this.#unsubscribe.push(() => emitter.off(event, fn));
  }

  #fail(err) {
    // An 'error' event with no listener would throw and crash the process:
    // the one thing a snapshot trigger must never do.
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else emitWarningEscaped(err);
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
      this.#trigger.finish();
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
    if (this.#timer !== null) plainTimers.clearInterval(this.#timer);
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

module.exports = { snapshots: { take, schedule }, SnapshotSchedule, markedName, ownFiles, isOwnFile, alive };
