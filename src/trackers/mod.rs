//! Runtime leak trackers: state for listeners, bounded logs, timers and monitors.

pub mod cells;
pub mod listeners;
pub mod log;
pub mod metrics;
pub mod monitor;
pub mod snapshot_policy;
pub mod timers;
pub mod trend;
