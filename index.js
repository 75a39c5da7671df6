'use strict';

// leakwatch: find, explain and prevent memory leaks in Node.js.
// The analysis runs in Rust (binding.js); this file only gathers the API.

const snapshot = require('./lib/snapshot.js');
const { trackEmitter, untrack, listeners } = require('./lib/listeners.js');
const { BoundedLog } = require('./lib/log.js');
const { timers } = require('./lib/timers.js');
const { WeakValueCache } = require('./lib/weak-cache.js');

module.exports = {
  ...snapshot,
  trackEmitter,
  untrack,
  listeners,
  BoundedLog,
  timers,
  WeakValueCache,
};
