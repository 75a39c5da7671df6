//! `diffSnapshots` and `findLeaks` over loaded snapshots, on the libuv pool.

use super::errors::{guarded, invalid_arg};
use super::snapshot::{Held, NativeSnapshot, NodeInfo, PathStep};
use crate::analyzer::diff::{diff_shown, ClassDiff};
use crate::analyzer::leaks::{find_leaks, LeakOptions, Suspect};
use crate::analyzer::redact::Names;
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

#[napi(object)]
pub struct LeakSuspect {
    /// `collection`, `listeners`, `timers`, `closure`, `weakrefs` or `objects`.
    pub kind: String,
    pub explanation: String,
    pub holder: NodeInfo,
    pub holder_name: Option<String>,
    pub retainer_path: Vec<PathStep>,
    pub leaked_class: String,
    /// Holder's retained size in snapshots 1, 2, 3 (null where absent).
    pub retained_sizes: Vec<Option<f64>>,
    /// Holder's elements / entries / listeners in snapshots 1, 2, 3.
    pub element_counts: Vec<Option<f64>>,
    pub survivors: f64,
    pub survivor_bytes: f64,
    pub new_objects: f64,
    pub new_bytes: f64,
    pub confidence: String,
    pub growth: f64,
    pub similar_holders: f64,
}

impl From<Suspect> for LeakSuspect {
    fn from(s: Suspect) -> Self {
        LeakSuspect {
            kind: s.kind.as_str().to_string(),
            explanation: s.explanation,
            holder: s.holder.into(),
            holder_name: s.holder_name,
            retainer_path: s.retainer_path.into_iter().map(Into::into).collect(),
            leaked_class: s.leaked_class,
            retained_sizes: s
                .retained_sizes
                .iter()
                .map(|v| v.map(|x| x as f64))
                .collect(),
            element_counts: s
                .element_counts
                .iter()
                .map(|v| v.map(|x| x as f64))
                .collect(),
            survivors: s.survivors as f64,
            survivor_bytes: s.survivor_bytes as f64,
            new_objects: s.new_objects as f64,
            new_bytes: s.new_bytes as f64,
            confidence: s.confidence.to_string(),
            growth: s.growth as f64,
            similar_holders: s.similar_holders as f64,
        }
    }
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
    snapshots: [Arc<Held>; 3],
    options: LeakOptions,
}

#[napi]
impl Task for LeaksTask {
    type Output = Vec<Suspect>;
    type JsValue = Vec<LeakSuspect>;

    fn compute(&mut self) -> napi::Result<Vec<Suspect>> {
        guarded(|| {
            let [a, b, c] = &self.snapshots;
            Ok(find_leaks([a, b, c], &self.options))
        })
    }

    fn resolve(&mut self, _env: Env, output: Vec<Suspect>) -> napi::Result<Vec<LeakSuspect>> {
        Ok(output.into_iter().map(Into::into).collect())
    }
}

/// Leak suspects from three snapshots of one process, oldest first.
#[napi(catch_unwind)]
pub fn find_leaks_in(
    first: &NativeSnapshot,
    second: &NativeSnapshot,
    third: &NativeSnapshot,
    options: Option<FindLeaksOptions>,
) -> napi::Result<AsyncTask<LeaksTask>> {
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
    Ok(AsyncTask::new(LeaksTask {
        snapshots: [
            first.get()?.clone(),
            second.get()?.clone(),
            third.get()?.clone(),
        ],
        options: opts,
    }))
}
