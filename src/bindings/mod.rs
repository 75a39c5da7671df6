//! The Node binding layer: converts JS values to core types and back, runs
//! long work on the libuv pool, and turns every failure (panics included)
//! into a JS error. No analysis logic lives here.

mod errors;
mod fault;
mod leaks;
mod monitor;
mod queries;
mod snapshot;
mod trackers;
