//! Pending timers and what they keep alive. A timer's Timeout sits in one of
//! Node's timer lists until it fires or is cleared; what leaks is the object
//! its callback keeps alive (the poller whose stop() is never called, the
//! request context of a 10-minute timer). A setTimeout chain that re-arms
//! itself has a new Timeout after every firing, so Timeouts are counted per
//! snapshot and attributed to their owners, never followed by id.

use super::lineage::Born;
use super::node::{
    class_is_node_internal, is_oddball, is_user_object, oddball, raw_name, shared_info,
    target_named,
};
use crate::analyzer::phases::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use crate::analyzer::snapshot::Snapshot;
use std::collections::{HashMap, HashSet};

/// How a timer's callback reaches the object it keeps alive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnerLink {
    /// A variable of the callback's scope (`this` of an arrow function in a
    /// method, `poller`, `self`).
    Variable(String),
    /// `bind()`'s receiver or arguments, or setTimeout's extra arguments.
    Argument,
    /// The AsyncLocalStorage store of the context the timer was created in.
    AsyncStore,
}

#[derive(Debug, Clone)]
pub struct Timer {
    pub timeout: u32,
    pub callback: u32,
    /// The callback's SharedFunctionInfo id: one per source function, stable
    /// across snapshots.
    pub function_key: u32,
    pub repeat: bool,
    pub owner: Option<(u32, OwnerLink)>,
}

fn reachable(s: &Snapshot, o: u32) -> bool {
    let d = s.distance[o as usize];
    d != NO_DISTANCE && d < BASE_SYSTEM_DISTANCE
}

/// Whether `o` is kept alive only through `by` (within a few dominator steps).
fn dominated_by(s: &Snapshot, mut o: u32, by: u32) -> bool {
    for _ in 0..8 {
        let d = s.dominator[o as usize];
        if d == by {
            return true;
        }
        if d == o || d == s.graph.root {
            return false;
        }
        o = d;
    }
    false
}

/// Bound functions call their target; closures are their own function.
fn function_of(s: &Snapshot, callback: u32) -> u32 {
    target_named(s, callback, b"bound_target_function").unwrap_or(callback)
}

/// Objects the callback reaches directly, with how.
fn owner_candidates(s: &Snapshot, timeout: u32, callback: u32) -> Vec<(u32, OwnerLink)> {
    let g = &s.graph;
    let t = &s.types;
    let mut out = Vec::new();
    let function = function_of(s, callback);
    if let Some(ctx) = target_named(s, function, b"context") {
        for e in g.edges(ctx) {
            if g.edge_type(e) == t.e_context {
                out.push((g.edge_target(e), OwnerLink::Variable(s.edge_name(e))));
            }
        }
    }
    for name in [&b"bound_this"[..], b"bound_arguments"] {
        if let Some(x) = target_named(s, callback, name) {
            out.push((x, OwnerLink::Argument));
            if g.node_type(x) == t.array || g.node_type(x) == t.hidden {
                for e in g.edges(x) {
                    out.push((g.edge_target(e), OwnerLink::Argument));
                }
            }
        }
    }
    if let Some(args) = target_named(s, timeout, b"_timerArgs") {
        for e in g.edges(args) {
            if g.edge_type(e) == t.e_element {
                out.push((g.edge_target(e), OwnerLink::Argument));
            }
        }
    }
    // The async context: Node 20-22 store each AsyncLocalStorage's store on
    // the resource, Node 24+ keep a frame (a Map of storage → store).
    for e in g.edges(timeout) {
        if g.edge_type(e) != t.e_property {
            continue;
        }
        let name = g.strings.wtf8(g.edge_name[e]);
        if name.starts_with(b"<symbol kResourceStore") {
            out.push((g.edge_target(e), OwnerLink::AsyncStore));
        } else if name.starts_with(b"<symbol kAsyncContextFrame")
            || name.starts_with(b"<symbol async_context_frame")
        {
            let frame = g.edge_target(e);
            if let Some(table) = target_named(s, frame, b"table") {
                for x in g.edges(table) {
                    let v = g.edge_target(x);
                    if raw_name(s, v) != b"AsyncLocalStorage" {
                        out.push((v, OwnerLink::AsyncStore));
                    }
                }
            }
        }
    }
    out
}

/// Timeouts of one snapshot, with their callbacks and owners.
pub fn timers(s: &Snapshot) -> Vec<Timer> {
    let g = &s.graph;
    let t = &s.types;
    let mut out = Vec::new();
    let mut is_nodes: Option<bool> = None;
    for o in 0..s.node_count() as u32 {
        if g.node_type(o) != t.object || raw_name(s, o) != b"Timeout" || !reachable(s, o) {
            continue;
        }
        // Every Timeout shares one constructor: check it is Node's once.
        if !*is_nodes.get_or_insert_with(|| class_is_node_internal(s, o)) {
            return out;
        }
        // Under leakwatch's timers.install(), `_onTimeout` of a listed timer
        // is leakwatch's own function and the caller's callback is kept on
        // the timer under this symbol (lib/timers.js).
        let Some(callback) = target_named(s, o, b"<symbol leakwatch.timerCallback>")
            .or_else(|| target_named(s, o, b"_onTimeout"))
        else {
            continue;
        };
        if is_oddball(s, callback) || g.node_type(callback) != t.closure {
            continue;
        }
        let Some(function_key) =
            shared_info(s, function_of(s, callback)).map(|x| g.node_id[x as usize])
        else {
            continue;
        };
        let repeat = match target_named(s, o, b"_repeat") {
            Some(r) => oddball(s, r).is_none_or(|k| k != "null"),
            // A small integer (the interval) has no edge.
            None => true,
        };
        let owner = owner_candidates(s, o, callback)
            .into_iter()
            .filter(|&(x, _)| {
                (g.node_type(x) == t.object || g.node_type(x) == t.closure)
                    && is_user_object(s, x)
                    && x != callback
                    && (dominated_by(s, x, o) || dominated_by(s, x, callback))
            })
            .max_by_key(|&(x, _)| (s.retained[x as usize], std::cmp::Reverse(x)));
        out.push(Timer {
            timeout: o,
            callback,
            function_key,
            repeat,
            owner,
        });
    }
    out
}

/// Timers of the last snapshot that call one function, with what they keep.
#[derive(Debug)]
pub struct TimerGroup {
    pub function_key: u32,
    pub repeat: bool,
    pub example: Timer,
    /// Per snapshot: pending timers, and distinct owners.
    pub timers: Vec<u64>,
    pub owners: Vec<u64>,
    /// Owners of the last snapshot by birth interval, and their class.
    pub owners_born: Vec<u64>,
    pub timers_born: Vec<u64>,
    pub owner_classes: HashMap<u32, u64>,
    pub owner_links: HashMap<OwnerLink, u64>,
    /// Bytes the timers keep alive in the last snapshot (owners' retained).
    pub owner_bytes: u64,
    pub owner_sample: Vec<u32>,
}

pub fn timer_groups(snaps: &[&Snapshot], born: &[Born]) -> Vec<TimerGroup> {
    let last = snaps[snaps.len() - 1];
    let n = snaps.len();
    let per_snapshot: Vec<Vec<Timer>> = snaps.iter().map(|s| timers(s)).collect();
    let mut groups: Vec<TimerGroup> = Vec::new();
    let mut index: HashMap<(u32, bool), usize> = HashMap::new();
    for timer in &per_snapshot[n - 1] {
        let key = (timer.function_key, timer.repeat);
        let gi = *index.entry(key).or_insert_with(|| {
            groups.push(TimerGroup {
                function_key: key.0,
                repeat: key.1,
                example: timer.clone(),
                timers: vec![0; n],
                owners: vec![0; n],
                owners_born: vec![0; n],
                timers_born: vec![0; n],
                owner_classes: HashMap::new(),
                owner_links: HashMap::new(),
                owner_bytes: 0,
                owner_sample: Vec::new(),
            });
            groups.len() - 1
        });
        let grp = &mut groups[gi];
        grp.timers_born[born[timer.timeout as usize] as usize] += 1;
        if let Some((owner, link)) = &timer.owner {
            grp.owners_born[born[*owner as usize] as usize] += 1;
            *grp.owner_classes
                .entry(last.classes.node_class[*owner as usize])
                .or_insert(0) += 1;
            *grp.owner_links.entry(link.clone()).or_insert(0) += 1;
            grp.owner_bytes = grp
                .owner_bytes
                .saturating_add(last.retained[*owner as usize]);
            if grp.owner_sample.len() < 64 {
                grp.owner_sample.push(*owner);
            }
            if grp.example.owner.is_none() {
                grp.example = timer.clone();
            }
        }
    }
    for (k, list) in per_snapshot.iter().enumerate() {
        let mut owners: Vec<HashSet<u32>> = vec![HashSet::new(); groups.len()];
        for timer in list {
            if let Some(&gi) = index.get(&(timer.function_key, timer.repeat)) {
                groups[gi].timers[k] += 1;
                if let Some((owner, _)) = timer.owner {
                    owners[gi].insert(snaps[k].graph.node_id[owner as usize]);
                }
            }
        }
        for (gi, set) in owners.into_iter().enumerate() {
            groups[gi].owners[k] = set.len() as u64;
        }
    }
    groups
}

/// The property through which an owner holds its current timer (`timer`,
/// `_pollHandle`), for advice that names it.
pub fn timer_property(s: &Snapshot, owner: u32) -> Option<String> {
    let g = &s.graph;
    g.edges(owner).find_map(|e| {
        let x = g.edge_target(e);
        (g.edge_type(e) == s.types.e_property && raw_name(s, x) == b"Timeout")
            .then(|| s.edge_name(e))
    })
}
