//! Class names and the per-class summary, as DevTools' Summary view has them:
//! names by node type, `{a, b, c}` interface names inferred for plain objects,
//! class keys that split same-named constructors by source location, and
//! class retained sizes that do not double count nested instances.

use super::graph::Graph;
use super::phases::NO_DISTANCE;
use super::strings::{cmp_utf16, json_quote, utf16_len, wtf8_to_string};
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
///
/// The texts are only collected here, with the indices they will have once
/// appended, so that naming reads the graph alone and can run beside another
/// phase; `ClassNames::new_strings` are appended afterwards, in order.
struct AddedStrings {
    map: HashMap<Vec<u8>, u32>,
    next: u32,
    texts: Vec<Vec<u8>>,
}

impl AddedStrings {
    fn get(&mut self, text: &[u8]) -> u32 {
        if let Some(&i) = self.map.get(text) {
            return i;
        }
        let i = self.push(text);
        self.map.insert(text.to_vec(), i);
        i
    }

    /// A new index without interning (interface names have their own map).
    fn push(&mut self, text: &[u8]) -> u32 {
        let i = self.next;
        self.next += 1;
        self.texts.push(text.to_vec());
        i
    }
}

/// The class (string index, in the extended table) of every node, in
/// `buffer`'s memory (emptied first).
pub fn class_indices(g: &Graph, t: &TypeIndices, buffer: Vec<u32>) -> ClassNames {
    let mut added = AddedStrings {
        map: HashMap::new(),
        next: g.strings.len() as u32,
        texts: Vec::new(),
    };
    let hidden = added.get(b"(system)");
    let code = added.get(b"(compiled code)");
    let function = added.get(b"Function");
    let regexp = added.get(b"RegExp");
    let mut type_class: Vec<Option<u32>> = vec![None; g.meta.node_types.len()];
    let n = g.node_count();
    let mut classes = buffer;
    classes.clear();
    classes.resize(n, 0);
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
                added.get(&short)
            } else if name.starts_with(b"Detached <") {
                let short = match name[10..].iter().position(|&b| b == b' ') {
                    Some(sp) => [&name[..10 + sp], b">"].concat(),
                    None => name.to_vec(),
                };
                added.get(&short)
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
                    let c = added.get(text.as_bytes());
                    type_class[ty as usize] = Some(c);
                    c
                }
            }
        };
    }
    let plain = plain_objects(g, t);
    let definitions = infer_interface_definitions(g, t, &plain);
    let matches = match_interfaces(g, t, &plain, &definitions);
    let mut interface_strings: HashMap<Vec<u8>, u32> = HashMap::new();
    for (&o, m) in plain.iter().zip(matches) {
        if let Some(def) = m {
            let name = &definitions[def as usize].name;
            let class = match interface_strings.get(name) {
                Some(&c) => c,
                None => {
                    let c = added.push(name);
                    interface_strings.insert(name.clone(), c);
                    c
                }
            };
            classes[o as usize] = class;
        }
    }
    ClassNames {
        classes,
        definitions,
        interface_strings,
        new_strings: added.texts,
    }
}

/// Per-node class (string index in the extended table) and what produced
/// the inferred names, kept so another snapshot can be categorised the same way.
pub struct ClassNames {
    pub classes: Vec<u32>,
    pub definitions: Vec<InterfaceDefinition>,
    /// Interface name -> its string index (DevTools' `#interfaceNames`).
    pub interface_strings: HashMap<Vec<u8>, u32>,
    /// Texts to append to the string table, in order, for the indices above.
    pub new_strings: Vec<Vec<u8>>,
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

/// A named object shape DevTools infers from popular property lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDefinition {
    /// `{a, b, c}` as displayed.
    pub name: Vec<u8>,
    /// Raw property names (WTF-8), in the order that named them.
    pub properties: Vec<Vec<u8>>,
}

/// Plain JS objects: type `object` named `Object`, the only nodes that take
/// inferred interface names.
pub fn plain_objects(g: &Graph, t: &TypeIndices) -> Vec<u32> {
    let object_names: Vec<bool> = (0..g.strings.len() as u32)
        .map(|s| g.strings.wtf8(s) == b"Object")
        .collect();
    (0..g.node_count() as u32)
        .filter(|&o| g.node_type(o) == t.object && object_names[g.node_name[o as usize] as usize])
        .collect()
}

/// Property-name texts numbered densely, with their JavaScript sort rank, so
/// per-object work is integer sorting rather than string comparison.
struct PropertyNames<'a> {
    /// Per string index: text id + 1, or 0 if not seen yet. Zero as the
    /// empty mark leaves the pages of strings never used as property names
    /// uncommitted (see `memory`): most strings on a big heap are values.
    of_string: Vec<u32>,
    texts: Vec<&'a [u8]>,
    by_text: std::collections::HashMap<&'a [u8], u32>,
}

impl<'a> PropertyNames<'a> {
    fn new(g: &Graph) -> Self {
        PropertyNames {
            of_string: vec![0; g.strings.len()],
            texts: Vec::new(),
            by_text: HashMap::new(),
        }
    }

    fn intern(&mut self, text: &'a [u8]) -> u32 {
        let next = self.texts.len() as u32;
        let id = *self.by_text.entry(text).or_insert(next);
        if id == next {
            self.texts.push(text);
        }
        id
    }

    fn of_edge(&mut self, g: &'a Graph, string: u32) -> u32 {
        let slot = self.of_string[string as usize];
        if slot != 0 {
            return slot - 1;
        }
        let id = self.intern(g.strings.wtf8(string));
        self.of_string[string as usize] = id + 1;
        id
    }

    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.texts.len() as u32).collect();
        order.sort_by(|&a, &b| cmp_utf16(self.texts[a as usize], self.texts[b as usize]));
        let mut rank = vec![0u32; self.texts.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

/// DevTools' `inferInterfaceDefinitions`: each plain object proposes the
/// name made of its leading properties (up to 120 characters); proposals made
/// by at least max(2, objects/1000) objects become definitions, most popular first.
pub fn infer_interface_definitions(
    g: &Graph,
    t: &TypeIndices,
    plain: &[u32],
) -> Vec<InterfaceDefinition> {
    let mut names = PropertyNames::new(g);
    let proto = names.intern(b"__proto__");
    let mut formatted_len: Vec<usize> = Vec::new();
    // Proposal -> (order first made, objects making it). One copy of each
    // list: a big heap can have hundreds of thousands of distinct ones.
    let mut proposals: HashMap<Box<[u32]>, (u32, u32)> = HashMap::new();
    let mut props: Vec<u32> = Vec::new();
    for &o in plain {
        props.clear();
        let mut name_len = 1; // "{"
        for e in g.edges(o) {
            if g.edge_type(e) != t.e_property {
                continue;
            }
            let id = names.of_edge(g, g.edge_name[e]);
            if id == proto {
                continue;
            }
            while formatted_len.len() < names.texts.len() {
                let text = names.texts[formatted_len.len()];
                formatted_len.push(utf16_len(&format_property_name(text)));
            }
            let flen = formatted_len[id as usize];
            if name_len > MIN_INTERFACE_PROPERTY_COUNT
                && name_len + flen > MAX_INTERFACE_NAME_LENGTH
            {
                break;
            }
            if name_len != 1 {
                name_len += 2;
            }
            name_len += flen;
            props.push(id);
        }
        if props.is_empty() {
            continue;
        }
        match proposals.get_mut(props.as_slice()) {
            Some((_, count)) => *count += 1,
            None => {
                let first = proposals.len() as u32;
                proposals.insert(props.as_slice().into(), (first, 1));
            }
        }
    }
    let min_count = MIN_OBJECT_COUNT_PER_INTERFACE
        .max(plain.len() as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    // Most popular first; equally popular ones in the order first made.
    let mut popular: Vec<_> = proposals
        .into_iter()
        .filter(|(_, (_, count))| *count as f64 >= min_count)
        .collect();
    popular.sort_by_key(|(_, (first, count))| (std::cmp::Reverse(*count), *first));
    popular
        .into_iter()
        .map(|(props, _)| {
            let mut name = b"{".to_vec();
            for (k, &p) in props.iter().enumerate() {
                if k > 0 {
                    name.extend_from_slice(b", ");
                }
                name.extend_from_slice(&format_property_name(names.texts[p as usize]));
            }
            name.push(b'}');
            InterfaceDefinition {
                name,
                properties: props
                    .iter()
                    .map(|&p| names.texts[p as usize].to_vec())
                    .collect(),
            }
        })
        .collect()
}

struct TreeNode {
    next: HashMap<u32, u32>,
    /// (property count, definition index) of the interface ending here.
    match_info: Option<(usize, usize)>,
    greatest_next: Option<u32>,
}

/// DevTools' `applyInterfaceDefinitions` matching: each plain object takes the
/// definition with the most properties it has (ties: the more popular one).
/// Returns the definition index per entry of `plain`.
pub fn match_interfaces(
    g: &Graph,
    t: &TypeIndices,
    plain: &[u32],
    defs: &[InterfaceDefinition],
) -> Vec<Option<u32>> {
    if defs.is_empty() {
        return vec![None; plain.len()];
    }
    let mut names = PropertyNames::new(g);
    let def_props: Vec<Vec<u32>> = defs
        .iter()
        .map(|d| d.properties.iter().map(|p| names.intern(p)).collect())
        .collect();
    for &o in plain {
        for e in g.edges(o) {
            if g.edge_type(e) == t.e_property {
                names.of_edge(g, g.edge_name[e]);
            }
        }
    }
    let rank = names.ranks();

    // A trie over sorted property names.
    let mut tree: Vec<TreeNode> = vec![TreeNode {
        next: HashMap::new(),
        match_info: None,
        greatest_next: None,
    }];
    for (def, props) in def_props.iter().enumerate() {
        let mut ranks: Vec<u32> = props.iter().map(|&p| rank[p as usize]).collect();
        ranks.sort_unstable();
        let mut cur = 0usize;
        for &r in &ranks {
            let next = match tree[cur].next.get(&r).copied() {
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
    // More properties wins; equal counts go to the earlier (more popular) one.
    let better = |a: Option<(usize, usize)>, b: Option<(usize, usize)>| match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => {
            if x.0 != y.0 {
                Some(if x.0 > y.0 { x } else { y })
            } else {
                Some(if x.1 <= y.1 { x } else { y })
            }
        }
    };

    let mut result = Vec::with_capacity(plain.len());
    let mut props: Vec<u32> = Vec::new();
    let mut states: Vec<u32> = Vec::new();
    let mut next_states: Vec<u32> = Vec::new();
    let mut stamp: Vec<u32> = vec![0; tree.len()];
    let mut generation = 0u32;
    for &o in plain {
        props.clear();
        for e in g.edges(o) {
            if g.edge_type(e) == t.e_property {
                props.push(rank[names.of_string[g.edge_name[e] as usize] as usize - 1]);
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
        result.push(best.map(|(_, def)| def as u32));
    }
    result
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
    /// Script, line, column, and the interned class text.
    Located(u32, u32, u32, u32),
}

pub struct ClassSummary {
    /// Per node: its internal class id (index into `classes_internal`).
    pub node_class: Vec<u32>,
    internal: Vec<ClassInfo>,
    /// Internal class ids visible in the summary, in DevTools' order; when two
    /// internal classes share a public key, the later one replaces the earlier.
    pub public: Vec<u32>,
    public_flag: Vec<bool>,
    /// Class string index -> internal class, for classes keyed by name alone.
    pub index_classes: HashMap<u32, u32>,
}

impl ClassSummary {
    /// Each class's distance: the least over its nodes that have a size, as
    /// DevTools' summary shows it (`NO_DISTANCE` when there is none).
    pub fn apply_distances(&mut self, g: &Graph, distances: &[i32]) {
        let mut least = vec![i32::MAX; self.internal.len()];
        for (o, &c) in self.node_class.iter().enumerate() {
            if g.self_size.get(o as u32) != 0 {
                let d = &mut least[c as usize];
                *d = (*d).min(distances[o]);
            }
        }
        for (info, d) in self.internal.iter_mut().zip(least) {
            info.distance = if d == i32::MAX { NO_DISTANCE } else { d };
        }
    }

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
    /// Strings `class_indices` added, numbered after the graph's own.
    pub added_strings: &'a [Vec<u8>],
    pub retained: &'a [u64],
    pub dominators: &'a [u32],
    /// `phases::dominator_preorder`.
    pub dominator_preorder: &'a [u32],
}

/// Groups nodes into classes, turning each node's class name index (in
/// `class_index`, which becomes the node's class id) into totals. Distances
/// are left for [`ClassSummary::apply_distances`], so this can run while they
/// are computed.
pub fn summarize_classes(input: ClassSummaryInput, class_index: Vec<u32>) -> ClassSummary {
    let g = input.graph;
    let own_strings = g.strings.len() as u32;
    let text = |s: u32| -> &[u8] {
        match s.checked_sub(own_strings) {
            None => g.strings.wtf8(s),
            Some(k) => input.added_strings.get(k as usize).map_or(&[], |t| t),
        }
    };
    // DevTools keeps the last location recorded for a node. V8 writes them
    // in node order, where one walk beside the nodes finds them; otherwise
    // an index per node does (cheaper than sorting a copy).
    const NO_LOCATION: u32 = u32::MAX;
    let last_location: Option<Vec<u32>> = if g.locations.is_sorted_by_key(|l| l[0]) {
        None
    } else {
        let mut last = vec![NO_LOCATION; g.node_count()];
        for (k, l) in g.locations.iter().enumerate() {
            last[l[0] as usize] = k as u32;
        }
        Some(last)
    };
    let mut next_location = 0usize;
    // Per class string: class id (or text id) + 1, 0 for none yet; zero as
    // the empty mark leaves the pages of strings that name no class
    // uncommitted (see `memory`).
    let string_count = own_strings as usize + input.added_strings.len();
    let mut by_index: Vec<u32> = vec![0; string_count];
    let mut by_location: HashMap<ClassKey, u32> = HashMap::new();
    let mut text_of_class: Vec<u32> = vec![0; string_count];
    let mut class_texts: HashMap<&[u8], u32> = HashMap::new();
    let mut internal: Vec<ClassInfo> = Vec::new();
    let mut node_class = class_index;
    for (o, node_class_slot) in node_class.iter_mut().enumerate() {
        let class_index = *node_class_slot;
        let location = match &last_location {
            Some(last) => match last[o] {
                NO_LOCATION => None,
                k => Some(g.locations[k as usize]),
            },
            None => {
                let locations = &g.locations;
                while next_location < locations.len() && (locations[next_location][0] as usize) < o
                {
                    next_location += 1;
                }
                let mut location = None;
                while next_location < locations.len() && locations[next_location][0] as usize == o {
                    location = Some(locations[next_location]);
                    next_location += 1;
                }
                location
            }
        };
        let located = match location {
            Some([_, s, l, c]) if g.node_kind[o] & 0x3F == input.types.object => {
                // Two class indices with equal text are one located class;
                // intern the text once per class index, not once per object.
                let text = match text_of_class[class_index as usize] {
                    0 => {
                        let next = class_texts.len() as u32;
                        let id = *class_texts.entry(text(class_index)).or_insert(next);
                        text_of_class[class_index as usize] = id + 1;
                        id
                    }
                    id => id - 1,
                };
                Some(ClassKey::Located(s, l, c, text))
            }
            _ => None,
        };
        let existing = match &located {
            Some(key) => by_location.get(key).copied(),
            None => by_index[class_index as usize].checked_sub(1),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                let name = wtf8_to_string(text(class_index)).into_owned();
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
                    distance: NO_DISTANCE,
                    first_node: u32::MAX,
                });
                let id = (internal.len() - 1) as u32;
                match located {
                    Some(key) => {
                        by_location.insert(key, id);
                    }
                    None => by_index[class_index as usize] = id + 1,
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
        info.self_size = info.self_size.saturating_add(size);
    }
    drop((by_location, class_texts, text_of_class, last_location));
    let index_classes: HashMap<u32, u32> = by_index
        .iter()
        .enumerate()
        .filter(|(_, &c)| c != 0)
        .map(|(s, &c)| (s as u32, c - 1))
        .collect();
    drop(by_index);

    // Class retained size: a node counts unless a dominator-tree ancestor of
    // the same class (with a non-zero size) already counted. In the preorder
    // the dominator-tree path to the current node is a stack: it is left,
    // each sized node's count dropping, up to the next node's dominator.
    const COUNTED: u32 = 1 << 31;
    const _: () = assert!(super::graph::MAX_NODES <= COUNTED as u64);
    let mut active = vec![0u32; internal.len()];
    let mut path: Vec<u32> = Vec::new();
    for &x in input.dominator_preorder {
        if x != g.root {
            let d = input.dominators[x as usize];
            while let Some(&top) = path.last() {
                if top & !COUNTED == d {
                    break;
                }
                path.pop();
                if top & COUNTED != 0 {
                    active[node_class[(top & !COUNTED) as usize] as usize] -= 1;
                }
            }
        }
        let c = node_class[x as usize] as usize;
        if g.self_size.get(x) != 0 {
            if active[c] == 0 {
                internal[c].retained_size = internal[c]
                    .retained_size
                    .saturating_add(input.retained[x as usize]);
            }
            active[c] += 1;
            path.push(x | COUNTED);
        } else {
            path.push(x);
        }
    }
    drop(path);

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
    ClassSummary {
        node_class,
        internal,
        public,
        public_flag,
        index_classes,
    }
}

#[cfg(test)]
mod tests {
    use crate::analyzer::snapshot::{Quiet, Snapshot};

    /// Plain objects with the given property lists under one synthetic root,
    /// in V8's layout; returns the inferred definitions' names in order.
    fn inferred(lists: &[&[&str]]) -> Vec<String> {
        let mut strings: Vec<String> = vec!["".into(), "Object".into(), "g".into()];
        let mut string = |s: &str| match strings.iter().position(|x| x == s) {
            Some(i) => i,
            None => {
                strings.push(s.into());
                strings.len() - 1
            }
        };
        // Root: a shortcut edge (type 5) to each object.
        let mut nodes = vec![format!("9,0,1,0,{}", lists.len())];
        let mut edges: Vec<String> = (0..lists.len())
            .map(|k| format!("5,2,{}", (k + 1) * 5))
            .collect();
        for (k, props) in lists.iter().enumerate() {
            nodes.push(format!("3,1,{},16,{}", 2 * k + 3, props.len()));
            // Property edges (type 2) back to the root.
            edges.extend(props.iter().map(|p| format!("2,{},0", string(p))));
        }
        let strings: Vec<String> = strings.iter().map(|s| format!("{s:?}")).collect();
        let text = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},"node_count":{},"edge_count":{}}},"nodes":[{}],"edges":[{}],"strings":[{}]}}"#,
            nodes.len(),
            edges.len(),
            nodes.join(","),
            edges.join(","),
            strings.join(",")
        );
        let s = Snapshot::from_bytes(text.as_bytes(), &Quiet).expect("the snapshot loads");
        s.interface_definitions
            .iter()
            .map(|d| String::from_utf8_lossy(&d.name).into_owned())
            .collect()
    }

    #[test]
    fn definitions_are_the_popular_proposals_most_popular_first() {
        let (bc, a, z, q): (&[&str], &[&str], &[&str], &[&str]) =
            (&["b", "c"], &["a"], &["z"], &["q"]);
        // {b, c} and {a} are equally popular: the one proposed first leads.
        // {q} is proposed once, below the minimum of two.
        let lists = [bc, z, a, bc, z, q, a, z, bc, a, z, z];
        assert_eq!(inferred(&lists), ["{z}", "{b, c}", "{a}"]);
        // Proposed the other way round, the tie goes the other way.
        let lists = [a, z, bc, bc, z, a, z, bc, a, z, z];
        assert_eq!(inferred(&lists), ["{z}", "{a}", "{b, c}"]);
    }
}
