//! Runtime leak trackers: state for listeners, bounded logs, timers and monitors.

pub mod metrics;
pub mod monitor;
pub mod snapshot_policy;
pub mod trend;
