//! The growth rules and the sequence checks on small heaps built by hand:
//! root → global → `requestLog` (an Array) → items.

use super::*;
use crate::analyzer::parser::hostile_tests::snapshot_text;
use crate::analyzer::snapshot::Quiet;

/// A heap whose `requestLog` array holds objects with these (id, class).
fn heap(items: &[(u64, &str)]) -> Snapshot {
    let mut strings: Vec<String> = ["<dummy>", "", "global", "Array", "g", "requestLog"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut nodes: Vec<u64> = vec![
        9,
        1,
        1,
        0,
        1,
        0,
        0, // synthetic root
        3,
        2,
        3,
        100,
        1,
        0,
        0, // global
        3,
        3,
        5,
        16,
        items.len() as u64,
        0,
        0, // the array
    ];
    let mut edges: Vec<u64> = vec![5, 4, 7, 2, 5, 14];
    for (k, &(id, class)) in items.iter().enumerate() {
        let name = match strings.iter().position(|s| s == class) {
            Some(p) => p,
            None => {
                strings.push(class.to_string());
                strings.len() - 1
            }
        };
        nodes.extend_from_slice(&[3, name as u64, id, 32, 0, 0, 0]);
        edges.extend_from_slice(&[1, k as u64, 7 * (3 + k as u64)]);
    }
    let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
    Snapshot::from_bytes(
        snapshot_text(&nodes, &edges, &strings, None).as_bytes(),
        &Quiet,
    )
    .unwrap()
}

/// The same heap before `requestLog` was made: the global holds nothing.
fn heap_without_log() -> Snapshot {
    let strings = ["<dummy>", "", "global", "Array", "g", "requestLog"];
    let nodes: Vec<u64> = vec![9, 1, 1, 0, 1, 0, 0, 3, 2, 3, 100, 0, 0, 0];
    let edges: Vec<u64> = vec![5, 4, 7];
    Snapshot::from_bytes(
        snapshot_text(&nodes, &edges, &strings, None).as_bytes(),
        &Quiet,
    )
    .unwrap()
}

/// Items with ids from `first` on (V8's ids are odd and only grow).
fn items(first: u64, count: u64, class: &'static str) -> Vec<(u64, &'static str)> {
    (0..count).map(|k| (first + 2 * k, class)).collect()
}

fn concat(parts: &[Vec<(u64, &'static str)>]) -> Vec<(u64, &'static str)> {
    parts.concat()
}

#[test]
fn a_collection_that_grows_at_every_step_is_the_suspect() {
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let report = find_leaks(&[&s1, &s2, &s3], &LeakOptions::default()).unwrap();
    assert_eq!(report.suspects.len(), 1);
    let top = &report.suspects[0];
    assert_eq!(top.kind, LeakKind::Collection);
    assert_eq!(top.counts, vec![Some(300), Some(400), Some(500)]);
    assert_eq!(top.added, vec![100, 100]);
    assert_eq!(top.confidence, Confidence::High);
    // A property of the global object: a global variable, whose name is data.
    assert_eq!(
        top.holder_name,
        Some((NameKind::Global, "requestLog".to_string()))
    );
    let text = top.text.render(&mut Verbatim);
    assert!(
        text.starts_with("Array `requestLog` grew by 100 elements"),
        "{text}"
    );
    assert!(text.contains("(300 → 400 → 500)"), "{text}");
}

#[test]
fn replacing_entries_one_for_one_is_not_growth() {
    // 300 entries in every snapshot; a third of them replaced each interval.
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(301, 200, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(501, 100, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let report = find_leaks(&[&s1, &s2, &s3], &LeakOptions::default()).unwrap();
    assert!(
        report.suspects.is_empty(),
        "{:?}",
        report
            .suspects
            .first()
            .map(|s| s.text.render(&mut Verbatim))
    );
}

#[test]
fn growth_that_keeps_only_some_of_what_was_added_is_medium_confidence() {
    // 100 new entries each interval, but 60 old ones leave: the count rises
    // by 40 per step, 40% of what was added, below the share for high.
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(221, 240, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(341, 180, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let report = find_leaks(&[&s1, &s2, &s3], &LeakOptions::default()).unwrap();
    assert_eq!(report.suspects.len(), 1);
    let top = &report.suspects[0];
    assert_eq!(top.counts, vec![Some(300), Some(340), Some(380)]);
    assert_eq!(top.confidence, Confidence::Medium);
    let evidence = top.evidence.render(&mut Verbatim);
    assert!(evidence.contains("40%"), "{evidence}");
}

#[test]
fn a_collection_made_after_the_first_snapshot_is_the_holder_and_starts_empty() {
    // `globalThis.requestLog ??= []` on the first request, after a baseline
    // taken at start-up.
    let s1 = heap_without_log();
    let s2 = heap(&items(1001, 100, "Item"));
    let s3 = heap(&concat(&[
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let report = find_leaks(&[&s1, &s2, &s3], &LeakOptions::default()).unwrap();
    assert_eq!(report.suspects.len(), 1);
    let top = &report.suspects[0];
    assert_eq!(top.kind, LeakKind::Collection);
    assert_eq!(top.counts, vec![Some(0), Some(100), Some(200)]);
    assert_eq!(top.confidence, Confidence::High);
    let text = top.text.render(&mut Verbatim);
    assert!(
        text.starts_with("Array `requestLog` grew by 100 elements"),
        "{text}"
    );
    assert_eq!(top.leaked_class.render(&mut Verbatim), "Item");
}

#[test]
fn growth_that_stops_at_a_later_snapshot_is_not_a_leak() {
    let s1 = heap(&items(101, 100, "Item"));
    let s2 = heap(&concat(&[
        items(101, 100, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(101, 100, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let s4 = heap(&concat(&[
        items(101, 100, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let three = find_leaks(&[&s1, &s2, &s3], &LeakOptions::default()).unwrap();
    assert_eq!(three.suspects.len(), 1);
    let four = find_leaks(&[&s1, &s2, &s3, &s4], &LeakOptions::default());
    // The fourth snapshot is the third again: refused as no later heap.
    assert_eq!(four.unwrap_err().code(), "ERR_SNAPSHOT_ORDER");
}

#[test]
fn a_reused_id_naming_another_object_is_not_old() {
    // Twenty of s1's items died, and V8 handed their ids to new objects of
    // another class allocated at their addresses: those are young.
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(101, 280, "Item"),
        items(661, 20, "Other"),
        items(1001, 50, "Item"),
    ]));
    assert!(
        check_sequence(&[&s1, &s2]).is_ok(),
        "a handful of reused ids is one process"
    );
    let born = lineage::birth_intervals(&[&s1, &s2]);
    let at = |id: u64| born[s2.ordinal_of_id(id).unwrap() as usize];
    assert_eq!(at(101), lineage::OLD);
    assert_eq!(at(661), 1, "same id, another class: born since");
    assert_eq!(at(1001), 1);
}

#[test]
fn sequences_out_of_order_or_from_two_processes_are_refused() {
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    assert!(check_sequence(&[&s1, &s2, &s3]).is_ok());
    let order = check_sequence(&[&s2, &s1, &s3]).unwrap_err();
    assert_eq!(order.code(), "ERR_SNAPSHOT_ORDER");
    assert!(
        order
            .to_string()
            .contains("snapshot 2 was taken before snapshot 1"),
        "{order}"
    );
    assert_eq!(
        check_sequence(&[&s1, &s1, &s3]).unwrap_err().code(),
        "ERR_SNAPSHOT_ORDER"
    );
    // Another process numbers its own objects from the same small ids up.
    let other = heap(&concat(&[
        items(101, 300, "Session"),
        items(1001, 100, "Item"),
    ]));
    let mismatch = check_sequence(&[&s1, &other, &s3]).unwrap_err();
    assert_eq!(mismatch.code(), "ERR_SNAPSHOT_MISMATCH");
    assert!(
        mismatch
            .to_string()
            .contains("snapshots 1 and 2 come from different processes"),
        "{mismatch}"
    );
    assert_eq!(
        find_leaks(&[&s1, &s2], &LeakOptions::default())
            .unwrap_err()
            .code(),
        "ERR_INVALID_ARG"
    );
}

/// Every text of a report as the binding shows it, rendered by `policy`.
fn everything_shown(report: &LeakReport, policy: &mut dyn NamePolicy) -> String {
    let mut out = String::new();
    for s in &report.suspects {
        for t in [&s.text, &s.advice, &s.evidence, &s.leaked_class] {
            out += &t.render(policy);
            out.push('\n');
        }
        out += &policy.name(NameKind::Class, &s.holder_class);
        for (kind, name) in s.holder_name.iter().chain(&s.holder_path) {
            out += &format!(" {}", policy.name(*kind, name));
        }
        out += &format!("\n{} {}\n", s.holder.name, s.holder.class_name);
        for step in &s.retainer_path {
            out += &format!(
                "{:?} {:?} {} {}\n",
                step.edge_name, step.edge_label, step.node.name, step.node.class_name
            );
        }
        out += &s.path_shape.join(" ");
        out.push('\n');
    }
    for n in &report.notes {
        out += &n.text.render(policy);
    }
    out
}

#[test]
fn with_redact_no_name_of_data_reaches_a_suspect() {
    // `requestLog` is a global variable (a property of the global object)
    // and `Item` a class name no compiled code carries: both are data.
    let s1 = heap(&items(101, 300, "Item"));
    let s2 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
    ]));
    let s3 = heap(&concat(&[
        items(101, 300, "Item"),
        items(1001, 100, "Item"),
        items(2001, 100, "Item"),
    ]));
    let snaps = [&s1, &s2, &s3];
    let plain = find_leaks(&snaps, &LeakOptions::default()).unwrap();
    let shown = everything_shown(&plain, &mut Verbatim);
    assert!(
        shown.contains("requestLog") && shown.contains("Item"),
        "{shown}"
    );

    let options = LeakOptions {
        redact: true,
        ..LeakOptions::default()
    };
    let report = find_leaks(&snaps, &options).unwrap();
    assert_eq!(report.suspects.len(), 1, "redaction changes no verdict");
    let mut policy = Shown {
        snapshot: &s3,
        names: Names::new(true, &snaps),
    };
    let shown = everything_shown(&report, &mut policy);
    assert!(!shown.contains("requestLog"), "{shown}");
    assert!(!shown.contains("Item"), "{shown}");
    // One placeholder per name across the sentence and the path (keyed by
    // the first snapshot, as the diff of the same report is).
    let key =
        Names::new(true, &[&s1]).placeholder(crate::analyzer::redact::Kind::Key, "requestLog");
    let sentence = report.suspects[0].text.render(&mut policy);
    // (This heap compiled no code: even `Array` is a name no function carries.)
    assert!(sentence.contains(&format!("`{key}` grew")), "{sentence}");
    assert!(shown.contains(&format!(".{key}")), "{shown}");
    assert!(shown.contains("<class:"), "{shown}");
}
