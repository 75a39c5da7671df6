//! Runtime leak trackers: state for listeners, bounded logs, timers and monitors.
