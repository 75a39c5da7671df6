//! Structure-aware inputs for the graph and report code: the fuzz bytes are
//! read as a list of shapes to build (long chains, doubly linked lists,
//! wide fan-in and fan-out, long cycles, many roots, deep trees, objects
//! used as maps, V8's Node 20 or Node 26 top layout), rendered as a valid
//! snapshot of up to `MAX_NODES` nodes: a few bytes of input become
//! megabytes of snapshot, far past what a byte-level fuzzer can reach.
//!
//! Every name that stands for the program's data (string contents, keys of
//! objects used as maps, global property names, a class name from
//! `Symbol.toStringTag`) contains `SECRET`, and none that stands for code
//! does, so the checks can tell whether redaction held.

use leakwatch::analyzer::diff::diff;
use leakwatch::analyzer::redact::Names;
use leakwatch::analyzer::report::{Report, View};
use leakwatch::analyzer::snapshot::{Snapshot, DEFAULT_PATH_STEPS};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const MAX_NODES: usize = 200_000;
const MAX_EDGES: usize = 600_000;
/// The marker every data name carries.
pub const SECRET: &str = "SECRET";
/// Any one query on a graph of `MAX_NODES` finishes well inside this.
const QUERY_TIME: Duration = Duration::from_secs(2);
/// Bytes of text a default report may hold: 10 objects, 24 steps each, and
/// 50 class rows, every name at most a 1024-character string in UTF-8.
const REPORT_TEXT: usize = (10 * (DEFAULT_PATH_STEPS + 1) * 3 + 50 * 2) * 4 * 1024;

const HIDDEN: u8 = 0;
const STRING: u8 = 2;
const OBJECT: u8 = 3;
const CODE: u8 = 4;
const CLOSURE: u8 = 5;
const SYNTHETIC: u8 = 9;
const CONTEXT: u8 = 0;
const ELEMENT: u8 = 1;
const PROPERTY: u8 = 2;
const INTERNAL: u8 = 3;
const SHORTCUT: u8 = 5;
const WEAK: u8 = 6;

struct Node {
    ty: u8,
    name: u32,
    size: u64,
    edges: Vec<(u8, u32, u32)>,
}

struct Graph {
    nodes: Vec<Node>,
    strings: Vec<String>,
    index: HashMap<String, u32>,
    edge_count: usize,
    /// Nodes a new shape may hang from.
    anchors: Vec<u32>,
}

impl Graph {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.strings.push(s.to_string());
        let i = (self.strings.len() - 1) as u32;
        self.index.insert(s.to_string(), i);
        i
    }

    fn full(&self) -> bool {
        self.nodes.len() >= MAX_NODES || self.edge_count >= MAX_EDGES
    }

    fn node(&mut self, ty: u8, name: &str, size: u64) -> u32 {
        let name = self.string(name);
        self.nodes.push(Node {
            ty,
            name,
            size,
            edges: Vec::new(),
        });
        (self.nodes.len() - 1) as u32
    }

    /// The name of a property that `holder` gets from the program: data
    /// (`cache[userId] = …`) on the objects redaction treats as maps; on an
    /// instance of the heap's compiled class, a name the code declares
    /// (`this.list = …`), which redaction keeps by design.
    fn property_of(&self, holder: u32, base: &str, shape: usize) -> String {
        let node = &self.nodes[holder as usize];
        if node.ty == OBJECT && self.strings[node.name as usize] == "Session" {
            format!("{base}{shape}")
        } else {
            format!("{SECRET}_{base}{shape}")
        }
    }

    fn edge(&mut self, from: u32, ty: u8, name: &str, to: u32) {
        let name = if ty == ELEMENT {
            name.parse().unwrap_or(0)
        } else {
            self.string(name)
        };
        self.nodes[from as usize].edges.push((ty, name, to));
        self.edge_count += 1;
    }

    fn render(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.nodes.len() * 24 + self.edge_count * 16);
        out.push_str(concat!(
            r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"#,
            r#""node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"#,
            r#""edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]},"#
        ));
        out.push_str(&format!(
            r#""node_count":{},"edge_count":{}}},"nodes":["#,
            self.nodes.len(),
            self.edge_count
        ));
        for (k, n) in self.nodes.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(&format!(
                "{},{},{},{},{},0,0",
                n.ty,
                n.name,
                2 * k + 1,
                n.size,
                n.edges.len()
            ));
        }
        out.push_str(r#"],"edges":["#);
        let mut first = true;
        for n in &self.nodes {
            for &(ty, name, to) in &n.edges {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&format!("{ty},{name},{}", to as usize * 7));
            }
        }
        out.push_str(r#"],"strings":["#);
        for (k, text) in self.strings.iter().enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push('"');
            for ch in text.chars() {
                match ch {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push_str("]}");
        out.into_bytes()
    }
}

/// Reads fuzz bytes as choices; past the end every choice is 0.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }
    /// A size from 1 up to about 64K, weighted towards the large.
    fn length(&mut self) -> usize {
        let hi = self.byte() as usize;
        let lo = self.byte() as usize;
        1 + (hi << 8 | lo)
    }
    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Renders fuzz bytes as a valid snapshot of the shapes they describe.
pub fn shaped_snapshot(data: &[u8]) -> Vec<u8> {
    let mut c = Choices(data);
    let mut g = Graph {
        nodes: Vec::new(),
        strings: Vec::new(),
        index: HashMap::new(),
        edge_count: 0,
        anchors: Vec::new(),
    };
    let root = g.node(SYNTHETIC, "", 0);
    let gc_roots = g.node(SYNTHETIC, "(GC roots)", 0);
    g.edge(root, ELEMENT, "1", gc_roots);
    // The code the heap was compiled from: a class and a method.
    let sfi = g.node(CODE, "Session", 40);
    g.edge(gc_roots, ELEMENT, "0", sfi);
    let global = if c.byte() & 1 == 0 {
        // Node 20: the root holds the global object.
        let global = g.node(OBJECT, "global", 64);
        g.edge(root, SHORTCUT, "1", global);
        global
    } else {
        // Node 26: the root holds the realm's NativeContext above it.
        let context = g.node(HIDDEN, "system / NativeContext", 512);
        g.edge(root, SHORTCUT, "2", context);
        let global = g.node(OBJECT, "global (global*)", 64);
        let proxy = g.node(OBJECT, "global (global)", 16);
        g.edge(context, INTERNAL, "global_object", global);
        g.edge(context, INTERNAL, "global_proxy_object", proxy);
        g.edge(proxy, SHORTCUT, "native_context", context);
        let builtin = g.node(CLOSURE, "Session", 32);
        g.edge(context, INTERNAL, "error_function", builtin);
        g.edge(global, PROPERTY, "Session", builtin);
        let slot = g.node(OBJECT, "Object", 32);
        g.edge(context, INTERNAL, "slot", slot);
        g.anchors.push(slot);
        global
    };
    g.anchors.push(global);
    let mut shape = 0usize;
    while !c.done() && !g.full() {
        shape += 1;
        let kind = c.below(8);
        let anchor = g.anchors[c.below(g.anchors.len())];
        let room = MAX_NODES.saturating_sub(g.nodes.len() + 4);
        match kind {
            0 | 1 => {
                // A linked list, doubly linked on odd choices, held by a
                // global property whose name is data.
                let doubly = c.byte() & 1 == 1;
                let len = c.length().min(room);
                let head = g.node(OBJECT, "Item", 32);
                g.edge(
                    anchor,
                    PROPERTY,
                    &g.property_of(anchor, "list", shape),
                    head,
                );
                let mut prev = head;
                for _ in 1..len {
                    let next = g.node(OBJECT, "Item", 32);
                    g.edge(prev, PROPERTY, "next", next);
                    if doubly {
                        g.edge(next, PROPERTY, "prev", prev);
                    }
                    prev = next;
                }
                if doubly {
                    g.edge(
                        anchor,
                        PROPERTY,
                        &g.property_of(anchor, "tail", shape),
                        prev,
                    );
                }
                let payload = g.node(OBJECT, "Array", 4096);
                g.edge(prev, PROPERTY, "payload", payload);
                g.anchors.push(prev);
            }
            2 => {
                // Fan-out: one array holding many objects.
                let len = c.length().min(room);
                let hub = g.node(OBJECT, "Array", 16);
                g.edge(anchor, PROPERTY, &g.property_of(anchor, "fan", shape), hub);
                for k in 0..len {
                    let item = g.node(OBJECT, "Session", 24);
                    g.edge(hub, ELEMENT, &k.to_string(), item);
                }
                g.anchors.push(hub);
            }
            3 => {
                // Fan-in: many holders share one target.
                let len = c.length().min(room);
                let target = g.node(OBJECT, "Session", 64);
                let holder = g.node(OBJECT, "Array", 16);
                g.edge(anchor, PROPERTY, "holders", holder);
                for k in 0..len {
                    let h = g.node(OBJECT, "Item", 16);
                    g.edge(holder, ELEMENT, &k.to_string(), h);
                    g.edge(h, PROPERTY, "shared", target);
                }
                g.anchors.push(target);
            }
            4 => {
                // A long cycle entered at one point.
                let len = c.length().min(room).max(2);
                let first = g.node(OBJECT, "Item", 32);
                g.edge(anchor, PROPERTY, "ring", first);
                let mut prev = first;
                for _ in 1..len {
                    let next = g.node(OBJECT, "Item", 32);
                    g.edge(prev, PROPERTY, "next", next);
                    prev = next;
                }
                g.edge(prev, PROPERTY, "next", first);
                g.anchors.push(prev);
            }
            5 => {
                // Many roots: engine sub-roots holding existing nodes, and
                // weak edges everywhere.
                let len = c.length().min(room).min(4096);
                for k in 0..len {
                    let sub = g.node(SYNTHETIC, "(Strong roots)", 0);
                    g.edge(gc_roots, ELEMENT, &(k + 1).to_string(), sub);
                    let target = c.below(g.nodes.len()) as u32;
                    g.edge(sub, INTERNAL, "root", target);
                    let other = c.below(g.nodes.len()) as u32;
                    g.edge(target, WEAK, "1", other);
                }
            }
            6 => {
                // Data in every position: an object used as a map, string
                // values (with terminal controls), a data-named class, and a
                // declared class instance beside them.
                let dict = g.node(OBJECT, "Object", 48);
                g.edge(
                    anchor,
                    PROPERTY,
                    &g.property_of(anchor, "dict", shape),
                    dict,
                );
                let len = (c.length() % 256).min(room / 3);
                for k in 0..len {
                    let value = g.node(OBJECT, "Object", 32);
                    g.edge(dict, PROPERTY, &format!("{SECRET}_key{k}"), value);
                    let text = g.node(STRING, &format!("{SECRET}\u{1b}]0;title\u{7}{k}"), 40);
                    g.edge(value, PROPERTY, "token", text);
                }
                let tagged = g.node(OBJECT, &format!("{SECRET}_Tag"), 24);
                g.edge(dict, ELEMENT, "0", tagged);
                let session = g.node(OBJECT, "Session", 40);
                g.edge(dict, ELEMENT, "1", session);
                let sessions = g.node(OBJECT, "Map", 40);
                g.edge(session, PROPERTY, "sessions", sessions);
                let scope = g.node(OBJECT, "system / Context", 24);
                g.edge(session, INTERNAL, "context", scope);
                let captured = g.node(STRING, &format!("{SECRET}_captured"), 40);
                g.edge(scope, CONTEXT, "apiKey", captured);
                g.anchors.push(dict);
            }
            _ => {
                // A deep, narrow tree: dominator chains and children lists.
                let depth = (c.length() % 4096).max(1);
                let mut parent = anchor;
                for d in 0..depth.min(room / 2) {
                    let left = g.node(OBJECT, "Item", 16);
                    let right = g.node(OBJECT, "Item", 16);
                    g.edge(parent, PROPERTY, "left", left);
                    g.edge(parent, PROPERTY, "right", right);
                    parent = if d % 2 == 0 { left } else { right };
                }
                g.anchors.push(parent);
            }
        }
    }
    g.render()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < QUERY_TIME, "{what} took {took:?}");
    out
}

fn report_text(r: &Report) -> Vec<&str> {
    let mut texts = Vec::new();
    for c in &r.classes {
        texts.push(c.key.as_str());
        texts.push(c.name.as_str());
    }
    for t in &r.top {
        texts.push(t.node.name.as_str());
        texts.push(t.node.class_name.as_str());
        for step in &t.path {
            texts.push(step.node.name.as_str());
            texts.push(step.node.class_name.as_str());
            texts.extend(step.edge_name.as_deref());
            texts.extend(step.edge_label.as_deref());
        }
    }
    texts
}

/// What must hold of any shaped heap: every answer is bounded in size and
/// time however deep, wide or cyclic the graph, and redaction holds.
pub fn check_shaped(s: &Snapshot) {
    let n = s.node_count();
    let plain = View::plain(s);
    let redacted = View::new(s, Names::redacted(&[s]));
    for (view, hidden) in [(&plain, false), (&redacted, true)] {
        let report = timed("report", || view.report(10, 50, DEFAULT_PATH_STEPS));
        assert!(report.top.len() <= 10 && report.classes.len() <= 50);
        for t in &report.top {
            assert!(t.path.len() <= DEFAULT_PATH_STEPS, "{} steps", t.path.len());
        }
        let texts = report_text(&report);
        let bytes: usize = texts.iter().map(|t| t.len()).sum();
        assert!(bytes <= REPORT_TEXT, "{bytes} bytes of report text");
        if hidden {
            for t in texts {
                assert!(!t.contains(SECRET), "redacted report shows {t:?}");
            }
        }
    }

    // Queries on the deepest, widest and most retained nodes, and a sample.
    let mut sample: Vec<u32> = (0..n as u32).step_by((n / 48).max(1)).collect();
    let deepest = (0..n as u32).max_by_key(|&o| s.distance[o as usize].max(0));
    let widest = (0..n as u32).max_by_key(|&o| s.graph.edges(o).len());
    sample.extend(deepest);
    sample.extend(widest);
    sample.extend(s.top_retainers(4));
    for &o in &sample {
        for max in [2, DEFAULT_PATH_STEPS, 100] {
            let path = timed("path", || s.retainer_path_capped(o, max));
            assert!(!path.is_empty() && path.len() <= max);
            assert_eq!(path.last().map(|p| p.node), Some(o));
        }
        for limit in [1usize, 100] {
            let (page, total) = timed("edges", || s.edges_slice(o, 0, limit));
            assert!(page.len() <= limit && page.len() as u64 <= total);
            let (page, _) = timed("retainers", || s.retaining_edges_page(o, 0, limit));
            assert!(page.len() <= limit);
            let (page, _) = timed("children", || s.children_page(o, 0, limit));
            assert!(page.len() <= limit);
            let (page, total) = timed("dominators", || s.dominator_chain_page(o, 0, limit));
            assert!(page.len() <= limit && total >= 1);
        }
        let steps = timed("shown path", || redacted.path(o, DEFAULT_PATH_STEPS));
        for step in &steps {
            for text in [&step.node.name, &step.node.class_name]
                .into_iter()
                .chain(step.edge_name.as_ref())
            {
                assert!(!text.contains(SECRET), "redacted path shows {text:?}");
            }
        }
    }
    assert!(timed("diff", || diff(s, s)).is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use leakwatch::analyzer::snapshot::Quiet;

    #[test]
    fn the_committed_seeds_build_valid_bounded_heaps() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/shapes");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let entry_name = path.file_name().unwrap_or_default().to_owned();
            let data = std::fs::read(&path).unwrap();
            let text = shaped_snapshot(&data);
            let s = Snapshot::from_bytes(&text, &Quiet).unwrap();
            assert!(
                s.node_count() > 1000,
                "{:?} builds only {} nodes",
                entry_name,
                s.node_count()
            );
            check_shaped(&s);
            seen += 1;
        }
        assert!(seen >= 5);
    }
}
