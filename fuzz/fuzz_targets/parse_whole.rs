//! Whole-buffer load: any bytes give a snapshot or a typed error, never a
//! panic, a hang or an unbounded allocation.
#![no_main]

use leakwatch::analyzer::snapshot::{Quiet, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = Snapshot::from_bytes(data, &Quiet) {
        let _ = s.report(10, 100);
    }
});
