//! Damaged and adversarial input: every case is a typed error naming where
//! in the file it is, or the same result as the intact file, however the
//! input is chunked, and no allocation follows a count the file only claims.

use super::*;

const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}"#;

/// A snapshot text with the layout V8 writes (7 node fields, 3 edge fields).
pub(crate) fn snapshot_text(
    nodes: &[u64],
    edges: &[u64],
    strings: &[&str],
    counts: Option<(&str, &str)>,
) -> String {
    let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let (n, m) = match counts {
        Some((n, m)) => (n.to_string(), m.to_string()),
        None => ((nodes.len() / 7).to_string(), (edges.len() / 3).to_string()),
    };
    let strings = serde_json::to_string(strings).unwrap();
    format!(
        r#"{{"snapshot":{{"meta":{META},"node_count":{n},"edge_count":{m}}},"nodes":[{}],"edges":[{}],"strings":{strings}}}"#,
        join(nodes),
        join(edges)
    )
}

/// root --shortcut "g"--> global (object, 100 bytes) --property "x"--> Thing (50 bytes)
pub(crate) const NODES: [u64; 21] = [
    9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 100, 1, 0, 0, 3, 3, 5, 50, 0, 0, 0,
];
pub(crate) const EDGES: [u64; 6] = [5, 4, 7, 2, 5, 14];
pub(crate) const STRINGS: [&str; 6] = ["<dummy>", "", "global", "Thing", "g", "x"];

pub(crate) fn good() -> String {
    snapshot_text(&NODES, &EDGES, &STRINGS, None)
}

fn parse_chunked(bytes: &[u8], chunk: usize) -> Result<Graph> {
    let mut p = Parser::new();
    for c in bytes.chunks(chunk) {
        p.feed(c)?;
    }
    p.finish()
}

/// The outcome as text, so outcomes of different chunkings can be compared.
fn outcome(r: Result<Graph>) -> String {
    match r {
        Ok(g) => format!(
            "ok {} nodes, {} edges, {} strings, root {}",
            g.node_count(),
            g.edge_count(),
            g.strings.len(),
            g.root
        ),
        Err(e) => format!("{} {e}", e.code()),
    }
}

fn error(r: Result<Graph>) -> SnapshotError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn offset_of(e: &SnapshotError) -> u64 {
    match e {
        SnapshotError::Syntax { offset, .. }
        | SnapshotError::Truncated { offset, .. }
        | SnapshotError::NumberRange { offset, .. } => *offset,
        other => panic!("{other:?} has no offset"),
    }
}

#[test]
fn a_byte_order_mark_is_skipped_however_the_chunks_split_it() {
    let mut bytes = BOM.to_vec();
    bytes.extend_from_slice(good().as_bytes());
    for chunk in 1..=4 {
        assert_eq!(
            outcome(parse_chunked(&bytes, chunk)),
            outcome(parse_bytes(good().as_bytes())),
            "chunk size {chunk}"
        );
    }
    // Half a mark, then the JSON: the mark is broken at its third byte.
    let mut broken = BOM[..2].to_vec();
    broken.extend_from_slice(good().as_bytes());
    for chunk in [1, 2, 1000] {
        let e = error(parse_chunked(&broken, chunk));
        assert_eq!((e.code(), offset_of(&e)), ("ERR_SNAPSHOT_SYNTAX", 2));
    }
    // A mark that is not at the start is not skipped.
    let late = format!(" {}", String::from_utf8_lossy(&bytes));
    assert_eq!(
        error(parse_bytes(late.as_bytes())).code(),
        "ERR_SNAPSHOT_SYNTAX"
    );
}

#[test]
fn every_chunking_gives_the_same_outcome() {
    let text = good();
    let variants = [
        text.clone(),
        text.replace("[5,4,7,", "[5,4,8,"),
        text.replace("\"g\"", "\"\\ud800\\u0067\""),
        text.replace("[9,1,1,0,", "[9,1,1,9007199254740993,"),
        text.replace("\"nodes\"", "\"\\u006eodes\""),
        text.replace("\"node_count\":3", "\"node_count\":1099511627776"),
        format!("{text} \0 x"),
        text[..text.len() / 2].to_string(),
    ];
    for v in &variants {
        let whole = outcome(parse_bytes(v.as_bytes()));
        for chunk in [1, 2, 3, 7, 64] {
            assert_eq!(
                outcome(parse_chunked(v.as_bytes(), chunk)),
                whole,
                "chunk {chunk} of {v}"
            );
        }
    }
}

#[test]
fn truncation_anywhere_is_reported_at_the_end_of_the_input() {
    let text = good();
    for cut in 1..text.len() {
        let e = error(parse_bytes(&text.as_bytes()[..cut]));
        assert_eq!(e.code(), "ERR_SNAPSHOT_TRUNCATED", "cut at {cut}: {e}");
        assert_eq!(offset_of(&e), cut as u64);
    }
    assert_eq!(error(parse_bytes(b"")).code(), "ERR_SNAPSHOT_EMPTY");
    let e = error(parse_bytes(
        &text.as_bytes()[..text.find("\"nodes\"").unwrap() + 4],
    ));
    assert!(e.to_string().contains("inside a property name"), "{e}");
    let e = error(parse_bytes(
        &text.as_bytes()[..text.find("\"nodes\"").unwrap() + 7],
    ));
    assert!(
        e.to_string().contains("after the property name `nodes`"),
        "{e}"
    );
    let skipped = text.replace("\"strings\"", "\"trace_tree\":[[[1,2],[3,\"strings\"");
    let e = error(parse_bytes(skipped.as_bytes()));
    assert!(
        e.to_string().contains("inside the value of `trace_tree`"),
        "{e}"
    );
}

#[test]
fn a_bad_record_is_named_at_the_byte_where_it_starts() {
    // Enough edges that the bad one lies several validation batches in.
    let n = 10_000u64;
    let mut nodes = vec![9, 1, 1, 0, n, 0, 0];
    for k in 1..=n {
        nodes.extend_from_slice(&[3, 2, 2 * k + 1, 10, 0, 0, 0]);
    }
    let mut edges = Vec::new();
    for k in 1..=n {
        edges.extend_from_slice(&[1, k, 7 * k]);
    }
    let bad_edge = 9_000usize;
    edges[bad_edge * 3 + 2] = 7 * (n + 1);
    let text = snapshot_text(&nodes, &edges, &STRINGS, None);
    let edges_at = text.find("\"edges\":[").unwrap() + 9;
    let record = text[edges_at..]
        .split(',')
        .take(bad_edge * 3)
        .map(|v| v.len() + 1)
        .sum::<usize>();
    for chunk in [1, 4096, text.len()] {
        let e = error(parse_chunked(text.as_bytes(), chunk));
        assert_eq!(e.code(), "ERR_SNAPSHOT_NUMBER");
        assert_eq!(offset_of(&e), (edges_at + record) as u64, "{e}");
        assert!(
            e.to_string()
                .contains("edge 9000: target 70007 points outside"),
            "{e}"
        );
    }

    let mut nodes_bad = nodes.clone();
    nodes_bad[7 * 7000] = 40;
    let text = snapshot_text(&nodes_bad, &edges, &STRINGS, None);
    let e = error(parse_bytes(text.as_bytes()));
    let nodes_at = text.find("\"nodes\":[").unwrap() + 9;
    let record = text[nodes_at..]
        .split(',')
        .take(7 * 7000)
        .map(|v| v.len() + 1)
        .sum::<usize>();
    assert_eq!(offset_of(&e), (nodes_at + record) as u64, "{e}");
    assert!(e.to_string().contains("node 7000: type 40"), "{e}");
}

#[test]
fn numbers_out_of_range_are_named_where_they_start() {
    let text = good();
    let at = text.find("[9,1,1,0,").unwrap() as u64 + 7;
    for big in ["9007199254740993", "123456789012345678901234567890"] {
        let v = text.replace("[9,1,1,0,", &format!("[9,1,1,{big},"));
        for chunk in [1, 5, v.len()] {
            let e = error(parse_chunked(v.as_bytes(), chunk));
            assert_eq!(
                (e.code(), offset_of(&e)),
                ("ERR_SNAPSHOT_NUMBER", at),
                "{big}"
            );
        }
    }
    // Exactly 2^53 - 1 is a number; here the other nodes' sizes push the
    // sum past what totals can hold exactly, which is refused as a whole.
    let v = text.replace("[9,1,1,0,", "[9,1,1,9007199254740991,");
    assert_eq!(
        error(parse_bytes(v.as_bytes())).code(),
        "ERR_SNAPSHOT_TOO_LARGE"
    );
    let v = text.replace("[9,1,1,0,", "[9,1,1,9007199254700000,");
    assert_eq!(
        parse_bytes(v.as_bytes()).unwrap().self_size.get(0),
        9_007_199_254_700_000
    );
    for float in ["0.5", "1e3", "1E3", "-1"] {
        let v = text.replace("[9,1,1,0,", &format!("[9,1,1,{float},"));
        assert_eq!(
            error(parse_bytes(v.as_bytes())).code(),
            "ERR_SNAPSHOT_NUMBER",
            "{float}"
        );
    }
}

#[test]
fn inconsistencies_name_the_arrays_they_concern() {
    let text = good();
    let nodes_start = text.find("\"nodes\":").unwrap() + 8;
    let nodes_end = text.find(",\"edges\"").unwrap();
    let lying = text.replace("\"node_count\":3", "\"node_count\":4");
    let e = error(parse_bytes(lying.as_bytes()));
    assert_eq!(e.code(), "ERR_SNAPSHOT_INCONSISTENT");
    assert!(
        e.to_string().contains(&format!(
            "node_count says 4 but the nodes array at bytes {nodes_start}..{nodes_end} holds 3"
        )),
        "{e}"
    );
    // One value too many: the partial record is named where it starts.
    let extra = text.replace(",0,0,0],\"edges\"", ",0,0,0,7],\"edges\"");
    let e = error(parse_bytes(extra.as_bytes()));
    let partial = extra.find(",7]").unwrap() + 1;
    assert!(
        e.to_string()
            .contains(&format!("the record at byte {partial} is incomplete")),
        "{e}"
    );
    let no_meta = text.replace("\"meta\"", "\"mata\"");
    let e = error(parse_bytes(no_meta.as_bytes()));
    assert_eq!(e.code(), "ERR_SNAPSHOT_META");
    assert!(
        e.to_string().contains("(in the header at bytes 12.."),
        "{e}"
    );
}

#[test]
fn lying_counts_reserve_no_more_than_the_input_can_hold() {
    // Counts beyond what the engine supports are refused from the header.
    let beyond = good().replace(
        "\"node_count\":3,\"edge_count\":2",
        "\"node_count\":1099511627776,\"edge_count\":2",
    );
    assert_eq!(
        error(parse_bytes(beyond.as_bytes())).code(),
        "ERR_SNAPSHOT_TOO_LARGE"
    );
    // Within the supported range, a lie must not size the columns.
    let text = good().replace(
        "\"node_count\":3,\"edge_count\":2",
        "\"node_count\":200000000,\"edge_count\":200000000",
    );
    let upto = |key: &str| &text.as_bytes()[..text.find(key).unwrap() + key.len()];
    // With the input's size known, a column cannot need more than it holds.
    let mut p = Parser::new().with_size_hint(text.len() as u64);
    p.feed(upto("\"edges\":")).unwrap();
    assert!(
        p.node_id.capacity() <= text.len() / 14,
        "{}",
        p.node_id.capacity()
    );
    assert!(
        p.edge_name.capacity() <= text.len() / 6,
        "{}",
        p.edge_name.capacity()
    );
    // A stream has no size; a fixed cap applies instead.
    let mut p = Parser::new();
    p.feed(upto("\"strings\":")).unwrap();
    assert!(p.node_id.capacity() as u64 <= MAX_TRUSTED_RESERVE);
    assert!(p.edge_name.capacity() as u64 <= MAX_TRUSTED_RESERVE);
    assert_eq!(
        error(parse_bytes(text.as_bytes())).code(),
        "ERR_SNAPSHOT_INCONSISTENT"
    );
    for (count, code) in [
        ("-1", "ERR_SNAPSHOT_META"),
        ("3.0", "ERR_SNAPSHOT_META"),
        ("1e300", "ERR_SNAPSHOT_META"),
        ("18446744073709551616", "ERR_SNAPSHOT_META"),
        ("\"3\"", "ERR_SNAPSHOT_META"),
        ("2", "ERR_SNAPSHOT_INCONSISTENT"),
    ] {
        let v = good().replace("\"node_count\":3", &format!("\"node_count\":{count}"));
        assert_eq!(error(parse_bytes(v.as_bytes())).code(), code, "{count}");
    }
}

#[test]
fn the_header_is_capped_before_it_is_parsed_into_a_tree() {
    // 2 MiB of `0,` would become a 16-byte tree node per 2 bytes of text.
    let huge = format!("[{}0]", "0,".repeat(1 << 20));
    let text = good().replace("\"node_count\"", &format!("\"x\":{huge},\"node_count\""));
    let e = error(parse_chunked(text.as_bytes(), 65536));
    assert_eq!(e.code(), "ERR_SNAPSHOT_SYNTAX");
    assert!(e.to_string().contains("implausibly large"), "{e}");
    let header_at = text.find("{\"meta\"").unwrap() as u64;
    assert_eq!(offset_of(&e), header_at + MAX_HEADER_BYTES as u64);
}

#[test]
fn deep_nesting_is_counted_not_recursed() {
    let deep = |open: usize, close: usize| format!("{}{}", "[".repeat(open), "]".repeat(close));
    let text = good();
    let skipped = text.replace(
        "\"strings\"",
        &format!("\"trace_tree\":{},\"strings\"", deep(1_000_000, 1_000_000)),
    );
    assert_eq!(
        outcome(parse_bytes(skipped.as_bytes())),
        outcome(parse_bytes(text.as_bytes()))
    );
    let in_header = text.replace(
        "\"node_count\"",
        &format!("\"x\":{},\"node_count\"", deep(100_000, 100_000)),
    );
    assert_eq!(
        error(parse_bytes(in_header.as_bytes())).code(),
        "ERR_SNAPSHOT_META"
    );
    let unclosed = text.replace(
        "\"strings\"",
        &format!("\"trace_tree\":{},\"strings\"", deep(1_000_000, 0)),
    );
    let e = error(parse_bytes(unclosed.as_bytes()));
    assert_eq!(e.code(), "ERR_SNAPSHOT_TRUNCATED", "{e}");
    let in_nodes = text.replace("\"nodes\":[", &format!("\"nodes\":{}", deep(1_000_000, 0)));
    assert_eq!(
        error(parse_bytes(in_nodes.as_bytes())).code(),
        "ERR_SNAPSHOT_SYNTAX"
    );
}

#[test]
fn escaped_property_names_are_read_as_json_parse_reads_them() {
    let text = good()
        .replace("\"nodes\"", "\"\\u006eodes\"")
        .replace("\"strings\"", "\"str\\u0069ngs\"");
    assert_eq!(
        outcome(parse_bytes(text.as_bytes())),
        outcome(parse_bytes(good().as_bytes()))
    );
}

#[test]
fn strings_decode_like_json_parse_and_text_decoder() {
    let text = good()
        .replace(
            "\"global\"",
            "\"a\\ud800b\\udc00\\ud83d\\ude00\\/\\b\\f\\u0041\"",
        )
        .replace("\"Thing\"", "\"T\u{FFFD}\"")
        .replace("T\u{FFFD}", "T\u{FFFD}\u{FFFD}");
    // Invalid UTF-8: a lone continuation byte, an overlong form, an encoded surrogate, a cut sequence.
    let mut bytes = text.into_bytes();
    let at = bytes
        .windows(7)
        .position(|w| w == "T\u{FFFD}\u{FFFD}".as_bytes())
        .unwrap();
    bytes.splice(
        at + 1..at + 7,
        [0x80, 0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xE2, 0x82],
    );
    for chunk in [1, 3, bytes.len()] {
        let g = parse_chunked(&bytes, chunk).unwrap();
        let global = crate::analyzer::strings::wtf8_to_utf16(g.strings.wtf8(2));
        let mut expected: Vec<u16> = vec![
            0x61, 0xD800, 0x62, 0xDC00, 0xD83D, 0xDE00, 0x2F, 8, 12, 0x41,
        ];
        assert_eq!(global, expected);
        // WHATWG decoding: one U+FFFD per maximal invalid subpart.
        expected = "T\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"
            .encode_utf16()
            .collect();
        assert_eq!(
            crate::analyzer::strings::wtf8_to_utf16(g.strings.wtf8(3)),
            expected
        );
    }
}

#[test]
fn edge_names_must_be_strings_unless_the_edge_holds_an_index() {
    let with_edges = |edges: &[u64]| {
        let text = snapshot_text(&NODES, edges, &STRINGS, None);
        parse_bytes(text.as_bytes())
    };
    // Element (1) and hidden (4) edges name an index, which may be any number.
    assert!(with_edges(&[1, 4000, 7, 4, 6, 14]).is_ok());
    // A property edge (2) naming string 6 of 6 is the first bad edge.
    let e = error(with_edges(&[1, 4000, 7, 2, 6, 14]));
    assert_eq!(e.code(), "ERR_SNAPSHOT_INCONSISTENT");
    assert!(
        e.to_string().contains("edge 1 in the edges array at bytes")
            && e.to_string()
                .contains("names string 6 but there are 6 strings"),
        "{e}"
    );
    let e = error(with_edges(&[2, 9, 7, 3, 7, 14]));
    assert!(e.to_string().contains("edge 0 in"), "{e}");
}
