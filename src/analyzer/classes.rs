//! Class names and the per-class summary, as DevTools' Summary view has them:
//! names by node type, `{a, b, c}` interface names inferred for plain objects,
//! class keys that split same-named constructors by source location, and
//! class retained sizes that do not double count nested instances.

use super::graph::Graph;
use super::phases::NO_DISTANCE;
use super::strings::{cmp_utf16, json_quote, utf16_len};
use super::types::TypeIndices;
use std::collections::HashMap;

const MIN_INTERFACE_PROPERTY_COUNT: usize = 1;
const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

/// Interns strings that the analysis adds to the table. DevTools adds them
/// without deduplicating against the snapshot's own strings, so a class named
/// `Function` by a closure is a different class index than an object whose
/// constructor is literally called `Function`; keeping that distinction is
/// what makes the per-class numbers match.
struct AddedStrings {
    map: HashMap<Vec<u8>, u32>,
}

impl AddedStrings {
    fn get(&mut self, g: &mut Graph, text: &[u8]) -> u32 {
        if let Some(&i) = self.map.get(text) {
            return i;
        }
        let i = g.strings.push_wtf8(text);
        self.map.insert(text.to_vec(), i);
        i
    }
}

/// The class (string index, in the extended table) of every node.
pub fn class_indices(g: &mut Graph, t: &TypeIndices) -> Vec<u32> {
    let mut added = AddedStrings {
        map: HashMap::new(),
    };
    let hidden = added.get(g, b"(system)");
    let code = added.get(g, b"(compiled code)");
    let function = added.get(g, b"Function");
    let regexp = added.get(g, b"RegExp");
    let mut type_class: Vec<Option<u32>> = vec![None; g.meta.node_types.len()];
    let n = g.node_count();
    let mut classes = vec![0u32; n];
    for (o, class) in classes.iter_mut().enumerate() {
        let ty = g.node_kind[o] & 0x3F;
        *class = if ty == t.hidden {
            hidden
        } else if ty == t.object || ty == t.native {
            let name_index = g.node_name[o];
            let name = g.strings.wtf8(name_index);
            if name.starts_with(b"<") {
                let short = match name.iter().position(|&b| b == b' ') {
                    Some(sp) => [&name[..sp], b">"].concat(),
                    None => name.to_vec(),
                };
                added.get(g, &short)
            } else if name.starts_with(b"Detached <") {
                let short = match name[10..].iter().position(|&b| b == b' ') {
                    Some(sp) => [&name[..10 + sp], b">"].concat(),
                    None => name.to_vec(),
                };
                added.get(g, &short)
            } else {
                name_index
            }
        } else if ty == t.code {
            code
        } else if ty == t.closure {
            function
        } else if ty == t.regexp {
            regexp
        } else {
            match type_class[ty as usize] {
                Some(c) => c,
                None => {
                    let text = format!("({})", g.meta.node_types[ty as usize]);
                    let c = added.get(g, text.as_bytes());
                    type_class[ty as usize] = Some(c);
                    c
                }
            }
        };
    }
    apply_interface_names(g, t, &mut classes);
    classes
}

/// `JSHeapSnapshotNode.formatPropertyName`: names with commas, quotes or
/// braces are shown JSON-quoted.
fn format_property_name(name: &[u8]) -> Vec<u8> {
    if name
        .iter()
        .any(|b| matches!(b, b',' | b'\'' | b'"' | b'{' | b'}'))
    {
        let mut out = Vec::with_capacity(name.len() + 2);
        json_quote(name, &mut out);
        out
    } else {
        name.to_vec()
    }
}

struct Candidate {
    name: Vec<u8>,
    properties: Vec<u32>,
    count: u32,
}

struct TreeNode {
    next: HashMap<u32, u32>,
    /// (property count, definition index) of the interface ending here.
    match_info: Option<(usize, usize)>,
    greatest_next: Option<u32>,
}

fn apply_interface_names(g: &mut Graph, t: &TypeIndices, classes: &mut [u32]) {
    let n = g.node_count();
    let object_names: Vec<bool> = (0..g.strings.len() as u32)
        .map(|s| g.strings.wtf8(s) == b"Object")
        .collect();
    let plain: Vec<u32> = (0..n as u32)
        .filter(|&o| g.node_type(o) == t.object && object_names[g.node_name[o as usize] as usize])
        .collect();
    drop(object_names);

    // Canonical id per distinct property-name text (strings are normally
    // unique already, but equal texts must be one property), and its JS rank.
    const UNSEEN: u32 = u32::MAX;
    let mut canon_of: Vec<u32> = vec![UNSEEN; g.strings.len()];
    let mut by_text: HashMap<&[u8], u32> = HashMap::new();
    let mut canon_text: Vec<u32> = Vec::new();
    for &o in &plain {
        for e in g.edges(o) {
            if g.edge_type(e) != t.e_property {
                continue;
            }
            let s = g.edge_name[e];
            if canon_of[s as usize] != UNSEEN {
                continue;
            }
            let text = g.strings.wtf8(s);
            let next = canon_text.len() as u32;
            let c = *by_text.entry(text).or_insert(next);
            if c == next {
                canon_text.push(s);
            }
            canon_of[s as usize] = c;
        }
    }
    drop(by_text);
    let mut sorted: Vec<u32> = (0..canon_text.len() as u32).collect();
    sorted.sort_by(|&a, &b| {
        cmp_utf16(
            g.strings.wtf8(canon_text[a as usize]),
            g.strings.wtf8(canon_text[b as usize]),
        )
    });
    let mut rank = vec![0u32; canon_text.len()];
    for (r, &c) in sorted.iter().enumerate() {
        rank[c as usize] = r as u32;
    }
    let proto = canon_text
        .iter()
        .position(|&s| g.strings.wtf8(s) == b"__proto__")
        .map(|p| p as u32);
    let formatted_len: Vec<usize> = canon_text
        .iter()
        .map(|&s| utf16_len(&format_property_name(g.strings.wtf8(s))))
        .collect();

    // Candidate interfaces: the leading properties of each plain object.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut index: HashMap<Box<[u32]>, usize> = HashMap::new();
    let total_objects = plain.len() as u64;
    let mut props: Vec<u32> = Vec::new();
    for &o in &plain {
        props.clear();
        let mut name_len = 1; // "{"
        for e in g.edges(o) {
            if g.edge_type(e) != t.e_property {
                continue;
            }
            let c = canon_of[g.edge_name[e] as usize];
            if Some(c) == proto {
                continue;
            }
            let flen = formatted_len[c as usize];
            if name_len > MIN_INTERFACE_PROPERTY_COUNT
                && name_len + flen > MAX_INTERFACE_NAME_LENGTH
            {
                break;
            }
            if name_len != 1 {
                name_len += 2;
            }
            name_len += flen;
            props.push(c);
        }
        if props.is_empty() {
            continue;
        }
        match index.get(props.as_slice()) {
            Some(&i) => candidates[i].count += 1,
            None => {
                index.insert(props.clone().into_boxed_slice(), candidates.len());
                candidates.push(Candidate {
                    name: Vec::new(),
                    properties: props.clone(),
                    count: 1,
                });
            }
        }
    }
    drop(index);
    candidates.sort_by_key(|c| std::cmp::Reverse(c.count));
    let min_count = MIN_OBJECT_COUNT_PER_INTERFACE
        .max(total_objects as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    candidates.retain(|c| (c.count as f64) >= min_count);
    if candidates.is_empty() {
        return;
    }
    for c in candidates.iter_mut() {
        let mut name = b"{".to_vec();
        for (k, &p) in c.properties.iter().enumerate() {
            if k > 0 {
                name.extend_from_slice(b", ");
            }
            name.extend_from_slice(&format_property_name(
                g.strings.wtf8(canon_text[p as usize]),
            ));
        }
        name.push(b'}');
        c.name = name;
    }

    // A trie over sorted property names; an object takes the best definition
    // whose properties it has (more properties first, then more popular).
    let mut tree: Vec<TreeNode> = vec![TreeNode {
        next: HashMap::new(),
        match_info: None,
        greatest_next: None,
    }];
    for (def, c) in candidates.iter().enumerate() {
        let mut ranks: Vec<u32> = c.properties.iter().map(|&p| rank[p as usize]).collect();
        ranks.sort_unstable();
        let mut cur = 0usize;
        for &r in &ranks {
            let existing = tree[cur].next.get(&r).copied();
            let next = match existing {
                Some(x) => x as usize,
                None => {
                    tree.push(TreeNode {
                        next: HashMap::new(),
                        match_info: None,
                        greatest_next: None,
                    });
                    let id = tree.len() - 1;
                    tree[cur].next.insert(r, id as u32);
                    if tree[cur].greatest_next.is_none_or(|gn| gn < r) {
                        tree[cur].greatest_next = Some(r);
                    }
                    id
                }
            };
            cur = next;
        }
        if tree[cur].match_info.is_none() {
            tree[cur].match_info = Some((ranks.len(), def));
        }
    }
    let better = |a: Option<(usize, usize)>, b: Option<(usize, usize)>| -> Option<(usize, usize)> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(x), Some(y)) => {
                if x.0 != y.0 {
                    if x.0 > y.0 {
                        Some(x)
                    } else {
                        Some(y)
                    }
                } else if x.1 <= y.1 {
                    Some(x)
                } else {
                    Some(y)
                }
            }
        }
    };
    let mut interface_class: Vec<Option<u32>> = vec![None; candidates.len()];
    let mut states: Vec<u32> = Vec::new();
    let mut next_states: Vec<u32> = Vec::new();
    let mut stamp: Vec<u32> = vec![0; tree.len()];
    let mut generation = 0u32;
    for &o in &plain {
        props.clear();
        for e in g.edges(o) {
            if g.edge_type(e) == t.e_property {
                props.push(rank[canon_of[g.edge_name[e] as usize] as usize]);
            }
        }
        props.sort_unstable();
        states.clear();
        states.push(0);
        let mut best = tree[0].match_info;
        for &p in &props {
            generation = generation.wrapping_add(1);
            next_states.clear();
            for &s in &states {
                let node = &tree[s as usize];
                let exhausted = node.greatest_next.is_none_or(|gn| p >= gn);
                if !exhausted && stamp[s as usize] != generation {
                    stamp[s as usize] = generation;
                    next_states.push(s);
                }
                if let Some(&nx) = node.next.get(&p) {
                    if stamp[nx as usize] != generation {
                        stamp[nx as usize] = generation;
                        next_states.push(nx);
                    }
                    best = better(best, tree[nx as usize].match_info);
                }
            }
            std::mem::swap(&mut states, &mut next_states);
            if states.is_empty() {
                break;
            }
        }
        if let Some((_, def)) = best {
            let class = match interface_class[def] {
                Some(c) => c,
                None => {
                    let c = g.strings.push_wtf8(&candidates[def].name);
                    interface_class[def] = Some(c);
                    c
                }
            };
            classes[o as usize] = class;
        }
    }
}

/// One row of the class summary.
#[derive(Debug, Clone)]
pub struct ClassInfo {
    /// DevTools' class key: `,<name>`, or `<script>,<line>,<col>,<name>` for
    /// objects whose constructor has a source position.
    pub key: String,
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
    /// First node (ordinal) of the class with a non-zero size, which orders
    /// classes the way DevTools inserts them.
    first_node: u32,
}

/// Class key of an object with a source location: the location plus the
/// class text (objects without one are keyed by class string index alone).
#[derive(Hash, PartialEq, Eq, Clone)]
enum ClassKey {
    Located(u32, u32, u32, Box<[u8]>),
}

pub struct ClassSummary {
    /// Per node: its internal class id (index into `classes_internal`).
    pub node_class: Vec<u32>,
    internal: Vec<ClassInfo>,
    /// Internal class ids visible in the summary, in DevTools' order; when two
    /// internal classes share a public key, the later one replaces the earlier.
    pub public: Vec<u32>,
    public_flag: Vec<bool>,
}

impl ClassSummary {
    pub fn info(&self, class: u32) -> &ClassInfo {
        &self.internal[class as usize]
    }

    pub fn rows(&self) -> impl Iterator<Item = &ClassInfo> {
        self.public.iter().map(|&c| &self.internal[c as usize])
    }

    pub fn class_count(&self) -> usize {
        self.internal.len()
    }

    /// Whether a node is counted in the summary under its class's public key.
    pub fn is_public(&self, class: u32) -> bool {
        self.public_flag
            .get(class as usize)
            .copied()
            .unwrap_or(false)
    }
}

pub struct ClassSummaryInput<'a> {
    pub graph: &'a Graph,
    pub types: &'a TypeIndices,
    pub class_index: &'a [u32],
    pub distances: &'a [i32],
    pub retained: &'a [u64],
    pub dominated_first: &'a [u32],
    pub dominated: &'a [u32],
}

pub fn summarize_classes(input: ClassSummaryInput) -> ClassSummary {
    let g = input.graph;
    let n = g.node_count();
    // DevTools keeps the last location recorded for a node; a stable sort by
    // node then walking to the last entry per node does the same.
    let mut locations = g.locations.clone();
    locations.sort_by_key(|l| l[0]);
    let mut next_location = 0usize;
    const NO_CLASS: u32 = u32::MAX;
    let mut by_index: Vec<u32> = vec![NO_CLASS; g.strings.len()];
    let mut by_location: HashMap<ClassKey, u32> = HashMap::new();
    let mut internal: Vec<ClassInfo> = Vec::new();
    let mut node_class = vec![0u32; n];
    for (o, node_class_slot) in node_class.iter_mut().enumerate() {
        let class_index = input.class_index[o];
        while next_location < locations.len() && (locations[next_location][0] as usize) < o {
            next_location += 1;
        }
        let mut location = None;
        while next_location < locations.len() && locations[next_location][0] as usize == o {
            location = Some(locations[next_location]);
            next_location += 1;
        }
        let located = match location {
            Some([_, s, l, c]) if g.node_kind[o] & 0x3F == input.types.object => {
                Some(ClassKey::Located(
                    s,
                    l,
                    c,
                    g.strings.wtf8(class_index).to_vec().into_boxed_slice(),
                ))
            }
            _ => None,
        };
        let existing = match &located {
            Some(key) => by_location.get(key).copied(),
            None => Some(by_index[class_index as usize]).filter(|&c| c != NO_CLASS),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let name = g.strings.get(class_index).into_owned();
                let public_key = match &located {
                    None => format!(",{name}"),
                    Some(ClassKey::Located(s, l, c, _)) => format!("{s},{l},{c},{name}"),
                };
                internal.push(ClassInfo {
                    key: public_key,
                    name,
                    count: 0,
                    self_size: 0,
                    retained_size: 0,
                    distance: i32::MAX,
                    first_node: u32::MAX,
                });
                let id = (internal.len() - 1) as u32;
                match located {
                    Some(key) => {
                        by_location.insert(key, id);
                    }
                    None => by_index[class_index as usize] = id,
                }
                id
            }
        };
        *node_class_slot = id;
        let size = g.self_size.get(o as u32);
        if size == 0 {
            continue;
        }
        let info = &mut internal[id as usize];
        if info.count == 0 {
            info.first_node = o as u32;
        }
        info.count += 1;
        info.self_size += size;
        info.distance = info.distance.min(input.distances[o]);
    }
    drop(by_location);
    drop(by_index);

    // Class retained size: a node counts unless a dominator-tree ancestor of
    // the same class (with a non-zero size) already counted.
    let mut active = vec![0u32; internal.len()];
    let mut stack: Vec<u32> = vec![g.root];
    const EXIT: u32 = 1 << 31;
    while let Some(x) = stack.pop() {
        if x & EXIT != 0 {
            active[node_class[(x & !EXIT) as usize] as usize] -= 1;
            continue;
        }
        let c = node_class[x as usize] as usize;
        if g.self_size.get(x) != 0 {
            if active[c] == 0 {
                internal[c].retained_size += input.retained[x as usize];
            }
            active[c] += 1;
            stack.push(x | EXIT);
        }
        let from = input.dominated_first[x as usize] as usize;
        let to = input.dominated_first[x as usize + 1] as usize;
        stack.extend_from_slice(&input.dominated[from..to]);
    }

    let mut order: Vec<u32> = (0..internal.len() as u32)
        .filter(|&c| internal[c as usize].count > 0)
        .collect();
    order.sort_by_key(|&c| internal[c as usize].first_node);
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    let mut public: Vec<u32> = Vec::new();
    for &c in &order {
        match by_key.get(internal[c as usize].key.as_str()) {
            Some(&slot) => public[slot] = c,
            None => {
                by_key.insert(internal[c as usize].key.as_str(), public.len());
                public.push(c);
            }
        }
    }
    drop(by_key);
    let mut public_flag = vec![false; internal.len()];
    for &c in &public {
        public_flag[c as usize] = true;
    }
    for info in internal.iter_mut() {
        if info.distance == i32::MAX {
            info.distance = NO_DISTANCE;
        }
    }
    ClassSummary {
        node_class,
        internal,
        public,
        public_flag,
    }
}
