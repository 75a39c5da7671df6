//! Who holds the new objects. Every object born after the first snapshot is
//! attributed to the first old object on its retainer path (the *holder*:
//! an array, a Map, an emitter's listener list, a closure scope), through the
//! *member* it belongs to: the first object a person would name below the
//! holder (an array's element, a Map's value, a listener), V8's backing
//! stores skipped. Then each holder's own size can be measured in every
//! snapshot.

use super::lineage::{Born, OLD};
use super::node::{is_oddball, is_string, is_user_object, raw_name, NONE};
use crate::analyzer::phases::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use crate::analyzer::snapshot::Snapshot;
use std::collections::{HashMap, HashSet};

const UNSET: u32 = u32::MAX - 1;
/// Members kept per holder to name them (classes, closures, sites).
pub const MEMBER_SAMPLE: usize = 256;

/// For each node, the retainer DevTools' Retainers view would unfold first
/// and the edge from it: the parent every shown retainer path follows
/// ([`Snapshot::path_parent`]), so holders hang where their paths say.
pub fn parents(s: &Snapshot) -> (Vec<u32>, Vec<u32>) {
    let n = s.node_count();
    let mut parent = vec![NONE; n];
    let mut parent_edge = vec![NONE; n];
    for o in 0..n as u32 {
        if let Some((src, e)) = s.path_parent(o) {
            parent[o as usize] = src;
            parent_edge[o as usize] = e as u32;
        }
    }
    (parent, parent_edge)
}

/// V8's compiled code, shapes and roots: never where a user's data hangs.
fn is_v8_bookkeeping(s: &Snapshot, o: u32) -> bool {
    let ty = s.graph.node_type(o);
    ty == s.types.code || ty == s.types.synthetic || s.node_type_name(o) == "object shape"
}

/// V8's backing stores: an array's elements, a Map's table, property arrays.
fn is_storage(s: &Snapshot, o: u32) -> bool {
    let ty = s.graph.node_type(o);
    ty == s.types.hidden || ty == s.types.array
}

/// Young objects by holder, entry (the young object right below the
/// holder on the path) and member.
pub struct Attribution {
    pub parent: Vec<u32>,
    /// The edge from `parent` (NONE where there is no parent).
    pub parent_edge: Vec<u32>,
    pub holder: Vec<u32>,
    pub entry: Vec<u32>,
    pub member: Vec<u32>,
}

pub fn attribute(s: &Snapshot, born: &[Born]) -> Attribution {
    let n = s.node_count();
    let (parent, parent_edge) = parents(s);
    let mut holder = vec![UNSET; n];
    let mut member = vec![NONE; n];
    let mut entry = vec![NONE; n];
    let mut chain: Vec<u32> = Vec::new();
    for o in 0..n as u32 {
        if born[o as usize] == OLD || holder[o as usize] != UNSET {
            continue;
        }
        chain.clear();
        let mut x = o;
        let (h, mut m, mut top) = loop {
            if born[x as usize] == OLD {
                break (x, NONE, NONE);
            }
            if holder[x as usize] != UNSET {
                break (holder[x as usize], member[x as usize], entry[x as usize]);
            }
            chain.push(x);
            let p = parent[x as usize];
            if p == NONE || chain.len() > n {
                break (NONE, NONE, NONE);
            }
            x = p;
        };
        for &c in chain.iter().rev() {
            if top == NONE {
                top = c;
            }
            if m == NONE && is_user_object(s, c) {
                m = c;
            }
            holder[c as usize] = h;
            member[c as usize] = m;
            entry[c as usize] = top;
        }
    }
    // Old objects keep UNSET out of the way of callers.
    for h in holder.iter_mut() {
        if *h == UNSET {
            *h = NONE;
        }
    }
    Attribution {
        parent,
        parent_edge,
        holder,
        entry,
        member,
    }
}

/// The holder a person would name: an array or Map rather than its backing
/// store, when the store itself is old.
pub fn lift(s: &Snapshot, a: &Attribution, born: &[Born], mut h: u32) -> u32 {
    for _ in 0..4 {
        if !is_storage(s, h) {
            break;
        }
        let p = a.parent[h as usize];
        if p == NONE || born[p as usize] != OLD || p == s.graph.root {
            break;
        }
        h = p;
    }
    h
}

/// What accumulated under one holder.
#[derive(Debug, Default)]
pub struct Group {
    pub holder: u32,
    /// Young objects alive in the last snapshot, by birth interval (index 0 unused).
    pub born_count: Vec<u64>,
    pub born_bytes: Vec<u64>,
    /// Young members by birth interval.
    pub members_born: Vec<u64>,
    pub member_classes: HashMap<u32, u64>,
    /// Bytes the members of each class retain.
    pub member_bytes: HashMap<u32, u64>,
    /// The first member of each class.
    pub member_examples: HashMap<u32, u32>,
    /// Members sampled per class (the first ones in the heap's order), so
    /// one class's many members never crowd another's out.
    pub samples: HashMap<u32, Vec<u32>>,
    /// Names of the edges from the holder into the young objects, by count.
    pub entry_names: HashMap<String, u64>,
    pub sliced: u64,
    pub sliced_parents: HashSet<u32>,
    pub concatenated: u64,
    /// The flat strings the young concatenated strings are made of.
    pub concatenated_parts: HashSet<u32>,
    pub external_bytes: u64,
    pub external_stores: u64,
    /// Buffers and typed arrays among them: views into backing stores, which
    /// Node packs several to a store for small Buffers.
    pub views: u64,
    pub timeouts: u64,
}

impl Group {
    pub fn survivors(&self) -> u64 {
        self.born_count.get(1).copied().unwrap_or(0)
    }

    pub fn young_bytes(&self) -> u64 {
        self.born_bytes
            .iter()
            .fold(0u64, |a, &b| a.saturating_add(b))
    }

    pub fn young_members(&self) -> u64 {
        self.members_born.iter().sum()
    }

    /// The sampled members of one class.
    pub fn sample(&self, class: u32) -> &[u32] {
        self.samples.get(&class).map_or(&[], Vec::as_slice)
    }

    pub fn all_samples(&self) -> impl Iterator<Item = u32> + '_ {
        self.samples.values().flatten().copied()
    }

    pub fn sliced_parent_bytes(&self, s: &Snapshot) -> u64 {
        bytes_of(s, &self.sliced_parents)
    }

    pub fn concatenated_part_bytes(&self, s: &Snapshot) -> u64 {
        bytes_of(s, &self.concatenated_parts)
    }
}

fn bytes_of(s: &Snapshot, nodes: &HashSet<u32>) -> u64 {
    nodes
        .iter()
        .map(|&p| s.graph.self_size.get(p))
        .fold(0u64, u64::saturating_add)
}

/// Parts looked at per concatenated string: `a + b + c` nests, and a string
/// built in a loop nests as deep as the loop ran.
const CONS_PARTS_MAX: usize = 64;

/// Adds the flat strings under the concatenated string `o` to `parts`.
fn add_cons_parts(s: &Snapshot, o: u32, parts: &mut HashSet<u32>) {
    let g = &s.graph;
    let t = &s.types;
    let mut stack = vec![o];
    let mut seen = 0;
    while let Some(x) = stack.pop() {
        for e in g.edges(x) {
            if g.edge_type(e) != t.e_internal {
                continue;
            }
            let name = g.strings.wtf8(g.edge_name[e]);
            if name != b"first" && name != b"second" {
                continue;
            }
            seen += 1;
            if seen > CONS_PARTS_MAX {
                return;
            }
            let part = g.edge_target(e);
            if g.node_type(part) == t.cons_string {
                stack.push(part);
            } else {
                parts.insert(part);
            }
        }
    }
}

/// Collections made between the first and second snapshots that hold
/// nearly all of what accumulates under an older holder: a holder created
/// lazily (`globalThis.log ??= []`, a cache made on the first request)
/// after a baseline taken at start-up. Treated as old, they become holders
/// themselves, measured as empty in the first snapshot; otherwise the leak
/// reads as the global (or module) gaining one property.
pub fn late_holders(s: &Snapshot, a: &Attribution, born: &[Born], min_count: u64) -> Vec<u32> {
    // One pass for each holder's most common entry (a majority vote, no
    // table per entry), one to count it.
    let mut votes: HashMap<u32, (u32, u64, u64)> = HashMap::new();
    for o in 0..s.node_count() as u32 {
        let h = a.holder[o as usize];
        if born[o as usize] == OLD || h == NONE {
            continue;
        }
        let entry = a.entry[o as usize];
        let (vote, lead, total) = votes.entry(h).or_insert((NONE, 0, 0));
        *total += 1;
        if *lead == 0 {
            *vote = entry;
            *lead = 1;
        } else if *vote == entry {
            *lead += 1;
        } else {
            *lead -= 1;
        }
    }
    let mut hits: HashMap<u32, u64> = HashMap::new();
    for o in 0..s.node_count() as u32 {
        let h = a.holder[o as usize];
        if born[o as usize] != OLD
            && h != NONE
            && votes.get(&h).is_some_and(|v| v.0 == a.entry[o as usize])
        {
            *hits.entry(h).or_insert(0) += 1;
        }
    }
    let mut late: Vec<u32> = votes
        .iter()
        .filter(|(h, (entry, _, total))| {
            let held = hits.get(h).copied().unwrap_or(0);
            *entry != NONE
                && born[*entry as usize] == 1
                && held >= min_count
                && held * 10 >= total * 9
                && s.graph.node_type(*entry) == s.types.object
                && matches!(raw_name(s, *entry), b"Array" | b"Map" | b"Set" | b"Object")
        })
        .map(|(_, (entry, _, _))| *entry)
        .collect();
    late.sort_unstable();
    late
}

/// Whether `o` views an ArrayBuffer (a Buffer, a typed array, a DataView).
fn is_buffer_view(s: &Snapshot, o: u32) -> bool {
    let g = &s.graph;
    g.edges(o).any(|e| {
        g.strings.wtf8(g.edge_name[e]) == b"buffer"
            && raw_name(s, g.edge_target(e)) == b"ArrayBuffer"
    })
}

/// Young objects of the last snapshot grouped by (lifted) holder.
pub fn groups(s: &Snapshot, a: &Attribution, born: &[Born], intervals: usize) -> Vec<Group> {
    let g = &s.graph;
    let t = &s.types;
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut lifted: HashMap<u32, u32> = HashMap::new();
    let mut out: Vec<Group> = Vec::new();
    for o in 0..s.node_count() as u32 {
        let b = born[o as usize];
        if b == OLD || g.self_size.get(o) == 0 {
            continue;
        }
        let d = s.distance[o as usize];
        if d == NO_DISTANCE || d >= BASE_SYSTEM_DISTANCE {
            continue;
        }
        let raw_holder = a.holder[o as usize];
        if raw_holder == NONE || raw_holder == g.root || g.node_type(raw_holder) == t.synthetic {
            continue;
        }
        let hd = s.distance[raw_holder as usize];
        if hd == NO_DISTANCE || hd >= BASE_SYSTEM_DISTANCE {
            continue;
        }
        // What hangs below a function's code, feedback or shape is V8's
        // (lazily compiled code, its source positions, inline caches).
        let top = a.entry[o as usize];
        if top != NONE && is_v8_bookkeeping(s, top) {
            continue;
        }
        let h = *lifted
            .entry(raw_holder)
            .or_insert_with(|| lift(s, a, born, raw_holder));
        let gi = *index.entry(h).or_insert_with(|| {
            out.push(Group {
                holder: h,
                born_count: vec![0; intervals + 1],
                born_bytes: vec![0; intervals + 1],
                members_born: vec![0; intervals + 1],
                ..Group::default()
            });
            out.len() - 1
        });
        let grp = &mut out[gi];
        let size = g.self_size.get(o);
        grp.born_count[b as usize] += 1;
        grp.born_bytes[b as usize] = grp.born_bytes[b as usize].saturating_add(size);
        let ty = g.node_type(o);
        if ty == t.sliced_string {
            grp.sliced += 1;
            if let Some(e) = g.edges(o).find(|&e| {
                g.edge_type(e) == t.e_internal && g.strings.wtf8(g.edge_name[e]) == b"parent"
            }) {
                grp.sliced_parents.insert(g.edge_target(e));
            }
        }
        if ty == t.cons_string {
            grp.concatenated += 1;
            add_cons_parts(s, o, &mut grp.concatenated_parts);
        }
        if ty == t.native && raw_name(s, o) == b"system / JSArrayBufferData" {
            grp.external_bytes = grp.external_bytes.saturating_add(size);
            grp.external_stores += 1;
        }
        if ty == t.object && is_buffer_view(s, o) {
            grp.views += 1;
        }
        if ty == t.object && raw_name(s, o) == b"Timeout" {
            grp.timeouts += 1;
        }
        if a.member[o as usize] == o {
            grp.members_born[b as usize] += 1;
            let class = s.classes.node_class[o as usize];
            *grp.member_classes.entry(class).or_insert(0) += 1;
            let bytes = grp.member_bytes.entry(class).or_insert(0);
            *bytes = bytes.saturating_add(s.retained[o as usize]);
            grp.member_examples.entry(class).or_insert(o);
            let sample = grp.samples.entry(class).or_default();
            if sample.len() < MEMBER_SAMPLE {
                sample.push(o);
            }
        }
        if a.parent[o as usize] == raw_holder {
            let e = a.parent_edge[o as usize] as usize;
            if t.edge_has_string_name(g.edge_type(e)) && g.edge_type(e) != t.e_internal {
                *grp.entry_names.entry(s.edge_name(e)).or_insert(0) += 1;
            }
        }
    }
    out
}

/// Elements, entries, listeners or properties: what a collection holds.
/// Slots holding `undefined` or a deleted entry's hole do not count.
pub fn own_size(s: &Snapshot, o: u32) -> u64 {
    let g = &s.graph;
    let t = &s.types;
    if g.node_type(o) == t.closure {
        // A single listener stored without an array.
        return 1;
    }
    match raw_name(s, o) {
        b"Map" | b"Set" => {
            let Some(table) = super::node::target_named(s, o, b"table") else {
                return 0;
            };
            // Entries are (key, value, chain) or (key, chain): a key and
            // its value are adjacent slots, entries never are, and slots
            // holding small integers have no edge. So entries are the
            // numbered edges less the adjacent pairs.
            let mut slots: Vec<u64> = g
                .edges(table)
                .filter(|&e| g.edge_type(e) == t.e_internal && !is_oddball(s, g.edge_target(e)))
                .filter_map(|e| g.strings.get(g.edge_name[e]).parse::<u64>().ok())
                .collect();
            slots.sort_unstable();
            slots.dedup();
            let pairs = slots.windows(2).filter(|w| w[1] == w[0] + 1).count() as u64;
            slots.len() as u64 - pairs
        }
        b"WeakMap" | b"WeakSet" => {
            let per_entry = if raw_name(s, o) == b"WeakMap" { 2 } else { 1 };
            super::node::target_named(s, o, b"table")
                .map(|table| {
                    g.edges(table)
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
                        .count() as u64
                        / per_entry
                })
                .unwrap_or(0)
        }
        _ => g
            .edges(o)
            .filter(|&e| {
                let ty = g.edge_type(e);
                let counted = ty == t.e_element
                    || (ty == t.e_property && g.strings.wtf8(g.edge_name[e]) != b"__proto__");
                counted && !is_oddball(s, g.edge_target(e))
            })
            .count() as u64,
    }
}

/// The most common class among a group's members, preferring objects over
/// the strings that ride along with almost every leak (keys, URLs).
pub fn dominant_member_class(s: &Snapshot, grp: &Group) -> Option<u32> {
    let is_string_class = |c: u32| {
        grp.member_examples
            .get(&c)
            .is_some_and(|&m| is_string(s, m))
    };
    // A Map's keys and values come in equal numbers: the bytes decide.
    let bytes = |c: u32| grp.member_bytes.get(&c).copied().unwrap_or(0);
    let mut classes: Vec<(u32, u64)> = grp.member_classes.iter().map(|(&c, &n)| (c, n)).collect();
    classes.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(bytes(b.0).cmp(&bytes(a.0)))
            .then(a.0.cmp(&b.0))
    });
    classes
        .iter()
        .find(|(c, _)| !is_string_class(*c))
        .or(classes.first())
        .map(|(c, _)| *c)
}
