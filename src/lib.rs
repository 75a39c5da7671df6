//! leakwatch: find, explain and prevent memory leaks in Node.js processes.
//!
//! `analyzer` (heap snapshot engine) and `trackers` (runtime state) are plain
//! Rust with no Node dependency; `bindings` maps them to JavaScript.

pub mod analyzer;
pub mod fault;
pub mod memory;
pub mod trackers;

// Only the addon installs it: an embedder of the rlib chooses its own.
#[cfg(all(feature = "node", not(test)))]
#[global_allocator]
static ALLOCATOR: memory::LargeMappedAlloc = memory::LargeMappedAlloc;

#[cfg(test)]
mod test_alloc;

// The bindings are exercised by the JS tests; napi-derive registers nothing
// in a `cargo test` build, so they are left out of it.
#[cfg(all(feature = "node", not(test)))]
mod bindings;
