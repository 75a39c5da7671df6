//! Leak finding across three snapshots of one process (s1, s2, s3 in time
//! order). An object allocated between s1 and s2 that is still alive in s3
//! survived a whole round of work; when such objects pile up under one
//! long-lived holder that also gained objects after s2, the holder is a leak
//! suspect. Suspects are grouped by holder and edge, clustered by retainer
//! path shape, ranked by growth, and explained in one sentence with
//! Node-aware names (arrays, maps, listeners, timers, closures, WeakRefs).

use super::phases::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use super::redact::Names;
use super::report::{NodeSummary, PathStep, View};
use super::snapshot::{Snapshot, DEFAULT_PATH_STEPS};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct LeakOptions {
    /// Objects that must survive from the first interval under one holder.
    pub min_count: u64,
    /// Suspects to return at most.
    pub max_suspects: usize,
    /// Show names under the redaction policy (`redact`): every name in a
    /// suspect, its sentence included, comes from the view's `Names`.
    pub redact: bool,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            min_count: 8,
            max_suspects: 10,
            redact: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakKind {
    Collection,
    Listeners,
    Timers,
    Closure,
    WeakRefs,
    Objects,
}

impl LeakKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::Collection => "collection",
            LeakKind::Listeners => "listeners",
            LeakKind::Timers => "timers",
            LeakKind::Closure => "closure",
            LeakKind::WeakRefs => "weakrefs",
            LeakKind::Objects => "objects",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Suspect {
    pub kind: LeakKind,
    pub explanation: String,
    /// The long-lived object the new objects accumulate under (in s3).
    pub holder: NodeSummary,
    /// The variable or property that holds the holder (`requestLog`, `cache`…).
    pub holder_name: Option<String>,
    /// Path from a global to the holder, then the edge into the leaked objects.
    pub retainer_path: Vec<PathStep>,
    /// Most common class among the leaked objects.
    pub leaked_class: String,
    /// Holder's retained size in s1, s2, s3 (None where it did not exist).
    pub retained_sizes: [Option<u64>; 3],
    /// Collection size (elements, entries, listeners) in s1, s2, s3 where it applies.
    pub element_counts: [Option<u64>; 3],
    /// Objects allocated between s1 and s2 still alive in s3, and their bytes.
    pub survivors: u64,
    pub survivor_bytes: u64,
    /// Objects allocated after s2, alive in s3, and their bytes.
    pub new_objects: u64,
    pub new_bytes: u64,
    /// "high", "medium" or "low".
    pub confidence: &'static str,
    /// Bytes by which the suspect grew; the ranking key.
    pub growth: u64,
    /// Other holders with the same path shape folded into this suspect.
    pub similar_holders: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Age {
    Old,
    Survivor,
    Fresh,
}

const NONE: u32 = u32::MAX;

fn sorted_ids(s: &Snapshot) -> Vec<u32> {
    let mut ids = s.graph.node_id.clone();
    ids.sort_unstable();
    ids
}

/// For each node, the retainer DevTools' Retainers view would unfold first:
/// the shown retainer closest to a global (same rule as `retainer_path`).
fn parents(s: &Snapshot) -> Vec<u32> {
    let g = &s.graph;
    let mut parent = vec![NONE; g.node_count()];
    for (o, slot) in parent.iter_mut().enumerate() {
        let here = s.distance[o];
        if here == NO_DISTANCE {
            continue;
        }
        let mut best = NONE;
        let mut best_d = here;
        for &raw in s.retainers().of(o as u32) {
            let src = raw & !super::phases::ESSENTIAL_BIT;
            let d = s.distance[src as usize];
            if src == g.root || d == NO_DISTANCE || d >= best_d {
                continue;
            }
            let shown = g.edges(src).any(|e| {
                g.edge_target(e) == o as u32 && {
                    let ty = g.edge_type(e);
                    ty != s.types.e_weak && ty != s.types.e_invisible
                }
            });
            if shown {
                best = src;
                best_d = d;
            }
        }
        *slot = best;
    }
    parent
}

/// The first shown edge from `src` to `dst`.
fn edge_between(s: &Snapshot, src: u32, dst: u32) -> Option<usize> {
    let g = &s.graph;
    g.edges(src).find(|&e| {
        let ty = g.edge_type(e);
        g.edge_target(e) == dst && ty != s.types.e_weak && ty != s.types.e_invisible
    })
}

/// Elements of an array, entries of a Map/Set table, properties of a plain
/// object, listeners of an event: what a growing collection grows in.
fn element_count(s: &Snapshot, o: u32) -> u64 {
    let g = &s.graph;
    let t = &s.types;
    let class = s.class_of(o).name.as_str();
    match class {
        "Map" | "Set" | "WeakMap" | "WeakSet" => {
            let per_entry = if class.ends_with("Map") { 2 } else { 1 };
            g.edges(o)
                .find(|&e| {
                    g.edge_type(e) == t.e_internal && g.strings.wtf8(g.edge_name[e]) == b"table"
                })
                .map(|e| {
                    let table = g.edge_target(e);
                    let numbered = g
                        .edges(table)
                        .filter(|&x| {
                            let ty = g.edge_type(x);
                            (ty == t.e_internal
                                && g.strings
                                    .wtf8(g.edge_name[x])
                                    .iter()
                                    .all(u8::is_ascii_digit))
                                || ty == t.e_element
                                || ty == t.e_weak
                        })
                        .count() as u64;
                    numbered / per_entry
                })
                .unwrap_or(0)
        }
        _ => {
            if g.node_type(o) == t.closure {
                return 1;
            }
            g.edges(o)
                .filter(|&e| {
                    let ty = g.edge_type(e);
                    ty == t.e_element
                        || (ty == t.e_property && g.strings.wtf8(g.edge_name[e]) != b"__proto__")
                })
                .count() as u64
        }
    }
}

struct Group {
    holder: u32,
    edge_type: u8,
    /// Edge name, or None when the holder's names vary per entry (indices, keys).
    edge_name: Option<u32>,
    entry: u32,
    survivors: u64,
    survivor_bytes: u64,
    fresh: u64,
    fresh_bytes: u64,
    classes: HashMap<u32, u64>,
    string_classes: HashMap<u32, u64>,
    timers: u64,
    timers_fresh: u64,
    closures: Vec<u32>,
}

pub fn find_leaks(snaps: [&Snapshot; 3], options: &LeakOptions) -> Vec<Suspect> {
    let [s1, s2, s3] = snaps;
    let ids1 = sorted_ids(s1);
    let ids2 = sorted_ids(s2);
    let g = &s3.graph;
    let t = &s3.types;
    let n = g.node_count();
    let age = |o: u32| -> Age {
        let id = g.node_id[o as usize];
        if ids1.binary_search(&id).is_ok() {
            Age::Old
        } else if ids2.binary_search(&id).is_ok() {
            Age::Survivor
        } else {
            Age::Fresh
        }
    };
    let ages: Vec<Age> = (0..n as u32).map(age).collect();
    let parent = parents(s3);

    // Holder (first old ancestor) and entry (last young node below it) per
    // young node, memoised along each walk so chains are walked once.
    let mut holder_of = vec![NONE; n];
    let mut entry_of = vec![NONE; n];
    let mut chain: Vec<u32> = Vec::new();
    for o in 0..n as u32 {
        if ages[o as usize] == Age::Old || holder_of[o as usize] != NONE {
            continue;
        }
        chain.clear();
        let mut x = o;
        let (holder, mut entry) = loop {
            if ages[x as usize] == Age::Old {
                break (x, *chain.last().unwrap_or(&NONE));
            }
            if holder_of[x as usize] != NONE {
                break (holder_of[x as usize], entry_of[x as usize]);
            }
            chain.push(x);
            let p = parent[x as usize];
            if p == NONE || chain.len() > n {
                break (NONE, NONE);
            }
            x = p;
        };
        if holder == NONE {
            entry = NONE;
        }
        for &c in &chain {
            holder_of[c as usize] = holder;
            entry_of[c as usize] = entry;
        }
    }

    let user_visible = |o: u32| {
        let ty = g.node_type(o);
        ty != t.hidden && ty != t.code && ty != t.synthetic && ty != t.array && ty != t.number
    };
    // Entry edges whose name differs per element (indices, keys) group by type.
    let groups_key = |holder: u32, entry: u32| -> Option<(u32, u8, Option<u32>)> {
        let e = edge_between(s3, holder, entry)?;
        let ty = g.edge_type(e);
        let varying = ty == t.e_element
            || ty == t.e_hidden
            || (ty == t.e_internal
                && g.strings
                    .wtf8(g.edge_name[e])
                    .iter()
                    .all(u8::is_ascii_digit))
            || (ty == t.e_property && s3.class_of(holder).name.starts_with(['{', 'O']));
        Some((
            holder,
            ty,
            if varying { None } else { Some(g.edge_name[e]) },
        ))
    };

    let mut groups: Vec<Group> = Vec::new();
    let mut group_index: HashMap<(u32, u8, Option<u32>), usize> = HashMap::new();
    for o in 0..n as u32 {
        let a = ages[o as usize];
        if a == Age::Old || g.self_size.get(o) == 0 {
            continue;
        }
        let d = s3.distance[o as usize];
        if d == NO_DISTANCE || d >= BASE_SYSTEM_DISTANCE {
            continue;
        }
        let (holder, entry) = (holder_of[o as usize], entry_of[o as usize]);
        if holder == NONE || entry == NONE || holder == g.root {
            continue;
        }
        let hd = s3.distance[holder as usize];
        if hd == NO_DISTANCE || hd >= BASE_SYSTEM_DISTANCE || g.node_type(holder) == t.synthetic {
            continue;
        }
        let Some(key) = groups_key(holder, entry) else {
            continue;
        };
        let gi = *group_index.entry(key).or_insert_with(|| {
            groups.push(Group {
                holder,
                edge_type: key.1,
                edge_name: key.2,
                entry,
                survivors: 0,
                survivor_bytes: 0,
                fresh: 0,
                fresh_bytes: 0,
                classes: HashMap::new(),
                string_classes: HashMap::new(),
                timers: 0,
                timers_fresh: 0,
                closures: Vec::new(),
            });
            groups.len() - 1
        });
        let grp = &mut groups[gi];
        let size = g.self_size.get(o);
        match a {
            Age::Survivor => {
                grp.survivors += 1;
                grp.survivor_bytes = grp.survivor_bytes.saturating_add(size);
                if user_visible(o) {
                    let ty = g.node_type(o);
                    // Strings ride along with almost every leak (keys, URLs);
                    // the objects that carry them name the leak better.
                    let stringy = ty == t.string || ty == t.cons_string || ty == t.sliced_string;
                    let counts = if stringy {
                        &mut grp.string_classes
                    } else {
                        &mut grp.classes
                    };
                    *counts.entry(s3.classes.node_class[o as usize]).or_insert(0) += 1;
                }
                let ty = g.node_type(o);
                if ty == t.closure && grp.closures.len() < 64 {
                    grp.closures.push(o);
                }
                if s3.class_of(o).name == "Timeout" {
                    grp.timers += 1;
                }
            }
            Age::Fresh => {
                grp.fresh += 1;
                grp.fresh_bytes = grp.fresh_bytes.saturating_add(size);
            }
            Age::Old => {}
        }
    }

    // One suspect per holder: a linked structure (the timer list's
    // _idleNext/_idlePrev chain) reaches its new members through several edges.
    let mut by_holder: HashMap<u32, usize> = HashMap::new();
    let mut holders: Vec<Group> = Vec::new();
    for grp in groups {
        match by_holder.get(&grp.holder) {
            Some(&i) => {
                let h = &mut holders[i];
                if grp.survivors > h.survivors {
                    h.entry = grp.entry;
                    h.edge_type = grp.edge_type;
                    h.edge_name = grp.edge_name;
                }
                h.survivors += grp.survivors;
                h.survivor_bytes = h.survivor_bytes.saturating_add(grp.survivor_bytes);
                h.fresh += grp.fresh;
                h.fresh_bytes = h.fresh_bytes.saturating_add(grp.fresh_bytes);
                h.timers += grp.timers;
                for (c, k) in grp.classes {
                    *h.classes.entry(c).or_insert(0) += k;
                }
                for (c, k) in grp.string_classes {
                    *h.string_classes.entry(c).or_insert(0) += k;
                }
                let room = 64usize.saturating_sub(h.closures.len());
                h.closures.extend(grp.closures.into_iter().take(room));
            }
            None => {
                by_holder.insert(grp.holder, holders.len());
                holders.push(grp);
            }
        }
    }

    // Timeouts sit in one linked list per duration, which old Timeouts also
    // reach; count them process-wide rather than per holder.
    let (mut timer_survivors, mut timer_fresh) = (0u64, 0u64);
    for o in 0..n as u32 {
        if ages[o as usize] != Age::Old && s3.class_of(o).name == "Timeout" {
            match ages[o as usize] {
                Age::Survivor => timer_survivors += 1,
                _ => timer_fresh += 1,
            }
        }
    }

    let view = View::new(s3, Names::new(options.redact, &[s1, s2, s3]));
    let mut suspects: Vec<(String, Suspect)> = Vec::new();
    for grp in &mut holders {
        if grp.timers > 0 {
            grp.timers = timer_survivors;
            grp.timers_fresh = timer_fresh;
        }
    }
    for grp in &holders {
        if grp.survivors < options.min_count || grp.fresh == 0 {
            continue;
        }
        let visible: u64 =
            grp.classes.values().sum::<u64>() + grp.string_classes.values().sum::<u64>();
        if visible < options.min_count {
            continue;
        }
        suspects.push(describe(snaps, grp, &parent, &view));
    }

    // Fold holders reached by the same path shape (e.g. one growing array per
    // instance of a class) into one suspect.
    let mut merged: Vec<Suspect> = Vec::new();
    let mut by_shape: HashMap<String, usize> = HashMap::new();
    for (shape, s) in suspects {
        match by_shape.get(&shape) {
            Some(&i) => {
                let m = &mut merged[i];
                m.similar_holders += 1;
                m.survivors += s.survivors;
                m.survivor_bytes = m.survivor_bytes.saturating_add(s.survivor_bytes);
                m.new_objects += s.new_objects;
                m.new_bytes = m.new_bytes.saturating_add(s.new_bytes);
                // Holders of one shape may nest, so their growths can
                // overlap: unlike the other sums, this one is not bounded
                // by the snapshot's total.
                m.growth = m.growth.saturating_add(s.growth);
            }
            None => {
                by_shape.insert(shape, merged.len());
                merged.push(s);
            }
        }
    }
    for m in &mut merged {
        if m.similar_holders > 0 {
            m.explanation.push_str(&format!(
                " The same pattern holds for {} more {} objects.",
                m.similar_holders, m.holder.class_name
            ));
        }
    }
    merged.sort_by(|a, b| b.growth.cmp(&a.growth).then(b.survivors.cmp(&a.survivors)));
    merged.truncate(options.max_suspects);
    merged
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The variable or property through which `o` is reached on its path.
fn incoming_name(s: &Snapshot, parent: &[u32], o: u32) -> Option<String> {
    let p = parent[o as usize];
    if p == NONE {
        return None;
    }
    let e = edge_between(s, p, o)?;
    let ty = s.graph.edge_type(e);
    let t = &s.types;
    if ty == t.e_hidden {
        return block_scope_name(s, p, s.graph.edge_name[e]);
    }
    (ty == t.e_property || ty == t.e_context || ty == t.e_shortcut || ty == t.e_internal)
        .then(|| s.edge_name(e))
}

/// A block-scoped variable's name (`{ const sessions = [] }`; under Vitest
/// every module's top level, which its runner wraps in a block). V8 names no
/// slot of a block context, it only numbers the ones holding heap objects as
/// hidden edges, while the context's ScopeInfo lists every slot's name in
/// order. The numbers match the names one to one only when no slot holds a
/// small integer (those take no number), that is when the highest number is
/// the last name; otherwise no name is better than a wrong one.
fn block_scope_name(s: &Snapshot, ctx: u32, slot: u32) -> Option<String> {
    let g = &s.graph;
    let t = &s.types;
    if g.strings.wtf8(g.node_name[ctx as usize]) != b"system / Context" {
        return None;
    }
    let (mut last, mut scope_info) = (0u32, None);
    for e in g.edges(ctx) {
        let ty = g.edge_type(e);
        if ty == t.e_context {
            return None; // a declaration context: V8 named its variables
        } else if ty == t.e_hidden {
            last = last.max(g.edge_name[e]);
        } else if ty == t.e_internal && g.strings.wtf8(g.edge_name[e]) == b"scope_info" {
            scope_info = Some(g.edge_target(e));
        }
    }
    let names: Vec<u32> = g
        .edges(scope_info?)
        .filter(|&e| g.edge_type(e) == t.e_hidden)
        .enumerate()
        .take_while(|&(k, e)| {
            g.edge_name[e] as usize == k && g.node_type(g.edge_target(e)) == t.string
        })
        .map(|(_, e)| g.edge_target(e))
        .collect();
    if names.len() != last as usize + 1 {
        return None;
    }
    names.get(slot as usize).map(|&n| s.node_name(n))
}

/// The holder's name in backticks for a sentence, as the view shows it.
fn shown_holder_name(view: &View, parent: &[u32], raw: Option<&String>, named: u32) -> String {
    raw.and_then(|_| shown_incoming_name(view, parent, named))
        .map(|n| format!("`{n}`"))
        .unwrap_or_default()
}

/// [`incoming_name`] as the view shows it.
fn shown_incoming_name(view: &View, parent: &[u32], o: u32) -> Option<String> {
    let s = view.snapshot;
    let p = parent[o as usize];
    if p == NONE {
        return None;
    }
    let e = edge_between(s, p, o)?;
    let ty = s.graph.edge_type(e);
    let t = &s.types;
    if ty == t.e_hidden {
        // Variable names, like a context's, are code: kept under redaction.
        return block_scope_name(s, p, s.graph.edge_name[e]);
    }
    (ty == t.e_property || ty == t.e_context || ty == t.e_shortcut || ty == t.e_internal)
        .then(|| s.shown_edge_name(e, Some(p), &view.names))
}

fn describe(snaps: [&Snapshot; 3], grp: &Group, parent: &[u32], view: &View) -> (String, Suspect) {
    let s3 = snaps[2];
    let g = &s3.graph;
    let t = &s3.types;
    let holder = grp.holder;
    let holder_id = g.node_id[holder as usize] as u64;
    let in_each = |f: &dyn Fn(&Snapshot, u32) -> u64| -> [Option<u64>; 3] {
        let mut out = [None; 3];
        for (k, s) in snaps.iter().enumerate() {
            out[k] = s.ordinal_of_id(holder_id).map(|o| f(s, o));
        }
        out
    };
    let retained_sizes = in_each(&|s, o| s.retained[o as usize]);
    let element_counts = in_each(&|s, o| element_count(s, o));
    let holder_class = s3.class_of(holder).name.clone();
    let preferred = if grp.classes.is_empty() {
        &grp.string_classes
    } else {
        &grp.classes
    };
    let leaked_class = preferred
        .iter()
        .max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c)))
        .map(|(c, _)| s3.classes.info(*c).name.clone())
        .unwrap_or_default();
    let entry_edge = edge_between(s3, holder, grp.entry);
    let mut holder_name = incoming_name(s3, parent, holder);
    // The names as shown (redacted on request); the raw ones above decide.
    let names = &view.names;
    let shown_class = names.class_name(s3, &holder_class);
    let shown_leaked = names.class_name(s3, &leaked_class);
    let shown_edge = entry_edge
        .map(|e| s3.shown_edge_name(e, Some(holder), names))
        .unwrap_or_default();
    // The node whose incoming edge `holder_name` names.
    let mut named = holder;

    // Retainer path to the holder, then one step into the leaked objects.
    let mut path: Vec<PathStep> = view.path(holder, DEFAULT_PATH_STEPS);
    if let Some(e) = entry_edge {
        path.push(view.step(grp.entry, Some(e), 0));
    }

    let growth_count = |c: [Option<u64>; 3]| -> Option<i64> { Some(c[2]? as i64 - c[1]? as i64) };
    let growth_bytes = match (retained_sizes[1], retained_sizes[2]) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => grp.fresh_bytes,
    };
    let monotonic = matches!(element_counts, [Some(a), Some(b), Some(c)] if a < b && b < c)
        || matches!(retained_sizes, [Some(a), Some(b), Some(c)] if a < b && b < c);
    let confidence = if monotonic && grp.fresh > 0 {
        "high"
    } else if grp.fresh > 0 {
        "medium"
    } else {
        "low"
    };

    // Which Node pattern this is, and the sentence that names it.
    let parent_of_holder = parent[holder as usize];
    // The holder is an emitter's `_events` object, or a listener array in it.
    let reached_via_events =
        |o: u32| o != NONE && incoming_name(s3, parent, o).as_deref() == Some("_events");
    let under_events = reached_via_events(holder) || reached_via_events(parent_of_holder);
    let kind;
    let explanation;
    let delta = growth_count(element_counts);
    let survivors_text = format!(
        "{} objects allocated between snapshots 1 and 2 are still alive ({}), and {} more ({}) were added after snapshot 2",
        thousands(grp.survivors),
        bytes(grp.survivor_bytes),
        thousands(grp.fresh),
        bytes(grp.fresh_bytes)
    );
    if grp.timers * 2 >= grp.classes.values().sum::<u64>().max(1) / 4 && grp.timers >= 2 {
        kind = LeakKind::Timers;
        let owners = timer_owners(s3, &grp.closures, names);
        explanation = format!(
            "{} Timeout objects (intervals or timers) created between snapshots 1 and 2 are still scheduled, and {} more were created after snapshot 2; their callbacks keep {} alive. Clear them (clearInterval) when their owner is done. {}.",
            thousands(grp.timers),
            thousands(grp.timers_fresh),
            if owners.is_empty() { "their closures".to_string() } else { owners },
            survivors_text
        );
    } else if under_events {
        kind = LeakKind::Listeners;
        let event = if (grp.edge_name.is_some() || holder_name.as_deref() != Some("_events"))
            && holder_name.as_deref().is_some_and(|n| n != "_events")
        {
            shown_incoming_name(view, parent, holder).unwrap_or_default()
        } else {
            shown_edge.clone()
        };
        let emitter = if parent_of_holder != NONE {
            let emitter = if holder_name.as_deref() == Some("_events") {
                parent_of_holder
            } else {
                parent[parent_of_holder as usize]
            };
            if emitter != NONE {
                if let Some(name) = incoming_name(s3, parent, emitter) {
                    holder_name = Some(name);
                    named = emitter;
                }
                format!(
                    "{} `{}`",
                    names.class_name(s3, &s3.class_of(emitter).name),
                    holder_name
                        .as_ref()
                        .and_then(|_| shown_incoming_name(view, parent, named))
                        .unwrap_or_default()
                )
            } else {
                "an EventEmitter".into()
            }
        } else {
            "an EventEmitter".into()
        };
        explanation = format!(
            "{emitter} keeps gaining '{event}' listeners: {}{}. Remove listeners when done, or use once().",
            match element_counts {
                [_, Some(b), Some(c)] if c > b => format!("{} → {} between snapshots 2 and 3; ", thousands(b), thousands(c)),
                _ => String::new(),
            },
            survivors_text
        );
    } else if let Some(captured) = largest_context_variable(s3, &grp.closures, names).filter(|c| {
        c.1.saturating_mul(grp.closures.len() as u64) * 2 >= grp.survivor_bytes.min(u64::MAX / 2)
    }) {
        // Most of what survived hangs off the closures' captured scopes.
        kind = LeakKind::Closure;
        let captured = Some(captured);
        explanation = format!(
            "{} {} keeps gaining closures{}{}. {}.",
            shown_class,
            shown_holder_name(view, parent, holder_name.as_ref(), named),
            match element_counts {
                [Some(a), _, Some(c)] if c > a => format!(
                    " ({} → {} from snapshot 1 to 3)",
                    thousands(a),
                    thousands(c)
                ),
                _ => String::new(),
            },
            captured
                .map(|(name, size)| format!(
                    ", each closure's scope keeps `{name}` ({}) alive",
                    bytes(size)
                ))
                .unwrap_or_default(),
            survivors_text
        );
    } else if leaked_class == "WeakRef" {
        kind = LeakKind::WeakRefs;
        explanation = format!(
            "{} {} keeps WeakRef entries whose keys are never deleted: {}; the WeakRefs free their targets but the {} itself grows. Delete the key when deref() returns undefined, or use a FinalizationRegistry.",
            shown_class,
            shown_holder_name(view, parent, holder_name.as_ref(), named),
            match element_counts {
                [Some(a), _, Some(c)] => format!("{} → {} entries from snapshot 1 to 3", thousands(a), thousands(c)),
                _ => format!("{} new entries", thousands(grp.survivors)),
            },
            shown_class
        );
    } else if matches!(holder_class.as_str(), "Array" | "Map" | "Set" | "Object")
        || holder_class.starts_with('{')
    {
        kind = LeakKind::Collection;
        let unit = if holder_class == "Array" {
            "elements"
        } else if holder_class.starts_with(['M', 'S']) {
            "entries"
        } else {
            "properties"
        };
        explanation = match (delta, retained_sizes) {
            (Some(d), [_, Some(b), Some(c)]) if d > 0 => format!(
                "{shown_class} {} grew by {} {unit} (+{}) between snapshots 2 and 3, mostly {shown_leaked}. {}.",
                shown_holder_name(view, parent, holder_name.as_ref(), named),
                thousands(d as u64),
                bytes(c.saturating_sub(b)),
                survivors_text
            ),
            _ => format!(
                "{shown_class} {} keeps accumulating {shown_leaked} objects. {}.",
                shown_holder_name(view, parent, holder_name.as_ref(), named),
                survivors_text
            ),
        };
    } else {
        kind = LeakKind::Objects;
        explanation = format!(
            "{shown_class} {} keeps accumulating {shown_leaked} objects through `{shown_edge}`. {}.",
            shown_holder_name(view, parent, holder_name.as_ref(), named),
            survivors_text
        );
    }

    // Path shape: labels with element indices blanked, and the entry pattern.
    let shape = {
        let mut parts: Vec<String> = s3
            .retainer_path(holder)
            .iter()
            .filter_map(|&(_, e)| {
                e.map(|e| {
                    if g.edge_type(e) == t.e_element {
                        "[]".to_string()
                    } else {
                        s3.edge_label(e)
                    }
                })
            })
            .collect();
        parts.push(holder_class.clone());
        parts.push(format!(
            "{}:{:?}",
            grp.edge_type,
            grp.edge_name.map(|n| g.strings.get(n).into_owned())
        ));
        parts.join("/")
    };

    let holder_summary = view.node(holder);
    let shown_name = holder_name
        .as_ref()
        .and_then(|_| shown_incoming_name(view, parent, named));
    (
        shape,
        Suspect {
            kind,
            explanation: explanation.replace("  ", " ").replace(" .", "."),
            holder: holder_summary,
            holder_name: shown_name,
            retainer_path: path,
            leaked_class: shown_leaked,
            retained_sizes,
            element_counts,
            survivors: grp.survivors,
            survivor_bytes: grp.survivor_bytes,
            new_objects: grp.fresh,
            new_bytes: grp.fresh_bytes,
            confidence,
            growth: growth_bytes.max(grp.survivor_bytes.saturating_add(grp.fresh_bytes)),
            similar_holders: 0,
        },
    )
}

/// The scope (V8 Context) a closure captured.
fn closure_context(s: &Snapshot, closure: u32) -> Option<u32> {
    let g = &s.graph;
    g.edges(closure)
        .find(|&e| {
            g.edge_type(e) == s.types.e_internal && g.strings.wtf8(g.edge_name[e]) == b"context"
        })
        .map(|e| g.edge_target(e))
}

/// The context variable with the largest retained size among the closures'
/// scopes: what the seed's "closure retains largeData" leak keeps alive.
fn largest_context_variable(
    s: &Snapshot,
    closures: &[u32],
    names: &Names,
) -> Option<(String, u64)> {
    let g = &s.graph;
    let t = &s.types;
    let mut best: Option<(String, u64)> = None;
    for &c in closures {
        let Some(ctx) = closure_context(s, c) else {
            continue;
        };
        for e in g.edges(ctx) {
            if g.edge_type(e) != t.e_context {
                continue;
            }
            let size = s.retained[g.edge_target(e) as usize];
            if best.as_ref().is_none_or(|b| size > b.1) {
                best = Some((s.shown_edge_name(e, Some(ctx), names), size));
            }
        }
    }
    best
}

/// Classes of the objects timer callbacks close over (`this` of the method
/// that started the interval, typically the owner that forgot to stop it).
fn timer_owners(s: &Snapshot, closures: &[u32], names: &Names) -> String {
    let g = &s.graph;
    let t = &s.types;
    let mut counts: HashMap<String, u64> = HashMap::new();
    for &c in closures {
        let Some(ctx) = closure_context(s, c) else {
            continue;
        };
        for e in g.edges(ctx) {
            if g.edge_type(e) == t.e_context {
                let target = g.edge_target(e);
                if g.node_type(target) == t.object {
                    *counts
                        .entry(names.class_name(s, &s.class_of(target).name))
                        .or_insert(0) += 1;
                }
            }
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter()
        .take(2)
        .map(|(name, _)| format!("{name} instances"))
        .collect::<Vec<_>>()
        .join(" and ")
}
