//! `diffSnapshots` and `findLeaks` over loaded snapshots, on the libuv pool.

use super::errors::{from_core, guarded, invalid_arg};
use super::snapshot::{Held, NativeSnapshot, NodeInfo, PathStep};
use crate::analyzer::diff::{diff_shown, ClassDiff};
use crate::analyzer::leaks::text::{NameKind, Text};
use crate::analyzer::leaks::{
    check_sequence, find_leaks, Frame, LeakOptions, LeakReport, NamePolicy, Part, Shown, Suspect,
    MAX_SNAPSHOTS,
};
use crate::analyzer::redact::Names;
use crate::analyzer::Snapshot;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;

#[napi(object)]
pub struct ClassDiffRow {
    pub key: String,
    pub name: String,
    /// Objects allocated since the base snapshot (still alive).
    pub added_count: f64,
    /// Objects of the base snapshot that were freed.
    pub removed_count: f64,
    pub count_delta: f64,
    pub added_size: f64,
    pub removed_size: f64,
    pub size_delta: f64,
    pub added_ids: Uint32Array,
    pub removed_ids: Uint32Array,
}

impl From<ClassDiff> for ClassDiffRow {
    fn from(d: ClassDiff) -> Self {
        ClassDiffRow {
            count_delta: d.count_delta() as f64,
            size_delta: d.size_delta() as f64,
            added_ids: Uint32Array::new(d.added_ids.iter().map(|&i| i as u32).collect()),
            removed_ids: Uint32Array::new(d.removed_ids.iter().map(|&i| i as u32).collect()),
            key: d.key,
            name: d.name,
            added_count: d.added_count as f64,
            removed_count: d.removed_count as f64,
            added_size: d.added_size as f64,
            removed_size: d.removed_size as f64,
        }
    }
}

pub struct DiffTask {
    base: Arc<Held>,
    current: Arc<Held>,
    redact: bool,
}

#[napi]
impl Task for DiffTask {
    type Output = Vec<ClassDiff>;
    type JsValue = Vec<ClassDiffRow>;

    fn compute(&mut self) -> napi::Result<Vec<ClassDiff>> {
        guarded(|| {
            let names = Names::new(self.redact, &[&self.base, &self.current]);
            Ok(diff_shown(&self.base, &self.current, &names))
        })
    }

    fn resolve(&mut self, _env: Env, output: Vec<ClassDiff>) -> napi::Result<Vec<ClassDiffRow>> {
        Ok(output.into_iter().map(Into::into).collect())
    }
}

#[napi(object)]
pub struct DiffOptions {
    /// Show class names under the redaction policy.
    pub redact: Option<bool>,
}

/// Why a sequence of snapshots cannot be one process's history, oldest
/// first: `ERR_SNAPSHOT_ORDER` or `ERR_SNAPSHOT_MISMATCH`.
#[napi(object)]
pub struct SequenceProblem {
    pub code: String,
    pub message: String,
}

pub struct SequenceTask {
    snapshots: Vec<Arc<Held>>,
}

#[napi]
impl Task for SequenceTask {
    type Output = Option<SequenceProblem>;
    type JsValue = Option<SequenceProblem>;

    fn compute(&mut self) -> napi::Result<Option<SequenceProblem>> {
        guarded(|| {
            let snaps: Vec<&Snapshot> = self.snapshots.iter().map(|h| &***h).collect();
            Ok(check_sequence(&snaps).err().map(|e| SequenceProblem {
                code: e.code().to_string(),
                message: e.to_string(),
            }))
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output)
    }
}

/// Checks that snapshots are one process's, oldest first (a diff may
/// legitimately compare others; it reports, where findLeaks refuses).
#[napi(catch_unwind)]
pub fn check_snapshot_sequence(
    snapshots: Vec<&NativeSnapshot>,
) -> napi::Result<AsyncTask<SequenceTask>> {
    let held = snapshots
        .iter()
        .map(|s| s.get().cloned())
        .collect::<napi::Result<Vec<_>>>()?;
    Ok(AsyncTask::new(SequenceTask { snapshots: held }))
}

/// Per-class changes between two loaded snapshots (DevTools' Comparison view).
#[napi(catch_unwind)]
pub fn diff_snapshots(
    base: &NativeSnapshot,
    current: &NativeSnapshot,
    options: Option<DiffOptions>,
) -> napi::Result<AsyncTask<DiffTask>> {
    Ok(AsyncTask::new(DiffTask {
        base: base.get()?.clone(),
        current: current.get()?.clone(),
        redact: options.and_then(|o| o.redact).unwrap_or(false),
    }))
}

/// One part of a suspect's sentence: our words, or a name from the heap
/// with its kind, so callers can style or redact names.
#[napi(object)]
pub struct TextPart {
    /// `text`, `class`, `property`, `variable`, `function`, `script`,
    /// `value`, `place` (script:line), `count` or `bytes`.
    pub kind: String,
    pub text: String,
}

fn parts(t: &Text, policy: &mut dyn NamePolicy) -> Vec<TextPart> {
    t.0.iter()
        .map(|p| {
            let kind = match p {
                Part::Text(_) => "text",
                Part::Name(k, _) => k.as_str(),
                Part::Place(..) => "place",
                Part::Count(_) => "count",
                Part::Bytes(_) => "bytes",
            };
            TextPart {
                kind: kind.to_string(),
                text: Text(vec![p.clone()]).render(policy),
            }
        })
        .collect()
}

#[napi(object)]
pub struct StackFrame {
    pub function_name: String,
    pub script: String,
    /// 1-based; 0 when V8 did not know it.
    pub line: u32,
    pub column: u32,
}

fn frame(f: &Frame, policy: &mut dyn NamePolicy) -> StackFrame {
    StackFrame {
        function_name: policy.name(NameKind::Function, &f.function),
        script: policy.name(NameKind::Script, &f.script),
        line: f.line,
        column: f.column,
    }
}

/// Where leaked objects were allocated (snapshots taken with allocation
/// tracking only).
#[napi(object)]
pub struct JsAllocationSite {
    pub function_name: String,
    pub script: String,
    pub line: u32,
    pub column: u32,
    /// Leaked objects (of those sampled) allocated here, and their bytes.
    pub count: f64,
    pub bytes: f64,
    pub callers: Vec<StackFrame>,
    /// The innermost frame in the application's own code, when the site is
    /// in a package.
    pub app_frame: Option<StackFrame>,
}

#[napi(object)]
pub struct LeakSuspect {
    /// `collection`, `listeners`, `timers`, `closure`, `weakrefs`, `modules` or `objects`.
    pub kind: String,
    /// The sentence and the advice, as one text.
    pub explanation: String,
    /// What accumulates, where, how much; its parts; what to do; why it is growth.
    pub text: String,
    pub parts: Vec<TextPart>,
    pub advice: String,
    pub evidence: String,
    /// `high`, `medium` or `low`: how surely the own size rose at every step.
    pub confidence: String,
    /// The object that keeps growing (one example when holders were folded).
    pub holder: NodeInfo,
    pub holder_class: String,
    pub holder_name: Option<String>,
    /// `variable.property.property` from the nearest variable, when there is one.
    pub holder_path: Option<String>,
    pub retainer_path: Vec<PathStep>,
    /// The path with indices and timer-list hops generalised, shared by
    /// every folded holder.
    pub path_shape: Vec<String>,
    /// What accumulates, as the user wrote it (a class, `closures `f``, Module).
    pub leaked_class: String,
    /// The holder's own size (elements, entries, listeners, pending timers)
    /// and retained size in each snapshot (null where absent).
    pub counts: Vec<Option<f64>>,
    pub element_counts: Vec<Option<f64>>,
    pub retained_sizes: Vec<Option<f64>>,
    /// Objects alive in the last snapshot by the interval they were born in,
    /// and their bytes (entry k: between snapshots k+1 and k+2).
    pub added: Vec<f64>,
    pub added_bytes: Vec<f64>,
    /// Objects from the first interval still alive, and from the last.
    pub survivors: f64,
    pub survivor_bytes: f64,
    pub new_objects: f64,
    pub new_bytes: f64,
    /// ArrayBuffer backing stores among them (memory outside the JS heap).
    pub external_bytes: f64,
    pub external_stores: f64,
    /// Sliced strings among them, and the bytes of the parents they keep.
    pub sliced_strings: f64,
    pub sliced_parent_bytes: f64,
    pub concatenated_strings: f64,
    pub concatenated_part_bytes: f64,
    pub growth: f64,
    /// Holders folded into this suspect, and the others besides the example.
    pub holders: f64,
    pub similar_holders: f64,
    pub allocation_sites: Vec<JsAllocationSite>,
}

fn numbers(v: &[Option<u64>]) -> Vec<Option<f64>> {
    v.iter().map(|x| x.map(|x| x as f64)).collect()
}

impl LeakSuspect {
    fn new(s: Suspect, policy: &mut dyn NamePolicy) -> Self {
        let text = s.text.render(policy);
        let advice = s.advice.render(policy);
        let (survivors, survivor_bytes) = s.survivors();
        let (new_objects, new_bytes) = s.newest();
        let holder_path = (!s.holder_path.is_empty()).then(|| {
            let mut out = String::new();
            for (k, (kind, name)) in s.holder_path.iter().enumerate() {
                if k > 0 && !name.starts_with('[') {
                    out.push('.');
                }
                out.push_str(&policy.name(*kind, name));
            }
            out
        });
        LeakSuspect {
            kind: s.kind.as_str().to_string(),
            explanation: format!("{text} {advice}"),
            parts: parts(&s.text, policy),
            text,
            advice,
            evidence: s.evidence.render(policy),
            confidence: s.confidence.as_str().to_string(),
            holder: s.holder.into(),
            holder_class: policy.name(NameKind::Class, &s.holder_class),
            holder_name: s.holder_name.map(|(k, n)| policy.name(k, &n)),
            holder_path,
            retainer_path: s.retainer_path.into_iter().map(Into::into).collect(),
            path_shape: s.path_shape,
            leaked_class: s.leaked_class.render(policy),
            counts: numbers(&s.counts),
            element_counts: numbers(&s.counts),
            retained_sizes: numbers(&s.retained_sizes),
            added: s.added.iter().map(|&x| x as f64).collect(),
            added_bytes: s.added_bytes.iter().map(|&x| x as f64).collect(),
            survivors: survivors as f64,
            survivor_bytes: survivor_bytes as f64,
            new_objects: new_objects as f64,
            new_bytes: new_bytes as f64,
            external_bytes: s.external_bytes as f64,
            external_stores: s.external_stores as f64,
            sliced_strings: s.sliced_strings as f64,
            sliced_parent_bytes: s.sliced_parent_bytes as f64,
            concatenated_strings: s.concatenated_strings as f64,
            concatenated_part_bytes: s.concatenated_part_bytes as f64,
            growth: s.growth as f64,
            holders: s.holders as f64,
            similar_holders: s.holders.saturating_sub(1) as f64,
            allocation_sites: s
                .allocation_sites
                .iter()
                .map(|a| JsAllocationSite {
                    function_name: policy.name(NameKind::Function, &a.frame.function),
                    script: policy.name(NameKind::Script, &a.frame.script),
                    line: a.frame.line,
                    column: a.frame.column,
                    count: a.count as f64,
                    bytes: a.bytes as f64,
                    callers: a.callers.iter().map(|f| frame(f, policy)).collect(),
                    app_frame: a.app_frame.as_ref().map(|f| frame(f, policy)),
                })
                .collect(),
        }
    }
}

/// Growth in Node's own queues, explained instead of reported as a leak.
#[napi(object)]
pub struct LeakNote {
    /// `nextTick` or `microtasks`.
    pub kind: String,
    pub text: String,
    pub counts: Vec<f64>,
}

#[napi(object)]
pub struct SnapshotTotalsInfo {
    pub node_count: f64,
    pub total_size: f64,
    /// Whether objects carry allocation stacks (allocation tracking was on).
    pub tracked: bool,
}

#[napi(object)]
pub struct LeakReportInfo {
    pub suspects: Vec<LeakSuspect>,
    pub notes: Vec<LeakNote>,
    pub snapshots: Vec<SnapshotTotalsInfo>,
}

#[napi(object)]
pub struct FindLeaksOptions {
    /// Objects from the first interval that must survive under one holder (default 8).
    pub min_count: Option<u32>,
    /// Suspects to return at most (default 10).
    pub max_suspects: Option<u32>,
    /// Show every name under the redaction policy.
    pub redact: Option<bool>,
}

pub struct LeaksTask {
    snapshots: Vec<Arc<Held>>,
    options: LeakOptions,
}

/// The report in words, every name through the snapshots' redaction policy.
fn render(report: LeakReport, snaps: &[&Snapshot], redact: bool) -> LeakReportInfo {
    let mut policy = Shown {
        snapshot: snaps[snaps.len() - 1],
        names: Names::new(redact, snaps),
    };
    LeakReportInfo {
        suspects: report
            .suspects
            .into_iter()
            .map(|s| LeakSuspect::new(s, &mut policy))
            .collect(),
        notes: report
            .notes
            .into_iter()
            .map(|n| LeakNote {
                kind: n.kind.to_string(),
                text: n.text.render(&mut policy),
                counts: n.counts.iter().map(|&c| c as f64).collect(),
            })
            .collect(),
        snapshots: report
            .snapshots
            .into_iter()
            .map(|t| SnapshotTotalsInfo {
                node_count: t.node_count as f64,
                total_size: t.total_size as f64,
                tracked: t.tracked,
            })
            .collect(),
    }
}

#[napi]
impl Task for LeaksTask {
    type Output = LeakReportInfo;
    type JsValue = LeakReportInfo;

    // The words are rendered here too, off the event loop.
    fn compute(&mut self) -> napi::Result<LeakReportInfo> {
        guarded(|| {
            let snaps: Vec<&Snapshot> = self.snapshots.iter().map(|h| &***h).collect();
            let report = find_leaks(&snaps, &self.options).map_err(from_core)?;
            Ok(render(report, &snaps, self.options.redact))
        })
    }

    fn resolve(&mut self, _env: Env, output: LeakReportInfo) -> napi::Result<LeakReportInfo> {
        Ok(output)
    }
}

fn leak_options(options: Option<FindLeaksOptions>) -> napi::Result<LeakOptions> {
    let mut opts = LeakOptions::default();
    if let Some(o) = options {
        if let Some(m) = o.min_count {
            if m == 0 {
                return Err(invalid_arg("minCount must be at least 1"));
            }
            opts.min_count = m as u64;
        }
        if let Some(m) = o.max_suspects {
            opts.max_suspects = m as usize;
        }
        opts.redact = o.redact.unwrap_or(false);
    }
    Ok(opts)
}

/// Leak suspects from three or more snapshots of one process, oldest first.
#[napi(catch_unwind)]
pub fn find_leaks_in(
    snapshots: Vec<&NativeSnapshot>,
    options: Option<FindLeaksOptions>,
) -> napi::Result<AsyncTask<LeaksTask>> {
    let opts = leak_options(options)?;
    if snapshots.len() < 3 || snapshots.len() > MAX_SNAPSHOTS {
        return Err(invalid_arg(format!(
            "findLeaks needs 3 to {MAX_SNAPSHOTS} snapshots of one process, oldest first (got {})",
            snapshots.len()
        )));
    }
    let held = snapshots
        .iter()
        .map(|s| s.get().cloned())
        .collect::<napi::Result<Vec<_>>>()?;
    Ok(AsyncTask::new(LeaksTask {
        snapshots: held,
        options: opts,
    }))
}

/// Snapshots held in native memory only, for taking a series in-process:
/// the JS heap being measured does not grow by a handle per snapshot.
#[napi]
pub struct SnapshotSeries {
    snaps: Vec<Arc<Held>>,
}

impl Default for SnapshotSeries {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl SnapshotSeries {
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        SnapshotSeries { snaps: Vec::new() }
    }

    /// Keeps the snapshot's graph; the JS handle may be closed afterwards.
    #[napi(catch_unwind)]
    pub fn push(&mut self, snapshot: &NativeSnapshot) -> napi::Result<()> {
        if self.snaps.len() >= MAX_SNAPSHOTS {
            return Err(invalid_arg(format!(
                "a series holds at most {MAX_SNAPSHOTS} snapshots"
            )));
        }
        self.snaps.push(snapshot.get()?.clone());
        Ok(())
    }

    #[napi(getter, catch_unwind)]
    pub fn length(&self) -> u32 {
        self.snaps.len() as u32
    }

    /// Each snapshot's total size, as `Snapshot.totalSize` gives it.
    #[napi(catch_unwind)]
    pub fn total_sizes(&self) -> Vec<f64> {
        self.snaps.iter().map(|s| s.total_size() as f64).collect()
    }

    #[napi(catch_unwind)]
    pub fn find_leaks(
        &self,
        options: Option<FindLeaksOptions>,
    ) -> napi::Result<AsyncTask<LeaksTask>> {
        if self.snaps.len() < 3 {
            return Err(invalid_arg(format!(
                "findLeaks needs 3 to {MAX_SNAPSHOTS} snapshots of one process, oldest first (got {})",
                self.snaps.len()
            )));
        }
        Ok(AsyncTask::new(LeaksTask {
            snapshots: self.snaps.clone(),
            options: leak_options(options)?,
        }))
    }

    /// Frees the graphs now.
    #[napi(catch_unwind)]
    pub fn clear(&mut self) {
        self.snaps.clear();
    }
}
