//! Sizes, offsets and counts beyond 32 bits: byte offsets past 4 GiB in the
//! parser, self sizes summing past 2^32 and 2^40 through every total the
//! engine derives (checked against a naive computation in u128), and the
//! counting limits where the columns use u32.

use super::diff::diff;
use super::error::SnapshotError;
use super::graph::{MAX_EDGES, MAX_NODES};
use super::parser::{parse_bytes, Parser, MAX_SAFE_INTEGER};
use super::snapshot::{Quiet, Snapshot};
use std::collections::HashMap;

const OBJECT: u8 = 3;
const SYNTHETIC: u8 = 9;
const E_ELEMENT: u8 = 1;
const E_PROPERTY: u8 = 2;
const E_SHORTCUT: u8 = 5;
const FIELDS: u64 = 5;

/// (type, name or index, target ordinal).
type EdgeSpec = (u8, u64, u64);
/// (type, name string, id, self size, edges).
type NodeSpec = (u8, u64, u64, u64, Vec<EdgeSpec>);

/// A small snapshot described in Rust and written as V8 would.
#[derive(Clone, Default)]
struct Spec {
    nodes: Vec<NodeSpec>,
    strings: Vec<String>,
    extra_native_bytes: u64,
    /// Overrides of the header's counts, to test what it may declare.
    declared: Option<(u64, u64)>,
    locations: Vec<[u64; 4]>,
}

impl Spec {
    fn string(&mut self, s: &str) -> u64 {
        match self.strings.iter().position(|x| x == s) {
            Some(i) => i as u64,
            None => {
                self.strings.push(s.to_string());
                self.strings.len() as u64 - 1
            }
        }
    }

    fn edge_count(&self) -> u64 {
        self.nodes.iter().map(|n| n.4.len() as u64).sum()
    }

    fn json(&self) -> Vec<u8> {
        let (node_count, edge_count) = self
            .declared
            .unwrap_or((self.nodes.len() as u64, self.edge_count()));
        let mut s = format!(
            concat!(
                r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"#,
                r#""node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],"#,
                r#""edge_fields":["type","name_or_index","to_node"],"#,
                r#""edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"#,
                r#""location_fields":["object_index","script_id","line","column"]}},"#,
                r#""node_count":{},"edge_count":{},"extra_native_bytes":{}}},"#,
                "\n\"nodes\":["
            ),
            node_count, edge_count, self.extra_native_bytes
        );
        let mut sep = "";
        for (ty, name, id, size, edges) in &self.nodes {
            s += &format!("{sep}{ty},{name},{id},{size},{}", edges.len());
            sep = ",\n";
        }
        s += "],\n\"edges\":[";
        sep = "";
        for n in &self.nodes {
            for (ty, name, to) in &n.4 {
                s += &format!("{sep}{ty},{name},{}", to * FIELDS);
                sep = ",\n";
            }
        }
        s += "],\n\"locations\":[";
        sep = "";
        for l in &self.locations {
            s += &format!("{sep}{},{},{},{}", l[0], l[1], l[2], l[3]);
            sep = ",\n";
        }
        s += "],\n\"strings\":[";
        sep = "";
        for t in &self.strings {
            s += &format!("{sep}{}", serde_json::Value::String(t.clone()));
            sep = ",\n";
        }
        s += "]}\n";
        s.into_bytes()
    }
}

/// splitmix64, as the benchmark generator uses.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn load(spec: &Spec) -> Snapshot {
    match Snapshot::from_bytes(&spec.json(), &Quiet) {
        Ok(s) => s,
        Err(e) => panic!("the test snapshot must load: {e}"),
    }
}

fn load_err(spec: &Spec) -> SnapshotError {
    match Snapshot::from_bytes(&spec.json(), &Quiet) {
        Ok(_) => panic!("the test snapshot must be refused"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------
// Byte offsets past 4 GiB, fed as a stream that is never held in memory.

/// A valid snapshot cut inside its edges array, right after a comma, where
/// any amount of whitespace may go.
fn split_snapshot() -> (Vec<u8>, Vec<u8>, Spec) {
    let mut spec = Spec::default();
    let (root, global, a, b) = (
        spec.string(""),
        spec.string("global"),
        spec.string("A"),
        spec.string("x"),
    );
    spec.nodes = vec![
        (SYNTHETIC, root, 1, 0, vec![(E_SHORTCUT, global, 1)]),
        (
            OBJECT,
            global,
            3,
            100,
            vec![(E_PROPERTY, b, 2), (E_PROPERTY, b, 3)],
        ),
        (OBJECT, a, 5, 20, vec![]),
        (OBJECT, a, 7, 30, vec![]),
    ];
    let json = spec.json();
    let text = std::str::from_utf8(&json).unwrap_or_default();
    let edges = text.find("\"edges\":[").unwrap_or(0);
    let cut = edges + text[edges..].find(",\n").unwrap_or(0) + 1;
    assert!(cut > edges, "the edges array has a comma to cut after");
    (json[..cut].to_vec(), json[cut..].to_vec(), spec)
}

const PAD: u64 = (1 << 32) + 12_345;

/// Feeds `len` bytes of JSON whitespace in 1 MiB chunks.
fn feed_whitespace(p: &mut Parser, len: u64) {
    let chunk = b" \n\t\r".repeat(1 << 18);
    let mut left = len;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        if let Err(e) = p.feed(&chunk[..k]) {
            panic!("whitespace must be accepted: {e}");
        }
        left -= k as u64;
    }
}

#[test]
fn parses_a_stream_longer_than_4_gib() {
    let (head, tail, spec) = split_snapshot();
    let mut p = Parser::new();
    p.feed(&head).unwrap_or_else(|e| panic!("{e}"));
    feed_whitespace(&mut p, PAD);
    p.feed(&tail).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.bytes_consumed(),
        head.len() as u64 + PAD + tail.len() as u64
    );
    let padded = p.finish().unwrap_or_else(|e| panic!("{e}"));
    let plain = parse_bytes(&spec.json()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(padded.node_count(), 4);
    assert_eq!(padded.edge_to_type, plain.edge_to_type);
    assert_eq!(padded.edge_name, plain.edge_name);
    assert_eq!(padded.first_edge, plain.first_edge);
    assert_eq!(padded.node_id, plain.node_id);
}

#[test]
fn errors_past_4_gib_report_the_exact_byte_offset() {
    let (head, _, _) = split_snapshot();
    let mut p = Parser::new();
    p.feed(&head).unwrap_or_else(|e| panic!("{e}"));
    feed_whitespace(&mut p, PAD);
    // The bad byte sits mid-chunk, so chunk base and position both count.
    let err = p.feed(b"  x]").err();
    let expected = head.len() as u64 + PAD + 2;
    assert!(expected > u32::MAX as u64);
    match err {
        Some(SnapshotError::Syntax {
            offset,
            ref message,
        }) => {
            assert_eq!(offset, expected, "{message}");
            let text = err.as_ref().map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains(&format!("at byte {expected}")), "{text}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn truncation_past_4_gib_reports_the_exact_length() {
    let (head, _, _) = split_snapshot();
    let mut p = Parser::new();
    p.feed(&head).unwrap_or_else(|e| panic!("{e}"));
    feed_whitespace(&mut p, PAD);
    match p.finish() {
        Err(SnapshotError::Truncated { offset, message }) => {
            assert_eq!(offset, head.len() as u64 + PAD);
            assert!(message.contains("`edges`"), "{message}");
        }
        other => panic!("expected truncation, got {:?}", other.err()),
    }
}

// ---------------------------------------------------------------------------
// Self sizes past 2^32 and 2^40, through every derived total.

/// Self sizes around the 32-bit boundary and far beyond it.
fn big_size(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => 0,
        1 => u32::MAX as u64 - 1,
        2 => u32::MAX as u64,
        3 => u32::MAX as u64 + 1,
        4 => (1 << 40) + rng.below(1 << 20),
        5 => (1 << 44) - 1 - rng.below(1000),
        _ => rng.below(10_000),
    }
}

const CLASSES: u64 = 5;

/// A random object graph in which every node is reachable from the root:
/// three globals, a random spanning tree below them, and random extra edges
/// (cycles, shared retainers, self edges). Only objects and property edges,
/// so DevTools' dominator rules reduce to plain reachability.
fn random_graph(seed: u64, n: u64, id_shift: u64) -> Spec {
    let mut rng = Rng(seed);
    let mut spec = Spec {
        extra_native_bytes: (1 << 41) + 5,
        ..Spec::default()
    };
    let root = spec.string("");
    let global = spec.string("global");
    let prop = spec.string("p");
    let class_names: Vec<u64> = (0..CLASSES)
        .map(|c| spec.string(&format!("C{c}")))
        .collect();
    spec.nodes.push((
        SYNTHETIC,
        root,
        1,
        0,
        (1..4).map(|g| (E_SHORTCUT, global, g)).collect(),
    ));
    for o in 1..n {
        let name = if o < 4 {
            global
        } else {
            class_names[rng.below(CLASSES) as usize]
        };
        let id = if o < 4 {
            2 * o + 1
        } else {
            2 * (o + id_shift) + 1
        };
        spec.nodes
            .push((OBJECT, name, id, big_size(&mut rng), Vec::new()));
    }
    for o in 4..n {
        let parent = 1 + rng.below(o - 1);
        spec.nodes[parent as usize].4.push((E_PROPERTY, prop, o));
    }
    for _ in 0..2 * n {
        let (from, to) = (1 + rng.below(n - 1), 1 + rng.below(n - 1));
        spec.nodes[from as usize].4.push((E_PROPERTY, prop, to));
    }
    spec
}

/// Which nodes each node dominates, by definition: those no longer reachable
/// from the root once it is removed (and itself).
fn naive_dominated(spec: &Spec) -> Vec<Vec<bool>> {
    let n = spec.nodes.len();
    (0..n)
        .map(|removed| {
            let mut seen = vec![false; n];
            if removed != 0 {
                seen[0] = true;
                let mut stack = vec![0usize];
                while let Some(x) = stack.pop() {
                    for &(_, _, to) in &spec.nodes[x].4 {
                        let to = to as usize;
                        if to != removed && !seen[to] {
                            seen[to] = true;
                            stack.push(to);
                        }
                    }
                }
            }
            seen.iter()
                .enumerate()
                .map(|(v, &s)| v == removed || !s)
                .collect()
        })
        .collect()
}

fn size_of(spec: &Spec, o: usize) -> u128 {
    spec.nodes[o].3 as u128
}

#[test]
fn retained_sizes_and_totals_past_2_40_are_exact() {
    let spec = random_graph(7, 300, 0);
    let total: u128 = (0..spec.nodes.len()).map(|o| size_of(&spec, o)).sum();
    assert!(total > 1 << 46, "the sizes sum far beyond 2^32: {total}");
    let s = load(&spec);
    let dominated = naive_dominated(&spec);
    let retained: Vec<u128> = dominated
        .iter()
        .map(|d| {
            (0..d.len())
                .filter(|&v| d[v])
                .map(|v| size_of(&spec, v))
                .sum()
        })
        .collect();
    for (o, &r) in retained.iter().enumerate() {
        assert_eq!(s.retained[o] as u128, r, "retained size of node {o}");
    }
    assert_eq!(
        s.total_size() as u128,
        total + spec.extra_native_bytes as u128
    );

    // Class totals: a class retains the union of what its sized members
    // dominate.
    let rows = s.class_table();
    let class_of = |o: usize| spec.strings[spec.nodes[o].1 as usize].as_str();
    let mut checked = 0;
    for row in &rows {
        let members: Vec<usize> = (1..spec.nodes.len())
            .filter(|&o| class_of(o) == row.name && spec.nodes[o].3 != 0)
            .collect();
        let self_total: u128 = members.iter().map(|&o| size_of(&spec, o)).sum();
        let retained_total: u128 = (0..spec.nodes.len())
            .filter(|&v| members.iter().any(|&m| dominated[m][v]))
            .map(|v| size_of(&spec, v))
            .sum();
        assert_eq!(row.count, members.len() as u64, "count of {}", row.name);
        assert_eq!(
            row.self_size as u128, self_total,
            "self size of {}",
            row.name
        );
        assert_eq!(
            row.retained_size as u128, retained_total,
            "retained size of {}",
            row.name
        );
        checked += 1;
    }
    assert_eq!(checked, CLASSES + 1, "every class and `global` have a row");

    let report = s.report(5, 100);
    assert_eq!(report.total_size, s.total_size());
    assert_eq!(report.classes.len() as u64, CLASSES + 1);
    for top in &report.top {
        assert_eq!(
            top.node.retained_size as u128,
            retained[top.node.ordinal as usize]
        );
        assert_eq!(top.node.self_size, spec.nodes[top.node.ordinal as usize].3);
    }
    let largest = (1..spec.nodes.len()).map(|o| retained[o]).max();
    assert_eq!(
        report.top.first().map(|t| t.node.retained_size as u128),
        largest
    );
}

#[test]
fn diff_size_deltas_past_2_40_are_exact() {
    // Two heaps of one process: ids overlap on a third of the nodes.
    let base_spec = random_graph(11, 300, 0);
    let current_spec = random_graph(12, 300, 100);
    let (base, current) = (load(&base_spec), load(&current_spec));
    let rows = diff(&base, &current);

    // Per class name: (id, size) of the sized members on each side.
    let members = |spec: &Spec| {
        let mut by_class: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
        for (ty, name, id, size, _) in &spec.nodes {
            if *ty == OBJECT && *size != 0 {
                by_class
                    .entry(spec.strings[*name as usize].clone())
                    .or_default()
                    .push((*id, *size));
            }
        }
        by_class
    };
    let (before, after) = (members(&base_spec), members(&current_spec));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    let mut big_negative = false;
    for name in names {
        let empty = Vec::new();
        let b = before.get(name).unwrap_or(&empty);
        let a = after.get(name).unwrap_or(&empty);
        let gone: Vec<&(u64, u64)> = b.iter().filter(|x| !a.iter().any(|y| y.0 == x.0)).collect();
        let new: Vec<&(u64, u64)> = a.iter().filter(|x| !b.iter().any(|y| y.0 == x.0)).collect();
        let removed: u128 = gone.iter().map(|x| x.1 as u128).sum();
        let added: u128 = new.iter().map(|x| x.1 as u128).sum();
        let row = rows.iter().find(|r| &r.name == name);
        if gone.is_empty() && new.is_empty() {
            assert!(row.is_none(), "{name} did not change");
            continue;
        }
        let Some(row) = row else {
            panic!("no diff row for {name}")
        };
        assert_eq!(row.added_count, new.len() as u64, "{name}");
        assert_eq!(row.removed_count, gone.len() as u64, "{name}");
        assert_eq!(row.added_size as u128, added, "{name}");
        assert_eq!(row.removed_size as u128, removed, "{name}");
        let delta = added as i128 - removed as i128;
        assert_eq!(row.size_delta() as i128, delta, "{name}");
        big_negative |= delta < -(1i128 << 40);
    }
    assert!(big_negative, "some class shrinks by more than 2^40 bytes");
}

#[test]
fn self_sizes_may_sum_to_2_53_minus_1_and_no_further() {
    let mut spec = Spec::default();
    let (root, global) = (spec.string(""), spec.string("global"));
    let half = 1u64 << 52;
    spec.nodes = vec![
        (SYNTHETIC, root, 1, 0, vec![(E_SHORTCUT, global, 1)]),
        (OBJECT, global, 3, half, vec![(E_PROPERTY, global, 2)]),
        (OBJECT, global, 5, half - 1, vec![]),
    ];
    assert_eq!(load(&spec).total_size(), MAX_SAFE_INTEGER);

    // One more byte anywhere, in the graph or outside it, is refused: the
    // totals would no longer be exact as JavaScript numbers.
    spec.extra_native_bytes = 1;
    let e = load_err(&spec);
    assert_eq!(e.code(), "ERR_SNAPSHOT_TOO_LARGE", "{e}");
    spec.extra_native_bytes = 0;
    spec.nodes[2].3 = half;
    let e = load_err(&spec);
    assert_eq!(e.code(), "ERR_SNAPSHOT_TOO_LARGE", "{e}");
    assert!(e.to_string().contains("2^53"), "{e}");

    // A single size beyond 2^53 is a number out of range.
    spec.nodes[2].3 = MAX_SAFE_INTEGER + 1;
    assert_eq!(load_err(&spec).code(), "ERR_SNAPSHOT_NUMBER");
}

// ---------------------------------------------------------------------------
// Counts and indices where the columns are u32.

fn tiny() -> Spec {
    let mut spec = Spec::default();
    let (root, global) = (spec.string(""), spec.string("global"));
    spec.nodes = vec![
        (SYNTHETIC, root, 1, 0, vec![(E_SHORTCUT, global, 1)]),
        (OBJECT, global, 3, 10, vec![(E_ELEMENT, 0, 2)]),
        (OBJECT, global, 5, 10, vec![]),
    ];
    spec
}

#[test]
fn declared_counts_beyond_the_columns_are_refused_up_front() {
    let mut spec = tiny();
    for (declared, too_large) in [
        ((MAX_NODES + 1, 2), true),
        ((3, MAX_EDGES + 1), true),
        // At the limit the header is accepted; the data then disagrees.
        ((MAX_NODES, 2), false),
        ((3, MAX_EDGES), false),
    ] {
        spec.declared = Some(declared);
        let e = load_err(&spec);
        let expected = if too_large {
            "ERR_SNAPSHOT_TOO_LARGE"
        } else {
            "ERR_SNAPSHOT_INCONSISTENT"
        };
        assert_eq!(e.code(), expected, "{declared:?}: {e}");
    }
}

/// Replaces the first occurrence of `from` in the snapshot's text.
fn patched(spec: &Spec, from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(spec.json()).unwrap_or_default();
    assert!(text.contains(from), "{from:?} is in the snapshot");
    text.replacen(from, to, 1).into_bytes()
}

fn parse_err(bytes: &[u8]) -> SnapshotError {
    match parse_bytes(bytes) {
        Ok(_) => panic!("the patched snapshot must be refused"),
        Err(e) => e,
    }
}

#[test]
fn edge_counts_summing_past_2_32_do_not_wrap() {
    // 1 + (2^32-1) + 2 edges declared: as u32 the prefix sum would wrap to
    // 2, matching the two edges there are.
    let spec = tiny();
    let text = patched(&spec, "3,1,3,10,1", &format!("3,1,3,10,{}", u32::MAX));
    let text = String::from_utf8(text).unwrap_or_default();
    let bytes = text.replacen("3,1,5,10,0", "3,1,5,10,2", 1).into_bytes();
    assert_ne!(bytes, text.as_bytes());
    let e = parse_err(&bytes);
    assert_eq!(e.code(), "ERR_SNAPSHOT_INCONSISTENT", "{e}");
    let bytes = patched(&spec, "3,1,3,10,1", &format!("3,1,3,10,{}", 1u64 << 32));
    let e = parse_err(&bytes);
    assert_eq!(e.code(), "ERR_SNAPSHOT_NUMBER", "{e}");
}

#[test]
fn edge_targets_past_2_32_nodes_are_refused_not_wrapped() {
    let spec = tiny();
    // Ordinal 2^32 + 2 would wrap to 2, a real node.
    let far = ((1u64 << 32) + 2) * FIELDS;
    let bytes = patched(&spec, "\n1,0,10", &format!("\n1,0,{far}"));
    let e = parse_err(&bytes);
    assert_eq!(e.code(), "ERR_SNAPSHOT_NUMBER", "{e}");
    assert!(e.to_string().contains("outside"), "{e}");
}

#[test]
fn u32_fields_keep_u32_max_and_refuse_one_more() {
    let max = u32::MAX as u64;
    let mut spec = tiny();
    spec.nodes[2].2 = max;
    spec.nodes[1].4[0].1 = max;
    spec.locations = vec![[2 * FIELDS, max, max, max]];
    let s = load(&spec);
    assert_eq!(s.require(max), Ok(2));
    assert_eq!(s.require(max + 1), Err(SnapshotError::UnknownNode(max + 1)));
    assert_eq!(s.summarize_node(2).id, max);
    assert_eq!(s.edge_name(1), max.to_string());
    assert_eq!(s.graph.locations, vec![[2, u32::MAX, u32::MAX, u32::MAX]]);

    for (what, field) in [("id", 2usize), ("element index", 0), ("location", 1)] {
        let mut spec = spec.clone();
        match field {
            2 => spec.nodes[2].2 = max + 1,
            0 => spec.nodes[1].4[0].1 = max + 1,
            _ => spec.locations[0][3] = max + 1,
        }
        let e = load_err(&spec);
        assert_eq!(e.code(), "ERR_SNAPSHOT_NUMBER", "{what}: {e}");
    }
}

// ---------------------------------------------------------------------------
// The benchmark generator's huge-heap options, at a size a test can afford.

#[path = "../../benches/synth/mod.rs"]
#[allow(dead_code)]
mod synth;

#[test]
fn synthetic_heap_with_multi_gib_buffers_adds_up() {
    let size = (1u64 << 33) + 7;
    let mut options = synth::Options::new(30_000, 3);
    options.buffers = 4;
    options.buffer_size = size;
    options.string_padding = 10;
    let mut json = Vec::new();
    let summary = synth::write_snapshot(&options, &mut json).unwrap();
    assert_eq!(summary.bytes, json.len() as u64);
    assert_eq!(summary.max_self_size, size);

    let s = Snapshot::from_bytes(&json, &Quiet).unwrap();
    assert_eq!(s.node_count() as u64, summary.nodes);
    assert_eq!(s.edge_count() as u64, summary.edges);
    // Everything hangs under the root, unreachable blocks included.
    assert_eq!(s.total_size() as u128, summary.self_size_total);
    assert!(summary.self_size_total > 4 * size as u128);

    let rows = s.class_table();
    let class = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
    let data = class("system / JSArrayBufferData");
    assert_eq!(
        (data.count, data.self_size, data.retained_size),
        (4, 4 * size, 4 * size)
    );
    let buffers = class("ArrayBuffer");
    assert_eq!((buffers.count, buffers.retained_size), (4, 4 * (size + 80)));
}
