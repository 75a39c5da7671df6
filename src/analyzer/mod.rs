//! The heap snapshot engine: parse a V8 `.heapsnapshot`, then compute what
//! Chrome DevTools' Memory tab shows (shallow and retained sizes, dominators,
//! distances, class summary) with the same rules, on flat columns.
//!
//! Pure Rust: no Node types. The bindings in `crate::bindings` wrap it.

pub mod allocations;
pub mod classes;
pub mod diff;
pub mod ephemeron;
pub mod error;
pub mod graph;
pub mod leaks;
pub mod meta;
pub mod parser;
pub mod phases;
pub mod queries;
pub mod redact;
#[cfg(test)]
mod regressions;
pub mod report;
pub mod snapshot;
pub mod strings;
pub mod types;

pub use error::{Result, SnapshotError};
pub use parser::Parser;
pub use snapshot::{Progress, Snapshot};

#[cfg(test)]
mod overflow_tests;
