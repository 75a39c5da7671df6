//! Shared by the fuzz targets: how an input is cut into chunks, what two ways
//! of loading the same bytes must agree on, and what must hold of any
//! snapshot the engine accepts, however strange the input.

use leakwatch::analyzer::diff::diff;
use leakwatch::analyzer::leaks::{find_leaks, LeakOptions};
use leakwatch::analyzer::phases::{ESSENTIAL_BIT, NO_DISTANCE};
use leakwatch::analyzer::snapshot::{Quiet, DEFAULT_PATH_STEPS};
use leakwatch::analyzer::{Parser, Result, Snapshot, SnapshotError};

pub mod shapes;

/// Above this many nodes the quadratic dominator cross-check is skipped, so
/// one input stays in the millisecond range.
const BRUTE_FORCE_NODES: usize = 512;

/// A chunk length byte that means "all that is left".
const REST: u8 = 255;

/// Splits a fuzz input into chunk lengths and snapshot text. The low three
/// bits of the first byte count the length bytes that follow it; the rest of
/// the input is the text. The lengths are used in turn, over and over: 0
/// feeds an empty chunk, 255 feeds the rest.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.split_first() {
        None => (&[], &[]),
        Some((&head, rest)) => rest.split_at(((head & 7) as usize).min(rest.len())),
    }
}

/// The chunks `text` is fed in for the given lengths (see [`split`]).
pub fn chunks<'a>(lengths: &[u8], text: &'a [u8]) -> Vec<&'a [u8]> {
    if lengths.iter().all(|&l| l == 0) {
        // No usable length: an empty chunk first if asked for, then the text whole.
        let mut out = vec![&text[..0]; lengths.len().min(1)];
        out.push(text);
        return out;
    }
    let mut out = Vec::new();
    let mut at = 0;
    for &l in lengths.iter().cycle() {
        if at == text.len() {
            break;
        }
        let take = if l == REST {
            text.len() - at
        } else {
            (l as usize).min(text.len() - at)
        };
        out.push(&text[at..at + take]);
        at += take;
    }
    out
}

/// Loads through the push parser chunk by chunk with no size hint, as the
/// streaming binding does.
pub fn load_chunked(chunks: &[&[u8]]) -> Result<Snapshot> {
    let mut parser = Parser::new();
    for chunk in chunks {
        parser.feed(chunk)?;
    }
    Snapshot::analyze(parser.finish()?, &Quiet)
}

/// Everything a caller can observe of a load, for comparing two loads.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Failed(SnapshotError),
    Loaded(Box<Digest>),
}

#[derive(Debug, PartialEq)]
pub struct Digest {
    pub total_size: u64,
    pub root: u32,
    pub ids: Vec<u32>,
    pub names: Vec<String>,
    pub self_sizes: Vec<u64>,
    pub first_edge: Vec<u32>,
    pub edges: Vec<(u32, u32)>,
    pub retained: Vec<u64>,
    pub dominator: Vec<u32>,
    pub distance: Vec<i32>,
    pub classes: Vec<(String, String, u64, u64, u64, i32)>,
}

pub fn outcome(result: Result<Snapshot>) -> Outcome {
    let s = match result {
        Err(e) => return Outcome::Failed(e),
        Ok(s) => s,
    };
    let g = &s.graph;
    let n = g.node_count() as u32;
    Outcome::Loaded(Box::new(Digest {
        total_size: s.total_size(),
        root: g.root,
        ids: g.node_id.clone(),
        names: (0..n).map(|o| s.node_name(o)).collect(),
        self_sizes: (0..n).map(|o| g.self_size.get(o)).collect(),
        first_edge: g.first_edge.clone(),
        edges: g
            .edge_to_type
            .iter()
            .copied()
            .zip(g.edge_name.iter().copied())
            .collect(),
        retained: s.retained.clone(),
        dominator: s.dominator.clone(),
        distance: s.distance.clone(),
        classes: s
            .class_table()
            .into_iter()
            .map(|c| {
                (
                    c.key,
                    c.name,
                    c.count,
                    c.self_size,
                    c.retained_size,
                    c.distance,
                )
            })
            .collect(),
    }))
}

/// Asserts what must hold of every analysed snapshot, running each query a
/// caller can make so that any panic in them surfaces here.
pub fn check_invariants(s: &Snapshot) {
    let g = &s.graph;
    let n = g.node_count();
    let root = g.root;
    assert!(n > 0 && (root as usize) < n);
    assert_eq!(s.retained.len(), n);
    assert_eq!(s.dominator.len(), n);
    assert_eq!(s.distance.len(), n);
    assert_eq!(
        s.dominator[root as usize], root,
        "the root dominates itself"
    );

    check_dominator_tree(s);
    check_retained_sizes(s);
    check_essential_dominators(s);

    // Retainer lists are exactly the reversed edges.
    let mut into = 0usize;
    for o in 0..n as u32 {
        for (src, e) in s.retaining_edges(o) {
            assert!(g.edges(src).contains(&e), "edge {e} is not from node {src}");
            assert_eq!(g.edge_target(e), o);
            into += 1;
        }
    }
    assert_eq!(into, g.edge_count(), "every edge retains exactly one node");

    // Named path steps cost a display name per step, so only a few nodes
    // get them; the report below adds those of the largest objects.
    for o in 0..n.min(4) as u32 {
        let whole = s.retainer_path(o).len();
        assert_eq!(s.path_steps(o).len(), whole.min(DEFAULT_PATH_STEPS));
    }
    for o in 0..n as u32 {
        check_retainer_path(s, o);
        let found = s.ordinal_of_id(g.node_id[o as usize] as u64);
        let found = found.expect("every node's id finds a node");
        assert_eq!(g.node_id[found as usize], g.node_id[o as usize]);
        let summary = s.summarize_node(o);
        assert_eq!(summary.retained_size, s.retained[o as usize]);
        for e in g.edges(o) {
            let _ = s.edge_label(e);
            let _ = s.edge_type_name(e);
        }
        for child in s.dominated_by(o) {
            assert_eq!(s.dominator[child as usize], o);
        }
    }

    for k in [0, 1, 3, n + 1] {
        let top = s.top_retainers(k);
        assert!(top.len() <= k);
        for w in top.windows(2) {
            assert!(s.retained[w[0] as usize] >= s.retained[w[1] as usize]);
        }
        assert!(top.iter().all(|&o| o != root));
    }

    let classes = s.class_table();
    let counted: u64 = classes.iter().map(|c| c.count).sum();
    assert!(
        counted <= n as u64,
        "{counted} objects counted in {n} nodes"
    );
    let report = s.report(5, 50);
    assert_eq!(report.node_count, n as u64);
    assert_eq!(report.edge_count, g.edge_count() as u64);
    assert_eq!(report.total_size, s.total_size());

    // Comparing a snapshot with itself finds nothing new, freed or leaking.
    let changes = diff(s, s);
    assert!(changes.is_empty(), "self-diff reports {changes:?}");
    // The same heap three times is no history: refused, never analysed.
    let refused = find_leaks(&[s, s, s], &LeakOptions::default()).map(|r| r.suspects.len());
    assert!(
        matches!(&refused, Err(e) if e.code() == "ERR_SNAPSHOT_ORDER"),
        "one heap passed three times gave {refused:?}"
    );
}

/// Every node's dominator chain reaches the root without a cycle.
fn check_dominator_tree(s: &Snapshot) {
    let n = s.graph.node_count();
    // 0 unknown, 1 on the current walk, 2 known to reach the root.
    let mut state = vec![0u8; n];
    state[s.graph.root as usize] = 2;
    let mut walk = Vec::new();
    for start in 0..n {
        let mut x = start;
        while state[x] == 0 {
            state[x] = 1;
            walk.push(x);
            x = s.dominator[x] as usize;
            assert!(x < n, "dominator {x} is not a node");
        }
        assert_eq!(state[x], 2, "dominator chain of {start} loops at {x}");
        for w in walk.drain(..) {
            state[w] = 2;
        }
    }
    let chain = s.dominator_chain(0);
    assert_eq!(chain.last().copied(), Some(s.graph.root));
}

/// A node retains its own size plus what its dominator-tree children retain,
/// so the root retains every node's size.
fn check_retained_sizes(s: &Snapshot) {
    let g = &s.graph;
    let n = g.node_count();
    let mut expected: Vec<u64> = (0..n as u32).map(|o| g.self_size.get(o)).collect();
    for o in 0..n {
        if o as u32 != g.root {
            let d = s.dominator[o] as usize;
            expected[d] = expected[d].saturating_add(s.retained[o]);
        }
        assert!(s.retained[o] >= g.self_size.get(o as u32));
    }
    assert_eq!(
        expected, s.retained,
        "retained sizes disagree with the tree"
    );
    let all = (0..n as u32).fold(0u64, |a, o| a.saturating_add(g.self_size.get(o)));
    assert_eq!(s.retained[g.root as usize], all);
}

/// For a node reachable from the root over retaining (essential) edges, its
/// dominator is reachable too, and without the dominator the node is not.
fn check_essential_dominators(s: &Snapshot) {
    let g = &s.graph;
    let n = g.node_count();
    if n > BRUTE_FORCE_NODES {
        return;
    }
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); n];
    for o in 0..n as u32 {
        for &raw in s.retainers().of(o) {
            if raw & ESSENTIAL_BIT != 0 {
                out[(raw & !ESSENTIAL_BIT) as usize].push(o);
            }
        }
    }
    let reach = |without: Option<u32>| -> Vec<bool> {
        let mut seen = vec![false; n];
        let mut stack = vec![g.root];
        seen[g.root as usize] = true;
        while let Some(x) = stack.pop() {
            for &y in &out[x as usize] {
                if !seen[y as usize] && Some(y) != without {
                    seen[y as usize] = true;
                    stack.push(y);
                }
            }
        }
        seen
    };
    let reachable = reach(None);
    for o in 0..n {
        if !reachable[o] || o as u32 == g.root {
            continue;
        }
        let d = s.dominator[o];
        assert!(
            reachable[d as usize],
            "node {o} has unreachable dominator {d}"
        );
        if d != g.root {
            assert!(
                !reach(Some(d))[o],
                "node {o} is reachable around its dominator {d}"
            );
        }
    }
}

/// The path is root-first, ends at the node, follows real edges, and is the
/// Retainers view's path (each step back the shown retainer closest to the
/// roots), except that a path topped by a NativeContext may start at the
/// global object instead.
fn check_retainer_path(s: &Snapshot, o: u32) {
    let g = &s.graph;
    let path = s.retainer_path(o);
    assert_eq!(path.last().map(|p| p.0), Some(o));
    assert_eq!(path.last().and_then(|p| p.1), None);
    for w in path.windows(2) {
        let ((a, e), (b, _)) = (w[0], w[1]);
        let e = e.expect("every step but the last has an edge");
        assert!(g.edges(a).contains(&e));
        assert_eq!(g.edge_target(e), b);
    }
    let reference = reference_path(s, o);
    let anchored = path[0].0 != reference[0].0;
    if anchored {
        let top = s.node_name(reference[0].0);
        assert_eq!(
            top, "system / NativeContext",
            "only a context's path is re-anchored"
        );
        assert!(path.len().abs_diff(reference.len()) <= 1);
    } else {
        assert_eq!(path, reference);
    }
    // Below the top two steps the path is the reference path.
    let common = path.len().min(reference.len()).saturating_sub(2);
    assert_eq!(
        path[path.len() - common..],
        reference[reference.len() - common..]
    );
    for w in path.windows(2).skip(usize::from(anchored)) {
        let (da, db) = (s.distance[w[0].0 as usize], s.distance[w[1].0 as usize]);
        assert!(da != NO_DISTANCE && da < db, "distance {da} -> {db}");
    }
    let capped = s.retainer_path_capped(o, 5);
    assert!(capped.len() <= 5);
    assert_eq!(capped.first().map(|p| p.node), path.first().map(|p| p.0));
    assert_eq!(capped.last().map(|p| p.node), Some(o));
    let shown = capped.len() as u64 + capped.iter().map(|p| p.skipped).sum::<u64>();
    assert_eq!(
        shown,
        path.len() as u64,
        "shown plus skipped steps are the whole path"
    );
}

/// DevTools' Retainers view, one step at a time over the retainer lists:
/// the shown retainer closest to the roots, the first in node order, through
/// its first shown edge. Returned as (node, edge into the next node).
pub fn reference_path(s: &Snapshot, o: u32) -> Vec<(u32, Option<usize>)> {
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

/// Names the analysis treats specially, plus a few plain ones.
const NAMES: &[&str] = &[
    "",
    "Object",
    "a",
    "b, c",
    "__proto__",
    "first",
    "second",
    "(GC roots)",
    "(Document DOM trees)",
    "system / NativeContext",
    "global_object",
    "global_proxy_object",
    "global (global*)",
    "sloppy_function_map",
    "(map descriptors)",
    "system / ExternalStringData",
    "Detached HTMLDivElement",
    "<div id=x>",
    "Detached <span class=y>",
    "1 / part of key (Object @3) -> value (Object @5) pair in WeakMap (table @7)",
    "2 / part of key (Object @3) -> value (Object @5) pair in WeakMap (table @7)",
    "1",
    "4",
    "Map",
    "Array",
    "Timeout",
    "\u{e9}\u{1F600}",
];
const NODE_TYPES: &[&str] = &[
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
];
const EDGE_TYPES: &[&str] = &[
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];
const SIZES: &[u64] = &[
    0,
    1,
    8,
    24,
    100,
    4096,
    u32::MAX as u64 - 1,
    u32::MAX as u64,
    1 << 32,
    (1 << 53) - 1,
];
const MAX_NODES: usize = 48;
const MAX_EDGES_PER_NODE: u8 = 6;

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
        self.byte() as usize % n
    }
}

/// Renders fuzz bytes as a well-formed snapshot, so that every input reaches
/// the analysis: the fuzzer varies the graph (shape, types, names that the
/// phases special-case, ids, sizes, detachedness, locations), not the JSON.
pub fn structured_snapshot(data: &[u8]) -> Vec<u8> {
    let mut c = Choices(data);
    let n = 1 + c.below(MAX_NODES);
    let root = c.below(n);
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    let mut locations = Vec::new();
    for o in 0..n {
        let ty = c.below(NODE_TYPES.len());
        let name = c.below(NAMES.len());
        // Small ids collide on purpose, and 3/5/7 name the WeakMap parts above.
        let id = c.byte() as u32 % 16;
        let size = SIZES[c.below(SIZES.len())];
        let detachedness = c.byte() % 3;
        let count = c.byte() % (MAX_EDGES_PER_NODE + 1);
        nodes.push(format!("{ty},{name},{id},{size},{count},{detachedness}"));
        for _ in 0..count {
            let ety = c.below(EDGE_TYPES.len());
            let to = c.below(n);
            let name = if EDGE_TYPES[ety] == "element" || EDGE_TYPES[ety] == "hidden" {
                c.byte() as usize % 8
            } else {
                c.below(NAMES.len())
            };
            edges.push(format!("{ety},{name},{}", to * 6));
        }
        if c.byte() % 8 == 0 {
            let (script, line, column) = (c.byte() % 3, c.byte() % 3, c.byte() % 3);
            locations.push(format!("{},{script},{line},{column}", o * 6));
        }
    }
    let extra = SIZES[c.below(SIZES.len())];
    let quoted = |list: &[&str]| {
        list.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        concat!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","detachedness"],"#,
            r#""node_types":[[{}],"string","number","number","number","number"],"#,
            r#""edge_fields":["type","name_or_index","to_node"],"edge_types":[[{}],"string_or_number","node"],"#,
            r#""location_fields":["object_index","script_id","line","column"]}},"#,
            r#""node_count":{},"edge_count":{},"root_index":{},"extra_native_bytes":{}}},"#,
            r#""nodes":[{}],"edges":[{}],"locations":[{}],"strings":[{}]}}"#
        ),
        quoted(NODE_TYPES),
        quoted(EDGE_TYPES),
        n,
        edges.len(),
        root * 6,
        extra,
        nodes.join(","),
        edges.join(","),
        locations.join(","),
        quoted(NAMES)
    )
    .into_bytes()
}
