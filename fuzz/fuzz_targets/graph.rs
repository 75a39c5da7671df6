//! Graph algorithms on whatever the parser accepts: dominators, retained
//! sizes, paths and every query must keep their invariants. An input that
//! opens like JSON is loaded as it is; any other is read as a graph and
//! rendered as a valid snapshot first, so mutations change the graph rather
//! than break the syntax.
#![no_main]

use leakwatch::analyzer::snapshot::{Quiet, Snapshot};
use leakwatch_fuzz::{check_invariants, structured_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match data.first() {
        Some(b'{') => data.to_vec(),
        _ => structured_snapshot(data),
    };
    if let Ok(s) = Snapshot::from_bytes(&text, &Quiet) {
        check_invariants(&s);
    }
});
