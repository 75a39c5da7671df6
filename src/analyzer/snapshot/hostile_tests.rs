//! Graphs that parse but that no V8 heap could produce: the analysis and the
//! queries must still finish, with sums that saturate rather than wrap.

use super::*;
use crate::analyzer::parser::hostile_tests::snapshot_text;

fn load(text: &str) -> Snapshot {
    Snapshot::from_bytes(text.as_bytes(), &Quiet).unwrap()
}

#[test]
fn a_cons_string_whose_parts_form_a_cycle_still_gets_a_name() {
    // root --shortcut--> global --property "s"--> cons string whose `first`
    // and `second` parts are the cons string itself.
    let nodes = [
        9, 1, 1, 0, 1, 0, 0, //
        3, 2, 3, 10, 1, 0, 0, //
        10, 3, 5, 20, 2, 0, 0,
    ];
    let edges = [5, 4, 7, 2, 5, 14, 3, 6, 14, 3, 7, 14];
    let strings = [
        "<dummy>",
        "",
        "global",
        "(concatenated string)",
        "g",
        "s",
        "first",
        "second",
    ];
    let s = load(&snapshot_text(&nodes, &edges, &strings, None));
    // Every part is the string itself, so no text is ever found.
    assert_eq!(s.node_name(2), "");
    // A DAG that doubles at each level would unfold into 2^40 parts.
    let mut nodes = vec![9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, 1, 0, 0];
    let mut edges = vec![5, 4, 7, 2, 5, 14];
    let levels = 40u64;
    for k in 0..levels {
        let edge_count = if k + 1 < levels { 2 } else { 0 };
        nodes.extend_from_slice(&[10, 3, 5 + 2 * k, 20, edge_count, 0, 0]);
        if k + 1 < levels {
            let next = 7 * (k + 3);
            edges.extend_from_slice(&[3, 6, next, 3, 7, next]);
        }
    }
    let s = load(&snapshot_text(&nodes, &edges, &strings, None));
    assert_eq!(s.node_name(2), "");
}

#[test]
fn self_sizes_summing_past_2_53_are_refused_not_wrapped() {
    // 3000 objects of 2^53 - 1 bytes: the true sum is beyond u64. Totals
    // derived from it could not be exact, so the parser refuses the file.
    let big = (1u64 << 53) - 1;
    let count = 3000u64;
    let mut nodes = vec![9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 10, count, 0, 0];
    let mut edges = vec![5, 4, 7];
    for k in 0..count {
        nodes.extend_from_slice(&[3, 3, 5 + 2 * k, big, 0, 0, 0]);
        edges.extend_from_slice(&[1, k, 7 * (k + 2)]);
    }
    let strings = ["<dummy>", "", "global", "Big", "g"];
    let text = snapshot_text(&nodes, &edges, &strings, None);
    let e = Snapshot::from_bytes(text.as_bytes(), &Quiet).unwrap_err();
    assert_eq!(e.code(), "ERR_SNAPSHOT_TOO_LARGE");
}
