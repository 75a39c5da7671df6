'use strict';

// leakwatch: find, explain and prevent memory leaks in Node.js.
// The analysis runs in Rust (binding.js); this file only gathers the API.
//
// Every export is listed by name in one object literal of plain identifiers:
// that is the form Node's CommonJS export detection (cjs-module-lexer) reads,
// so `import { findLeaks } from 'leakwatch'` works from ESM. A spread or a
// computed value here would hide the names from it again;
// __test__/esm.test.mjs fails if any export goes missing from ESM.

const { Snapshot, loadSnapshot, loadSnapshotSync, analyzeSnapshot, analyzeSnapshotSync, LIMITS } = require('./lib/snapshot.js');
const { diffSnapshots, findLeaks } = require('./lib/leaks.js');
const { expectNoLeak, expectCollected, trackAllocations } = require('./lib/assert.js');
const { trackEmitter, untrack, listeners } = require('./lib/listeners.js');
const { BoundedLog } = require('./lib/log.js');
const { timers } = require('./lib/timers.js');
const { WeakValueCache } = require('./lib/weak-cache.js');
const { Monitor, monitor } = require('./lib/monitor.js');
const { snapshots, SnapshotSchedule } = require('./lib/snapshots.js');

module.exports = {
  Snapshot,
  loadSnapshot,
  loadSnapshotSync,
  analyzeSnapshot,
  analyzeSnapshotSync,
  LIMITS,
  diffSnapshots,
  findLeaks,
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
