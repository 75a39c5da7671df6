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
//! goes through one [`text::NamePolicy`] call per kind.

mod holders;
mod lineage;
mod node;
mod sites;
pub mod text;
mod timers;

use super::report::{NodeSummary, PathStep};
use super::snapshot::Snapshot;
use super::SnapshotError;
use holders::{dominant_member_class, edge_between, own_size, Attribution, Group};
use lineage::find_in;
use node::{
    function_location, is_oddball, node_structure, raw_name, target_named, NodeStructure, NONE,
};
use std::collections::HashMap;
use text::{NameKind, Text};

pub use lineage::check_sequence;
pub use sites::{AllocationSite, Frame};
pub use text::{NamePolicy, Part, Verbatim};

#[derive(Debug, Clone)]
pub struct LeakOptions {
    /// Objects from the first interval that must still be under one holder.
    pub min_count: u64,
    /// Suspects to return at most.
    pub max_suspects: usize,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            min_count: 8,
            max_suspects: 10,
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
    let attribution = holders::attribute(last, &born);
    let intervals = snaps.len() - 1;
    let ctx = Context {
        snaps,
        last,
        a: &attribution,
        options,
    };

    let mut candidates: Vec<Candidate> = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    for grp in holders::groups(last, &attribution, &born, intervals) {
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
    options: &'a LeakOptions,
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
        event: String,
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
        timer_property: Option<String>,
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
    sliced: u64,
    sliced_parent_bytes: u64,
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

impl Context<'_> {
    fn parent(&self, o: u32) -> u32 {
        if o == NONE {
            NONE
        } else {
            self.a.parent[o as usize]
        }
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
        let e = edge_between(s, p, o)?;
        let ty = s.graph.edge_type(e);
        let t = &s.types;
        let name = s.edge_name(e);
        if let Some(variable) = node::context_slot_name(s, p, e) {
            Some((NameKind::Variable, variable))
        } else if ty == t.e_property || ty == t.e_shortcut {
            if s.class_of(p).name.starts_with("global") || p == s.graph.root {
                Some((NameKind::Variable, name))
            } else {
                Some((NameKind::Property, name))
            }
        } else {
            None
        }
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
                (false, d, (NameKind::Property, s.edge_name(e)))
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
        if grp.young_members() == 0 || (1..=intervals).any(|k| grp.born_count[k] == 0) {
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
                event: event.clone(),
            };
            holder_name = self.incoming_name(p1);
            listeners_of = Some(event);
        } else if p1 != NONE && via_events(p1) {
            let emitter = self.parent(p1);
            if let Some((_, event)) = self.incoming_name(h).filter(|_| emitter != NONE) {
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
        let retained = self.measure(h, &|s, x| s.retained[x as usize]);
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
                Subject::Listeners { event, .. } => event.clone(),
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
            sliced: grp.sliced,
            sliced_parent_bytes: grp.sliced_parent_bytes(s),
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
        let timer_property = owner.and_then(|o| timers::timer_property(s, o));
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
            sliced: 0,
            sliced_parent_bytes: 0,
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
            let named = matches!(c.holder_name, Some((NameKind::Property, _)));
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

    /// Words and paths for a (folded) candidate.
    fn suspect(&self, c: Candidate) -> Suspect {
        let s = self.last;
        let n = self.snaps.len();
        let holder_summary = s.summarize_node(c.shown);
        let mut path = s.path_steps(c.holder);
        if let Some(m) = c.member {
            // One step into what accumulates, when the member hangs right
            // below the holder (or its backing store).
            let via = if self.parent(m) == c.holder {
                Some(c.holder)
            } else {
                None
            };
            if let Some(e) = via.and_then(|h| edge_between(s, h, m)) {
                path.push(PathStep {
                    node: s.summarize_node(m),
                    edge_type: Some(s.edge_type_name(e).to_string()),
                    edge_name: Some(s.edge_name(e)),
                    edge_label: Some(s.edge_label(e)),
                });
            }
        }
        let path_shape = shape(&path);
        let holder_path = self.holder_path(&path, c.shown);
        // The members kept are of the dominant class: sites of what the
        // suspect is about, not of the keys and strings riding along.
        let sites = sites::allocation_sites(s, c.members.iter().copied());
        let leaked_class = self.member_label(&c, &sites);
        let (text, advice) = self.words(&c, &leaked_class, &holder_path);
        let evidence = self.evidence(&c);
        let growth_counts = c.counts.clone();
        Suspect {
            kind: match c.subject {
                Subject::Collection => LeakKind::Collection,
                Subject::Listeners { .. } => LeakKind::Listeners,
                Subject::Modules { .. } => LeakKind::Modules,
                Subject::Closure { .. } => LeakKind::Closure,
                Subject::WeakRefs => LeakKind::WeakRefs,
                Subject::Objects => LeakKind::Objects,
                Subject::Timers { .. } => LeakKind::Timers,
            },
            text,
            advice,
            evidence,
            confidence: c.confidence,
            holder: holder_summary,
            holder_class: c.holder_class.clone(),
            holder_name: c.holder_name.clone(),
            holder_path,
            retainer_path: path,
            path_shape,
            leaked_class,
            counts: growth_counts,
            retained_sizes: c.retained.clone(),
            added: c.added.clone(),
            added_bytes: c.added_bytes.clone(),
            external_bytes: c.external_bytes,
            external_stores: c.external_stores,
            sliced_strings: c.sliced,
            sliced_parent_bytes: c.sliced_parent_bytes,
            growth: c.growth,
            holders: c.holders,
            allocation_sites: sites,
        }
        .checked(n)
    }

    /// `variable.prop.prop` for the holder, from the nearest variable on its path.
    fn holder_path(&self, path: &[PathStep], holder: u32) -> Vec<Name> {
        let Some(end) = path.iter().position(|p| p.node.ordinal == holder) else {
            return Vec::new();
        };
        let mut out: Vec<Name> = Vec::new();
        let mut reached_variable = false;
        for k in (1..=end).rev() {
            let step = &path[k];
            let (Some(ty), Some(name)) = (step.edge_type.as_deref(), step.edge_name.clone()) else {
                break;
            };
            let from_global = path[k - 1].node.class_name.starts_with("global");
            match ty {
                "context" => {
                    out.push((NameKind::Variable, name));
                    reached_variable = true;
                }
                "property" | "shortcut" if from_global => {
                    out.push((NameKind::Variable, name));
                    reached_variable = true;
                }
                "hidden" | "internal" => {
                    let (src, dst) = (path[k - 1].node.ordinal, step.node.ordinal);
                    match edge_between(self.last, src, dst)
                        .and_then(|e| node::context_slot_name(self.last, src, e))
                    {
                        Some(variable) => {
                            out.push((NameKind::Variable, variable));
                            reached_variable = true;
                        }
                        None => break,
                    }
                }
                // Links of Node's timer lists and symbol-keyed internals are
                // no part of a name a person would write.
                "property" | "shortcut"
                    if name == "_idleNext"
                        || name == "_idlePrev"
                        || name == "_timerArgs"
                        || name.starts_with('<') =>
                {
                    break
                }
                "property" | "shortcut" => out.push((NameKind::Property, name)),
                "element" => out.push((NameKind::Property, format!("[{name}]"))),
                _ => break,
            }
            if reached_variable || out.len() > MAX_HOLDER_PATH {
                break;
            }
        }
        if !reached_variable || out.len() < 2 || out.len() > MAX_HOLDER_PATH {
            return Vec::new();
        }
        out.reverse();
        out
    }

    /// "closures `onPrice` (leaks.js:77)", "Module", "InventoryPoller",
    /// "{url, method, time}", "sliced strings".
    fn member_label(&self, c: &Candidate, sites: &[AllocationSite]) -> Text {
        let s = self.last;
        let Some(m) = c.member else {
            return Text::new().text("objects");
        };
        let t = &s.types;
        let ty = s.graph.node_type(m);
        if ty == t.closure {
            let name = String::from_utf8_lossy(raw_name(s, m)).into_owned();
            let mut text = Text::new().text("closures");
            if !name.is_empty() {
                text = text.text(" ").quoted(NameKind::Function, name);
            }
            if let Some(site) = sites.first() {
                text = text
                    .text(" created in ")
                    .quoted(NameKind::Function, display_function(&site.frame.function))
                    .text(" (")
                    .place(site.frame.script.clone(), site.frame.line)
                    .text(")");
            } else if let Some((script, line, _)) = function_location(s, m) {
                text = text.text(" (").place(script, line).text(")");
            }
            return text;
        }
        if ty == t.sliced_string {
            return Text::new().text("sliced strings");
        }
        if ty == t.cons_string {
            return Text::new().text("concatenated strings");
        }
        if ty == t.string {
            return Text::new().text("strings");
        }
        Text::new().class(s.class_of(m).name.clone())
    }

    fn holder_text(&self, c: &Candidate, holder_path: &[Name]) -> Text {
        let mut t = Text::new().class(c.holder_class.clone());
        if holder_path.len() >= 2 {
            t = t.text(" `");
            for (k, (kind, name)) in holder_path.iter().enumerate() {
                if k > 0 && !name.starts_with('[') {
                    t = t.text(".");
                }
                t = t.name(*kind, name.clone());
            }
            t = t.text("`");
        } else if let Some((kind, name)) = &c.holder_name {
            t = t.text(" ").quoted(*kind, name.clone());
        }
        t
    }

    fn words(&self, c: &Candidate, leaked: &Text, holder_path: &[Name]) -> (Text, Text) {
        let s = self.last;
        let n = self.snaps.len();
        let counts: Vec<u64> = c.counts.iter().map(|v| v.unwrap_or(0)).collect();
        let (prev, now) = (counts[n - 2], counts[n - 1]);
        let survivors = Text::new()
            .count(c.added[0])
            .text(" objects allocated between snapshots 1 and 2 are still alive (")
            .bytes(c.added_bytes[0])
            .text("), and ")
            .count(c.added[n - 2])
            .text(" more (")
            .bytes(c.added_bytes[n - 2])
            .text(format!(") were added after snapshot {}.", n - 1));
        let many = c.holders > 1;
        let (mut text, advice) = match &c.subject {
            Subject::Listeners { emitter, event } => {
                let emitter_class = s.class_of(*emitter).name.clone();
                let mut t = if many {
                    Text::new()
                        .text("'")
                        .name(NameKind::Property, event.clone())
                        .text("' listeners are added to ")
                        .count(c.holders)
                        .text(" ")
                        .class(emitter_class)
                        .text(" objects and never removed: +")
                        .count(now.saturating_sub(prev))
                        .text(format!(" on each between snapshots {} and {n} (", n - 1))
                } else {
                    let mut t = Text::new().class(emitter_class);
                    if let Some((kind, name)) = &c.holder_name {
                        t = t.text(" ").quoted(*kind, name.clone());
                    }
                    t.text(" keeps gaining '")
                        .name(NameKind::Property, event.clone())
                        .text("' listeners: ")
                        .count(prev)
                        .text(" → ")
                        .count(now)
                        .text(format!(" between snapshots {} and {n} (", n - 1))
                };
                t = t
                    .series(&counts)
                    .text(" across the snapshots), ")
                    .append(leaked.clone())
                    .text(". ");
                (
                    t.append(survivors),
                    Text::new().text("Remove each listener when its work ends (emitter.off / removeListener), or use once()."),
                )
            }
            Subject::Modules { parent } => {
                let module_file = target_named(s, *parent, b"filename")
                    .or_else(|| target_named(s, *parent, b"id"))
                    .map(|f| String::from_utf8_lossy(raw_name(s, f)).into_owned())
                    .unwrap_or_default();
                let copies = self.module_copies(c);
                let mut t = Text::new().text("Module objects accumulate in `module.children` of ");
                t = if module_file.is_empty() {
                    t.text("a module")
                } else {
                    t.place(module_file, 0)
                };
                t = t
                    .text(": ")
                    .series(&counts)
                    .text(" children across the snapshots");
                if let Some((file, k)) = copies {
                    t = t
                        .text(", ")
                        .count(k)
                        .text(" of them copies of ")
                        .place(file, 0);
                }
                t = t.text(". Deleting a module from require.cache and requiring it again loads a new copy, and its parent keeps every old one in module.children (with its exports and compiled code). ");
                (
                    t.append(survivors),
                    Text::new().text("Avoid reloading modules in-process; if you must, also remove the old Module from its parent's `children`."),
                )
            }
            Subject::Timers {
                repeat,
                rearmed,
                callback,
                owner_link,
                timer_property,
                timers,
                owner_bytes,
            } => {
                let api = if *repeat { "setInterval" } else { "setTimeout" };
                let clear = if *repeat {
                    "clearInterval"
                } else {
                    "clearTimeout"
                };
                let callback_name = String::from_utf8_lossy(raw_name(s, *callback)).into_owned();
                let mut cb = Text::new();
                cb = if callback_name.is_empty() {
                    cb.text("an anonymous callback")
                } else {
                    cb.quoted(NameKind::Function, callback_name)
                };
                if let Some((script, line, _)) = function_location(s, *callback) {
                    cb = cb.text(" (").place(script, line).text(")");
                }
                let owner = c.member.is_some();
                let is_store = matches!(owner_link, Some(timers::OwnerLink::AsyncStore));
                let t = if owner && *rearmed {
                    Text::new()
                        .append(leaked.clone())
                        .text(" objects are kept alive only by their own ")
                        .text(api)
                        .text(" chains, re-armed by ")
                        .append(cb)
                        .text(" every time they fire: ")
                        .series(&counts)
                        .text(" across the snapshots, and none is ever stopped.")
                } else if owner && is_store {
                    Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are pending (")
                        .series(timers)
                        .text(" across the snapshots); each keeps the AsyncLocalStorage store it was created in alive, ")
                        .append(leaked.clone())
                        .text(" (")
                        .bytes(*owner_bytes)
                        .text(" in all).")
                } else if owner {
                    let mut t = Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are still scheduled (")
                        .series(timers)
                        .text(" across the snapshots); their callbacks keep ")
                        .append(leaked.clone())
                        .text(" objects alive");
                    if let Some(timers::OwnerLink::Variable(v)) = owner_link {
                        t = t
                            .text(" (as ")
                            .quoted(NameKind::Variable, v.clone())
                            .text(")");
                    }
                    t.text(", ").bytes(*owner_bytes).text(" in all.")
                } else {
                    Text::new()
                        .count(*timers.last().unwrap_or(&0))
                        .text(format!(" {api} timers calling "))
                        .append(cb)
                        .text(" are pending: ")
                        .series(timers)
                        .text(" across the snapshots.")
                };
                let mut advice = Text::new().text(format!("Call {clear}("));
                advice = match (owner_link, timer_property) {
                    (Some(timers::OwnerLink::Variable(v)), Some(p)) => advice
                        .name(NameKind::Variable, v.clone())
                        .text(".")
                        .name(NameKind::Property, p.clone()),
                    (_, Some(p)) => advice
                        .text("…")
                        .text(".")
                        .name(NameKind::Property, p.clone()),
                    _ => advice.text("timer"),
                };
                advice = advice.text(")");
                advice = if owner && !is_store {
                    advice
                        .text(" when each ")
                        .append(leaked.clone())
                        .text(" is done (a stop() or close() that is never called).")
                } else if is_store {
                    advice.text(" when the request it belongs to ends, or keep one timer for all requests instead of one each.")
                } else {
                    advice.text(" when the timer is no longer needed.")
                };
                (t, advice)
            }
            Subject::Closure { variable, bytes } => {
                let t = self
                    .holder_text(c, holder_path)
                    .text(" keeps gaining closures (")
                    .series(&counts)
                    .text(" across the snapshots), each closure's scope keeps ")
                    .quoted(NameKind::Variable, variable.clone())
                    .text(" (")
                    .bytes(*bytes)
                    .text(") alive. ")
                    .append(survivors);
                (
                    t,
                    Text::new().text("Closures share their scope: move the function out of the scope that holds the large value, or clear the variable when done."),
                )
            }
            Subject::WeakRefs => {
                let t = self
                    .holder_text(c, holder_path)
                    .text(" keeps WeakRef entries whose keys are never deleted: ")
                    .series(&counts)
                    .text(" entries across the snapshots; the WeakRefs free their targets but the ")
                    .class(c.holder_class.clone())
                    .text(" itself grows. ")
                    .append(survivors);
                (
                    t,
                    Text::new().text("Delete the key when deref() returns undefined, or use a FinalizationRegistry to delete it."),
                )
            }
            Subject::Collection | Subject::Objects => {
                let unit = unit_of(&c.holder_class);
                let mut t = self.holder_text(c, holder_path);
                if many {
                    t = Text::new().count(c.holders).text(" × ").append(t);
                }
                if c.by_count {
                    t = t
                        .text(format!(
                            " grew by {} {unit} (+",
                            text::thousands(now.saturating_sub(prev))
                        ))
                        .bytes(match (c.retained[n - 2], c.retained[n - 1]) {
                            (Some(a), Some(b)) => b.saturating_sub(a),
                            _ => 0,
                        })
                        .text(format!(
                            ") between snapshots {} and {n}, and at every snapshot (",
                            n - 1
                        ))
                        .series(&counts)
                        .text("), mostly ")
                        .append(leaked.clone())
                        .text(". ");
                } else {
                    let retained: Vec<u64> = c.retained.iter().map(|v| v.unwrap_or(0)).collect();
                    t = t.text(" keeps accumulating ").append(leaked.clone());
                    if let Some(edge) = self.entry_edge(c) {
                        t = t.text(" through ").quoted(NameKind::Property, edge);
                    }
                    t = t.text(": it retains ");
                    for (k, &r) in retained.iter().enumerate() {
                        if k > 0 {
                            t = t.text(" → ");
                        }
                        t = t.bytes(r);
                    }
                    t = t.text(" across the snapshots. ");
                }
                for (name, class, counts) in &c.siblings {
                    let counts: Vec<u64> = counts.iter().map(|v| v.unwrap_or(0)).collect();
                    t = t.text("It grows together with ");
                    if let Some((kind, name)) = name {
                        t = t.quoted(*kind, name.clone()).text(" (");
                    }
                    t = t
                        .class(class.clone())
                        .text(", ")
                        .series(&counts)
                        .text(format!(" {}", unit_of(class)));
                    if name.is_some() {
                        t = t.text(")");
                    }
                    t = t.text(". ");
                }
                let advice = if c.holder_class == "Map"
                    || c.holder_class == "Set"
                    || c.holder_class.starts_with('{')
                    || c.holder_class == "Object"
                {
                    Text::new().text("Delete entries when they are done, or bound it (an LRU with a max, a TTL that purges).")
                } else if c.holder_class == "Array" {
                    Text::new()
                        .text("Bound it (drop old elements) or write the data somewhere else.")
                } else {
                    Text::new().text("Release what it accumulates when done, or bound it.")
                };
                (t.append(survivors), advice)
            }
        };
        let pins = c.sliced >= self.options.min_count
            && c.sliced_parent_bytes.saturating_mul(4) >= c.added_bytes.iter().sum::<u64>();
        if pins {
            text = text
                .text(" ")
                .count(c.sliced)
                .text(" of them are sliced strings (substrings of longer strings) that keep their parent strings alive: ")
                .bytes(c.sliced_parent_bytes)
                .text(" of parents, ")
                .bytes(c.sliced_parent_bytes / c.sliced.max(1))
                .text(" each on average.");
        }
        if c.external_bytes > 0 && c.external_stores > 0 {
            text = text
                .text(" They hold ")
                .bytes(c.external_bytes)
                .text(" outside the JS heap in ")
                .count(c.external_stores)
                .text(" ArrayBuffer backing stores (")
                .bytes(c.external_bytes / c.external_stores)
                .text(" each).");
        }
        let mut advice = advice;
        if pins {
            advice = advice.text(" Store a copy of the substring (e.g. Buffer.from(s).toString()), not a slice of the whole input.");
        }
        (text, advice)
    }

    /// The edge most new objects hang on, for holders that are not collections.
    fn entry_edge(&self, c: &Candidate) -> Option<String> {
        let m = c.member?;
        let mut x = m;
        for _ in 0..8 {
            let p = self.parent(x);
            if p == NONE {
                return None;
            }
            if p == c.holder {
                return edge_between(self.last, p, x).map(|e| self.last.edge_name(e));
            }
            x = p;
        }
        None
    }

    /// The file most of a Module suspect's children were loaded from.
    fn module_copies(&self, c: &Candidate) -> Option<(String, u64)> {
        let s = self.last;
        let mut files: HashMap<String, u64> = HashMap::new();
        for &m in &c.members {
            if let Some(f) = target_named(s, m, b"filename").or_else(|| target_named(s, m, b"id")) {
                *files
                    .entry(String::from_utf8_lossy(raw_name(s, f)).into_owned())
                    .or_insert(0) += 1;
            }
        }
        let (file, sampled) = files
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
        // The sample is capped: scale to the members it stands for.
        let k = (sampled as f64 / c.members.len().max(1) as f64 * c.young_members as f64).round()
            as u64;
        Some((file, k))
    }

    fn evidence(&self, c: &Candidate) -> Text {
        let unit = match &c.subject {
            Subject::Listeners { .. } => "listeners".to_string(),
            Subject::Timers { .. } => {
                if c.member.is_some() {
                    "owners kept alive by timers".to_string()
                } else {
                    "pending timers".to_string()
                }
            }
            _ => unit_of(&c.holder_class).to_string(),
        };
        let mut t = Text::new();
        if c.by_count {
            let counts: Vec<u64> = c.counts.iter().map(|v| v.unwrap_or(0)).collect();
            t = t
                .text(format!("{unit} rose at every snapshot ("))
                .series(&counts)
                .text(")");
        } else {
            t = t.text("retained size rose at every snapshot");
        }
        let pct = (c.kept.min(1.0) * 100.0).round() as u64;
        t = t
            .text(format!(
                "; {pct}% of what was added since snapshot 1 is still there"
            ))
            .text(", and ")
            .count(c.survivors)
            .text(" objects from the first interval survived");
        if c.holders > 1 {
            t = t
                .text(" (over ")
                .count(c.holders)
                .text(" holders of the same shape)");
        }
        t.text(".")
    }
}

impl Suspect {
    fn checked(self, n: usize) -> Self {
        debug_assert_eq!(self.counts.len(), n);
        debug_assert_eq!(self.added.len(), n - 1);
        self
    }
}

fn is_collection_class(name: &str) -> bool {
    matches!(name, "Array" | "Map" | "Set" | "Object") || name.starts_with('{')
}

fn unit_of(class: &str) -> &'static str {
    match class {
        "Array" => "elements",
        "Map" | "Set" | "WeakMap" | "WeakSet" => "entries",
        _ => "properties",
    }
}

fn display_function(name: &str) -> String {
    if name.is_empty() {
        "(anonymous)".to_string()
    } else {
        name.to_string()
    }
}

/// A path's labels with what differs between holders of one shape blanked:
/// indices, and hops along Node's timer lists.
fn shape(path: &[PathStep]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in path {
        let label = match (step.edge_type.as_deref(), step.edge_label.as_deref()) {
            (Some("element"), _) => "[]".to_string(),
            (_, Some(".") | None) => String::new(),
            (_, Some(l)) if l == "._idleNext" || l == "._idlePrev" => {
                "._idleNext|_idlePrev".to_string()
            }
            (_, Some(l))
                if l.trim_start_matches(['[', '.'])
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ']') =>
            {
                "[]".to_string()
            }
            (_, Some(l)) => l.to_string(),
        };
        let item = if label.is_empty() {
            step.node.class_name.clone()
        } else {
            format!("{label} {}", step.node.class_name)
        };
        if out.last() != Some(&item) {
            out.push(item);
        }
    }
    out
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
                m.sliced += c.sliced;
                m.sliced_parent_bytes = m.sliced_parent_bytes.saturating_add(c.sliced_parent_bytes);
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
