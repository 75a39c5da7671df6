// A TypeScript consumer that uses every export of leakwatch with realistic
// arguments. __test__/types.test.mjs type-checks it with `tsc --noEmit`
// (strict), then strips the types and runs it, and every result is compared
// at run time with the shape its declared type describes (`Shape<T>` below
// must list each key of T, marked required or optional, or tsc fails).
// Lines under `@ts-expect-error` are mistakes the types must reject.
import { EventEmitter } from 'node:events'
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs'
import v8 from 'node:v8'
import {
  Snapshot,
  loadSnapshot,
  loadSnapshotSync,
  analyzeSnapshot,
  analyzeSnapshotSync,
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
  LIMITS,
} from 'leakwatch'
import type {
  ActiveTimer,
  ActiveTimers,
  AllocationSite,
  AllocationTracker,
  ClassDiffRows,
  LeakNote,
  LeakSuspects,
  SequenceProblem,
  SnapshotTotals,
  StackFrame,
  BoundedLogStats,
  ClassDiffRow,
  ClassSummaryRow,
  CollectedAssertionError,
  EdgeInfo,
  HeapSample,
  HeapTrend,
  InstancePage,
  LeakAlert,
  LeakAssertionError,
  LeakwatchErrorCode,
  ListenerEventReport,
  ListenerGrowth,
  ListenerReport,
  LoadProgress,
  NoLeakReport,
  NodeInfo,
  PathStep,
  SnapshotColumns,
  SnapshotReport,
  SnapshotSkipped,
  SnapshotWritten,
  Suspect,
  SuspectKind,
  TopObject,
} from 'leakwatch'

type Shape<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? 'optional' : 'required' }
const mismatches: string[] = []
function check<T>(name: string, value: T, shape: Shape<T>): T {
  const spec = shape as Record<string, 'optional' | 'required'>
  const actual = Object.keys(value as object)
  for (const k of actual) if (!(k in spec)) mismatches.push(`${name}: undeclared property ${k}`)
  for (const [k, need] of Object.entries(spec)) if (need === 'required' && !actual.includes(k)) mismatches.push(`${name}: missing ${k}`)
  return value
}

const nodeShape: Shape<NodeInfo> = { id: 'required', name: 'required', type: 'required', className: 'required', selfSize: 'required', retainedSize: 'required', distance: 'required' }
const stepShape: Shape<PathStep> = { node: 'required', edgeType: 'optional', edgeName: 'optional', edgeLabel: 'optional', skipped: 'optional' }
const suspectShape: Shape<Suspect> = {
  kind: 'required', explanation: 'required', text: 'required', parts: 'required', advice: 'required', evidence: 'required',
  confidence: 'required', holder: 'required', holderClass: 'required', holderName: 'optional', holderPath: 'optional',
  retainerPath: 'required', pathShape: 'required', leakedClass: 'required', counts: 'required', elementCounts: 'required',
  retainedSizes: 'required', added: 'required', addedBytes: 'required', survivors: 'required', survivorBytes: 'required',
  newObjects: 'required', newBytes: 'required', externalBytes: 'required', externalStores: 'required', slicedStrings: 'required',
  slicedParentBytes: 'required', concatenatedStrings: 'required', concatenatedPartBytes: 'required', growth: 'required', holders: 'required', similarHolders: 'required', allocationSites: 'required',
}
const frameShape: Shape<StackFrame> = { functionName: 'required', script: 'required', line: 'required', column: 'required' }
const siteShape: Shape<AllocationSite> = { ...frameShape, count: 'required', bytes: 'required', callers: 'required', appFrame: 'optional' }
const reportShape: Shape<NoLeakReport> = { suspects: 'required', iterations: 'required', snapshots: 'required', heapSizes: 'required', allocationTracking: 'required' }
const sampleShape: Shape<HeapSample> = { time: 'required', heapUsed: 'required', heapTotal: 'required', rss: 'required', external: 'required', arrayBuffers: 'required', afterGc: 'required', spaces: 'optional' }
const trendShape: Shape<HeapTrend> = {
  bytesPerHour: 'required', pctPerHour: 'optional', baselineBytes: 'required', confidence: 'required', samples: 'required', windowMs: 'required',
  olderPctPerHour: 'optional', recentPctPerHour: 'optional',
}

function checkNode(name: string, node: NodeInfo): NodeInfo {
  return check(name, node, nodeShape)
}
function checkPath(name: string, steps: PathStep[]): PathStep[] {
  steps.forEach((s, i) => { check(`${name}[${i}]`, s, stepShape); checkNode(`${name}[${i}].node`, s.node) })
  return steps
}

async function analyzer(files: { bare: string; s1: string; s2: string; s3: string }): Promise<void> {
  const progress: LoadProgress[] = []
  const snap: Snapshot = await loadSnapshot(files.bare, {
    signal: AbortSignal.timeout(60_000),
    onProgress: (p) => progress.push(p),
    progressIntervalMs: 50,
  })
  check('LoadProgress', progress[progress.length - 1], { phase: 'required', done: 'required', total: 'required' })
  const counts: [number, number, number, boolean] = [snap.nodeCount, snap.edgeCount, snap.totalSize, snap.closed]
  void counts
  const rows: ClassSummaryRow[] = snap.summary()
  check('ClassSummaryRow', rows[0], { key: 'required', name: 'required', count: 'required', selfSize: 'required', retainedSize: 'required', distance: 'required' })
  const [biggest] = snap.topRetainers(3)
  checkNode('NodeInfo', biggest)
  const again: NodeInfo | null = snap.node(biggest.id)
  if (again === null) throw new Error('node() lost the biggest object')
  checkPath('PathStep', snap.retainerPath(biggest.id))
  snap.dominatorChain(biggest.id).forEach((n) => checkNode('dominatorChain', n))
  snap.children(biggest.id).slice(0, 3).forEach((n) => checkNode('children', n))
  const edges: EdgeInfo[] = snap.edges(biggest.id)
  check('EdgeInfo', edges[0], { type: 'required', name: 'required', label: 'required', node: 'required' })
  snap.retainers(biggest.id).forEach((e) => checkNode('retainers', e.node))
  const instances: InstancePage = snap.instances(rows[0].key, { limit: 2 })
  check('instances ClassSummaryRow', instances.classes[0], { key: 'required', name: 'required', count: 'required', selfSize: 'required', retainedSize: 'required', distance: 'required' })
  if (instances.total !== rows[0].count || instances.length !== Math.min(2, rows[0].count)) throw new Error('instances() lost the class')
  instances.forEach((n) => checkNode('instances', n))
  // Long answers come a page at a time, with the full count beside them.
  const page = snap.edges(biggest.id, { offset: 0, limit: LIMITS.page.max, redact: true })
  if (page.total < page.length) throw new Error('a page holds more than the total')
  checkPath('capped PathStep', snap.retainerPath(biggest.id, { maxSteps: LIMITS.pathSteps.min, redact: true }))
  const columns: SnapshotColumns = snap.columns()
  check('SnapshotColumns', columns, { ids: 'required', selfSizes: 'required', retainedSizes: 'required', dominatorIds: 'required', distances: 'required', classIds: 'required', classKeys: 'required', classNames: 'required' })
  const report: SnapshotReport = snap.report({ top: 2, maxClasses: 5, redact: true })
  check('SnapshotReport', report, { nodeCount: 'required', edgeCount: 'required', totalSize: 'required', classes: 'required', top: 'required' })
  const top: TopObject = report.top[0]
  check('TopObject', top, { node: 'required', retainerPath: 'required' })
  snap.close()

  const fromStream: SnapshotReport = await analyzeSnapshot(v8.getHeapSnapshot(), { top: 1 })
  const sync: SnapshotReport = analyzeSnapshotSync(fs.readFileSync(files.bare), { maxClasses: 3 })
  if (fromStream.classes.length === 0 || sync.classes.length !== 3) throw new Error('analyzeSnapshot(Sync) returned no classes')
  {
    using disposable = loadSnapshotSync(files.bare)
    void disposable.nodeCount
  }

  const diff: ClassDiffRows = await diffSnapshots(files.s1, files.s3, { redact: false })
  const sequence: SequenceProblem | null = diff.sequence
  if (sequence !== null) mismatches.push(`diff in order has sequence ${JSON.stringify(sequence)}`)
  const backwards: SequenceProblem | null = (await diffSnapshots(files.s3, files.s1)).sequence
  if (backwards === null) mismatches.push('a backwards diff has no sequence')
  else check('SequenceProblem', backwards, { code: 'required', message: 'required' })
  const plainRows: ClassDiffRow[] = diff
  void plainRows
  check('ClassDiffRow', diff[0], {
    key: 'required', name: 'required', addedCount: 'required', removedCount: 'required', countDelta: 'required',
    addedSize: 'required', removedSize: 'required', sizeDelta: 'required', addedIds: 'required', removedIds: 'required',
  })
  const ids: Uint32Array = diff[0].addedIds
  void ids

  const suspects: LeakSuspects = await findLeaks([files.s1, files.s2, files.s3], { minCount: 8, maxSuspects: 5 })
  if (suspects.length === 0) throw new Error('the leaking fixture gave no suspect')
  const first = check('Suspect', suspects[0], suspectShape)
  first.parts.forEach((p, i) => check(`Suspect.parts[${i}]`, p, { kind: 'required', text: 'required' }))
  const notes: LeakNote[] = suspects.notes
  notes.forEach((n, i) => check(`notes[${i}]`, n, { kind: 'required', text: 'required', counts: 'required' }))
  const totals: SnapshotTotals[] = suspects.snapshots
  if (totals.length !== 3) mismatches.push(`${totals.length} snapshot totals for three snapshots`)
  totals.forEach((t, i) => check(`snapshots[${i}]`, t, { nodeCount: 'required', totalSize: 'required', tracked: 'required' }))
  checkNode('Suspect.holder', first.holder)
  checkPath('Suspect.retainerPath', first.retainerPath)
  const kind: SuspectKind = first.kind
  // @ts-expect-error confidence is one of three words
  const wrongConfidence: typeof first.confidence = 'certain'
  void kind, wrongConfidence
}

// Held from a global: expectNoLeak names it `sessions`.
const sessions: object[] = ((globalThis as Record<string, unknown>).sessions = [])

async function assertions(): Promise<void> {
  const report: NoLeakReport = await expectNoLeak(async (i) => void [i].map(String), { iterations: 20, warmup: 2, minCount: 8 })
  check('NoLeakReport', report, reportShape)
  const failure = await expectNoLeak((i) => sessions.push({ session: i, user: `user ${i}` }), { iterations: 40 }).then(
    () => { throw new Error('expectNoLeak missed a leak') },
    (err: unknown) => err as LeakAssertionError,
  )
  check('LeakAssertionError.report', failure.report, reportShape)
  check('LeakAssertionError.suspects[0]', failure.suspects[0], suspectShape)
  // The default 'auto' reran the leak tracked: its sites are named.
  const [site] = failure.suspects[0].allocationSites
  if (site === undefined) mismatches.push('expectNoLeak named no allocation site')
  else {
    check('AllocationSite', site, siteShape)
    site.callers.forEach((f, i) => check(`AllocationSite.callers[${i}]`, f, frameShape))
  }

  const tracker: AllocationTracker = trackAllocations()
  const tracked: Snapshot[] = []
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 50; i++) sessions.push({ round, i })
    tracked.push(await tracker.snapshot())
  }
  tracker.stop()
  const stopped = await tracker.snapshot().then(
    () => 'resolved',
    (err: { code: LeakwatchErrorCode }) => err.code,
  )
  if (stopped !== 'ERR_TRACKING_STOPPED') mismatches.push(`snapshot() after stop(): ${stopped}`)
  const trackedSuspects = await findLeaks(tracked, { minCount: 8 })
  for (const snap of tracked) snap.close()
  if (!trackedSuspects.snapshots.every((t) => t.tracked)) mismatches.push('tracked snapshots are not marked tracked')

  await expectCollected(() => {
    const conn = { socket: new EventEmitter() }
    return conn
  })
  await expectCollected(async () => ({ closed: await Promise.resolve(true) }), { attempts: 2 })
  try {
    await expectCollected(() => sessions)
    throw new Error('expectCollected passed for a kept array')
  } catch (err) {
    const e = err as CollectedAssertionError
    if (!Array.isArray(e.retainerPath)) throw new Error('no retainerPath on the error')
  }
  // @ts-expect-error a primitive is never collected
  void expectCollected(42).catch(() => {})
}

function runtime(dir: string): void {
  const bus = new EventEmitter()
  const tracked: EventEmitter = trackEmitter(bus, { name: 'bus', threshold: 20 })
  tracked.on('data', () => {})
  untrack(bus)
  listeners.configure({ threshold: 50, samples: 3, intervalMs: 0 })
  listeners.install()
  const installed: boolean = listeners.installed
  const found: ListenerGrowth[] = listeners.observe()
  const report: ListenerReport = listeners.report()
  const events: ListenerEventReport[] = report.emitters.flatMap((e) => e.events)
  void installed, found, events
  listeners.uninstall()

  const log = new BoundedLog({ maxEntries: 100, maxBytes: 1 << 20, onOverflow: 'drop-oldest', spillTo: path.join(dir, 'spill.jsonl') })
  log.push({ url: '/a', status: 200 })
  log.push('text')
  log.push(Buffer.from('bytes'))
  const tail: unknown[] = log.tail(2)
  const stats: BoundedLogStats = check('BoundedLogStats', log.stats(), {
    size: 'required', bytes: 'required', dropped: 'required', rejected: 'required', spilled: 'required', spillErrors: 'required', heldBytes: 'required',
  })
  const all: unknown[] = [...log]
  void tail, stats, all, log.size, log.bytes, log.dropped, log.rejected, log.heldBytes, log.closed
  log.toArray()
  log.drain()
  log.clear()
  log.close()
  const shared = BoundedLog.shared(`types-${process.pid}`, { maxEntries: 10 })
  shared.close()

  timers.install({ sites: 'all' })
  const owner = { name: 'poller', poll() {} }
  const interval: NodeJS.Timeout = timers.setInterval((o) => o?.poll(), 60_000, { owner })
  const timeout = setTimeout(() => {}, 60_000)
  timers.setOwner(timeout, owner)
  const active: ActiveTimers = check('ActiveTimers', timers.active(), { count: 'required', timers: 'required', bySite: 'required' })
  const one: ActiveTimer = check('ActiveTimer', active.timers[0], {
    id: 'required', kind: 'required', delay: 'required', age: 'required', fired: 'required', refed: 'required',
    site: 'optional', hasOwner: 'required', outlivedOwner: 'required',
  })
  void one
  const cleared: number = timers.clearAll({ owner })
  clearInterval(interval)
  if (cleared < 1) throw new Error('clearAll cleared nothing')
  timers.uninstall()

  const cache = new WeakValueCache<string, { user: string }>()
  const user = cache.getOrCreate('u1', (key) => ({ user: key }))
  cache.set('u2', { user: 'u2' })
  const hit: { user: string } | undefined = cache.get('u1')
  for (const [key, value] of cache) void key, value
  void user, hit, cache.has('u1'), cache.delete('u2'), cache.size, [...cache.entries()]
  cache.clear()
  // @ts-expect-error values are held weakly, so they must be objects
  new WeakValueCache<string, number>()
}

async function watching(dir: string): Promise<void> {
  const m: Monitor = monitor({ intervalMs: 0, alert: { growthPctPerHour: 10, minDurationMs: 60_000, minSamples: 4 }, historySize: 100, labels: { worker: 1 } })
  const samples: HeapSample[] = []
  m.on('sample', (s) => samples.push(s))
  m.once('leak-suspected', (alert: LeakAlert) => void alert.sample.heapUsed)
  m.prependListener('recovered', ({ bytesPerHour }) => void bytesPerHour)
  // @ts-expect-error no such event
  m.on('leak-suspectd', () => {})
  // @ts-expect-error a sample is not a LeakAlert
  m.on('sample', (s: LeakAlert) => void s)
  check('HeapSample', m.sample(), sampleShape)
  const fed = new Monitor({ alert: { warmupMs: 0, minSamples: 4, minDurationMs: 60_000 } })
  for (let i = 0; i < 6; i++) check('HeapSample', fed.record({ t: i * 60_000, heapUsed: 1e8 + i * 1e7, afterGc: true }), sampleShape)
  const trend: HeapTrend | null = fed.trend()
  if (trend === null) throw new Error('no trend after six readings')
  check('HeapTrend', trend, trendShape)
  const text: string = m.metrics()
  const history: HeapSample[] = m.history()
  void text, history, m.running, m.alerting
  const asEmitter: EventEmitter = m
  void asEmitter
  m.stop()
  const own = new Monitor({ spaces: true }).start()
  own.stop()

  const written = await snapshots.take({ dir, maxFiles: 2, headroomFactor: 0 })
  if ('skipped' in written) {
    const skipped: SnapshotSkipped = written
    throw new Error(`snapshot skipped: ${skipped.reason}`)
  }
  check('SnapshotWritten', written, {
    path: 'required', bytes: 'required', durationMs: 'required', fast: 'required', heapUsed: 'required', deleted: 'required', staleTemps: 'required', trigger: 'optional',
  })
  const schedule: SnapshotSchedule = snapshots.schedule({ dir, everyMs: 3_600_000, maxFiles: 2, headroomFactor: 0, analyze: true })
  const reported = new Promise<SnapshotReport>((resolve) => schedule.once('report', ({ report }) => resolve(report)))
  schedule.on('snapshot', (w: SnapshotWritten) => void w.path)
  schedule.on('snapshot-skipped', ({ reason }) => void reason)
  schedule.on('error', (err) => void err.code)
  // @ts-expect-error no such event
  schedule.on('snapshots', () => {})
  await schedule.take('manual')
  check('SnapshotReport', await reported, { nodeCount: 'required', edgeCount: 'required', totalSize: 'required', classes: 'required', top: 'required' })
  schedule.stop()
  const direct = new SnapshotSchedule({ dir, signal: 'SIGUSR2' })
  direct.stop()
}

async function main(): Promise<void> {
  const [bare, s1, s2, s3] = process.argv.slice(2)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-types-'))
  try {
    await analyzer({ bare, s1, s2, s3 })
    await assertions()
    runtime(dir)
    await watching(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  try {
    loadSnapshotSync(path.join(dir, 'missing.heapsnapshot'))
  } catch (err) {
    const code: LeakwatchErrorCode = (err as { code: LeakwatchErrorCode }).code
    if (code !== 'ERR_SNAPSHOT_IO') mismatches.push(`error code ${code}`)
  }
  // Control: a value with a property its type lacks, and one missing a required one, are reported.
  const before = mismatches.length
  check('control', { id: 1, extra: true } as unknown as NodeInfo, nodeShape)
  const control = mismatches.splice(before)
  if (!control.includes('control: undeclared property extra') || !control.includes('control: missing className')) {
    mismatches.push(`the shape check missed a difference: ${JSON.stringify(control)}`)
  }
  process.stdout.write(`${JSON.stringify({ mismatches })}\n`)
}

// A promise of ours that the event loop forgets (nothing left to keep it
// alive) ends the process with code 0 and no output: name it as a failure.
let finished = false
process.on('exit', (code) => {
  if (!finished && code === 0) {
    process.stderr.write('the event loop emptied while main() was still awaiting a leakwatch promise\n')
    process.exitCode = 1
  }
})

main().then(() => { finished = true }, (err: unknown) => {
  finished = true
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
})
