//! Leak finding across N ≥ 3 snapshots of one process, oldest first, with
//! the same amount of work between each two.
//!
//! Objects born after the first snapshot are attributed to the first old
//! object on their retainer path (the *holder*, see [`holders`]). A holder is
//! a suspect only if its own size (elements, entries, listeners, or else its
//! retained bytes) rose at every step, if objects from the first interval
//! are still there, and if what was added mostly stayed: replacing entries
//! one for one is not growth. Pending timers are followed by what their
//! callbacks keep alive ([`timers`]); Node's own queues are explained, not
//! reported ([`node`]). Holders of the same kind and path shape (one per
//! socket, one per instance) fold into one suspect. Every name in the text
//! goes through one [`text::NamePolicy`] call per kind, and every node, path
//! and class shown comes from one [`View`], so `redact` holds for all of it.

mod describe;
mod holders;
mod lineage;
mod node;
mod sites;
#[cfg(test)]
mod tests;
pub mod text;
mod timers;

use super::redact::Names;
use super::report::{NodeSummary, PathStep, View};
use super::snapshot::Snapshot;
use super::SnapshotError;
use describe::is_collection_class;
use holders::{dominant_member_class, own_size, Attribution, Group};
use lineage::find_in;
use node::{is_oddball, node_structure, raw_name, target_named, NodeStructure, NONE};
use std::collections::HashMap;
use text::{NameKind, Text};

pub use lineage::check_sequence;
pub use sites::{AllocationSite, Frame};
pub use text::{NamePolicy, Part, Shown, Verbatim};

#[derive(Debug, Clone)]
pub struct LeakOptions {
    /// Objects from the first interval that must still be under one holder.
    pub min_count: u64,
    /// Suspects to return at most.
    pub max_suspects: usize,
    /// Show names under the redaction policy: nodes, paths and classes come
    /// redacted, and names in the text are typed for [`Shown`] to render.
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

/// Snapshots a sequence may have (birth intervals are counted in a byte).
pub const MAX_SNAPSHOTS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeakKind {
    Collection,
    Listeners,
    Timers,
    Closure,
    WeakRefs,
    Modules,
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
            LeakKind::Modules => "modules",
            LeakKind::Objects => "objects",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

/// A name taken from the heap, with its kind.
pub type Name = (NameKind, String);

#[derive(Debug, Clone)]
pub struct Suspect {
    pub kind: LeakKind,
    /// What accumulates, where, and how much.
    pub text: Text,
    /// What to change.
    pub advice: Text,
    /// Why this is growth and not churn.
    pub evidence: Text,
    pub confidence: Confidence,
    /// The object that keeps growing: a collection, an emitter, a timer's
    /// owner (for folded suspects, one example).
    pub holder: NodeSummary,
    pub holder_class: String,
    /// The variable or property that holds it.
    pub holder_name: Option<Name>,
    /// Property path from the nearest variable (`loadProfile.cache.__data__`).
    pub holder_path: Vec<Name>,
    /// From a global to the holder, then one step into what it accumulates.
    pub retainer_path: Vec<PathStep>,
    /// The same path with indices and linked-list hops generalised: what
    /// every folded holder's path looks like.
    pub path_shape: Vec<String>,
    /// Most common class among what accumulates, as the user wrote it.
    pub leaked_class: Text,
    /// The holder's own size (elements, entries, listeners, pending timers)
    /// and retained size in each snapshot; None where it was absent.
    pub counts: Vec<Option<u64>>,
    pub retained_sizes: Vec<Option<u64>>,
    /// Objects alive in the last snapshot by the interval they were born in
    /// (entry k: between snapshots k+1 and k+2), and their bytes.
    pub added: Vec<u64>,
    pub added_bytes: Vec<u64>,
    /// Backing stores outside the JS heap (ArrayBuffers, Buffers) among them.
    pub external_bytes: u64,
    pub external_stores: u64,
    /// Sliced strings among them, and the bytes of the parents they pin.
    pub sliced_strings: u64,
    pub sliced_parent_bytes: u64,
    /// Concatenated strings among them, and the bytes of the strings they join.
    pub concatenated_strings: u64,
    pub concatenated_part_bytes: u64,
    /// Bytes by which the suspect grew; the ranking key.
    pub growth: u64,
    /// Holders folded into this suspect (1 when alone).
    pub holders: u64,
    pub allocation_sites: Vec<AllocationSite>,
}

impl Suspect {
    /// Objects from the first interval still alive, and from the last one.
    pub fn survivors(&self) -> (u64, u64) {
        (self.added[0], self.added_bytes[0])
    }

    pub fn newest(&self) -> (u64, u64) {
        let k = self.added.len() - 1;
        (self.added[k], self.added_bytes[k])
    }
}

/// Growth in Node's own structures, explained rather than reported.
#[derive(Debug, Clone)]
pub struct Note {
    pub kind: &'static str,
    pub text: Text,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct SnapshotTotals {
    pub node_count: u64,
    pub total_size: u64,
    /// Whether objects carry allocation stacks.
    pub tracked: bool,
}

#[derive(Debug, Clone)]
pub struct LeakReport {
    pub suspects: Vec<Suspect>,
    pub notes: Vec<Note>,
    pub snapshots: Vec<SnapshotTotals>,
}

/// Longest `variable.prop.prop` path a holder is named by.
const MAX_HOLDER_PATH: usize = 8;

/// Share of what was added that must have stayed: below this, a holder
/// mostly replaces what it holds.
const KEPT_MIN: f64 = 0.25;
const KEPT_HIGH: f64 = 0.75;
/// Bytes alone must grow more surely, and each step by a real part of what
/// one interval adds.
const KEPT_BYTES_MIN: f64 = 0.5;
const STEP_BYTES_MIN: f64 = 0.25;
/// And by at least this much: smaller rises are V8's own housekeeping.
const STEP_BYTES_FLOOR: u64 = 1000;

pub fn find_leaks(snaps: &[&Snapshot], options: &LeakOptions) -> Result<LeakReport, SnapshotError> {
    if snaps.len() < 3 || snaps.len() > MAX_SNAPSHOTS {
        return Err(SnapshotError::InvalidArg(format!(
            "findLeaks needs 3 to {MAX_SNAPSHOTS} snapshots of one process, oldest first (got {})",
            snaps.len()
        )));
    }
    lineage::check_sequence(snaps)?;
    let born = lineage::birth_intervals(snaps);
    let last = snaps[snaps.len() - 1];
    let mut attribution = holders::attribute(last, &born);
    let late = holders::late_holders(last, &attribution, &born, options.min_count);
    let mut holder_born = born.clone();
    if !late.is_empty() {
        for &c in &late {
            holder_born[c as usize] = lineage::OLD;
        }
        attribution = holders::attribute(last, &holder_born);
    }
    let intervals = snaps.len() - 1;
    let ctx = Context {
        snaps,
        last,
        a: &attribution,
        late: &late,
        options,
        view: View::new(last, Names::new(options.redact, snaps)),
    };

    let mut candidates: Vec<Candidate> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    for grp in holders::groups(last, &attribution, &holder_born, intervals) {
        if grp.survivors() < options.min_count {
            continue;
        }
        match ctx.structure_around(grp.holder) {
            Some((NodeStructure::TickQueue, _)) => {
                if let Some(note) = ctx.tick_note(&grp) {
                    notes.push(note);
                }
                continue;
            }
            Some((NodeStructure::Timers | NodeStructure::FreeList, _)) => continue,
            _ => {}
        }
        if let Some(c) = ctx.collection_candidate(&grp) {
            candidates.push(c);
        }
    }
    for tg in timers::timer_groups(snaps, &born) {
        if let Some(c) = ctx.timer_candidate(&tg) {
            candidates.push(c);
        }
    }
    if let Some(note) = ctx.microtask_note() {
        notes.push(note);
    }

    let mut folded = ctx.fold_siblings(fold(candidates));
    folded.sort_by(|a, b| b.growth.cmp(&a.growth).then(b.survivors.cmp(&a.survivors)));
    folded.truncate(options.max_suspects);
    let suspects = folded.into_iter().map(|c| ctx.suspect(c)).collect();
    Ok(LeakReport {
        suspects,
        notes,
        snapshots: snaps
            .iter()
            .map(|s| SnapshotTotals {
                node_count: s.node_count() as u64,
                total_size: s.total_size(),
                tracked: s.graph.allocations.is_tracked(),
            })
            .collect(),
    })
}

struct Context<'a> {
    snaps: &'a [&'a Snapshot],
    last: &'a Snapshot,
    a: &'a Attribution,
    /// Holders made after the first snapshot (sorted): empty there.
    late: &'a [u32],
    options: &'a LeakOptions,
    /// What the suspects show of the last snapshot: its nodes, paths and
    /// class names, under the caller's redaction policy (placeholders keyed
    /// by the first snapshot). Raw names are for decisions only.
    view: View<'a>,
}

/// What a suspect is about, before holders of one shape are folded and the
/// words are chosen.
#[derive(Debug, Clone)]
enum Subject {
    /// A collection growing: an array, Map, Set, object used as a map.
    Collection,
    /// Listeners of `event` on an emitter (the holder's owner).
    Listeners {
        emitter: u32,
        event: Name,
    },
    /// Module objects in `module.children` of the module `parent`.
    Modules {
        parent: u32,
    },
    /// Closures whose shared scope keeps `variable` alive.
    Closure {
        variable: String,
        bytes: u64,
    },
    WeakRefs,
    /// Objects accumulating below some other object.
    Objects,
    /// Timers calling one function, and the objects they keep alive.
    Timers {
        repeat: bool,
        rearmed: bool,
        callback: u32,
        owner_link: Option<timers::OwnerLink>,
        timer_property: Option<Name>,
        timers: Vec<u64>,
        owner_bytes: u64,
    },
}

#[derive(Debug, Clone)]
struct Candidate {
    subject: Subject,
    /// The node whose own size grows.
    holder: u32,
    /// The node a person would call the holder: the emitter of a listener
    /// list, else the holder itself.
    shown: u32,
    holder_class: String,
    holder_name: Option<Name>,
    /// The example member and the dominant member class.
    member: Option<u32>,
    counts: Vec<Option<u64>>,
    retained: Vec<Option<u64>>,
    added: Vec<u64>,
    added_bytes: Vec<u64>,
    young_members: u64,
    external_bytes: u64,
    external_stores: u64,
    views: u64,
    sliced: u64,
    sliced_parent_bytes: u64,
    concatenated: u64,
    concatenated_part_bytes: u64,
    survivors: u64,
    growth: u64,
    confidence: Confidence,
    kept: f64,
    by_count: bool,
    holders: u64,
    fold_key: String,
    /// Members sampled for names and allocation sites.
    members: Vec<u32>,
    /// Other growing properties of the same object, folded in: name,
    /// class and own size per snapshot.
    siblings: Vec<(Option<Name>, String, Vec<Option<u64>>)>,
}

fn rises(values: &[Option<u64>]) -> bool {
    values
        .windows(2)
        .all(|w| matches!(w, [Some(a), Some(b)] if a < b))
}

fn first_last(values: &[Option<u64>]) -> (u64, u64) {
    (
        values.first().copied().flatten().unwrap_or(0),
        values.last().copied().flatten().unwrap_or(0),
    )
}

/// Classes of leakwatch's own run-time state (lib/own-state.js).
const LEAKWATCH_CLASS_PREFIX: &[u8] = b"Leakwatch";

impl Context<'_> {
    fn parent(&self, o: u32) -> u32 {
        if o == NONE {
            NONE
        } else {
            self.a.parent[o as usize]
        }
    }

    /// The edge from `o`'s parent into `o`.
    fn parent_edge(&self, o: u32) -> Option<usize> {
        let e = *self.a.parent_edge.get(o as usize)?;
        (e != NONE).then_some(e as usize)
    }

    /// Whether a holder is leakwatch's own state, or held by it: its
    /// run-time primitives keep what grows with the program (the timer
    /// registry's slots, the listener tracker's watched keys and records)
    /// on objects of classes named `Leakwatch*` (lib/own-state.js), so a
    /// snapshot of a process running them does not name leakwatch as the
    /// leak. What they hold is reported the program's way (a timer leak as
    /// timers).
    fn held_by_leakwatch(&self, h: u32) -> bool {
        let s = self.last;
        let mut x = h;
        for _ in 0..3 {
            if x == NONE {
                return false;
            }
            if s.graph.node_type(x) == s.types.object
                && raw_name(s, x).starts_with(LEAKWATCH_CLASS_PREFIX)
            {
                return true;
            }
            x = self.parent(x);
        }
        false
    }

    /// Node's own structure at or just above a holder.
    fn structure_around(&self, h: u32) -> Option<(NodeStructure, u32)> {
        let mut x = h;
        for _ in 0..3 {
            if x == NONE {
                return None;
            }
            if let Some(st) = node_structure(self.last, x) {
                return Some((st, x));
            }
            x = self.parent(x);
        }
        None
    }

    /// The edge name by which the path reaches `o`, if a person would know
    /// it: a variable, a global, a property.
    fn incoming_name(&self, o: u32) -> Option<Name> {
        let s = self.last;
        let p = self.parent(o);
        if p == NONE {
            return None;
        }
        let e = self.parent_edge(o)?;
        let ty = s.graph.edge_type(e);
        let t = &s.types;
        if let Some(variable) = node::context_slot_name(s, p, e) {
            Some((NameKind::Variable, variable))
        } else if ty == t.e_property || ty == t.e_shortcut {
            Some(self.edge_name_from(p, e))
        } else {
            None
        }
    }

    /// The name of edge `e` from `src`, typed for the redaction policy the
    /// way `Snapshot::shown_edge_name` decides: a property name is code when
    /// `src` declares its properties and data otherwise (a global's are
    /// global variables); other edges' names are the engine's, or indices.
    fn edge_name_from(&self, src: u32, e: usize) -> Name {
        let s = self.last;
        let t = &s.types;
        let ty = s.graph.edge_type(e);
        let global = s.class_of(src).name.starts_with("global") || src == s.graph.root;
        if ty == t.e_context {
            (NameKind::Variable, s.edge_name(e))
        } else if ty == t.e_property {
            self.property_of(src, s.edge_name(e), global)
        } else {
            let name = s.shown_edge_name(e, Some(src), &self.view.names);
            (
                if global {
                    NameKind::Variable
                } else {
                    NameKind::Property
                },
                name,
            )
        }
    }

    /// A property `name` of `src`: declared by code, or a key of an object
    /// used as a map; on the global object, a global variable.
    fn property_of(&self, src: u32, name: String, global: bool) -> Name {
        let declared = self.last.declares_properties(src, &self.view.names);
        let kind = match (global, declared) {
            (true, _) => NameKind::Global,
            (false, true) => NameKind::Property,
            (false, false) => NameKind::Key,
        };
        (kind, name)
    }

    /// When the path reaches `o` through an edge without a name (an array
    /// slot, a bundler's module table), the name another retainer knows it
    /// by: a variable first, then a property of an object.
    fn any_name(&self, o: u32) -> Option<Name> {
        let s = self.last;
        let t = &s.types;
        let mut best: Option<(bool, i32, Name)> = None;
        for (src, e) in s.retaining_edges(o) {
            let ty = s.graph.edge_type(e);
            let d = s.distance[src as usize];
            let candidate = if let Some(variable) = node::context_slot_name(s, src, e) {
                (true, d, (NameKind::Variable, variable))
            } else if ty == t.e_property
                && node::is_user_object(s, src)
                && !s.edge_name(e).starts_with('<')
            {
                (false, d, self.edge_name_from(src, e))
            } else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((var, bd, _)) => {
                    (candidate.0 && !var) || (candidate.0 == *var && candidate.1 < *bd)
                }
            };
            if better {
                best = Some(candidate);
            }
        }
        best.map(|(_, _, name)| name)
    }

    /// `o`'s counterpart in each snapshot.
    fn across(&self, o: u32) -> Vec<Option<u32>> {
        self.snaps
            .iter()
            .enumerate()
            .map(|(k, s)| {
                if k == self.snaps.len() - 1 {
                    Some(o)
                } else {
                    find_in(s, self.last, o)
                }
            })
            .collect()
    }

    fn measure(&self, o: u32, f: &dyn Fn(&Snapshot, u32) -> u64) -> Vec<Option<u64>> {
        self.across(o)
            .iter()
            .zip(self.snaps)
            .map(|(x, s)| x.map(|x| f(s, x)))
            .collect()
    }

    fn collection_candidate(&self, grp: &Group) -> Option<Candidate> {
        let s = self.last;
        let h = grp.holder;
        let intervals = self.snaps.len() - 1;
        // V8's own objects are never a user's leak, nor are holders whose new
        // objects are all V8's (feedback, shapes, code).
        if !node::is_user_object(s, h) && s.graph.node_type(h) != s.types.closure {
            let name = raw_name(s, h);
            if name != b"system / Context" {
                return None;
            }
        }
        if grp.young_members() == 0
            || (1..=intervals).any(|k| grp.born_count[k] == 0)
            || self.held_by_leakwatch(h)
        {
            return None;
        }
        let mut holder_name = self.incoming_name(h).or_else(|| self.any_name(h));
        let mut subject = Subject::Collection;
        let p1 = self.parent(h);
        let structure = self.structure_around(h);
        // Listener lists: `emitter._events[event]`, or `_events` itself.
        let via_events = |o: u32| self.incoming_name(o).is_some_and(|(_, n)| n == "_events");
        // Listener lists under `_events` are counted for their one event.
        let mut listeners_of: Option<String> = None;
        if via_events(h) && p1 != NONE {
            let event = grp
                .entry_names
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(n, _)| n.clone())?;
            subject = Subject::Listeners {
                emitter: p1,
                event: self.property_of(h, event.clone(), false),
            };
            holder_name = self.incoming_name(p1);
            listeners_of = Some(event);
        } else if p1 != NONE && via_events(p1) {
            let emitter = self.parent(p1);
            if let Some(event) = self.incoming_name(h).filter(|_| emitter != NONE) {
                subject = Subject::Listeners { emitter, event };
                holder_name = self.incoming_name(emitter);
            }
        } else if let Some((NodeStructure::ModuleRegistry, module)) = structure {
            if holder_name.as_ref().is_some_and(|(_, n)| n == "children") && module == p1 {
                subject = Subject::Modules { parent: module };
            }
        }

        let counts = self.measure(h, &|s, x| match &listeners_of {
            Some(event) => target_named(s, x, event.as_bytes()).map_or(0, |l| own_size(s, l)),
            None => own_size(s, x),
        });
        let mut retained = self.measure(h, &|s, x| s.retained[x as usize]);
        let mut counts = counts;
        if self.late.binary_search(&h).is_ok() {
            counts[0] = counts[0].or(Some(0));
            retained[0] = retained[0].or(Some(0));
        }
        let (c1, cn) = first_last(&counts);
        let (r1, rn) = first_last(&retained);
        let by_count = rises(&counts);
        let young_bytes = grp.young_bytes();
        let per_interval = young_bytes as f64 / intervals as f64;
        let bytes_steps = retained
            .windows(2)
            .all(|w| matches!(w, [Some(a), Some(b)] if (*b as f64) - (*a as f64) >= STEP_BYTES_MIN * per_interval && *b >= a + STEP_BYTES_FLOOR));
        let member_class = dominant_member_class(s, grp);
        // A Map's entries are two members (key and value): what was added is
        // counted in the class that dominates.
        let added_members = member_class
            .and_then(|c| grp.member_classes.get(&c).copied())
            .unwrap_or_else(|| grp.young_members());
        let kept = if by_count {
            (cn - c1) as f64 / added_members.max(1) as f64
        } else {
            rn.saturating_sub(r1) as f64 / young_bytes.max(1) as f64
        };
        let accepted = (by_count && kept >= KEPT_MIN) || (bytes_steps && kept >= KEPT_BYTES_MIN);
        if !accepted {
            return None;
        }
        let confidence = if by_count && kept >= KEPT_HIGH {
            Confidence::High
        } else if by_count || kept >= KEPT_HIGH {
            Confidence::Medium
        } else {
            Confidence::Low
        };

        let member = member_class.and_then(|c| grp.member_examples.get(&c).copied());
        if matches!(subject, Subject::Collection) {
            let closures: Vec<u32> = grp
                .all_samples()
                .filter(|&m| s.graph.node_type(m) == s.types.closure)
                .collect();
            let member_is_weakref = member.is_some_and(|m| raw_name(s, m) == b"WeakRef");
            if member_is_weakref {
                subject = Subject::WeakRefs;
            } else if let Some((variable, bytes)) =
                largest_context_variable(s, &closures).filter(|c| {
                    c.1.saturating_mul(closures.len() as u64) * 2
                        >= grp.born_bytes[1].min(u64::MAX / 2)
                        && closures.len() * 2 >= grp.all_samples().count()
                })
            {
                subject = Subject::Closure { variable, bytes };
            } else if !is_collection_class(&s.class_of(h).name) && raw_name(s, h) != b"Array" {
                subject = Subject::Objects;
            }
        }

        let added: Vec<u64> = grp.born_count[1..].to_vec();
        let added_bytes: Vec<u64> = grp.born_bytes[1..].to_vec();
        let growth = rn
            .saturating_sub(r1)
            .max(young_bytes.min(rn.saturating_sub(r1).saturating_add(young_bytes)));
        let shown = match &subject {
            Subject::Listeners { emitter, .. } if *emitter != NONE => *emitter,
            _ => h,
        };
        let holder_class = s.class_of(shown).name.clone();
        let fold_key = format!(
            "{:?}|{}|{:?}|{:?}",
            std::mem::discriminant(&subject),
            holder_class,
            holder_name,
            match &subject {
                Subject::Listeners { event, .. } => event.1.clone(),
                _ => String::new(),
            } + &member_class
                .map(|c| s.classes.info(c).name.clone())
                .unwrap_or_default()
        );
        Some(Candidate {
            subject,
            holder: h,
            shown,
            holder_class,
            holder_name,
            member,
            counts,
            retained,
            added,
            added_bytes,
            young_members: grp.young_members(),
            external_bytes: grp.external_bytes,
            external_stores: grp.external_stores,
            views: grp.views,
            sliced: grp.sliced,
            sliced_parent_bytes: grp.sliced_parent_bytes(s),
            concatenated: grp.concatenated,
            concatenated_part_bytes: grp.concatenated_part_bytes(s),
            survivors: grp.survivors(),
            growth,
            confidence,
            kept,
            by_count,
            holders: 1,
            fold_key,
            members: member_class.map_or_else(Vec::new, |c| grp.sample(c).to_vec()),
            siblings: Vec::new(),
        })
    }

    fn timer_candidate(&self, tg: &timers::TimerGroup) -> Option<Candidate> {
        let s = self.last;
        let n = self.snaps.len();
        let by_owner = tg.owners[n - 1] > 0;
        let series: Vec<Option<u64>> = if by_owner { &tg.owners } else { &tg.timers }
            .iter()
            .map(|&v| Some(v))
            .collect();
        let born = if by_owner {
            &tg.owners_born
        } else {
            &tg.timers_born
        };
        let young: u64 = born[1..].iter().sum();
        let survivors = born[1];
        if !rises(&series) || survivors < self.options.min_count {
            return None;
        }
        let (c1, cn) = first_last(&series);
        let kept = (cn - c1) as f64 / young.max(1) as f64;
        if kept < KEPT_MIN {
            return None;
        }
        let owner = tg.example.owner.as_ref().map(|(o, _)| *o);
        let owner_link = tg
            .owner_links
            .iter()
            .max_by(|a, b| a.1.cmp(b.1))
            .map(|(l, _)| l.clone());
        // A chain re-arms when each firing schedules the next: its owners
        // outlive every Timeout they had at the previous snapshot.
        let rearmed = by_owner && tg.timers_born[..n - 1].iter().sum::<u64>() == 0;
        let holder = owner.unwrap_or(tg.example.timeout);
        let owner_class = owner.and_then(|_| {
            tg.owner_classes
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(c, _)| s.classes.info(*c).name.clone())
        });
        let holder_class = owner_class.unwrap_or_else(|| "Timeout".to_string());
        let timer_property =
            owner.and_then(|o| timers::timer_property(s, o).map(|p| self.property_of(o, p, false)));
        let holder_name = match &owner_link {
            Some(timers::OwnerLink::Variable(v)) => Some((NameKind::Variable, v.clone())),
            _ => None,
        };
        let retained_of = |k: usize| -> u64 {
            if k == n - 1 {
                tg.owner_bytes
            } else {
                0
            }
        };
        let retained: Vec<Option<u64>> = (0..n)
            .map(|k| (k == n - 1).then(|| retained_of(k)))
            .collect();
        let members = if by_owner {
            tg.owner_sample.clone()
        } else {
            vec![tg.example.timeout]
        };
        let added: Vec<u64> = born[1..].to_vec();
        let confidence = if kept >= KEPT_HIGH {
            Confidence::High
        } else {
            Confidence::Medium
        };
        Some(Candidate {
            subject: Subject::Timers {
                repeat: tg.repeat,
                rearmed,
                callback: tg.example.callback,
                owner_link,
                timer_property,
                timers: tg.timers.clone(),
                owner_bytes: tg.owner_bytes,
            },
            holder,
            shown: holder,
            holder_class: holder_class.clone(),
            holder_name,
            member: owner,
            counts: series,
            retained,
            added_bytes: vec![0; added.len()],
            added,
            young_members: young,
            external_bytes: 0,
            external_stores: 0,
            views: 0,
            sliced: 0,
            sliced_parent_bytes: 0,
            concatenated: 0,
            concatenated_part_bytes: 0,
            survivors,
            growth: tg.owner_bytes.max(young * 64),
            confidence,
            kept,
            by_count: true,
            holders: 1,
            fold_key: format!("timers|{}|{}", tg.function_key, tg.repeat),
            members,
            siblings: Vec::new(),
        })
    }

    /// Collections that are properties of one object and grow together (a
    /// cache's key map and value list, a pool's loans and resources) are
    /// one bug: they fold into the one that grew most.
    fn fold_siblings(&self, candidates: Vec<Candidate>) -> Vec<Candidate> {
        let s = self.last;
        let owner_of = |c: &Candidate| -> Option<u32> {
            if !matches!(c.subject, Subject::Collection | Subject::Objects) || c.holders > 1 {
                return None;
            }
            let p = self.parent(c.holder);
            let named = matches!(c.holder_name, Some((NameKind::Property | NameKind::Key, _)));
            (p != NONE
                && named
                && s.graph.node_type(p) == s.types.object
                && node::is_user_object(s, p)
                && !s.class_of(p).name.starts_with("global"))
            .then_some(p)
        };
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        order.sort_by(|&a, &b| candidates[b].growth.cmp(&candidates[a].growth));
        let mut primary_of: HashMap<u32, usize> = HashMap::new();
        let mut merged_into: Vec<Option<usize>> = vec![None; candidates.len()];
        for &k in &order {
            if let Some(owner) = owner_of(&candidates[k]) {
                match primary_of.get(&owner) {
                    Some(&p) => merged_into[k] = Some(p),
                    None => {
                        primary_of.insert(owner, k);
                    }
                }
            }
        }
        let mut out: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
        for k in 0..out.len() {
            if let Some(p) = merged_into[k] {
                if let Some(c) = out[k].take() {
                    if let Some(primary) = out[p].as_mut() {
                        primary.growth = primary.growth.saturating_add(c.growth);
                        primary
                            .siblings
                            .push((c.holder_name, c.holder_class, c.counts));
                    }
                }
            }
        }
        out.into_iter().flatten().collect()
    }

    fn tick_note(&self, grp: &Group) -> Option<Note> {
        let pending = grp.young_members();
        (pending >= self.options.min_count).then(|| Note {
            kind: "nextTick",
            text: Text::new()
                .count(pending)
                .text(" callbacks queued with process.nextTick since snapshot 1 have not run: the event loop has not turned since then. They are Node's queue waiting for synchronous code to finish, not a leak by themselves; they run (and are freed) once it yields."),
            counts: grp.members_born[1..].to_vec(),
        })
    }

    /// Promise reactions and queueMicrotask callbacks waiting in V8's queue.
    fn microtask_note(&self) -> Option<Note> {
        let counts: Vec<u64> = self
            .snaps
            .iter()
            .map(|s| {
                (0..s.node_count() as u32)
                    .filter(|&o| {
                        matches!(
                            raw_name(s, o),
                            b"system / CallableTask"
                                | b"system / CallbackTask"
                                | b"system / PromiseFulfillReactionJobTask"
                                | b"system / PromiseRejectReactionJobTask"
                                | b"system / PromiseResolveThenableJobTask"
                        )
                    })
                    .count() as u64
            })
            .collect();
        let rising = counts.windows(2).all(|w| w[0] < w[1]);
        let last = *counts.last()?;
        (rising && last >= self.options.min_count).then(|| Note {
            kind: "microtasks",
            text: Text::new()
                .count(last)
                .text(" microtasks (promise reactions and queueMicrotask callbacks) are queued and have not run: ")
                .series(&counts)
                .text(" across the snapshots. The code between the snapshots never yields to the event loop; they run once it does."),
            counts,
        })
    }
}

/// Folds candidates of one shape (one per socket, one per instance) into one.
fn fold(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for c in candidates {
        match by_key.get(&c.fold_key) {
            Some(&k) => {
                let m = &mut out[k];
                m.holders += c.holders;
                for (a, b) in m.added.iter_mut().zip(&c.added) {
                    *a += b;
                }
                for (a, b) in m.added_bytes.iter_mut().zip(&c.added_bytes) {
                    *a = a.saturating_add(*b);
                }
                m.young_members += c.young_members;
                m.external_bytes = m.external_bytes.saturating_add(c.external_bytes);
                m.external_stores += c.external_stores;
                m.views += c.views;
                m.sliced += c.sliced;
                m.sliced_parent_bytes = m.sliced_parent_bytes.saturating_add(c.sliced_parent_bytes);
                m.concatenated += c.concatenated;
                m.concatenated_part_bytes = m
                    .concatenated_part_bytes
                    .saturating_add(c.concatenated_part_bytes);
                m.survivors += c.survivors;
                // Holders of one shape may nest, so growths can overlap.
                m.growth = m.growth.saturating_add(c.growth);
                m.confidence = m.confidence.max(c.confidence);
                if m.members.len() < holders::MEMBER_SAMPLE {
                    m.members
                        .extend(c.members.into_iter().take(holders::MEMBER_SAMPLE));
                }
            }
            None => {
                by_key.insert(c.fold_key.clone(), out.len());
                out.push(c);
            }
        }
    }
    out
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
fn largest_context_variable(s: &Snapshot, closures: &[u32]) -> Option<(String, u64)> {
    let g = &s.graph;
    let t = &s.types;
    let mut best: Option<(String, u64)> = None;
    for &c in closures {
        let Some(ctx) = closure_context(s, c) else {
            continue;
        };
        for e in g.edges(ctx) {
            if g.edge_type(e) != t.e_context || is_oddball(s, g.edge_target(e)) {
                continue;
            }
            let size = s.retained[g.edge_target(e) as usize];
            if best.as_ref().is_none_or(|b| size > b.1) {
                best = Some((s.edge_name(e), size));
            }
        }
    }
    best
}
