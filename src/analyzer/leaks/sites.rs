//! Where the leaked objects were allocated, from the allocation stacks V8
//! writes when the snapshot was taken with allocation tracking on.

use super::node::is_node_script;
use crate::analyzer::snapshot::Snapshot;
use std::collections::HashMap;

/// One frame of an allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    pub function: String,
    pub script: String,
    /// 1-based; 0 when unknown.
    pub line: u32,
    pub column: u32,
}

/// Objects allocated with the same innermost frame outside Node's own code.
#[derive(Debug, Clone)]
pub struct AllocationSite {
    pub frame: Frame,
    /// Callers, innermost first (at most a few, Node's frames skipped).
    pub callers: Vec<Frame>,
    /// The innermost frame in the application's own code (not a package
    /// under node_modules), when `frame` is in a library.
    pub app_frame: Option<Frame>,
    pub count: u64,
    pub bytes: u64,
}

const CALLERS: usize = 3;
const SITES: usize = 3;
/// Frames searched for the application's own.
const DEPTH: usize = 32;

fn frames(s: &Snapshot, tree_index: u32) -> Vec<Frame> {
    let g = &s.graph;
    s.graph
        .allocations
        .stack(tree_index)
        .map(|f| Frame {
            function: g.strings.get(f.name).into_owned(),
            script: g.strings.get(f.script_name).into_owned(),
            line: f.line,
            column: f.column,
        })
        .filter(|f| !f.script.is_empty() && !is_node_script(&f.script))
        .take(DEPTH)
        .collect()
}

/// The sites that allocated most of `objects`, most objects first.
pub fn allocation_sites(s: &Snapshot, objects: impl Iterator<Item = u32>) -> Vec<AllocationSite> {
    let a = &s.graph.allocations;
    if !a.is_tracked() {
        return Vec::new();
    }
    let mut by_trace: HashMap<u32, (u64, u64)> = HashMap::new();
    for o in objects {
        if let Some(t) = a.trace_of(o) {
            let slot = by_trace.entry(t).or_insert((0, 0));
            slot.0 += 1;
            slot.1 = slot.1.saturating_add(s.graph.self_size.get(o));
        }
    }
    let mut by_frame: HashMap<Frame, AllocationSite> = HashMap::new();
    for (t, (count, bytes)) in by_trace {
        let mut stack = frames(s, t);
        if stack.is_empty() {
            continue;
        }
        let app_frame = stack
            .iter()
            .position(|f| !f.script.contains("/node_modules/"))
            .filter(|&k| k > 0)
            .map(|k| stack[k].clone());
        let frame = stack.remove(0);
        stack.truncate(CALLERS);
        let site = by_frame.entry(frame.clone()).or_insert(AllocationSite {
            frame,
            callers: stack,
            app_frame,
            count: 0,
            bytes: 0,
        });
        site.count += count;
        site.bytes = site.bytes.saturating_add(bytes);
    }
    let mut sites: Vec<AllocationSite> = by_frame.into_values().collect();
    sites.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| (&a.frame.script, a.frame.line).cmp(&(&b.frame.script, b.frame.line)))
    });
    sites.truncate(SITES);
    sites
}
