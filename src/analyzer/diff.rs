//! Two-snapshot comparison with the semantics of DevTools' Comparison view:
//! per class, objects are matched by heap id (stable across snapshots of one
//! process); ids only in the base were freed, ids only in the current one
//! were allocated. As DevTools does, the base is first re-categorised with
//! the current snapshot's inferred `{a, b}` interfaces, so plain objects of
//! one shape land in the same row on both sides.

use super::classes::{match_interfaces, plain_objects};
use super::redact::Names;
use super::snapshot::Snapshot;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassDiff {
    pub key: String,
    pub name: String,
    pub added_count: u64,
    pub removed_count: u64,
    pub added_size: u64,
    pub removed_size: u64,
    /// Heap ids of the new objects, ascending.
    pub added_ids: Vec<u64>,
    /// Heap ids of the freed objects, ascending.
    pub removed_ids: Vec<u64>,
}

impl ClassDiff {
    pub fn count_delta(&self) -> i64 {
        self.added_count as i64 - self.removed_count as i64
    }
    pub fn size_delta(&self) -> i64 {
        self.added_size as i64 - self.removed_size as i64
    }
}

/// One side's objects per public class key, in first-appearance order.
struct Side {
    order: Vec<String>,
    /// Public key -> (class name, (id, shown size) sorted by id).
    groups: HashMap<String, (String, Vec<(u32, u64)>)>,
}

/// Groups objects per internal key, then applies DevTools' public-key rule:
/// when two internal classes print the same key, the one first seen later
/// replaces the earlier (it is an object property overwrite), keeping the
/// earlier one's position.
fn publish<K: Hash + Eq + Clone>(
    objects: impl Iterator<Item = (K, u32, u64)>,
    describe: impl Fn(&K, &[(u32, u64)]) -> (String, String),
) -> Side {
    let mut index: HashMap<K, usize> = HashMap::new();
    let mut internal: Vec<(K, Vec<(u32, u64)>)> = Vec::new();
    for (key, id, size) in objects {
        match index.get(&key) {
            Some(&i) => internal[i].1.push((id, size)),
            None => {
                index.insert(key.clone(), internal.len());
                internal.push((key, vec![(id, size)]));
            }
        }
    }
    let mut side = Side {
        order: Vec::new(),
        groups: HashMap::new(),
    };
    for (key, mut members) in internal {
        members.sort_unstable_by_key(|m| m.0);
        let (public, name) = describe(&key, &members);
        if !side.groups.contains_key(&public) {
            side.order.push(public.clone());
        }
        side.groups.insert(public, (name, members));
    }
    side
}

fn current_side(s: &Snapshot) -> Side {
    let g = &s.graph;
    let objects = (0..g.node_count() as u32).filter_map(|o| {
        let size = g.self_size.get(o);
        (size != 0).then(|| {
            (
                s.classes.node_class[o as usize],
                g.node_id[o as usize],
                size,
            )
        })
    });
    publish(objects, |&c, _| {
        let info = s.classes.info(c);
        (info.key.clone(), info.name.clone())
    })
}

/// The identity of a base object's class once re-categorised.
#[derive(Hash, PartialEq, Eq, Clone)]
enum BaseKey {
    /// A class the base snapshot already has.
    Existing(u32),
    /// A name-keyed class the base did not have (an interface it never used).
    Named(Vec<u8>),
    /// A plain object with a source location, under its new class text.
    Located([u32; 3], Vec<u8>),
}

fn base_side(base: &Snapshot, current: &Snapshot) -> Side {
    let g = &base.graph;
    let t = &base.types;
    let plain = plain_objects(g, t);
    let matches = match_interfaces(g, t, &plain, &current.interface_definitions);
    let mut plain_class: HashMap<u32, Option<u32>> = HashMap::with_capacity(plain.len());
    for (&o, m) in plain.iter().zip(matches) {
        plain_class.insert(o, m);
    }
    let mut location_of: HashMap<u32, [u32; 3]> = HashMap::new();
    for l in &g.locations {
        location_of.insert(l[0], [l[1], l[2], l[3]]);
    }
    let defs = &current.interface_definitions;
    let key_of = |o: u32| -> BaseKey {
        let Some(&matched) = plain_class.get(&o) else {
            return BaseKey::Existing(base.classes.node_class[o as usize]);
        };
        let (text, string) = match matched {
            Some(d) => {
                let name = defs[d as usize].name.clone();
                let string = base.interface_strings.get(&name).copied();
                (name, string)
            }
            None => {
                let raw = g.node_name[o as usize];
                (g.strings.wtf8(raw).to_vec(), Some(raw))
            }
        };
        if let Some(&loc) = location_of.get(&o) {
            return BaseKey::Located(loc, text);
        }
        match string.and_then(|s| base.classes.index_classes.get(&s)) {
            Some(&c) => BaseKey::Existing(c),
            None => BaseKey::Named(text),
        }
    };
    let objects = (0..g.node_count() as u32).filter_map(|o| {
        let size = g.self_size.get(o);
        (size != 0).then(|| (key_of(o), g.node_id[o as usize], size))
    });
    publish(objects, |key, members| {
        let public = match key {
            BaseKey::Existing(c) => base.classes.info(*c).key.clone(),
            BaseKey::Named(text) => format!(",{}", String::from_utf8_lossy(text)),
            BaseKey::Located([s, l, c], text) => {
                format!("{s},{l},{c},{}", String::from_utf8_lossy(text))
            }
        };
        // DevTools labels a base-only row with the class of its last object
        // as the base itself categorises it.
        let name = members
            .last()
            .and_then(|&(id, _)| base.ordinal_of_id(id as u64))
            .map(|o| base.class_of(o).name.clone())
            .unwrap_or_default();
        (public, name)
    })
}

fn compare(
    key: &str,
    name: String,
    before: &[(u32, u64)],
    after: &[(u32, u64)],
) -> Option<ClassDiff> {
    let mut d = ClassDiff {
        key: key.to_string(),
        name,
        added_count: 0,
        removed_count: 0,
        added_size: 0,
        removed_size: 0,
        added_ids: Vec::new(),
        removed_ids: Vec::new(),
    };
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < after.len() {
        let take_removed = j == after.len() || (i < before.len() && before[i].0 < after[j].0);
        let take_added = i == before.len() || (j < after.len() && after[j].0 < before[i].0);
        if take_removed {
            d.removed_count += 1;
            d.removed_size = d.removed_size.saturating_add(before[i].1);
            d.removed_ids.push(before[i].0 as u64);
            i += 1;
        } else if take_added {
            d.added_count += 1;
            d.added_size = d.added_size.saturating_add(after[j].1);
            d.added_ids.push(after[j].0 as u64);
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    (d.added_count != 0 || d.removed_count != 0).then_some(d)
}

/// Per-class changes from `base` to `current`, base classes first in
/// DevTools' order, then classes that only exist in `current`.
pub fn diff(base: &Snapshot, current: &Snapshot) -> Vec<ClassDiff> {
    let before = base_side(base, current);
    let after = current_side(current);
    let mut rows = Vec::new();
    for key in &before.order {
        let (base_name, members) = &before.groups[key];
        let (name, now) = match after.groups.get(key) {
            Some((name, now)) => (name.clone(), now.as_slice()),
            None => (base_name.clone(), &[][..]),
        };
        rows.extend(compare(key, name, members, now));
    }
    for key in &after.order {
        if before.groups.contains_key(key) {
            continue;
        }
        let (name, now) = &after.groups[key];
        rows.extend(compare(key, name.clone(), &[], now));
    }
    rows
}

/// [`diff`] with class keys and names shown under `names`' policy.
pub fn diff_shown(base: &Snapshot, current: &Snapshot, names: &Names) -> Vec<ClassDiff> {
    let mut rows = diff(base, current);
    if names.is_redacting() {
        for r in &mut rows {
            r.key = names.class_key(current, &r.key);
            r.name = names.class_name(current, &r.name);
        }
    }
    rows
}
