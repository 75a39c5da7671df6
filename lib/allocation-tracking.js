'use strict';

// Allocation tracking in this process, through an in-process inspector
// session: while it is on, V8 records the stack of every allocation, and
// heap snapshots carry those stacks, so findLeaks can name the function and
// file:line that allocated what leaked. It costs time on every allocation
// (see the README's "Find the leak"), so it is on only between
// trackAllocations() and stop().

const inspector = require('node:inspector');
const v8 = require('node:v8');
const { loadSnapshot } = require('./snapshot.js');
const { argError } = require('./errors.js');

let active = null;

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
    return loadSnapshot(v8.getHeapSnapshot());
  }

  /** Collects garbage, then writes a snapshot with allocation stacks; returns its file name. */
  async writeSnapshot(file) {
    this.#check();
    if (file !== undefined && typeof file !== 'string') throw argError('file must be a string');
    await this.#settle();
    return v8.writeHeapSnapshot(file);
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
