// Shared test plumbing: a per-run output directory and cached fixtures, so
// each snapshot program runs once per `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
export const OUT = path.join(here, '.out');
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
