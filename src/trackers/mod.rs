//! Runtime leak trackers: state for listeners, bounded logs, timers and monitors.

pub mod cells;
pub mod listeners;
pub mod log;
pub mod metrics;
pub mod monitor;
pub mod snapshot_policy;
pub mod timers;
pub mod trend;

/// Asks the allocator to return freed memory to the system: glibc keeps
/// small freed blocks in its heap, so a tracker's tables could be empty and
/// RSS still at their high-water mark. Called rarely (after a tracker lost
/// most of its entries), since it walks the whole heap.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
