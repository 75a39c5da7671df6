//! Structure-aware: the input describes shapes (deep chains, wide fan-in and
//! fan-out, long cycles, many roots, objects used as maps) rendered as a
//! valid snapshot of up to 200,000 nodes; every answer must stay bounded in
//! size and time, and redaction must hold.
#![no_main]

use leakwatch::analyzer::snapshot::{Quiet, Snapshot};
use leakwatch_fuzz::shapes::{check_shaped, shaped_snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = shaped_snapshot(data);
    match Snapshot::from_bytes(&text, &Quiet) {
        Ok(s) => check_shaped(&s),
        Err(e) => panic!("a shaped snapshot must load: {e}"),
    }
});
