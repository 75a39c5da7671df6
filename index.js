'use strict';

// leakwatch: find, explain and prevent memory leaks in Node.js.
// The analysis runs in Rust (binding.js); this file only gathers the API.

const snapshot = require('./lib/snapshot.js');
const leaks = require('./lib/leaks.js');
const { expectNoLeak, expectCollected, trackAllocations } = require('./lib/assert.js');
const { trackEmitter, untrack, listeners } = require('./lib/listeners.js');
const { BoundedLog } = require('./lib/log.js');
const { timers } = require('./lib/timers.js');
const { WeakValueCache } = require('./lib/weak-cache.js');
const { Monitor, monitor } = require('./lib/monitor.js');
const { snapshots, SnapshotSchedule } = require('./lib/snapshots.js');

module.exports = {
  ...snapshot,
  ...leaks,
  expectNoLeak,
  expectCollected,
  trackAllocations,
  trackEmitter,
  untrack,
  listeners,
  BoundedLog,
  timers,
  WeakValueCache,
  Monitor,
  monitor,
  snapshots,
  SnapshotSchedule,
};
