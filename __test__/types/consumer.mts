// An ES module consumer: named imports of every export, plus the default
// import Node gives a CommonJS package. Type-checked by tsc (strict,
// nodenext) and then run by __test__/types.test.mjs.
import leakwatch, {
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
} from 'leakwatch'
import type { Suspect, ClassDiffRow, SnapshotReport } from 'leakwatch'

const [bare, s1, s2, s3] = process.argv.slice(2)

const snap: Snapshot = await loadSnapshot(bare)
const report: SnapshotReport = await analyzeSnapshot(snap, { top: 1 })
const sync = loadSnapshotSync(bare)
const syncReport: SnapshotReport = analyzeSnapshotSync(sync, { top: 1 })
sync.close()
snap.close()
const rows: ClassDiffRow[] = await diffSnapshots(s1, s3)
const suspects: Suspect[] = await findLeaks([s1, s2, s3])

const functions = [expectNoLeak, expectCollected, trackAllocations, trackEmitter, untrack, monitor]
const classes = [Snapshot, BoundedLog, WeakValueCache, Monitor, SnapshotSchedule]
const objects = [listeners, timers, snapshots]

console.log(JSON.stringify({
  sameReport: report.nodeCount === syncReport.nodeCount,
  grew: rows.some((r) => r.addedCount > 0),
  holder: suspects[0]?.holderName ?? null,
  functions: functions.every((f) => typeof f === 'function'),
  classes: classes.every((c) => typeof c === 'function' && typeof c.prototype === 'object'),
  objects: objects.every((o) => typeof o === 'object' && o !== null),
  defaultIsModule: leakwatch.findLeaks === findLeaks,
}))
