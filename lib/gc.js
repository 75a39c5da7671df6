'use strict';

// Garbage collection on demand, for snapshots that show only what is alive.

const v8 = require('node:v8');
const vm = require('node:vm');
const { plainTimers } = require('./timers.js');

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
  // the current job are released before collecting. Node's own
  // setImmediate: a test's fake clock must not stall a leak check.
  await new Promise((r) => plainTimers.setImmediate(r));
  await new Promise((r) => plainTimers.setImmediate(r));
  const gc = getGc();
  gc();
  gc();
}

// Node's own process.nextTick, captured at load. Readable streams, the heap
// snapshot's among them, schedule through process.nextTick, which a test's
// fake clock (sinon's default install, Jest's modern fake timers) replaces:
// reading a snapshot under it never finishes.
const nodeNextTick = process.nextTick;

/** Runs `read` with Node's own nextTick in place, then puts back whatever was there. */
async function withNodeNextTick(read) {
  const current = process.nextTick;
  // fake-timers keeps the original on the clock it hangs on each method it
  // replaced, which also covers leakwatch loaded after the clock was installed.
  const real = typeof current.clock?._nextTick === 'function' ? current.clock._nextTick : nodeNextTick;
  if (real === current) return read();
  process.nextTick = real;
  try {
    return await read();
  } finally {
    if (process.nextTick === real) process.nextTick = current;
  }
}

module.exports = { getGc, settle, withNodeNextTick };
