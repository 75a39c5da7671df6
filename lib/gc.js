'use strict';

// Garbage collection on demand, for snapshots that show only what is alive.

const v8 = require('node:v8');
const vm = require('node:vm');

let cachedGc;
/** A full-GC function, even when the process was not started with --expose-gc. */
function getGc() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  if (!cachedGc) {
    // The flag only has to be on while a fresh context is created; the `gc`
    // function that context receives stays usable afterwards.
    v8.setFlagsFromString('--expose-gc');
    cachedGc = vm.runInNewContext('gc');
  }
  return cachedGc;
}

async function settle() {
  // Two macrotask turns: pending callbacks run and WeakRef targets kept for
  // the current job are released before collecting.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const gc = getGc();
  gc();
  gc();
}

module.exports = { getGc, settle };
