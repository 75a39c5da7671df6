'use strict';

// Snapshots written with Node's default names say which process wrote them
// and in what order: Heap.<date>.<time>.<pid>.<thread>.<sequence>.heapsnapshot.
// Checking the names catches a swapped or foreign file before any is loaded;
// the engine checks heap ids as well, for files with any name.

const path = require('node:path');

const DEFAULT_NAME = /^Heap\.(\d{8})\.(\d{6})\.(\d+)\.(\d+)\.(\d+)\.heapsnapshot$/;

function sequenceError(message, code) {
  const err = new Error(message);
  err.code = code;
  return err;
}

/** Throws ERR_SNAPSHOT_MISMATCH / ERR_SNAPSHOT_ORDER when default file names say so. */
function checkFileSequence(sources) {
  if (!sources.every((s) => typeof s === 'string')) return;
  const named = sources.map((s) => DEFAULT_NAME.exec(path.basename(s)));
  if (named.some((m) => m === null)) return;
  for (let k = 1; k < named.length; k++) {
    const [, , , pidA, threadA, seqA] = named[k - 1];
    const [, , , pidB, threadB, seqB] = named[k];
    if (pidA !== pidB || threadA !== threadB) {
      throw sequenceError(
        `snapshots ${k} and ${k + 1} come from different processes (${path.basename(sources[k - 1])} is from pid ${pidA}, ${path.basename(sources[k])} from pid ${pidB}): pass snapshots of one process`,
        'ERR_SNAPSHOT_MISMATCH',
      );
    }
    if (Number(seqB) <= Number(seqA)) {
      throw sequenceError(
        `snapshot ${k + 1} (${path.basename(sources[k])}) was written before snapshot ${k} (${path.basename(sources[k - 1])}): pass the snapshots oldest first`,
        'ERR_SNAPSHOT_ORDER',
      );
    }
  }
}

module.exports = { checkFileSequence };
