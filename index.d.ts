// Type definitions for leakwatch.
//
// Shapes the native layer returns unchanged come from binding.d.ts, which
// `napi build` generates from the Rust code: re-exported as they are, or
// (where the docs here say more) kept by hand and held equal to the
// generated ones by __test__/types.test.mjs, which also compiles consumers
// in strict mode and compares the declared exports with the runtime's.

/// <reference types="node" />
import { EventEmitter } from 'node:events'
import type { AssertionError } from 'node:assert'
import type * as binding from './binding'

import type { ClassDiffRow, EdgeInfo, SnapshotColumns, TopObject } from './binding'

export type { ClassDiffRow, EdgeInfo, SnapshotColumns, TopObject }

/** A heap object as DevTools shows it. Sizes are bytes. */
export interface NodeInfo {
  /** V8 heap object id: stable across snapshots of one process. */
  id: number
  /** Display name (flattened for concatenated strings, `{a, b, …}` for plain objects). */
  name: string
  /** V8 node type: `object`, `closure`, `array`, `string`, `hidden`, `native`, `synthetic`, … */
  type: string
  /** The class it is counted under in the summary (constructor name, `{a, b}`, `(string)`, …). */
  className: string
  /** Shallow size, after DevTools moves owned internal arrays onto their owner. */
  selfSize: number
  /** Bytes that would be freed if this object were gone (its dominator subtree). */
  retainedSize: number
  /** Steps from a global object; ≥ 100000000 when reachable only through engine roots; -5 when unreachable. */
  distance: number
}

/** One step of a retainer path, root first. */
export interface PathStep {
  node: NodeInfo
  /** Type of the edge from the previous step into this node (absent on the first step). */
  edgeType?: string
  /** Name of that edge: a property name, an element index, a context variable, … */
  edgeName?: string
  /** The edge as DevTools prints it: `.prop`, `[3]`, `->ctx`, `{internal}`. */
  edgeLabel?: string
  /** On a capped path: how many steps were left out between the previous step and this one. */
  skipped?: number
}

/** One row of DevTools' Summary view. */
export interface ClassSummaryRow {
  /** DevTools' class key: `,Name`, or `scriptId,line,column,Name` for constructors with a source location. */
  key: string
  name: string
  /** Objects of the class with a non-zero shallow size. */
  count: number
  selfSize: number
  /** Retained size of the class, not double counting instances nested in each other. */
  retainedSize: number
  /** Minimum distance over the class's objects. */
  distance: number
}

export interface SnapshotReport {
  nodeCount: number
  edgeCount: number
  /** Root retained size plus native bytes V8 reports outside the graph. */
  totalSize: number
  /** Classes by retained size, largest first (up to `maxClasses`). */
  classes: ClassSummaryRow[]
  /** Largest objects by retained size, each with the path that keeps it alive. */
  top: TopObject[]
}

export interface LoadProgress {
  /** `parse`, `retainers`, `dom-state`, `essential-edges`, `shallow-sizes`, `distances`, `class-names`, `dominators`, `class-summary`, `done`. */
  phase: string
  /** Bytes read during `parse` (of `total`), otherwise the step number. */
  done: number
  total: number
}

export interface LoadOptions {
  /** Aborts the load; the promise rejects with an `AbortError` whose `code` is `ERR_ABORTED`. */
  signal?: AbortSignal
  /** Called periodically while loading, and once at the end. */
  onProgress?: (progress: LoadProgress) => void
  /** How often `onProgress` is called. Default 200 ms. */
  progressIntervalMs?: number
  /** Redact every answer of this snapshot, whatever a query asks (see `RedactOptions`). Default false. */
  redact?: boolean
}

export interface RedactOptions {
  /**
   * Replace the program's data (string contents, keys of objects used as
   * maps, data-derived class names) with placeholders such as `<key:5d02e7aa>`;
   * code identifiers stay. See the README's "Security" section. Default false.
   */
  redact?: boolean
}

export interface PathOptions extends RedactOptions {
  /** Steps a retainer path shows at most (2 to 1000, default 24); a longer one shows its first third and last two thirds. */
  maxSteps?: number
}

export interface PageOptions extends RedactOptions {
  /** First item of the page. Default 0. */
  offset?: number
  /** Items in the page: at most 100000, default 10000. */
  limit?: number
}

/** One page of an answer that grows with the heap; `total` counts them all. */
export type Page<T> = T[] & { readonly total: number }

/** One page of a class's objects; `classes` are the summary rows the class key or name covers (none when it names no class). */
export type InstancePage = Page<NodeInfo> & { readonly classes: ClassSummaryRow[] }

export interface ReportOptions extends PathOptions {
  /** Largest objects to include, each with its retainer path: 0 to 1000, default 10. */
  top?: number
  /** Class rows to include: 0 to 100000, default 50. */
  maxClasses?: number
}

/** The documented maxima and defaults every call keeps to. */
export declare const LIMITS: {
  readonly top: 1000
  readonly maxClasses: 100000
  readonly topRetainers: 100000
  readonly pathSteps: { readonly default: 24; readonly min: 2; readonly max: 1000 }
  readonly page: { readonly default: 10000; readonly max: 100000 }
}

/**
 * A file path, the bytes of a snapshot, or an async iterable of chunks such
 * as the stream returned by `v8.getHeapSnapshot()`.
 */
export type SnapshotSource = string | Uint8Array | AsyncIterable<Uint8Array | string>

/** A loaded snapshot. The graph lives in native memory until `close()`. */
export declare class Snapshot {
  private constructor()
  readonly nodeCount: number
  readonly edgeCount: number
  /** Root retained size plus `extra_native_bytes`, as DevTools' status line. */
  readonly totalSize: number
  readonly closed: boolean
  /** Whether every answer is redacted: the snapshot was loaded with `redact: true`. */
  readonly redacted: boolean
  /** DevTools' Summary view: one row per class. */
  summary(options?: RedactOptions): ClassSummaryRow[]
  /** Largest objects by retained size (synthetic roots excluded). Default 10, at most 100000. */
  topRetainers(n?: number, options?: RedactOptions): NodeInfo[]
  /** The node with this id, or null. */
  node(id: number, options?: RedactOptions): NodeInfo | null
  /** Shortest path from a global object to the node, root first, capped at `maxSteps`. Throws `ERR_UNKNOWN_NODE`. */
  retainerPath(id: number, options?: PathOptions): PathStep[]
  /** The node, its immediate dominator, and so on up to the root (one page). */
  dominatorChain(id: number, options?: PageOptions): Page<NodeInfo>
  /** Objects only this node keeps alive (its dominator-tree children), largest first (one page). */
  children(id: number, options?: PageOptions): Page<NodeInfo>
  /** Outgoing references of the node (one page). */
  edges(id: number, options?: PageOptions): Page<EdgeInfo>
  /** Incoming references of the node (one page). */
  retainers(id: number, options?: PageOptions): Page<EdgeInfo>
  /** Objects of a class (a key from `summary()`, or a name: every class of that name), largest retained first (one page). */
  instances(cls: string, options?: PageOptions): InstancePage
  /** Every node's numbers as typed arrays, for bulk processing. */
  columns(options?: RedactOptions): SnapshotColumns
  report(options?: ReportOptions): SnapshotReport
  /** Frees the native memory now; later calls throw `ERR_SNAPSHOT_CLOSED`. */
  close(): void
  [Symbol.dispose](): void
}

/** Parses and analyses a snapshot on the libuv thread pool. */
export declare function loadSnapshot(source: SnapshotSource, options?: LoadOptions): Promise<Snapshot>
/** Blocking variant for a path or bytes. */
export declare function loadSnapshotSync(source: string | Uint8Array, options?: RedactOptions): Snapshot
/** Loads, reports and frees in one call. Accepts a loaded `Snapshot` too (left open). */
export declare function analyzeSnapshot(source: SnapshotSource | Snapshot, options?: LoadOptions & ReportOptions): Promise<SnapshotReport>
export declare function analyzeSnapshotSync(source: string | Uint8Array | Snapshot, options?: ReportOptions): SnapshotReport

/** A loaded `Snapshot`, or anything `loadSnapshot` accepts (loaded, used and closed for you). */
export type SnapshotInput = Snapshot | SnapshotSource

/** What kind of holder a suspect is. */
export type SuspectKind = 'collection' | 'listeners' | 'timers' | 'closure' | 'weakrefs' | 'modules' | 'objects'

/**
 * One part of a suspect's sentence: leakwatch's own words, or a name from the
 * heap typed so it can be styled. The parts' texts joined are `text`; with
 * `redact`, names that are data are placeholders here as everywhere.
 */
export interface TextPart {
  /** `text` (our words), a name (`class`, `property`, `variable`, `function`, `script`, `value`), `place` (`script:line`), `count` or `bytes`. */
  kind: 'text' | 'class' | 'property' | 'variable' | 'function' | 'script' | 'value' | 'place' | 'count' | 'bytes'
  text: string
}

/** A frame of an allocation stack. */
export interface StackFrame {
  /** Empty for an anonymous function. */
  functionName: string
  /** The script's file name or URL. */
  script: string
  /** 1-based line where the function begins (V8 records frames by function); 0 when unknown. */
  line: number
  column: number
}

/** Where leaked objects were allocated: only on snapshots taken with allocation tracking on. */
export interface AllocationSite extends StackFrame {
  /** Leaked objects (of those sampled) allocated here, and their bytes. */
  count: number
  bytes: number
  /** Callers, innermost first (Node's own frames left out). */
  callers: StackFrame[]
  /** The innermost frame in the application's own code, when the site is inside a package. */
  appFrame?: StackFrame
}

/** One leak suspect: a long-lived holder whose own size grew at every step, with the path that keeps it alive. */
export interface Suspect extends Omit<binding.LeakSuspect, 'kind' | 'confidence' | 'holder' | 'retainerPath' | 'parts' | 'allocationSites'> {
  /** `collection` (Array, Map, Set, object used as a map), `listeners`, `timers`, `closure`, `weakrefs`, `modules` or `objects`. */
  kind: SuspectKind
  /** `high`: the count rose at every step and at least three quarters of what was added stayed; `evidence` spells it out. */
  confidence: 'high' | 'medium' | 'low'
  /** The object that keeps growing (a collection, an emitter, a timer's owner; one example when holders were folded). */
  holder: NodeInfo
  /** From a global to the holder, then one step into what accumulates; capped as every path is. */
  retainerPath: PathStep[]
  /** `text` in parts, every name typed. */
  parts: TextPart[]
  /** Most objects first; empty unless the snapshots carry allocation stacks. */
  allocationSites: AllocationSite[]
}

/** Growth in Node's own queues, explained rather than reported as a leak. */
export interface LeakNote {
  kind: 'nextTick' | 'microtasks'
  text: string
  /** Per snapshot, or per interval for `nextTick`. */
  counts: number[]
}

/** One snapshot of a `findLeaks` sequence. */
export interface SnapshotTotals {
  nodeCount: number
  totalSize: number
  /** Whether its objects carry allocation stacks (allocation tracking was on). */
  tracked: boolean
}

/** `findLeaks`' answer: the suspects, most likely first, with the notes and per-snapshot totals beside them (not enumerable). */
export type LeakSuspects = Suspect[] & {
  /** Node's own queues that grew (nextTick, microtasks): not suspects, said in Node's words. */
  readonly notes: LeakNote[]
  /** Node count, total size and tracking, per snapshot, oldest first. */
  readonly snapshots: SnapshotTotals[]
}

/** Why two snapshots are not one process's history oldest first. */
export interface SequenceProblem {
  code: 'ERR_SNAPSHOT_ORDER' | 'ERR_SNAPSHOT_MISMATCH'
  message: string
}

/** `diffSnapshots`' rows, with `sequence` (not enumerable): null when `after` follows `before` in one process. */
export type ClassDiffRows = ClassDiffRow[] & { readonly sequence: SequenceProblem | null }

export interface FindLeaksOptions extends binding.FindLeaksOptions {
  /** Aborts loading the snapshots given as sources; rejects with `ERR_ABORTED`. */
  signal?: AbortSignal
  /** Hide string contents and other user data in names and paths. */
  redact?: boolean
}

export interface DiffOptions {
  /** Aborts loading the snapshots given as sources; rejects with `ERR_ABORTED`. */
  signal?: AbortSignal
  /** Hide string contents and other user data in class names. */
  redact?: boolean
}

/**
 * Leak suspects from 3 to 64 snapshots of one process, oldest first: a
 * baseline after warm-up, then one after each equal round of work. A holder
 * is a suspect only if it grew at every step. Most likely first. Rejects
 * with `ERR_SNAPSHOT_ORDER` for snapshots out of order and
 * `ERR_SNAPSHOT_MISMATCH` for snapshots of different processes.
 */
export declare function findLeaks(snapshots: readonly SnapshotInput[], options?: FindLeaksOptions): Promise<LeakSuspects>
/**
 * DevTools' Comparison view: per class, objects allocated since `before` and
 * objects of `before` freed, matched by heap id. Any two snapshots may be
 * compared; `sequence` says when they are not one history in order.
 */
export declare function diffSnapshots(before: SnapshotInput, after: SnapshotInput, options?: DiffOptions): Promise<ClassDiffRows>

/** Allocation tracking in this process; snapshots taken while it is on carry allocation stacks. */
export interface AllocationTracker {
  /** False once stopped. */
  readonly active: boolean
  /** Collects garbage, then loads a snapshot of this process with allocation stacks. Rejects with `ERR_TRACKING_STOPPED` after `stop()`. */
  snapshot(): Promise<Snapshot>
  /** Collects garbage, then writes a snapshot with allocation stacks; resolves to its file name. */
  writeSnapshot(file?: string): Promise<string>
  /** Stops recording stacks (and turns compaction back on). */
  stop(): void
  [Symbol.dispose](): void
}

/**
 * Starts recording the stack of every allocation in this process, so that
 * `findLeaks` on the tracker's snapshots names the function and `file:line`
 * that allocated what leaks. Costs 20x or more on allocation-heavy code:
 * for tests and reproductions. One at a time: `ERR_TRACKING_ACTIVE` while
 * another tracker is on.
 */
export declare function trackAllocations(): AllocationTracker

export interface ExpectNoLeakOptions {
  /** Calls per round; two rounds are measured. Default 100. */
  iterations?: number
  /** Calls before the first snapshot (caches, lazy compilation). Default a quarter of `iterations`; 0 allowed. */
  warmup?: number
  /** Objects that must pile up under one holder to count as a leak. Default half of `iterations` (at least 4). */
  minCount?: number
  /** Suspects to report at most (at most 1,000). */
  maxSuspects?: number
  /** Hide the program's data (string contents, keys of objects used as maps, …) in the message and the suspects. */
  redact?: boolean
  /** Snapshots to take, 3 to 64 (default 3): `iterations` calls before each after the first. */
  snapshots?: number
  /**
   * Name where the leak allocates. `'auto'` (default): when suspects are
   * found, repeat a short run with allocation tracking on; `true`: track the
   * whole run (slow); `false`: never.
   */
  allocationSites?: boolean | 'auto'
}

export interface NoLeakReport {
  /** Empty when the promise resolves. */
  suspects: LeakSuspects
  iterations: number
  /** Snapshots taken. */
  snapshots: number
  /** `totalSize` of each in-process snapshot. */
  heapSizes: number[]
  /** Whether the suspects' allocation sites come from a tracked run. */
  allocationTracking: boolean
}

/** What `expectNoLeak` rejects with when it finds suspects. */
export interface LeakAssertionError extends AssertionError {
  suspects: LeakSuspects
  report: NoLeakReport
}

/** What `expectCollected` rejects with when the object is still reachable. */
export interface CollectedAssertionError extends AssertionError {
  /** From a global to the object, root first (empty if the snapshot did not find it). */
  retainerPath: PathStep[]
}

/**
 * Runs `fn` `warmup` times, then `iterations` times before each further
 * in-process heap snapshot (`snapshots`, 3 by default). Rejects with a
 * `LeakAssertionError` listing the suspects, their retainer paths and where
 * they were allocated; resolves with the report when clean.
 */
export declare function expectNoLeak(fn: (call: number) => unknown, options?: ExpectNoLeakOptions): Promise<NoLeakReport>

/**
 * Resolves once the object can be garbage-collected; rejects with a
 * `CollectedAssertionError` showing the path that keeps it alive.
 * Pass a function that creates the object, does the work under test and
 * returns (or resolves to) the object, so the caller holds no reference:
 * `expectCollected(() => { const conn = pool.acquire(); pool.release(conn); return conn })`.
 * An object passed directly is checked as it is (a function object too:
 * wrap it, `() => handler`, to check a function). Returning a primitive is `ERR_INVALID_ARG`.
 */
export declare function expectCollected(target: object | (() => object | PromiseLike<object>), options?: {
  /** GC rounds before taking a snapshot to explain. Default 3. */
  attempts?: number
  /** Hide the program's data in the path the message shows. */
  redact?: boolean
}): Promise<void>

/** Every error leakwatch throws carries one of these codes. */
export type LeakwatchErrorCode =
  | 'ERR_SNAPSHOT_IO'
  | 'ERR_SNAPSHOT_EMPTY'
  | 'ERR_SNAPSHOT_SYNTAX'
  | 'ERR_SNAPSHOT_TRUNCATED'
  | 'ERR_SNAPSHOT_META'
  | 'ERR_SNAPSHOT_INCONSISTENT'
  | 'ERR_SNAPSHOT_NUMBER'
  | 'ERR_SNAPSHOT_TOO_LARGE'
  | 'ERR_SNAPSHOT_CLOSED'
  | 'ERR_STREAM_FINISHED'
  | 'ERR_UNKNOWN_NODE'
  | 'ERR_INVALID_ARG'
  | 'ERR_ABORTED'
  | 'ERR_INTERNAL'
  | 'ERR_LOG_CLOSED'
  | 'ERR_LOG_SPILL'
  | 'ERR_LOG_OPTIONS'
  | 'ERR_TIMER_UNTRACKED'
  | 'ERR_TIMERS_UNAVAILABLE'
  | 'ERR_SNAPSHOT_WRITE'
  | 'ERR_SNAPSHOT_ORDER'
  | 'ERR_SNAPSHOT_MISMATCH'
  | 'ERR_TRACKING_ACTIVE'
  | 'ERR_TRACKING_STOPPED'

/** One (emitter, event) in `listeners.report()`. */
export interface ListenerEventReport {
  /** Event name; symbols as `Symbol(desc)`. */
  event: string
  count: number
  peak: number
  adds: number
  removes: number
  /** Consecutive observations whose floor (lowest count in the window) rose. */
  rising: number
  /** A `LEAKWATCH_LISTENER_GROWTH` warning was emitted for it. */
  warned: boolean
  /**
   * Sampled add sites, most listeners still attached first; sampled only once
   * the key looked suspicious, at a decaying rate. `count`: listeners from the
   * site still attached and `adds`: its adds, as the samples stand for them;
   * `share`: its part of the sampled listeners still attached.
   */
  sites: { site: string; count: number; adds: number; samples: number; share: number }[]
}

export interface ListenerReport {
  emitters: { id: number; name: string; threshold: number; events: ListenerEventReport[] }[]
}

/** A detection returned by `listeners.observe()` (and emitted as a warning). */
export interface ListenerGrowth {
  emitter: string
  event: string
  count: number
  peak: number
  /** The site whose sampled listeners stay attached the most. */
  topSite?: string
  /** Listeners from it still attached, as its samples stand for them. */
  topSiteCount: number
  /** Its part of the sampled listeners still attached, 0 to 1. */
  topSiteShare: number
  /** Stacks sampled for this event. */
  samples: number
}

export interface TrackOptions {
  /** Name used in reports and warnings. Default: the constructor name. */
  name?: string
  /** Growth is reported only at or above this count. Default 10. */
  threshold?: number
}

/** Tracks an EventEmitter or an EventTarget/AbortSignal by wrapping that instance's add methods (an EventTarget's remove and dispatch methods too: own, non-enumerable properties that `untrack` removes); an emitter's removals show in its counts at the next add, observation or report. Throws `ERR_INVALID_ARG` for anything else. */
export declare function trackEmitter<T extends object>(emitter: T, options?: TrackOptions): T
/** Stops tracking and removes the hooks; false if it was not tracked. */
export declare function untrack(emitter: object): boolean

export declare const listeners: {
  /** Wraps EventEmitter and EventTarget prototypes so every emitter is counted. */
  install(): void
  /** Puts back the exact original property descriptors. */
  uninstall(): void
  /** Closes an observation window now (also runs every `intervalMs`); emits warnings and returns detections. */
  observe(): ListenerGrowth[]
  /** Every explicitly tracked emitter and, under `install()`, each event that held `threshold / 2` listeners at an add (at most 100 emitters first counted since the last observation are added per observation; older ones always are). */
  report(): ListenerReport
  /** `samples`: rising observations in a row before warning (default 3); `intervalMs`: 0 = observe only when called (default 1000). */
  configure(options: { threshold?: number; samples?: number; intervalMs?: number }): void
  readonly installed: boolean
}

export interface BoundedLogOptions {
  /** Default 10000; Infinity for no count bound. */
  maxEntries?: number
  /** Payload bytes (UTF-8 text, raw Buffer bytes, JSON text). Default 16 MiB. */
  maxBytes?: number
  /** Default `'drop-oldest'`. */
  onOverflow?: 'drop-oldest' | 'reject'
  /** Dropped and rejected entries are appended here as JSON Lines (flushed on close and exit). */
  spillTo?: string
}

export interface BoundedLogStats {
  size: number
  /** Payload bytes held; never more than `maxBytes`. */
  bytes: number
  dropped: number
  rejected: number
  spilled: number
  spillErrors: number
  /**
   * Native memory the log owns, summed from its allocations: the ring holding
   * the payloads (at least `bytes`, never more than `maxBytes`), 16 B per slot
   * of its entry ring, and a fixed part under 256 B (plus an 8 KiB write
   * buffer and the path with `spillTo`). The entry ring never grows past
   * `maxEntries` slots, so `heldBytes <= maxBytes + 16 * maxEntries + 256`
   * (+ 8 KiB + path). With `maxEntries: Infinity` the slots are bounded only
   * by the entries held (up to twice as many slots).
   */
  heldBytes: number
}

/** A log bounded by count and bytes whose entries live outside the JS heap. */
export declare class BoundedLog implements Iterable<unknown> {
  constructor(options?: BoundedLogOptions)
  /** Opens the log called `name` shared by all threads; `ERR_LOG_OPTIONS` if it is open with other options. */
  static shared(name: string, options?: BoundedLogOptions): BoundedLog
  /**
   * Strings, Buffers/Uint8Arrays or JSON-able values. False when refused (counted in `rejected`).
   * Strings and JSON are staged and handed to Rust in batches: every read on this thread sees them at
   * once; other threads sharing the log see them by the end of the pushing job.
   */
  push(entry: unknown): boolean
  tail(n?: number): unknown[]
  toArray(): unknown[]
  /** Removes and returns every entry (not counted as dropped). */
  drain(): unknown[]
  clear(): void
  stats(): BoundedLogStats
  readonly size: number
  readonly bytes: number
  readonly dropped: number
  readonly rejected: number
  /** See `BoundedLogStats.heldBytes`. */
  readonly heldBytes: number
  readonly closed: boolean
  [Symbol.iterator](): Iterator<unknown>
  /** Flushes the spill file; later calls throw `ERR_LOG_CLOSED`. */
  close(): void
  [Symbol.dispose](): void
}

export interface ActiveTimer {
  /** The timer's numeric id (`+timer`). */
  id: number
  kind: 'timeout' | 'interval' | 'immediate'
  /** Delay or period in ms, as Node applies it. */
  delay: number
  /** Milliseconds since creation. */
  age: number
  fired: number
  /** Whether it holds the process open (`hasRef()`). */
  refed: boolean
  /** Creation site; recorded for intervals by default, for every timer with `install({ sites: 'all' })`. */
  site?: string
  hasOwner: boolean
  /** The owner was garbage-collected while this timer kept running. */
  outlivedOwner: boolean
}

export interface ActiveTimers {
  count: number
  timers: ActiveTimer[]
  bySite: { site?: string; count: number; ids: number[] }[]
}

export declare const timers: {
  /** Wraps setTimeout/setInterval/setImmediate and their clears on globalThis and `node:timers`, and the promise versions in `node:timers/promises` (listed under ids at or above 2^52; not clearable by `clearAll`). */
  install(options?: { sites?: 'all' | 'intervals' | 'none' }): void
  uninstall(): void
  active(): ActiveTimers
  /** Clears tracked timers whose site contains `site` and/or whose owner is `owner`; returns how many. */
  clearAll(filter?: { site?: string; owner?: object }): number
  /** Ties a tracked timer to an owner; throws `ERR_TIMER_UNTRACKED` for other timers. */
  setOwner<T>(timer: T, owner: object): T
  /** A tracked interval holding `owner` weakly and passing it to `callback` (undefined once collected). */
  setInterval<O extends object>(callback: (owner: O | undefined) => void, ms?: number, options?: { owner?: O }): NodeJS.Timeout
  setTimeout<O extends object>(callback: (owner: O | undefined) => void, ms?: number, options?: { owner?: O }): NodeJS.Timeout
  readonly installed: boolean
}

/** A cache holding values weakly whose entries leave once their values are collected. */
export declare class WeakValueCache<K = unknown, V extends object = object> implements Iterable<[K, V]> {
  constructor()
  get(key: K): V | undefined
  set(key: K, value: V): this
  getOrCreate(key: K, factory: (key: K) => V): V
  has(key: K): boolean
  delete(key: K): boolean
  clear(): void
  /** Entries whose value is alive (collected ones are pruned on read). */
  readonly size: number
  entries(): IterableIterator<[K, V]>
  [Symbol.iterator](): IterableIterator<[K, V]>
}

/** One memory reading. Sizes are bytes; `time` is epoch milliseconds on a monotonic clock. */
export interface HeapSample {
  time: number
  heapUsed: number
  heapTotal: number
  rss: number
  external: number
  arrayBuffers: number
  /** Read right after a major GC: only these readings make the trend. */
  afterGc: boolean
  /** `v8.getHeapSpaceStatistics()`, on `sample` events when the monitor was created with `spaces: true`. */
  spaces?: HeapSpaceStats[]
}

/** One entry of `v8.getHeapSpaceStatistics()`. */
export interface HeapSpaceStats {
  space_name: string
  space_size: number
  space_used_size: number
  space_available_size: number
  physical_space_size: number
}

/** Growth of the post-GC heap over the trend window (Theil–Sen fit). */
export interface HeapTrend {
  bytesPerHour: number
  /** Relative to the fitted heap at the window's start; absent when that is not positive. */
  pctPerHour?: number
  baselineBytes: number
  /** Kendall's tau of heap against time: 1 = every later reading is higher, 0 = no direction. */
  confidence: number
  /** Post-GC readings in the window. */
  samples: number
  /** Time between the window's first and last reading. */
  windowMs: number
  /** The same for the older and the recent half of the window (absent like `pctPerHour`). */
  olderPctPerHour?: number
  recentPctPerHour?: number
}

/** Payload of `leak-suspected` and `recovered`: the trend that caused it and the reading that tipped it. */
export interface LeakAlert extends HeapTrend {
  sample: HeapSample
}

export interface AlertOptions {
  /** Growth over the window that raises `leak-suspected`. Default 10. Recovery is below half of it. */
  growthPctPerHour?: number
  /** The post-GC readings must span at least this long. Default 600000 (10 min). */
  minDurationMs?: number
  /** And there must be at least this many of them. Default 8. */
  minSamples?: number
  /** How far back the trend looks. Default 1800000 (30 min). */
  windowMs?: number
  /** Readings this soon after the first one are start-up, not evidence. Default 60000. */
  warmupMs?: number
  /** Minimum `confidence` to raise an alert. Default 0.5. */
  minConfidence?: number
}

export interface MonitorOptions {
  /** Also sample on this unref'd interval (not used for the trend; 0 = after GCs only). Default 10000. */
  intervalMs?: number
  onSample?: (sample: HeapSample) => void
  alert?: AlertOptions
  /** Add per-space statistics to `sample` events. */
  spaces?: boolean
  /** Readings kept for `history()`. Default 1000. */
  historySize?: number
  /** Metric name prefix. Default `leakwatch_`. */
  prefix?: string
  /** Constant labels on every metric (e.g. `{ worker: '3' }`). */
  labels?: Record<string, string | number>
}

/** The events a `Monitor` emits, with their listener arguments. */
export interface MonitorEvents {
  /** Every reading: after each major GC (`afterGc: true`) and on the interval. */
  sample: [sample: HeapSample]
  /** The post-GC heap has grown past `alert.growthPctPerHour` over the window. */
  'leak-suspected': [alert: LeakAlert]
  /** Growth fell below half the threshold after `leak-suspected`. */
  recovered: [alert: LeakAlert]
}

/**
 * Samples the heap after major GCs and on an interval, keeps a bounded
 * history, and emits `sample`, `leak-suspected` and `recovered`
 * (see `MonitorEvents`). An EventEmitter: listeners are typed by event name.
 */
export declare class Monitor extends EventEmitter {
  constructor(options?: MonitorOptions)
  readonly running: boolean
  /** True between `leak-suspected` and `recovered`. */
  readonly alerting: boolean
  start(): this
  stop(): this
  /** Reads memory now (counts for history and metrics, not the trend). */
  sample(): HeapSample
  /** Feeds a reading of your own; `t` (or `time`) defaults to now. */
  record(reading: Partial<HeapSample> & { t?: number }): HeapSample
  /** Growth over the trend window, or null before there are two post-GC readings. */
  trend(): HeapTrend | null
  history(): HeapSample[]
  /** Prometheus text exposition (or OpenMetrics 1.0): heap, RSS, external, GC counts and seconds, growth rate, alert state, investigations. A started monitor reads memory first. */
  metrics(options?: { openMetrics?: boolean }): string
  /** The metric families with their current values; `overlaps` names the prom-client default series with the same reading. */
  metricFamilies(): MetricFamily[]
  /** Registers the metrics in a prom-client registry (default: prom-client's global one), read at scrape time: only those prom-client's default metrics lack, unless `includeOverlapping`. Returns an unregister function. */
  register(registry?: { registerMetric(metric: unknown): void; removeSingleMetric?(name: string): void }, options?: { includeOverlapping?: boolean }): () => void
  /** Observable OpenTelemetry instruments (`v8js.memory.heap.*`, `v8js.gc.duration`, `leakwatch.*`) on a Meter from `@opentelemetry/api`. Returns a function that detaches them. */
  bindMeter(meter: unknown): () => void
  /** Counts one investigation of the agent by outcome. */
  recordInvestigation(outcome: 'found' | 'clean' | 'skipped' | 'failed'): void
  on<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  once<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  off<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  addListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  removeListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  prependListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  prependOnceListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this
  emit<E extends keyof MonitorEvents>(event: E, ...args: MonitorEvents[E]): boolean
}

export interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter'
  overlaps?: string | null
  samples: { labels: Record<string, string>; value: number }[]
}

/** Creates and starts a `Monitor`. Nothing it runs keeps the process alive. */
export declare function monitor(options?: MonitorOptions): Monitor

export interface SnapshotOptions {
  /** Directory for the files (created 0700 if missing). Files are `leakwatch-<UTC time>-<pid>-<thread>-<n>-<mark>.heapsnapshot`, mode 0600. */
  dir: string
  /** Run a full GC first (V8 collects before a snapshot anyway; this also lowers the heap the headroom check sees). */
  gcFirst?: boolean
  /** Enable the inspector's Debugger domain around the write: 0.7 s instead of 35 s with TypeScript loaded on Node 20. Default true. */
  fast?: boolean
  /** Memory needed on top of the heap, as a multiple of the heap in use; 0 disables the check. Default 24 (measured: 4-14x on Node 20-26, 25x for a heap of tiny arrays). */
  headroomFactor?: number
  /** Keep at most this many of leakwatch's files in `dir`, deleting the oldest. */
  maxFiles?: number
  /** Keep leakwatch's files in `dir` under this many bytes (the newest file is always kept). */
  maxBytes?: number
}

export interface SnapshotWritten {
  path: string
  bytes: number
  durationMs: number
  /** Whether fast mode was in effect. */
  fast: boolean
  heapUsed: number
  /** Names removed by retention. */
  deleted: string[]
  /** Temporary files of interrupted writes (whose process is gone) removed first. */
  staleTemps: string[]
  /** On schedule events: `manual`, `interval`, `growth`, `leak-suspected` or `signal`. */
  trigger?: string
}

export interface SnapshotSkipped {
  skipped: true
  /** `not enough memory (cgroup|system)`, `debounced`, or another snapshot in progress. */
  reason: string
  trigger?: string
  heapUsed?: number
  needBytes?: number
  availableBytes?: number
  retryInMs?: number
}

export interface ScheduleOptions extends SnapshotOptions {
  /** Snapshot on this unref'd interval. */
  everyMs?: number
  /** Snapshot each time the post-GC heap has grown this much (%) since the last firing. */
  onGrowthPct?: number
  /** Snapshot when the monitor raises `leak-suspected`. */
  onLeakSuspected?: boolean
  /** The monitor for the two triggers above; by default one is started (and stopped with the schedule). */
  monitor?: Monitor
  /** Process signal that triggers a snapshot, e.g. `SIGUSR2` (main thread only; not SIGUSR1). */
  signal?: string
  /** Debounce: no two snapshots whose starts are closer than this (less 1%). Default min(everyMs, 60000). */
  minIntervalMs?: number
  /** Analyse each new file on the libuv pool and emit `report`. */
  analyze?: boolean
}

/** The events a `SnapshotSchedule` emits, with their listener arguments. */
export interface SnapshotScheduleEvents {
  snapshot: [result: SnapshotWritten]
  /** Not enough memory for a safe snapshot, debounced, or another one in progress. */
  'snapshot-skipped': [result: SnapshotSkipped]
  /** With `analyze: true`: the report of each new file, analysed on the libuv pool. */
  report: [result: { path: string; report: SnapshotReport }]
  /** A snapshot could not be written (`ERR_SNAPSHOT_WRITE`); a process warning instead when nobody listens. */
  error: [err: Error & { code: string; cause?: unknown }]
}

/** Snapshots on a timer, on heap growth, on `leak-suspected` or on a signal; an EventEmitter of `SnapshotScheduleEvents`. */
export declare class SnapshotSchedule extends EventEmitter {
  constructor(options: ScheduleOptions)
  /** Snapshot now, through the debounce; never rejects. */
  take(trigger?: string): Promise<SnapshotWritten | SnapshotSkipped | undefined>
  stop(): this
  on<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  once<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  off<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  addListener<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  removeListener<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  prependListener<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  prependOnceListener<E extends keyof SnapshotScheduleEvents>(event: E, listener: (...args: SnapshotScheduleEvents[E]) => void): this
  emit<E extends keyof SnapshotScheduleEvents>(event: E, ...args: SnapshotScheduleEvents[E]): boolean
}

export declare const snapshots: {
  /** One snapshot; concurrent calls for one dir share it. Rejects with `ERR_SNAPSHOT_WRITE` when writing fails. */
  take(options: SnapshotOptions): Promise<SnapshotWritten | SnapshotSkipped>
  schedule(options: ScheduleOptions): SnapshotSchedule
}
