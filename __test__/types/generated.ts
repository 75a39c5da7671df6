// Shapes kept by hand in index.d.ts (for their documentation) must stay the
// ones the Rust binding generates in binding.d.ts: each pair must be
// mutually assignable, or tsc fails here.
import type * as api from '../../index.js'
import type * as binding from '../../binding.js'

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
function same<A, B>(proof: Same<A, B>): void {
  void proof
}

same<api.NodeInfo, binding.NodeInfo>(true)
same<api.PathStep, binding.PathStep>(true)
same<api.ClassSummaryRow, binding.ClassSummaryRow>(true)
same<api.SnapshotReport, binding.SnapshotReport>(true)
same<api.LoadProgress, binding.JobProgress>(true)
same<api.ListenerGrowth, binding.ListenerGrowth>(true)
same<api.ListenerEventReport, binding.ListenerEventReport>(true)
same<api.BoundedLogStats, binding.NativeLogStats>(true)
same<api.HeapTrend, binding.TrendInfo>(true)
// The facade narrows the strings the native layer returns to their unions.
same<Omit<api.Suspect, 'kind' | 'confidence' | 'parts' | 'allocationSites'>, Omit<binding.LeakSuspect, 'kind' | 'confidence' | 'parts' | 'allocationSites'>>(true)
same<api.Suspect['kind'] extends string ? true : false, true>(true)
same<Omit<api.TextPart, 'kind'>, Omit<binding.TextPart, 'kind'>>(true)
same<api.TextPart['kind'] extends string ? true : false, true>(true)
same<api.StackFrame, binding.StackFrame>(true)
same<api.AllocationSite, binding.JsAllocationSite>(true)
same<Omit<api.LeakNote, 'kind'>, Omit<binding.LeakNote, 'kind'>>(true)
same<api.SnapshotTotals, binding.SnapshotTotalsInfo>(true)
same<Omit<api.SequenceProblem, 'code'>, Omit<binding.SequenceProblem, 'code'>>(true)
// Control: a shape that differs is caught.
same<api.NodeInfo, Omit<binding.NodeInfo, 'distance'>>(false)
