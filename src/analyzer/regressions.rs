//! Inputs the fuzz targets (fuzz/) found to crash, hang or disagree, cut
//! down by hand to the shape that matters; each test fails without its fix.

use super::snapshot::{Quiet, Snapshot};
use super::{Parser, SnapshotError};

const NODE_TYPES: &str = r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string"]"#;
const EDGE_TYPES: &str =
    r#"["context","element","property","internal","hidden","shortcut","weak"]"#;
const SYNTHETIC: u32 = 9;
const OBJECT: u32 = 3;
const STRING: u32 = 2;
const CONS: u32 = 10;
const INTERNAL: u32 = 3;
const PROPERTY: u32 = 2;
const SHORTCUT: u32 = 5;

/// One node: type, name (a string index), id, self size, and its edges as
/// (edge type, name string index, target node ordinal).
type Node = (u32, u32, u32, u64, Vec<(u32, u32, u32)>);

/// Snapshot text in V8's layout with five node fields and three edge fields.
fn snapshot_text(nodes: &[Node], strings: &[&str]) -> String {
    let edge_count: usize = nodes.iter().map(|n| n.4.len()).sum();
    let mut flat_nodes = Vec::new();
    let mut flat_edges = Vec::new();
    for (ty, name, id, size, edges) in nodes {
        flat_nodes.push(format!("{ty},{name},{id},{size},{}", edges.len()));
        for (ety, ename, to) in edges {
            flat_edges.push(format!("{ety},{ename},{}", to * 5));
        }
    }
    let strings: Vec<String> = strings.iter().map(|s| format!("{s:?}")).collect();
    format!(
        r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[{NODE_TYPES},"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[{EDGE_TYPES},"string_or_number","node"]}},"node_count":{},"edge_count":{edge_count}}},"nodes":[{}],"edges":[{}],"strings":[{}]}}"#,
        nodes.len(),
        flat_nodes.join(","),
        flat_edges.join(","),
        strings.join(",")
    )
}

fn load(text: &str) -> Result<Snapshot, SnapshotError> {
    Snapshot::from_bytes(text.as_bytes(), &Quiet)
}

/// A concatenated string whose parts lead back to itself made the display
/// name loop forever, growing its work stack until memory ran out.
#[test]
fn concatenated_string_cycle_has_a_bounded_name() {
    let strings = ["", "g", "first", "second", "xy"];
    let nodes: Vec<Node> = vec![
        (SYNTHETIC, 0, 1, 0, vec![(SHORTCUT, 1, 1)]),
        (OBJECT, 4, 3, 8, vec![(PROPERTY, 1, 2)]),
        (CONS, 0, 5, 16, vec![(INTERNAL, 2, 2), (INTERNAL, 3, 3)]),
        (STRING, 4, 7, 16, vec![]),
    ];
    let s = load(&snapshot_text(&nodes, &strings)).expect("the snapshot loads");
    // The first part is the string itself, forever: the name stops at the budget.
    assert_eq!(s.node_name(2), "");
    let report = s.report(5, 5);
    assert_eq!(report.node_count, 4);
}

/// Parts shared at every level double the walk per level: 60 levels over an
/// empty leaf would take 2^60 steps before the name grows at all.
#[test]
fn concatenated_string_dag_has_a_bounded_name() {
    let strings = ["", "g", "first", "second", "z"];
    let levels = 60u32;
    let mut nodes: Vec<Node> = vec![(SYNTHETIC, 0, 1, 0, vec![(SHORTCUT, 1, 1)])];
    for k in 0..levels {
        let next = k + 2;
        nodes.push((
            CONS,
            0,
            3 + 2 * k,
            16,
            vec![(INTERNAL, 2, next), (INTERNAL, 3, next)],
        ));
    }
    nodes.push((STRING, 0, 3 + 2 * levels, 16, vec![]));
    let s = load(&snapshot_text(&nodes, &strings)).expect("the snapshot loads");
    assert_eq!(s.node_name(1), "");
    // With a non-empty leaf the name is cut at DevTools' 1024 characters.
    let leaf = nodes.len() - 1;
    nodes[leaf].1 = 4;
    let s = load(&snapshot_text(&nodes, &strings)).expect("the snapshot loads");
    assert_eq!(s.node_name(1), "z".repeat(1024));
}

fn minimal_text() -> String {
    let nodes: Vec<Node> = vec![
        (SYNTHETIC, 0, 1, 0, vec![(SHORTCUT, 1, 1)]),
        (OBJECT, 2, 3, 24, vec![]),
    ];
    snapshot_text(&nodes, &["", "g", "Object"])
}

/// Feeds `bytes` cut at the given offsets, as a stream delivers them.
fn feed_cut(bytes: &[u8], cuts: &[usize]) -> Result<Snapshot, SnapshotError> {
    let mut parser = Parser::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([bytes.len()].iter()) {
        parser.feed(&bytes[from..cut])?;
        from = cut;
    }
    Snapshot::analyze(parser.finish()?, &Quiet)
}

/// A byte order mark split over the first chunks was taken for garbage,
/// though the same bytes in one buffer loaded.
#[test]
fn byte_order_mark_split_over_chunks() {
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(minimal_text().as_bytes());
    let whole = Snapshot::from_bytes(&bytes, &Quiet).expect("a marked file loads");
    for cuts in [&[1][..], &[2], &[1, 2], &[0, 1, 1, 3]] {
        let s = feed_cut(&bytes, cuts).expect("the same bytes in chunks load");
        assert_eq!(s.node_count(), whole.node_count());
        assert_eq!(s.total_size(), 24);
    }
    // Part of a mark is not a mark, however the bytes arrive.
    let partial = [&[0xEF, 0xBB][..], minimal_text().as_bytes()].concat();
    // Named at the first byte that breaks the mark.
    let expected = SnapshotError::Syntax {
        offset: 2,
        message: "incomplete byte order mark".into(),
    };
    assert_eq!(
        Snapshot::from_bytes(&partial, &Quiet).unwrap_err(),
        expected
    );
    for cuts in [&[1][..], &[2], &[1, 2]] {
        assert_eq!(feed_cut(&partial, cuts).unwrap_err(), expected);
    }
}

/// An oversized integer was reported where the digits seen so far ran out,
/// so the offset in the error depended on how the file was chunked.
#[test]
fn oversized_integer_reported_at_its_first_digit() {
    let text = minimal_text().replace(r#""nodes":[9,0,1"#, r#""nodes":[9,0,123456789012345678901"#);
    let start = text.find("123456789").expect("the long number is there") as u64;
    let expected = SnapshotError::NumberRange {
        offset: start,
        message: "integer exceeds 2^53".into(),
    };
    assert_eq!(load(&text).unwrap_err(), expected);
    let bytes = text.as_bytes();
    let s = start as usize;
    for cuts in [&[s + 3][..], &[s + 17], &[s + 5, s + 10, s + 19, s + 20]] {
        assert_eq!(feed_cut(bytes, cuts).unwrap_err(), expected);
    }
}
