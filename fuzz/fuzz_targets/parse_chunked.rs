//! Differential: the push parser fed in fuzzer-chosen chunks (as a stream
//! arrives) must end exactly as one whole-buffer load of the same bytes: the
//! same graph and analysis, or the same error.
#![no_main]

use leakwatch::analyzer::snapshot::{Quiet, Snapshot};
use leakwatch_fuzz::{chunks, load_chunked, outcome, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (lengths, text) = split(data);
    let whole = outcome(Snapshot::from_bytes(text, &Quiet));
    let chunked = outcome(load_chunked(&chunks(lengths, text)));
    assert_eq!(whole, chunked, "chunk lengths {lengths:?}");
});
