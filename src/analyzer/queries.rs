//! Queries beyond the report for callers that explore a snapshot a node at a
//! time (the MCP server, a UI): one node's details, and the objects of a
//! class a page at a time. Names come through a [`View`], so they obey the
//! caller's redaction policy exactly as the report, the paths and the pages
//! of edges do; pages and their order are the [`Snapshot`]'s own.

use super::report::{ClassRow, NodeSummary, View};
use super::snapshot::Snapshot;

#[derive(Debug, Clone)]
pub struct NodeDetails {
    pub node: NodeSummary,
    /// The key of the summary class the node is counted under.
    pub class_key: String,
    pub edge_count: u64,
    /// Edges into the node, weak ones included.
    pub retainer_count: u64,
    /// The immediate dominator (none for the root).
    pub dominator: Option<NodeSummary>,
    /// 0 unknown, 1 attached, 2 detached (embedder DOM state).
    pub detachedness: u8,
}

/// One page of a class's objects.
#[derive(Debug, Clone)]
pub struct InstancePage {
    /// The summary rows the selector named.
    pub classes: Vec<ClassRow>,
    pub items: Vec<NodeSummary>,
    /// Objects of those classes across all pages.
    pub total: u64,
}

impl View<'_> {
    pub fn node_details(&self, o: u32) -> NodeDetails {
        let s = self.snapshot;
        let root = s.graph.root;
        NodeDetails {
            node: self.node(o),
            class_key: self.names.class_key(s, &s.class_of(o).key),
            edge_count: s.graph.edges(o).len() as u64,
            retainer_count: s.retaining_edges_page(o, 0, 0).1,
            dominator: (o != root).then(|| self.node(s.dominator[o as usize])),
            detachedness: s.graph.detachedness(o),
        }
    }

    /// Summary classes (internal indices) that `selector` names as this view
    /// shows them: the class whose key it is, or else every class of that
    /// name (two `Foo`s in two files). A redacting view compares shown
    /// names only, so a guess at a hidden name matches nothing, and a
    /// placeholder it handed out finds its class.
    pub fn classes_named(&self, selector: &str) -> Vec<u32> {
        let s = self.snapshot;
        let public = &s.classes.public;
        let by_key: Vec<u32> = public
            .iter()
            .copied()
            .filter(|&c| self.names.class_key(s, &s.classes.info(c).key) == selector)
            .collect();
        if !by_key.is_empty() {
            return by_key;
        }
        public
            .iter()
            .copied()
            .filter(|&c| self.names.class_name(s, &s.classes.info(c).name) == selector)
            .collect()
    }

    /// The objects of the classes `selector` names, largest retained size
    /// first, `limit` of them from the `offset`-th.
    pub fn instances(&self, selector: &str, offset: u64, limit: usize) -> InstancePage {
        let s = self.snapshot;
        let classes = self.classes_named(selector);
        let (page, total) = s.instances_page(&classes, offset, limit);
        InstancePage {
            classes: classes
                .iter()
                .map(|&c| {
                    let info = s.classes.info(c);
                    self.class_row(&ClassRow {
                        key: info.key.clone(),
                        name: info.name.clone(),
                        count: info.count,
                        self_size: info.self_size,
                        retained_size: info.retained_size,
                        distance: info.distance,
                    })
                })
                .collect(),
            items: page.into_iter().map(|o| self.node(o)).collect(),
            total,
        }
    }
}

impl Snapshot {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyzer::redact::{Kind, Names};
    use crate::analyzer::snapshot::path_tests::*;

    /// root -> global, which holds a plain object used as a map (keyed by
    /// data) and an array of `fan` `Leaf` objects of sizes 1..=fan; each map
    /// value is a `{secret_key}` object. Ordinal of the first leaf is 4.
    fn heap(fan: u32) -> (Snapshot, Vec<u32>) {
        let mut b = Builder::new();
        let global = b.node(OBJECT, "global", 10);
        b.edge(0, SHORTCUT, "1", global);
        let dict = b.node(OBJECT, "Object", 20);
        b.edge(global, PROPERTY, "cache", dict);
        let items = b.node(1, "items", 16);
        b.edge(global, PROPERTY, "items", items);
        let leaves: Vec<u32> = (0..fan)
            .map(|k| {
                let leaf = b.node(OBJECT, "Leaf", (k + 1) as u64);
                b.edge(items, ELEMENT, &k.to_string(), leaf);
                leaf
            })
            .collect();
        b.node(CODE, "Leaf", 40);
        for user in ["sk_live_A", "sk_live_B"] {
            let entry = b.node(OBJECT, "Object", 24);
            b.edge(dict, PROPERTY, user, entry);
            let token = b.node(STRING, "tok", 8);
            b.edge(entry, PROPERTY, "secret_key", token);
        }
        (b.load(), leaves)
    }

    fn id(s: &Snapshot, o: u32) -> u64 {
        s.graph.node_id[o as usize] as u64
    }

    #[test]
    fn instance_pages_list_the_class_once_largest_first() {
        let (s, leaves) = heap(50);
        let view = View::plain(&s);
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let page = view.instances("Leaf", offset, 8);
            assert_eq!(page.total, 50);
            assert_eq!(page.classes.len(), 1);
            assert_eq!(page.classes[0].count, 50);
            if page.items.is_empty() {
                break;
            }
            assert!(page.items.len() <= 8);
            offset += page.items.len() as u64;
            seen.extend(page.items.iter().map(|n| n.retained_size));
        }
        let expected: Vec<u64> = (1..=50).rev().collect();
        assert_eq!(seen, expected, "each leaf retains itself, sizes 1..=50");
        let by_key = view.instances(",Leaf", 0, 3);
        assert_eq!(
            by_key.items.iter().map(|n| n.ordinal).collect::<Vec<_>>(),
            [leaves[49], leaves[48], leaves[47]]
        );
        let none = view.instances("NoSuchClass", 0, 3);
        assert!(none.classes.is_empty() && none.items.is_empty() && none.total == 0);
    }

    #[test]
    fn a_redacting_view_matches_the_names_it_shows_and_never_a_hidden_one() {
        let (s, _) = heap(3);
        let plain = View::plain(&s);
        assert_eq!(plain.instances("{secret_key}", 0, 10).total, 2);
        let hidden = View::new(&s, Names::redacted(&[&s]));
        assert_eq!(
            hidden.instances("{secret_key}", 0, 10).total,
            0,
            "no oracle for a guess"
        );
        let shown = format!("{{{}}}", hidden.names.placeholder(Kind::Key, "secret_key"));
        let page = hidden.instances(&shown, 0, 10);
        assert_eq!(page.total, 2, "the placeholder names the class");
        assert_eq!(page.classes[0].name, shown);
        assert_eq!(page.classes[0].key, format!(",{shown}"));
        assert!(page.items.iter().all(|n| n.class_name == shown));
        assert_eq!(hidden.instances(&format!(",{shown}"), 0, 10).total, 2);
        // Code identifiers read the same either way.
        assert_eq!(hidden.instances("Leaf", 0, 10).total, 3);
    }

    #[test]
    fn node_details_count_edges_both_ways_and_name_through_the_view() {
        let (s, leaves) = heap(4);
        let items = 3;
        let d = View::plain(&s).node_details(items);
        assert_eq!(
            (d.node.name.as_str(), d.node.class_name.as_str()),
            ("items", "(array)")
        );
        assert_eq!(d.node.id, id(&s, items));
        assert_eq!(d.edge_count, 4);
        assert_eq!(d.retainer_count, 1);
        assert_eq!(d.dominator.map(|n| n.ordinal), Some(1));
        assert!(View::plain(&s)
            .node_details(s.graph.root)
            .dominator
            .is_none());
        assert_eq!(View::plain(&s).node_details(leaves[0]).class_key, ",Leaf");

        // A map entry: its class lists a key, the string under it is data.
        let entry = s.graph.edge_target(s.graph.edges(2).start);
        let redacted = View::new(&s, Names::redacted(&[&s]));
        let d = redacted.node_details(entry);
        let key = redacted.names.placeholder(Kind::Key, "secret_key");
        assert_eq!(d.node.class_name, format!("{{{key}}}"));
        assert_eq!(d.class_key, format!(",{{{key}}}"));
        let holder = d.dominator.unwrap();
        assert_eq!(holder.ordinal, 2);
        assert!(!holder.name.contains("sk_live"), "{}", holder.name);
        let plain = View::plain(&s).node_details(entry);
        assert_eq!(plain.class_key, ",{secret_key}", "the control shows it");
    }

    #[test]
    fn memory_estimate_covers_the_columns() {
        let (s, _) = heap(1000);
        assert!(s.memory_bytes() >= s.graph.memory_bytes() + 24 * s.node_count() as u64);
    }
}
