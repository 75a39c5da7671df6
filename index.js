'use strict';

// leakwatch: find, explain and prevent memory leaks in Node.js.
// The analysis runs in Rust (binding.js); this file only gathers the API.

const snapshot = require('./lib/snapshot.js');
const { Monitor, monitor } = require('./lib/monitor.js');
const { snapshots, SnapshotSchedule } = require('./lib/snapshots.js');

module.exports = {
  ...snapshot,
  Monitor,
  monitor,
  snapshots,
  SnapshotSchedule,
};
