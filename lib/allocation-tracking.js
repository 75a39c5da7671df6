'use strict';

// Allocation tracking in this process, through an in-process inspector
// session: while it is on, V8 records the stack of every allocation, and
// heap snapshots carry those stacks, so findLeaks can name the function and
// file:line that allocated what leaked. It costs time on every allocation
// (see the README's "Find the leak"), so it is on only between
// trackAllocations() and stop().

const fs = require('node:fs');
const inspector = require('node:inspector');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { threadId } = require('node:worker_threads');
const { loadSnapshot } = require('./snapshot.js');
const { argError } = require('./errors.js');

let active = null;
let written = 0;

// Not Node's own `Heap.<date>.<time>.<pid>.<thread>.<seq>` form: its
// sequence counter is Node's, and a name in that form claims a place in it.
function defaultName() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('.', '-');
  return `leakwatch-tracked-${stamp}-${process.pid}-${threadId}-${++written}.heapsnapshot`;
}
/** Whether the process runs without compaction anyway (then leave it so). */
const NO_COMPACT_ALREADY = [...process.execArgv, ...(process.env.NODE_OPTIONS || '').split(/\s+/)].includes('--no-compact');

function connect() {
  const session = new inspector.Session();
  session.connect();
  // In-process sessions answer synchronously.
  const post = (method, params = {}) => {
    let result;
    let error;
    session.post(method, params, (err, res) => {
      error = err;
      result = res;
    });
    if (error) throw error;
    return result;
  };
  return { session, post };
}

class AllocationTracker {
  #session;
  #post;
  #settle;

  constructor(settle) {
    const { session, post } = connect();
    this.#session = session;
    this.#post = post;
    this.#settle = settle;
    // V8 (Node 20 and 24 measured) forgets the stacks of objects a
    // compacting GC moves; without compaction they survive until the snapshot.
    if (!NO_COMPACT_ALREADY) v8.setFlagsFromString('--no-compact');
    post('HeapProfiler.enable');
    post('HeapProfiler.startTrackingHeapObjects', { trackAllocations: true });
  }

  get active() {
    return active === this;
  }

  #check() {
    if (!this.active) throw argError('allocation tracking was stopped', 'ERR_TRACKING_STOPPED');
  }

  /** Collects garbage, then loads a snapshot of this process that carries allocation stacks. */
  async snapshot() {
    this.#check();
    await this.#settle();
    // Taken and serialized in one synchronous call, through a private
    // temporary file. v8.getHeapSnapshot() serializes on a later tick, and
    // Node 20's V8 crashes serializing allocation stacks that changed in
    // between (AllocationTracker::PrepareForSerialization); in-process
    // inspector sessions deliver the chunks asynchronously on Node 26.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-'));
    try {
      const file = v8.writeHeapSnapshot(path.join(dir, 'tracked.heapsnapshot'));
      return await loadSnapshot(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * Collects garbage, then writes a snapshot with allocation stacks to
   * `file` (default: leakwatch-tracked-<time>-<pid>-<thread>-<n>.heapsnapshot
   * in the working directory); returns its file name. Like every file
   * leakwatch writes it is 0600 and never written through a symlink: V8
   * writes into a private directory beside the target, and the file is
   * renamed over it.
   */
  async writeSnapshot(file) {
    this.#check();
    if (file !== undefined && (typeof file !== 'string' || file === '')) throw argError('file must be a non-empty string');
    await this.#settle();
    const target = path.resolve(file ?? defaultName());
    const dir = fs.mkdtempSync(path.join(path.dirname(target), '.leakwatch-'));
    try {
      const temp = v8.writeHeapSnapshot(path.join(dir, 'tracked.heapsnapshot'));
      fs.chmodSync(temp, 0o600);
      fs.renameSync(temp, target);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    return target;
  }

  /** Stops recording stacks; snapshots taken afterwards carry none for new objects. */
  stop() {
    if (!this.active) return;
    active = null;
    try {
      this.#post('HeapProfiler.stopTrackingHeapObjects', { reportProgress: false });
      this.#post('HeapProfiler.disable');
    } finally {
      this.#session.disconnect();
      if (!NO_COMPACT_ALREADY) v8.setFlagsFromString('--compact');
    }
  }

  [Symbol.dispose]() {
    this.stop();
  }
}

/**
 * Starts recording allocation stacks in this process (one tracker at a
 * time: V8 has one allocation tracker per isolate).
 */
function trackAllocations(settle) {
  if (active) throw argError('allocation tracking is already on in this process; stop() the other tracker first', 'ERR_TRACKING_ACTIVE');
  active = new AllocationTracker(settle);
  return active;
}

function trackingActive() {
  return active !== null;
}

module.exports = { trackAllocations, trackingActive };
