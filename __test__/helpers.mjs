// Shared test plumbing: a per-run output directory and cached fixtures, so
// each snapshot program runs once per `npm test`. Fixtures are kept apart per
// Node major: each version writes its own heap layout, and a snapshot cached
// by one version must never stand in for another's.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const OUT = path.join(here, '.out', `node${process.versions.node.split('.')[0]}`);
fs.mkdirSync(OUT, { recursive: true });

const { makeSnapshot, makeLeakSeries } = require('./fixtures/make-snapshot.js');

export function fixture(scenario) {
  return makeSnapshot(scenario, OUT, { reuse: true });
}

export function leakSeries() {
  return makeLeakSeries(path.join(OUT, 'leak-series'), { reuse: true });
}

export const leakwatch = require('../index.js');
export const ROOT = path.join(here, '..');

// The class DevTools gives the global object a script sees: `global` up to
// Node 24; Node 26 names the global's kind too (`global (global*)`).
export const GLOBAL_CLASS = /^global(?: \(global\*?\))?$/;

/**
 * The global object and the value it holds under property `name`, found from
 * the value's side among the `top` largest objects: whatever a Node version
 * puts above the global (Node 26: a NativeContext that dominates the heap),
 * the held value stays large and its retainer is the global.
 */
export function globalProperty(snap, name, top = 20) {
  for (const node of snap.topRetainers(top)) {
    const held = snap.retainers(node.id).find((r) => r.name === name && GLOBAL_CLASS.test(r.node.className));
    if (held) return { global: held.node, value: node };
  }
  return null;
}
