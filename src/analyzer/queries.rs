//! Bounded queries over an analysed snapshot, for callers that must never be
//! flooded (an agent's context, a UI): a node's details; its edges, retainers
//! and dominated children a page at a time; a class's instances a page at a
//! time; retainer paths and dominator chains that keep both ends and count
//! what lies between. Every answer's size is set by the caller's limits and
//! names are clipped before they are copied, whatever the heap's shape.

use super::error::{Result, SnapshotError};
use super::snapshot::Snapshot;
use super::strings::{utf16_len, wtf8_to_string};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Caps on any one answer, whatever the caller asks.
pub const MAX_PAGE: usize = 1000;
pub const MAX_ENDS: usize = 100;
pub const MAX_CHARS: usize = 10_000;

/// A node, with its name clipped to the caller's length.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBrief {
    pub ordinal: u32,
    pub id: u64,
    pub node_type: String,
    pub name: String,
    /// Length of the whole name in UTF-16 units (JS `length`), before clipping.
    pub name_length: u64,
    pub class_name: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EdgeBrief {
    pub edge_type: String,
    pub name: String,
    pub label: String,
}

/// An edge with the node at its other end.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub edge: EdgeBrief,
    pub node: NodeBrief,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkPage {
    pub links: Vec<Link>,
    pub total: u64,
}

/// Where a listing ordered by retained size (largest first, then id) resumes:
/// the sort key of the previous page's last node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct After {
    pub retained: u64,
    pub id: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodePage {
    pub nodes: Vec<NodeBrief>,
    /// Nodes in the whole listing, across all pages.
    pub total: u64,
    pub total_retained: u64,
    /// Set when more nodes follow this page.
    pub next: Option<After>,
}

/// A step of a path or chain; `edge` leads into `node` from the step before.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub node: NodeBrief,
    pub edge: Option<EdgeBrief>,
}

/// A walk with its first and last steps kept and the middle counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Ends {
    pub first: Vec<Step>,
    pub elided: u64,
    pub last: Vec<Step>,
}

impl Ends {
    pub fn len(&self) -> u64 {
        self.first.len() as u64 + self.elided + self.last.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NodeDetails {
    pub node: NodeBrief,
    pub class_key: String,
    pub edge_count: u64,
    pub retainer_count: u64,
    /// The immediate dominator (none for the root).
    pub dominator: Option<NodeBrief>,
    /// 0 unknown, 1 attached, 2 detached (embedder DOM state).
    pub detachedness: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassMatch {
    pub key: String,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instances {
    pub classes: Vec<ClassMatch>,
    pub page: NodePage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopObject {
    pub node: NodeBrief,
    pub path: Ends,
}

fn check_limit(what: &str, value: usize, max: usize) -> Result<()> {
    if value > max {
        return Err(SnapshotError::InvalidArg(format!(
            "{what} must be at most {max}, got {value}"
        )));
    }
    Ok(())
}

/// Clips WTF-8 text to `max` code points (an ellipsis marks the cut) and
/// gives the whole text's JS length; only the kept part is decoded.
fn clip(bytes: &[u8], max: usize) -> (String, u64) {
    let length = utf16_len(bytes) as u64;
    let mut kept = 0usize;
    let mut end = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if b & 0xC0 != 0x80 {
            if kept == max {
                end = i;
                break;
            }
            kept += 1;
        }
        end = i + 1;
    }
    if end == bytes.len() {
        return (wtf8_to_string(bytes).into_owned(), length);
    }
    let mut text = wtf8_to_string(&bytes[..end]).into_owned();
    text.push('…');
    (text, length)
}

/// Keeps the first `first` and the last `last` items of a sequence.
struct Keep<T> {
    first: Vec<T>,
    last: VecDeque<T>,
    first_cap: usize,
    last_cap: usize,
    seen: u64,
}

impl<T> Keep<T> {
    fn new(first_cap: usize, last_cap: usize) -> Self {
        Keep {
            first: Vec::with_capacity(first_cap),
            last: VecDeque::with_capacity(last_cap + 1),
            first_cap,
            last_cap,
            seen: 0,
        }
    }

    fn push(&mut self, item: T) {
        self.seen += 1;
        if self.first.len() < self.first_cap {
            self.first.push(item);
        } else if self.last_cap > 0 {
            self.last.push_back(item);
            if self.last.len() > self.last_cap {
                self.last.pop_front();
            }
        }
    }

    fn elided(&self) -> u64 {
        self.seen - self.first.len() as u64 - self.last.len() as u64
    }
}

/// The `limit` smallest keys above `after`, smallest first.
fn page_of<K: Ord + Copy>(
    keys: impl Iterator<Item = (K, u32)>,
    after: Option<K>,
    limit: usize,
) -> (Vec<u32>, bool) {
    let mut best: BinaryHeap<(K, u32)> = BinaryHeap::with_capacity(limit + 1);
    let mut more = false;
    for (key, o) in keys {
        if after.is_some_and(|a| key <= a) {
            continue;
        }
        if best.len() < limit {
            best.push((key, o));
        } else if best.peek().is_some_and(|worst| (key, o) < *worst) {
            best.pop();
            best.push((key, o));
            more = true;
        } else {
            more = true;
        }
    }
    (
        best.into_sorted_vec().into_iter().map(|(_, o)| o).collect(),
        more,
    )
}

impl Snapshot {
    /// The node's name as DevTools shows it, clipped to `max` code points.
    /// Strings are clipped before they are decoded, so a 1 GB string costs
    /// no more than a short one.
    pub fn brief_name(&self, o: u32, max: usize) -> (String, u64) {
        let g = &self.graph;
        let ty = g.node_type(o);
        let raw = g.strings.wtf8(g.node_name[o as usize]);
        if ty == self.types.cons_string || (ty == self.types.object && raw == b"Object") {
            // Both are built already bounded (1024 characters, ~100 for a
            // plain object's property list).
            let full = self.node_name(o);
            clip(full.as_bytes(), max)
        } else {
            clip(raw, max)
        }
    }

    pub fn brief(&self, o: u32, max_chars: usize) -> NodeBrief {
        let (name, name_length) = self.brief_name(o, max_chars);
        NodeBrief {
            ordinal: o,
            id: self.graph.node_id[o as usize] as u64,
            node_type: self.node_type_name(o).to_string(),
            name,
            name_length,
            class_name: clip(self.class_of(o).name.as_bytes(), max_chars).0,
            self_size: self.graph.self_size.get(o),
            retained_size: self.retained[o as usize],
            distance: self.distance[o as usize],
        }
    }

    pub fn edge_brief(&self, e: usize, max_chars: usize) -> EdgeBrief {
        EdgeBrief {
            edge_type: self.edge_type_name(e).to_string(),
            name: clip(self.edge_name(e).as_bytes(), max_chars).0,
            label: clip(self.edge_label(e).as_bytes(), max_chars).0,
        }
    }

    /// Bytes the loaded snapshot holds, counting the lookup tables that the
    /// first queries build (retainer lists, the id index) as already built,
    /// so a cache that budgets by it is not surprised by them later.
    pub fn memory_bytes(&self) -> u64 {
        let n = self.node_count() as u64;
        let m = self.edge_count() as u64;
        let per_node = 4 /* dominator */ + 8 /* retained */ + 4 /* distance */
            + 4 /* class */ + 4 /* id index */ + 4 /* retainer offsets */;
        let class_rows: u64 = self
            .classes
            .rows()
            .map(|c| (c.key.len() + c.name.len() + 64) as u64)
            .sum();
        self.graph.memory_bytes() + n * per_node + m * 4 /* retainer sources */ + class_rows
    }

    pub fn node_details(&self, id: u64, max_chars: usize) -> Result<NodeDetails> {
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        let retainer_count = self.count_retaining_edges(o);
        let dominator = (o != self.graph.root).then(|| self.dominator[o as usize]);
        Ok(NodeDetails {
            node: self.brief(o, max_chars),
            class_key: clip(self.class_of(o).key.as_bytes(), max_chars).0,
            edge_count: self.graph.edges(o).len() as u64,
            retainer_count,
            dominator: dominator.map(|d| self.brief(d, max_chars)),
            detachedness: self.graph.detachedness(o),
        })
    }

    /// Each (source, edge) into `o`, in source order, without collecting them.
    fn for_each_retaining_edge(&self, o: u32, mut f: impl FnMut(u32, usize)) {
        let mut last = u32::MAX;
        for &s in self.retainers().of(o) {
            let src = s & !super::phases::ESSENTIAL_BIT;
            if src == last {
                continue;
            }
            last = src;
            for e in self.graph.edges(src) {
                if self.graph.edge_target(e) == o {
                    f(src, e);
                }
            }
        }
    }

    fn count_retaining_edges(&self, o: u32) -> u64 {
        let mut total = 0u64;
        self.for_each_retaining_edge(o, |_, _| total += 1);
        total
    }

    /// Outgoing edges `offset..offset + limit`, in the snapshot's order.
    pub fn edges_page(
        &self,
        id: u64,
        offset: u64,
        limit: usize,
        max_chars: usize,
    ) -> Result<LinkPage> {
        check_limit("limit", limit, MAX_PAGE)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        let edges = self.graph.edges(o);
        let total = edges.len() as u64;
        let start = edges.start.saturating_add(offset.min(total) as usize);
        let end = start.saturating_add(limit).min(edges.end);
        let links = (start..end)
            .map(|e| Link {
                edge: self.edge_brief(e, max_chars),
                node: self.brief(self.graph.edge_target(e), max_chars),
            })
            .collect();
        Ok(LinkPage { links, total })
    }

    /// Edges into the node `offset..offset + limit`, in source order (weak
    /// ones included; each says its type).
    pub fn retainers_page(
        &self,
        id: u64,
        offset: u64,
        limit: usize,
        max_chars: usize,
    ) -> Result<LinkPage> {
        check_limit("limit", limit, MAX_PAGE)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        let mut links = Vec::new();
        let mut total = 0u64;
        self.for_each_retaining_edge(o, |src, e| {
            if total >= offset && links.len() < limit {
                links.push(Link {
                    edge: self.edge_brief(e, max_chars),
                    node: self.brief(src, max_chars),
                });
            }
            total += 1;
        });
        Ok(LinkPage { links, total })
    }

    /// Sort key of a listing by retained size, largest first, then by id.
    fn by_retained(&self, o: u32) -> (Reverse<u64>, u64) {
        (
            Reverse(self.retained[o as usize]),
            self.graph.node_id[o as usize] as u64,
        )
    }

    /// One page of `nodes` by retained size, after `after`; one pass, holding
    /// no more than a page.
    fn node_page(
        &self,
        nodes: impl Iterator<Item = u32> + Clone,
        after: Option<After>,
        limit: usize,
        max_chars: usize,
    ) -> NodePage {
        let (mut total, mut total_retained) = (0u64, 0u64);
        for o in nodes.clone() {
            total += 1;
            total_retained = total_retained.saturating_add(self.retained[o as usize]);
        }
        let after = after.map(|a| (Reverse(a.retained), a.id));
        let (page, more) = page_of(nodes.map(|o| (self.by_retained(o), o)), after, limit);
        let next = if more {
            page.last().map(|&o| After {
                retained: self.retained[o as usize],
                id: self.graph.node_id[o as usize] as u64,
            })
        } else {
            None
        };
        NodePage {
            nodes: page.into_iter().map(|o| self.brief(o, max_chars)).collect(),
            total,
            total_retained,
            next,
        }
    }

    /// What the node alone keeps alive (its dominator-tree children), largest first.
    pub fn dominated_page(
        &self,
        id: u64,
        after: Option<After>,
        limit: usize,
        max_chars: usize,
    ) -> Result<NodePage> {
        check_limit("limit", limit, MAX_PAGE)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        let root = self.graph.root;
        let nodes = (0..self.node_count() as u32)
            .filter(move |&x| x != root && self.dominator[x as usize] == o);
        Ok(self.node_page(nodes, after, limit, max_chars))
    }

    /// Classes of the summary whose key is `selector`, or else whose name is.
    pub fn classes_matching(&self, selector: &str) -> Vec<u32> {
        let by = |matches: &dyn Fn(&super::classes::ClassInfo) -> bool| -> Vec<u32> {
            self.classes
                .public
                .iter()
                .copied()
                .filter(|&c| matches(self.classes.info(c)))
                .collect()
        };
        let by_key = by(&|c| c.key == selector);
        if !by_key.is_empty() {
            return by_key;
        }
        by(&|c| c.name == selector)
    }

    /// A class's instances as the summary counts them (objects with a size),
    /// largest retained first, a page at a time. `selector` is a class key,
    /// or a name that may cover several classes (two `Foo`s in two files).
    pub fn instances_page(
        &self,
        selector: &str,
        after: Option<After>,
        limit: usize,
        max_chars: usize,
    ) -> Result<Instances> {
        check_limit("limit", limit, MAX_PAGE)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let matched = self.classes_matching(selector);
        let mut wanted = vec![false; self.classes.class_count()];
        for &c in &matched {
            wanted[c as usize] = true;
        }
        let g = &self.graph;
        let node_class = &self.classes.node_class;
        let wanted = &wanted;
        let nodes = (0..self.node_count() as u32)
            .filter(move |&o| wanted[node_class[o as usize] as usize] && g.self_size.get(o) != 0);
        let page = if matched.is_empty() {
            self.node_page(std::iter::empty(), None, limit, max_chars)
        } else {
            self.node_page(nodes, after, limit, max_chars)
        };
        Ok(Instances {
            classes: matched
                .iter()
                .map(|&c| {
                    let info = self.classes.info(c);
                    ClassMatch {
                        key: clip(info.key.as_bytes(), max_chars).0,
                        name: clip(info.name.as_bytes(), max_chars).0,
                        count: info.count,
                    }
                })
                .collect(),
            page,
        })
    }

    /// The retainer path (root first, as `retainer_path` chooses it) with
    /// only its first `first` and last `last` steps described.
    pub fn path_ends(&self, o: u32, first: usize, last: usize, max_chars: usize) -> Ends {
        let path = self.retainer_path(o);
        let mut keep = Keep::new(first, last);
        let mut into = None;
        for (node, edge_to_next) in path {
            keep.push((node, std::mem::replace(&mut into, edge_to_next)));
        }
        let elided = keep.elided();
        let describe = |(node, edge): (u32, Option<usize>)| Step {
            node: self.brief(node, max_chars),
            edge: edge.map(|e| self.edge_brief(e, max_chars)),
        };
        Ends {
            first: keep.first.into_iter().map(describe).collect(),
            elided,
            last: keep.last.into_iter().map(describe).collect(),
        }
    }

    pub fn retainer_path_ends(
        &self,
        id: u64,
        first: usize,
        last: usize,
        max_chars: usize,
    ) -> Result<Ends> {
        check_limit("first", first, MAX_ENDS)?;
        check_limit("last", last, MAX_ENDS)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        Ok(self.path_ends(o, first, last, max_chars))
    }

    /// The node's immediate dominators up to the root (node first), with only
    /// the first `first` and last `last` described.
    pub fn dominator_chain_ends(
        &self,
        id: u64,
        first: usize,
        last: usize,
        max_chars: usize,
    ) -> Result<Ends> {
        check_limit("first", first, MAX_ENDS)?;
        check_limit("last", last, MAX_ENDS)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        let o = self.require(id)?;
        let mut keep = Keep::new(first, last);
        // The same walk as `dominator_chain`, without holding it.
        let mut x = o;
        keep.push(x);
        let limit = self.node_count() as u64;
        while x != self.graph.root && keep.seen <= limit {
            x = self.dominator[x as usize];
            keep.push(x);
        }
        let elided = keep.elided();
        let describe = |node: u32| Step {
            node: self.brief(node, max_chars),
            edge: None,
        };
        Ok(Ends {
            first: keep.first.into_iter().map(describe).collect(),
            elided,
            last: keep.last.into_iter().map(describe).collect(),
        })
    }

    /// The `n` largest objects with their paths' ends.
    pub fn top_objects(
        &self,
        n: usize,
        first: usize,
        last: usize,
        max_chars: usize,
    ) -> Result<Vec<TopObject>> {
        check_limit("top", n, MAX_PAGE)?;
        check_limit("first", first, MAX_ENDS)?;
        check_limit("last", last, MAX_ENDS)?;
        check_limit("maxChars", max_chars, MAX_CHARS)?;
        Ok(self
            .top_retainers(n)
            .into_iter()
            .map(|o| TopObject {
                node: self.brief(o, max_chars),
                path: self.path_ends(o, first, last, max_chars),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::parser::hostile_tests::snapshot_text;
    use crate::analyzer::snapshot::Quiet;

    // Node types: 0 hidden, 1 array, 2 string, 3 object, 9 synthetic.
    // Edge types: 1 element, 2 property, 3 internal, 5 shortcut, 6 weak.
    const STRINGS: [&str; 8] = [
        "", "(root)", "global", "Thing", "link", "Leaf", "items", "x",
    ];

    fn load(nodes: &[u64], edges: &[u64], strings: &[&str]) -> Snapshot {
        Snapshot::from_bytes(
            snapshot_text(nodes, edges, strings, None).as_bytes(),
            &Quiet,
        )
        .unwrap()
    }

    /// root -shortcut-> global -property "items"-> holder, which holds
    /// `fan` leaves by element edges; global also heads a chain of `chain`
    /// Things linked by property "link". Ids: root 1, global 3, holder 5,
    /// leaves 7, 9, …, chain nodes after them. Leaf k has self size k + 1.
    fn graph(fan: u64, chain: u64) -> Snapshot {
        let mut nodes = vec![9, 1, 1, 0, 1, 0, 0];
        let mut edges = vec![5, 2, 7];
        let holder = 2u64;
        let first_leaf = 3u64;
        let first_link = first_leaf + fan;
        let global_edges = if chain > 0 { 2 } else { 1 };
        nodes.extend_from_slice(&[3, 2, 3, 10, global_edges, 0, 0]);
        edges.extend_from_slice(&[2, 6, 7 * holder]);
        if chain > 0 {
            edges.extend_from_slice(&[2, 4, 7 * first_link]);
        }
        nodes.extend_from_slice(&[1, 6, 5, 16, fan, 0, 0]);
        for k in 0..fan {
            edges.extend_from_slice(&[1, k, 7 * (first_leaf + k)]);
        }
        for k in 0..fan {
            nodes.extend_from_slice(&[3, 5, 7 + 2 * k, k + 1, 0, 0, 0]);
        }
        for k in 0..chain {
            let next = if k + 1 < chain { 1 } else { 0 };
            nodes.extend_from_slice(&[3, 3, 7 + 2 * (fan + k), 4, next, 0, 0]);
            if next == 1 {
                edges.extend_from_slice(&[2, 4, 7 * (first_link + k + 1)]);
            }
        }
        load(&nodes, &edges, &STRINGS)
    }

    #[test]
    fn clip_keeps_whole_code_points_and_measures_the_whole_text() {
        assert_eq!(clip(b"hello", 5), ("hello".to_string(), 5));
        assert_eq!(clip(b"hello", 4), ("hell…".to_string(), 5));
        assert_eq!(clip(b"", 0), (String::new(), 0));
        let text = "é😀x";
        // 😀 is one code point but two UTF-16 units.
        assert_eq!(clip(text.as_bytes(), 2), ("é😀…".to_string(), 4));
        assert_eq!(clip(text.as_bytes(), 0), ("…".to_string(), 4));
    }

    #[test]
    fn long_string_names_are_clipped_before_they_are_copied() {
        let long = "s".repeat(100_000);
        let strings = ["", "(root)", "global", long.as_str(), "p"];
        let s = load(
            &[
                9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, 1, 0, 0, 2, 3, 5, 100_016, 0, 0, 0,
            ],
            &[5, 2, 7, 2, 4, 14],
            &strings,
        );
        let b = s.brief(2, 40);
        assert_eq!(b.node_type, "string");
        assert_eq!(b.name.chars().count(), 41, "40 kept and the ellipsis");
        assert_eq!(b.name_length, 100_000);
        assert_eq!(s.node_details(5, 40).unwrap().node, b);
    }

    #[test]
    fn edge_pages_cover_every_edge_once_in_order() {
        let s = graph(25, 0);
        let all: Vec<String> = s.graph.edges(2).map(|e| s.edge_label(e)).collect();
        assert_eq!(all.len(), 25);
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let page = s.edges_page(5, offset, 7, 100).unwrap();
            assert_eq!(page.total, 25);
            if page.links.is_empty() {
                break;
            }
            assert!(page.links.len() <= 7);
            offset += page.links.len() as u64;
            seen.extend(page.links.into_iter().map(|l| l.edge.label));
        }
        assert_eq!(seen, all);
        assert!(s.edges_page(5, 1_000_000, 7, 100).unwrap().links.is_empty());
    }

    #[test]
    fn retainer_pages_match_the_full_list() {
        // A leaf is held by the holder alone.
        let s = graph(10, 0);
        let full: Vec<(u32, usize)> = s.retaining_edges(3);
        let page = s.retainers_page(7, 0, 100, 100).unwrap();
        assert_eq!(page.total, full.len() as u64);
        assert_eq!(
            page.links
                .iter()
                .map(|l| l.node.ordinal)
                .collect::<Vec<_>>(),
            full.iter().map(|&(src, _)| src).collect::<Vec<_>>()
        );
        assert_eq!(page.links[0].edge.label, "[0]");
        assert!(s.retainers_page(7, 1, 100, 100).unwrap().links.is_empty());
        assert_eq!(s.retainers_page(7, 0, 0, 100).unwrap().total, 1);
    }

    fn all_pages(mut fetch: impl FnMut(Option<After>) -> NodePage) -> (Vec<NodeBrief>, u64) {
        let mut out = Vec::new();
        let mut after = None;
        for _ in 0..1000 {
            let page = fetch(after);
            out.extend(page.nodes);
            match page.next {
                Some(next) => after = Some(next),
                None => return (out, page.total),
            }
        }
        panic!("paging did not end");
    }

    #[test]
    fn instance_pages_list_the_class_once_largest_first() {
        let s = graph(50, 0);
        let (nodes, total) = all_pages(|after| {
            let r = s.instances_page("Leaf", after, 8, 100).unwrap();
            assert_eq!(r.classes.len(), 1);
            assert_eq!(r.classes[0].count, 50);
            r.page
        });
        assert_eq!(total, 50);
        assert_eq!(nodes.len(), 50);
        let sizes: Vec<u64> = nodes.iter().map(|n| n.retained_size).collect();
        let expected: Vec<u64> = (1..=50).rev().collect();
        assert_eq!(sizes, expected, "each leaf retains itself, sizes 1..=50");
        let by_key = s.instances_page(",Leaf", None, 3, 100).unwrap();
        assert_eq!(by_key.page.nodes, nodes[..3]);
        assert_eq!(by_key.page.total_retained, (1..=50).sum::<u64>());
        let none = s.instances_page("NoSuchClass", None, 3, 100).unwrap();
        assert!(none.classes.is_empty() && none.page.nodes.is_empty());
    }

    #[test]
    fn pages_break_ties_by_id_and_never_repeat() {
        // Equal retained sizes everywhere: the order rests on the ids alone.
        let mut nodes = vec![9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, 30, 0, 0];
        let mut edges = vec![5, 2, 7];
        for k in 0..30u64 {
            nodes.extend_from_slice(&[3, 5, 101 + 2 * (29 - k), 8, 0, 0, 0]);
            edges.extend_from_slice(&[1, k, 7 * (k + 2)]);
        }
        let s = load(&nodes, &edges, &STRINGS);
        let (nodes, _) = all_pages(|after| s.dominated_page(3, after, 4, 50).unwrap());
        let ids: Vec<u64> = nodes.iter().map(|n| n.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
        assert_eq!(ids.len(), 30);
    }

    #[test]
    fn dominated_children_are_those_of_the_dominator_tree() {
        let s = graph(12, 3);
        let expected = s.dominated_by(1);
        let page = s.dominated_page(3, None, 100, 100).unwrap();
        assert_eq!(page.total, expected.len() as u64);
        let mut got: Vec<u32> = page.nodes.iter().map(|n| n.ordinal).collect();
        got.sort_unstable();
        assert_eq!(got, expected);
        assert!(page.next.is_none());
    }

    #[test]
    fn path_ends_are_the_ends_of_the_full_path() {
        let chain = 40u64;
        let s = graph(3, chain);
        let last_link = (3 + 3 + chain - 1) as u32;
        // Every step: `path_steps` shows at most DEFAULT_PATH_STEPS of them.
        let full = crate::analyzer::report::View::plain(&s).path(last_link, usize::MAX / 2);
        assert_eq!(full.len() as u64, chain + 1, "global, then every link");
        for (first, last) in [(0, 0), (2, 3), (5, 0), (0, 5), (30, 30), (100, 100)] {
            let ends = s.path_ends(last_link, first, last, 100);
            assert_eq!(ends.len(), full.len() as u64);
            let kept_first = first.min(full.len());
            assert_eq!(ends.first.len(), kept_first);
            for (a, b) in ends.first.iter().zip(&full) {
                assert_eq!(a.node.id, b.node.id);
                assert_eq!(a.edge.as_ref().map(|e| &e.label), b.edge_label.as_ref());
            }
            let tail = &full[full.len() - ends.last.len()..];
            for (a, b) in ends.last.iter().zip(tail) {
                assert_eq!(a.node.id, b.node.id);
                assert_eq!(a.edge.as_ref().map(|e| &e.label), b.edge_label.as_ref());
            }
            assert_eq!(
                ends.elided,
                full.len() as u64 - ends.first.len() as u64 - ends.last.len() as u64
            );
        }
    }

    #[test]
    fn dominator_chain_ends_are_the_ends_of_the_full_chain() {
        let s = graph(2, 30);
        let o = (2 + 3 + 29) as u32;
        let full = s.dominator_chain(o);
        let id = s.graph.node_id[o as usize] as u64;
        let ends = s.dominator_chain_ends(id, 3, 2, 100).unwrap();
        assert_eq!(ends.len(), full.len() as u64);
        let ids = |v: &[Step]| v.iter().map(|x| x.node.ordinal).collect::<Vec<_>>();
        assert_eq!(ids(&ends.first), full[..3]);
        assert_eq!(ids(&ends.last), full[full.len() - 2..]);
        assert_eq!(*full.last().unwrap(), s.graph.root);
    }

    #[test]
    fn limits_and_unknown_ids_are_errors() {
        let s = graph(2, 0);
        assert_eq!(
            s.edges_page(5, 0, MAX_PAGE + 1, 10).unwrap_err().code(),
            "ERR_INVALID_ARG"
        );
        assert_eq!(
            s.retainer_path_ends(3, MAX_ENDS + 1, 0, 10)
                .unwrap_err()
                .code(),
            "ERR_INVALID_ARG"
        );
        assert_eq!(
            s.node_details(4, 10).unwrap_err().code(),
            "ERR_UNKNOWN_NODE"
        );
        assert_eq!(
            s.node_details(1 << 40, 10).unwrap_err().code(),
            "ERR_UNKNOWN_NODE"
        );
    }

    #[test]
    fn node_details_count_edges_both_ways() {
        let s = graph(4, 0);
        let d = s.node_details(5, 100).unwrap();
        assert_eq!(
            (d.node.name.as_str(), d.node.class_name.as_str()),
            ("items", "(array)")
        );
        assert_eq!(d.edge_count, 4);
        assert_eq!(d.retainer_count, 1);
        assert_eq!(d.dominator.unwrap().id, 3);
        assert!(s.node_details(1, 100).unwrap().dominator.is_none());
    }

    #[test]
    fn memory_estimate_covers_the_columns() {
        let s = graph(1000, 0);
        assert!(s.memory_bytes() >= s.graph.memory_bytes() + 24 * s.node_count() as u64);
    }
}
