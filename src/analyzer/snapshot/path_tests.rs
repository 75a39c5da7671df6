//! Retainer paths, re-anchoring and paged queries, checked against a direct
//! reading of the rule on graphs built to stress it.

use super::*;

/// Builds a snapshot in V8's layout: nodes with their outgoing edges.
pub(crate) struct Builder {
    nodes: Vec<(u64, String, u64)>,
    edges: Vec<Vec<(u64, EdgeName, u64)>>,
}

pub(crate) enum EdgeName {
    Text(String),
    Index(u64),
}

pub(crate) const HIDDEN: u64 = 0;
pub(crate) const STRING: u64 = 2;
pub(crate) const OBJECT: u64 = 3;
pub(crate) const CODE: u64 = 4;
pub(crate) const CLOSURE: u64 = 5;
pub(crate) const SYNTHETIC: u64 = 9;
pub(crate) const CONTEXT: u64 = 0;
pub(crate) const ELEMENT: u64 = 1;
pub(crate) const PROPERTY: u64 = 2;
pub(crate) const INTERNAL: u64 = 3;
pub(crate) const SHORTCUT: u64 = 5;
pub(crate) const WEAK: u64 = 6;

impl Builder {
    /// A builder holding the synthetic root (ordinal 0).
    pub(crate) fn new() -> Self {
        let mut b = Builder {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        b.node(SYNTHETIC, "", 0);
        b
    }

    pub(crate) fn node(&mut self, ty: u64, name: &str, size: u64) -> u32 {
        self.nodes.push((ty, name.to_string(), size));
        self.edges.push(Vec::new());
        (self.nodes.len() - 1) as u32
    }

    pub(crate) fn edge(&mut self, from: u32, ty: u64, name: &str, to: u32) {
        let name = if ty == ELEMENT {
            EdgeName::Index(name.parse().unwrap_or(0))
        } else {
            EdgeName::Text(name.to_string())
        };
        self.edges[from as usize].push((ty, name, to as u64));
    }

    pub(crate) fn text(&self) -> String {
        let mut strings: Vec<String> = vec!["<dummy>".into()];
        let mut index = |s: &str| -> u64 {
            match strings.iter().position(|x| x == s) {
                Some(i) => i as u64,
                None => {
                    strings.push(s.to_string());
                    (strings.len() - 1) as u64
                }
            }
        };
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for (k, (ty, name, size)) in self.nodes.iter().enumerate() {
            let out = &self.edges[k];
            nodes.extend_from_slice(&[
                *ty,
                index(name),
                2 * k as u64 + 1,
                *size,
                out.len() as u64,
                0,
                0,
            ]);
            for (ety, name, to) in out {
                let name = match name {
                    EdgeName::Text(t) => index(t),
                    EdgeName::Index(i) => *i,
                };
                edges.extend_from_slice(&[*ety, name, to * 7]);
            }
        }
        let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
        crate::analyzer::parser::hostile_tests::snapshot_text(&nodes, &edges, &strings, None)
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot::from_bytes(self.text().as_bytes(), &Quiet).unwrap()
    }
}

/// The rule as DevTools' Retainers view applies it, one step at a time over
/// the retainer lists: the shown retainer closest to the roots, the first in
/// node order, through its first shown edge.
fn reference_path(s: &Snapshot, o: u32) -> Vec<(u32, Option<usize>)> {
    let g = &s.graph;
    let mut path = vec![(o, None)];
    let mut current = o;
    loop {
        let here = s.distance[current as usize];
        if here == NO_DISTANCE {
            break;
        }
        let best = s
            .retaining_edges(current)
            .into_iter()
            .filter(|&(src, e)| {
                let ty = g.edge_type(e);
                ty != s.types.e_weak && ty != s.types.e_invisible && src != g.root
            })
            .filter(|&(src, _)| {
                let d = s.distance[src as usize];
                d != NO_DISTANCE && d < here
            })
            .min_by_key(|&(src, _)| s.distance[src as usize]);
        match best {
            Some((src, e)) => {
                path.push((src, Some(e)));
                current = src;
            }
            None => break,
        }
    }
    path.reverse();
    path
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn paths_follow_the_retainers_view_rule_on_random_graphs() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..60 {
        let mut b = Builder::new();
        let n = 2 + rng.below(60) as u32;
        let global = b.node(OBJECT, "global", 10);
        b.edge(0, SHORTCUT, "1", global);
        let gc_roots = b.node(SYNTHETIC, "(GC roots)", 0);
        b.edge(0, ELEMENT, "1", gc_roots);
        let first = b.nodes.len() as u32;
        for k in 0..n {
            b.node(OBJECT, &format!("C{}", k % 5), 8);
        }
        let all = b.nodes.len() as u32;
        // Multi-edges, weak edges, edges back up the graph, unreachable
        // nodes and nodes reached only from the engine's roots.
        for _ in 0..(n * 3) {
            let from = match rng.below(6) {
                0 => global,
                1 => gc_roots,
                _ => first + rng.below(n as u64) as u32,
            };
            let to = first + rng.below((all - first) as u64) as u32;
            let ty = [PROPERTY, PROPERTY, ELEMENT, INTERNAL, WEAK, CONTEXT][rng.below(6) as usize];
            let name = format!("{}", rng.below(4));
            b.edge(from, ty, &name, to);
        }
        let s = b.load();
        for o in 0..s.node_count() as u32 {
            let expected = reference_path(&s, o);
            assert_eq!(s.retainer_path(o), expected, "round {round}, node {o}");
            let uncapped: Vec<u32> = s
                .retainer_path_capped(o, 1000)
                .iter()
                .map(|p| p.node)
                .collect();
            let nodes: Vec<u32> = expected.iter().map(|p| p.0).collect();
            assert_eq!(uncapped, nodes);
        }
    }
}

#[test]
fn a_long_path_shows_its_ends_and_how_many_steps_it_left_out() {
    // root -> global -> 1000-node linked list -> payload.
    let mut b = Builder::new();
    let global = b.node(OBJECT, "global", 10);
    b.edge(0, SHORTCUT, "1", global);
    let mut previous = global;
    let mut list = Vec::new();
    for _ in 0..1000 {
        let item = b.node(OBJECT, "Item", 16);
        b.edge(
            previous,
            PROPERTY,
            if previous == global { "head" } else { "next" },
            item,
        );
        list.push(item);
        previous = item;
    }
    let payload = b.node(OBJECT, "Payload", 4096);
    b.edge(previous, PROPERTY, "payload", payload);
    let s = b.load();
    let full = s.retainer_path(payload);
    assert_eq!(full.len(), 1002, "global, the list, the payload");

    let capped = s.retainer_path_capped(payload, DEFAULT_PATH_STEPS);
    assert_eq!(capped.len(), DEFAULT_PATH_STEPS);
    let head = DEFAULT_PATH_STEPS / 3;
    let shown: Vec<u32> = capped.iter().map(|p| p.node).collect();
    let expected_head: Vec<u32> = full[..head].iter().map(|p| p.0).collect();
    let expected_tail: Vec<u32> = full[full.len() - (DEFAULT_PATH_STEPS - head)..]
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(shown[..head], expected_head[..]);
    assert_eq!(shown[head..], expected_tail[..]);
    assert!(capped[..head].iter().all(|p| p.skipped == 0));
    assert_eq!(capped[head].skipped, 1002 - DEFAULT_PATH_STEPS as u64);
    assert!(capped[head + 1..].iter().all(|p| p.skipped == 0));
    // Every shown edge really enters its step, from the node before it in
    // the whole path (after the cut too).
    for (k, p) in capped.iter().enumerate().skip(1) {
        let e = p.edge_in.expect("every step but the first has an edge");
        assert_eq!(s.graph.edge_target(e), p.node);
        if p.skipped == 0 {
            assert_eq!(s.edge_source(e), capped[k - 1].node);
        }
    }
    assert_eq!(capped[0].edge_in, None);
    // The smallest cap keeps where the path starts and where it ends.
    let two = s.retainer_path_capped(payload, 2);
    assert_eq!(
        two.iter().map(|p| p.node).collect::<Vec<_>>(),
        [global, payload]
    );
    assert_eq!(two[1].skipped, 1000);
}

#[test]
fn a_native_context_above_the_global_is_not_where_a_path_starts() {
    // Node 26's layout: root -shortcut-> NativeContext, which holds the
    // global object, the global proxy and the realm's builtins.
    let mut b = Builder::new();
    let context = b.node(HIDDEN, "system / NativeContext", 100);
    b.edge(0, SHORTCUT, "2", context);
    let global = b.node(OBJECT, "global (global*)", 50);
    let proxy = b.node(OBJECT, "global (global)", 8);
    let error = b.node(CLOSURE, "Error", 30);
    let internal_only = b.node(OBJECT, "Cache", 20);
    let store = b.node(OBJECT, "Map", 40);
    b.edge(context, INTERNAL, "global_object", global);
    b.edge(context, INTERNAL, "global_proxy_object", proxy);
    b.edge(context, INTERNAL, "error_function", error);
    b.edge(context, INTERNAL, "math_random_cache", internal_only);
    b.edge(proxy, SHORTCUT, "native_context", context);
    b.edge(global, PROPERTY, "Error", error);
    b.edge(global, PROPERTY, "sessionStore", store);
    let s = b.load();
    let path = |o: u32| -> Vec<(u32, Option<String>)> {
        s.retainer_path_capped(o, DEFAULT_PATH_STEPS)
            .iter()
            .map(|p| (p.node, p.edge_in.map(|e| s.edge_label(e))))
            .collect()
    };
    // Through the global: the path starts there.
    assert_eq!(
        path(store),
        [(global, None), (store, Some(".sessionStore".into()))]
    );
    assert_eq!(path(global), [(global, None)]);
    // A builtin the context holds in a slot and the global by name.
    assert_eq!(
        path(error),
        [(global, None), (error, Some(".Error".into()))]
    );
    // Held by the context alone: from the global proxy that holds it.
    assert_eq!(
        path(internal_only),
        [
            (proxy, None),
            (context, Some(".native_context".into())),
            (internal_only, Some("{math_random_cache}".into()))
        ]
    );
    // DevTools' distances are untouched: the context is the user root.
    assert_eq!(s.distance[context as usize], 1);
    assert_eq!(s.distance[global as usize], 2);
    assert_eq!(s.distance[store as usize], 3);
}

#[test]
fn a_context_whose_slots_name_itself_starts_its_own_path() {
    // Found by fuzzing: a crafted context holding itself as the global
    // proxy, through a shown self-edge, was prepended to its own path.
    let mut b = Builder::new();
    let context = b.node(HIDDEN, "system / NativeContext", 100);
    b.edge(0, SHORTCUT, "2", context);
    b.edge(context, INTERNAL, "global_proxy_object", context);
    b.edge(context, INTERNAL, "global_object", context);
    let held = b.node(OBJECT, "Cache", 20);
    b.edge(context, INTERNAL, "math_random_cache", held);
    let s = b.load();
    let nodes = |o: u32| -> Vec<u32> {
        s.retainer_path_capped(o, DEFAULT_PATH_STEPS)
            .iter()
            .map(|p| p.node)
            .collect()
    };
    assert_eq!(nodes(context), [context]);
    assert_eq!(nodes(held), [context, held]);
}

#[test]
fn pages_cover_the_whole_answer_in_order() {
    // global holds a fan of 50 objects of distinct sizes; object 7 is also
    // retained by the next 20.
    let mut b = Builder::new();
    let global = b.node(OBJECT, "global", 10);
    b.edge(0, SHORTCUT, "1", global);
    let fan: Vec<u32> = (0..50)
        .map(|k| b.node(OBJECT, "Item", 100 + (k * 37) % 50))
        .collect();
    for (k, &f) in fan.iter().enumerate() {
        b.edge(global, ELEMENT, &k.to_string(), f);
    }
    for &f in &fan[8..28] {
        b.edge(f, PROPERTY, "shared", fan[7]);
    }
    let s = b.load();
    let (all, total) = s.children_page(global, 0, usize::MAX);
    assert_eq!(total, 50);
    let mut expected = s.dominated_by(global);
    expected.sort_by_key(|&k| (std::cmp::Reverse(s.retained[k as usize]), k));
    assert_eq!(all, expected);
    for size in [1usize, 7, 50, 64] {
        let mut joined = Vec::new();
        let mut offset = 0u64;
        while offset < total {
            let (page, t) = s.children_page(global, offset, size);
            assert_eq!(t, total);
            assert!(page.len() <= size);
            offset += page.len() as u64;
            joined.extend(page);
        }
        assert_eq!(joined, expected, "pages of {size}");
    }
    assert_eq!(s.children_page(global, 60, 5), (vec![], 50));

    let (edges, total) = s.edges_slice(global, 45, 10);
    assert_eq!((edges.len(), total), (5, 50));
    let (retainers, total) = s.retaining_edges_page(fan[7], 0, usize::MAX);
    assert_eq!(total, 21);
    assert_eq!(retainers, s.retaining_edges(fan[7]));
    let (page, _) = s.retaining_edges_page(fan[7], 5, 3);
    assert_eq!(page, retainers[5..8]);

    let (chain, depth) = s.dominator_chain_page(fan[3], 0, usize::MAX);
    assert_eq!(chain, s.dominator_chain(fan[3]));
    assert_eq!(depth as usize, chain.len());
    assert_eq!(s.dominator_chain_page(fan[3], 1, 1).0, [global]);
}

#[test]
fn every_edge_finds_the_node_it_leaves_from() {
    // Runs of nodes without edges, nodes with more edges than a block, and
    // blocks that start inside a node's edges.
    let mut b = Builder::new();
    let global = b.node(OBJECT, "global", 10);
    b.edge(0, SHORTCUT, "1", global);
    let mut previous = global;
    for k in 0..400u32 {
        let o = b.node(OBJECT, "Item", 8);
        let fan = [0, 0, 1, 3, 700, 0, 255, 256, 257][k as usize % 9];
        for _ in 0..fan {
            b.edge(previous, ELEMENT, "0", o);
        }
        if fan == 0 {
            b.edge(global, PROPERTY, "x", o);
        }
        previous = o;
    }
    let s = b.load();
    assert!(s.edge_count() > 10 * (1 << EDGE_BLOCK_BITS));
    for o in 0..s.node_count() as u32 {
        for e in s.graph.edges(o) {
            assert_eq!(s.edge_source(e), o, "edge {e}");
        }
    }
}
