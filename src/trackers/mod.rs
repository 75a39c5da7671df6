//! Runtime leak trackers: state for listeners, bounded logs, timers and monitors.

pub mod listeners;
pub mod log;
pub mod timers;
