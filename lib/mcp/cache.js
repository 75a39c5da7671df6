'use strict';

// Loaded snapshots kept between tool calls, keyed by file identity (device,
// inode, size, modification time), so a rewritten file is loaded afresh and
// two paths to one file share one load. The total stays within a memory
// budget: the least recently used snapshot no call is using is closed first.
// Loads run one at a time, so the peak is one analysis plus what is cached.

const fs = require('node:fs');
const path = require('node:path');
const { loadSnapshot } = require('../snapshot.js');
const { abortError } = require('../errors.js');
const queries = require('./queries.js');

// Before a load, room is made for about this many bytes per file byte; after
// it, the snapshot's own count replaces the guess (measured 1.2-1.3x on Node
// heaps).
const BYTES_PER_FILE_BYTE = 1.3;
const PROGRESS_INTERVAL_MS = 250;

function codedError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

async function identify(file) {
  let st;
  try {
    st = await fs.promises.stat(file, { bigint: true });
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw codedError('ERR_SNAPSHOT_IO', `cannot read snapshot: ${file}: no such file`);
    if (err.code === 'EACCES') throw codedError('ERR_SNAPSHOT_IO', `cannot read snapshot: ${file}: permission denied`);
    throw codedError('ERR_SNAPSHOT_IO', `cannot read snapshot: ${file}: ${err.code || err.message}`);
  }
  // A FIFO or device would block the load forever; a directory cannot be one.
  if (!st.isFile()) throw codedError('ERR_SNAPSHOT_IO', `cannot read snapshot: ${file} is not a regular file`);
  if (st.size === 0n) throw codedError('ERR_SNAPSHOT_EMPTY', `snapshot is empty: ${file}`);
  return { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`, size: Number(st.size) };
}

class Entry {
  constructor(key, file, size) {
    this.key = key;
    this.file = file;
    this.fileSize = size;
    this.bytes = 0;
    this.snapshot = null;
    this.loading = null;
    this.loadMs = 0;
    this.pins = 0;
    this.waiters = 0;
    this.listeners = new Set();
    this.controller = new AbortController();
  }
}

class SnapshotCache {
  #entries = new Map(); // identity -> Entry, least recently used first
  #pathKeys = new Map(); // resolved path -> identity last seen there
  #queue = Promise.resolve();
  #budget;
  #load;

  /** @param {{ budgetBytes: number, load?: typeof loadSnapshot }} options */
  constructor({ budgetBytes, load = loadSnapshot }) {
    this.#budget = budgetBytes;
    this.#load = load;
  }

  get budgetBytes() {
    return this.#budget;
  }

  get usedBytes() {
    let used = 0;
    for (const e of this.#entries.values()) used += e.bytes;
    return used;
  }

  /** What is loaded or loading, least recently used first. */
  list() {
    return [...this.#entries.values()].map((e) => ({
      path: e.file,
      fileBytes: e.fileSize,
      memoryBytes: e.bytes,
      state: e.snapshot ? 'loaded' : 'loading',
      inUse: e.pins > 0,
      ...(e.snapshot ? { nodeCount: e.snapshot.nodeCount, loadMs: Math.round(e.loadMs) } : {}),
    }));
  }

  /**
   * A loaded snapshot for `file`, held until `release()`. `onProgress`
   * receives the load's `{ phase, done, total }` while this call waits for it.
   */
  async acquire(file, { onProgress, signal } = {}) {
    if (signal?.aborted) throw abortError(signal);
    const resolved = path.resolve(file);
    const previous = this.#pathKeys.get(resolved);
    let key;
    let size;
    try {
      ({ key, size } = await identify(resolved));
    } catch (err) {
      // Gone or unreadable: what was loaded from it can no longer be asked for.
      if (previous !== undefined) this.#drop(previous);
      this.#pathKeys.delete(resolved);
      throw err;
    }
    if (previous !== undefined && previous !== key) this.#drop(previous);
    this.#pathKeys.set(resolved, key);
    let entry = this.#entries.get(key);
    const cached = Boolean(entry?.snapshot);
    if (entry) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    } else {
      entry = new Entry(key, resolved, size);
      this.#entries.set(key, entry);
      entry.loading = this.#enqueue(entry);
    }
    entry.pins++;
    try {
      if (!entry.snapshot) {
        onProgress?.({ phase: 'start', done: 0, total: 1 });
        await this.#wait(entry, onProgress, signal);
      }
    } catch (err) {
      entry.pins--;
      throw err;
    }
    let released = false;
    return {
      snapshot: entry.snapshot,
      cached,
      loadMs: entry.loadMs,
      release: () => {
        if (released) return;
        released = true;
        entry.pins--;
        this.#evict(0);
      },
    };
  }

  /** Closes every snapshot no call is using. */
  clear() {
    for (const e of [...this.#entries.values()]) if (e.pins === 0 && e.snapshot) this.#close(e);
  }

  #wait(entry, onProgress, signal) {
    entry.waiters++;
    if (onProgress) entry.listeners.add(onProgress);
    return new Promise((resolve, reject) => {
      const done = () => {
        entry.waiters--;
        if (onProgress) entry.listeners.delete(onProgress);
        signal?.removeEventListener('abort', onAbort);
      };
      // The load goes on while anyone else waits for it; the last one to
      // give up stops it.
      const onAbort = () => {
        done();
        if (entry.waiters === 0 && !entry.snapshot) {
          entry.controller.abort();
          if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
        }
        reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.loading.then(
        () => {
          done();
          resolve();
        },
        (err) => {
          done();
          reject(err);
        },
      );
    });
  }

  #enqueue(entry) {
    const run = async () => {
      const { signal } = entry.controller;
      if (signal.aborted) throw abortError(signal);
      this.#evict(entry.fileSize * BYTES_PER_FILE_BYTE);
      const started = performance.now();
      let snapshot;
      try {
        snapshot = await this.#load(entry.file, {
          signal,
          progressIntervalMs: PROGRESS_INTERVAL_MS,
          onProgress: (p) => {
            for (const listener of entry.listeners) listener(p);
          },
        });
        // The file may have been replaced while it was read.
        const now = await identify(entry.file);
        if (now.key !== entry.key) throw codedError('ERR_SNAPSHOT_CHANGED', `snapshot changed while it was loading: ${entry.file}; ask again`);
      } catch (err) {
        snapshot?.close();
        if (this.#entries.get(entry.key) === entry) this.#entries.delete(entry.key);
        throw err;
      }
      if (this.#entries.get(entry.key) !== entry) {
        // Everyone waiting gave up as the load finished.
        snapshot.close();
        throw abortError(signal);
      }
      entry.loadMs = performance.now() - started;
      entry.snapshot = snapshot;
      entry.bytes = queries.memoryBytes(snapshot);
      this.#evict(0);
    };
    const loading = this.#queue.then(run, run);
    this.#queue = loading.catch(() => {});
    // Waiters attach their own handlers; this one keeps a load nobody waits
    // for any more from being reported as unhandled.
    loading.catch(() => {});
    return loading;
  }

  /** Closes least recently used idle snapshots until `extra` more bytes fit. */
  #evict(extra) {
    for (const e of [...this.#entries.values()]) {
      if (this.usedBytes + extra <= this.#budget) return;
      if (e.pins === 0 && e.snapshot) this.#close(e);
    }
  }

  #drop(key) {
    const e = this.#entries.get(key);
    if (e && e.pins === 0 && e.snapshot) this.#close(e);
  }

  #close(e) {
    this.#entries.delete(e.key);
    for (const [p, key] of this.#pathKeys) if (key === e.key) this.#pathKeys.delete(p);
    e.snapshot.close();
    e.snapshot = null;
    e.bytes = 0;
  }
}

module.exports = { SnapshotCache };
