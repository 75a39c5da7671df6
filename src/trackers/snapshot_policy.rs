//! When to write a heap snapshot, whether the process can afford it, and
//! which old files to delete. The JS side does the I/O and the V8 call.

use parking_lot::Mutex;

/// Why a requested snapshot is not taken now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    Take,
    /// One is being written: the caller shares its result instead.
    InFlight,
    /// Too soon after the previous one.
    Debounced {
        retry_in_ms: u64,
    },
}

/// Debounce and single-flight for one schedule.
#[derive(Debug, Default)]
pub struct Trigger {
    min_interval_ms: u64,
    last_ms: Option<u64>,
    in_flight: bool,
}

impl Trigger {
    pub fn new(min_interval_ms: u64) -> Trigger {
        Trigger {
            min_interval_ms,
            ..Trigger::default()
        }
    }

    /// Asks to start a snapshot at `now`; on `Take` the caller must call `finish`.
    pub fn request(&mut self, now_ms: u64) -> Gate {
        if self.in_flight {
            return Gate::InFlight;
        }
        if let Some(last) = self.last_ms {
            let next = last.saturating_add(self.min_interval_ms);
            if now_ms < next {
                return Gate::Debounced {
                    retry_in_ms: next - now_ms,
                };
            }
        }
        self.in_flight = true;
        Gate::Take
    }

    /// Ends the snapshot started by `request`. Skipped or failed attempts are
    /// debounced too: retrying a full disk every trigger would only add load.
    pub fn finish(&mut self, now_ms: u64) {
        self.in_flight = false;
        self.last_ms = Some(now_ms);
    }
}

/// Fires each time the post-GC heap has grown by `pct` over the heap at the
/// previous firing (or at the first observation).
#[derive(Debug)]
pub struct GrowthTrigger {
    pct: f64,
    baseline: Option<u64>,
}

impl GrowthTrigger {
    pub fn new(pct: f64) -> GrowthTrigger {
        GrowthTrigger {
            pct,
            baseline: None,
        }
    }

    pub fn baseline(&self) -> Option<u64> {
        self.baseline
    }

    pub fn observe(&mut self, heap_used: u64) -> bool {
        let Some(base) = self.baseline else {
            self.baseline = Some(heap_used);
            return false;
        };
        // A shrinking heap lowers the bar, so growth is measured from the lowest point.
        if heap_used < base {
            self.baseline = Some(heap_used);
            return false;
        }
        let grown = (heap_used - base) as f64;
        // A zero baseline has no percentage; any growth from nothing counts.
        let fire = if base == 0 {
            heap_used > 0
        } else {
            grown / base as f64 * 100.0 >= self.pct
        };
        if fire {
            self.baseline = Some(heap_used);
        }
        fire
    }
}

/// Memory the process may still use, from whichever sources were readable.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemoryRoom {
    /// cgroup limit minus cgroup usage (the tightest level), if limited.
    pub cgroup_free: Option<u64>,
    /// The kernel's estimate of memory available without swapping.
    pub system_available: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Headroom {
    Enough {
        need: u64,
        available: Option<u64>,
    },
    Short {
        need: u64,
        available: u64,
        source: &'static str,
    },
}

/// Writing a snapshot needs memory on top of the heap itself, proportional to
/// the heap: `factor` × `heap_used`. A factor of 0 disables the check.
pub fn check_headroom(heap_used: u64, factor: f64, room: MemoryRoom) -> Headroom {
    let need = if factor.is_finite() && factor > 0.0 {
        (heap_used as f64 * factor).min(u64::MAX as f64) as u64
    } else {
        0
    };
    let candidates = [
        (room.cgroup_free, "cgroup"),
        (room.system_available, "system"),
    ];
    let tightest = candidates
        .iter()
        .filter_map(|&(v, source)| v.map(|v| (v, source)))
        .min_by_key(|&(v, _)| v);
    match tightest {
        Some((available, source)) if need > available => Headroom::Short {
            need,
            available,
            source,
        },
        other => Headroom::Enough {
            need,
            available: other.map(|(v, _)| v),
        },
    }
}

/// A file in the snapshot directory.
#[derive(Clone, Debug, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub mtime_ms: u64,
}

pub const FILE_PREFIX: &str = "leakwatch-";
pub const FILE_SUFFIX: &str = ".heapsnapshot";

/// Only files this library wrote are ever candidates for deletion.
pub fn is_ours(name: &str) -> bool {
    name.starts_with(FILE_PREFIX)
        && name.ends_with(FILE_SUFFIX)
        && name.len() > FILE_PREFIX.len() + FILE_SUFFIX.len()
}

/// Which files to delete, oldest first, so at most `max_files` of ours remain
/// and they total at most `max_bytes`. The newest file is always kept: deleting
/// the snapshot just written to honour a byte budget would leave nothing.
pub fn select_for_deletion(
    files: &[FileEntry],
    max_files: Option<usize>,
    max_bytes: Option<u64>,
) -> Vec<String> {
    let mut ours: Vec<&FileEntry> = files.iter().filter(|f| is_ours(&f.name)).collect();
    // Newest first; names carry a timestamp and sequence number, so they break mtime ties.
    ours.sort_by(|a, b| {
        b.mtime_ms
            .cmp(&a.mtime_ms)
            .then_with(|| b.name.cmp(&a.name))
    });
    let mut kept_bytes = 0u64;
    let mut delete = vec![];
    for (i, f) in ours.iter().enumerate() {
        let over_count = max_files.is_some_and(|m| i >= m.max(1));
        let over_bytes = i > 0 && max_bytes.is_some_and(|m| kept_bytes.saturating_add(f.bytes) > m);
        if over_count || over_bytes {
            delete.push(f.name.clone());
        } else {
            kept_bytes = kept_bytes.saturating_add(f.bytes);
        }
    }
    delete.reverse();
    delete
}

/// Process-wide: worker threads have their own heaps, but share the memory a
/// snapshot needs, so at most one isolate of the process writes at a time.
/// A lease older than its hold limit is considered abandoned (a worker that
/// was terminated mid-snapshot never releases).
pub struct Lease {
    holder: Mutex<Option<(u64, u64)>>,
    next_token: Mutex<u64>,
}

impl Lease {
    pub const fn new() -> Lease {
        Lease {
            holder: Mutex::new(None),
            next_token: Mutex::new(1),
        }
    }

    pub fn try_acquire(&self, now_ms: u64, max_hold_ms: u64) -> Option<u64> {
        let mut holder = self.holder.lock();
        if let Some((_, since)) = *holder {
            if now_ms < since.saturating_add(max_hold_ms) {
                return None;
            }
        }
        let mut next = self.next_token.lock();
        let token = *next;
        *next = next.wrapping_add(1).max(1);
        *holder = Some((token, now_ms));
        Some(token)
    }

    /// Releases only the caller's own lease: a late release after expiry must
    /// not free someone else's.
    pub fn release(&self, token: u64) -> bool {
        let mut holder = self.holder.lock();
        match *holder {
            Some((t, _)) if t == token => {
                *holder = None;
                true
            }
            _ => false,
        }
    }
}

impl Default for Lease {
    fn default() -> Self {
        Lease::new()
    }
}

pub static PROCESS_LEASE: Lease = Lease::new();

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1 << 30;

    #[test]
    fn trigger_debounces_and_coalesces() {
        let mut t = Trigger::new(1000);
        assert_eq!(t.request(0), Gate::Take);
        assert_eq!(t.request(5), Gate::InFlight);
        assert_eq!(t.request(10), Gate::InFlight);
        t.finish(100);
        assert_eq!(t.request(600), Gate::Debounced { retry_in_ms: 500 });
        assert_eq!(t.request(1100), Gate::Take);
        t.finish(1100);
        let mut no_debounce = Trigger::new(0);
        assert_eq!(no_debounce.request(0), Gate::Take);
        no_debounce.finish(0);
        assert_eq!(no_debounce.request(0), Gate::Take);
        let mut far = Trigger::new(u64::MAX);
        assert_eq!(far.request(u64::MAX - 1), Gate::Take);
        far.finish(u64::MAX - 1);
        // The deadline saturates instead of wrapping round to "long ago".
        assert_eq!(
            far.request(u64::MAX - 1),
            Gate::Debounced { retry_in_ms: 1 }
        );
    }

    #[test]
    fn growth_trigger_fires_per_step_of_growth() {
        let mut g = GrowthTrigger::new(50.0);
        assert!(!g.observe(100));
        assert!(!g.observe(149));
        assert!(g.observe(150));
        assert_eq!(g.baseline(), Some(150));
        assert!(!g.observe(200));
        assert!(!g.observe(120), "shrinking lowers the baseline");
        assert!(g.observe(180));
        let mut z = GrowthTrigger::new(10.0);
        assert!(!z.observe(0));
        assert!(!z.observe(0));
        assert!(z.observe(1));
        let mut big = GrowthTrigger::new(10.0);
        assert!(!big.observe(5 * GB));
        assert!(!big.observe(5 * GB + GB / 2 - 1));
        assert!(big.observe(5 * GB + GB / 2));
    }

    #[test]
    fn headroom_uses_the_tightest_source() {
        let room = MemoryRoom {
            cgroup_free: Some(2 * GB),
            system_available: Some(20 * GB),
        };
        assert_eq!(
            check_headroom(GB, 1.5, room),
            Headroom::Enough {
                need: 3 * GB / 2,
                available: Some(2 * GB)
            }
        );
        assert_eq!(
            check_headroom(GB, 3.0, room),
            Headroom::Short {
                need: 3 * GB,
                available: 2 * GB,
                source: "cgroup"
            }
        );
        let sys_only = MemoryRoom {
            cgroup_free: None,
            system_available: Some(GB),
        };
        assert!(matches!(
            check_headroom(GB, 2.0, sys_only),
            Headroom::Short {
                source: "system",
                ..
            }
        ));
        assert_eq!(
            check_headroom(GB, 2.0, MemoryRoom::default()),
            Headroom::Enough {
                need: 2 * GB,
                available: None
            }
        );
        assert!(matches!(
            check_headroom(100 * GB, 0.0, sys_only),
            Headroom::Enough { need: 0, .. }
        ));
        assert!(matches!(
            check_headroom(u64::MAX, 1e30, room),
            Headroom::Short { need: u64::MAX, .. }
        ));
        assert!(matches!(
            check_headroom(GB, f64::NAN, room),
            Headroom::Enough { need: 0, .. }
        ));
    }

    fn entry(name: &str, bytes: u64, mtime_ms: u64) -> FileEntry {
        FileEntry {
            name: name.into(),
            bytes,
            mtime_ms,
        }
    }

    #[test]
    fn retention_deletes_oldest_of_ours_only() {
        let files = vec![
            entry("leakwatch-3.heapsnapshot", 30, 3),
            entry("leakwatch-1.heapsnapshot", 10, 1),
            entry("app.heapsnapshot", 999, 0),
            entry("leakwatch-2.heapsnapshot", 20, 2),
            entry("leakwatch-4.heapsnapshot", 40, 4),
            entry(".leakwatch-5.heapsnapshot.tmp", 50, 5),
            entry("leakwatch-.heapsnapshot", 1, 0),
        ];
        assert_eq!(
            select_for_deletion(&files, Some(2), None),
            vec!["leakwatch-1.heapsnapshot", "leakwatch-2.heapsnapshot"]
        );
        // 40 + 30 = 70 fits in 75; adding 20 would not.
        assert_eq!(
            select_for_deletion(&files, None, Some(75)),
            vec!["leakwatch-1.heapsnapshot", "leakwatch-2.heapsnapshot"]
        );
        assert_eq!(
            select_for_deletion(&files, Some(10), Some(1)),
            vec![
                "leakwatch-1.heapsnapshot",
                "leakwatch-2.heapsnapshot",
                "leakwatch-3.heapsnapshot"
            ],
            "the newest survives any byte budget"
        );
        assert!(select_for_deletion(&files, None, None).is_empty());
        assert_eq!(
            select_for_deletion(&files, Some(0), None).len(),
            3,
            "maxFiles 0 still keeps the newest"
        );
        // Same mtime: the name (timestamp, sequence) decides.
        let tie = vec![
            entry("leakwatch-a.heapsnapshot", 1, 5),
            entry("leakwatch-b.heapsnapshot", 1, 5),
        ];
        assert_eq!(
            select_for_deletion(&tie, Some(1), None),
            vec!["leakwatch-a.heapsnapshot"]
        );
    }

    #[test]
    fn lease_is_exclusive_and_expires() {
        let lease = Lease::new();
        let a = lease.try_acquire(0, 1000).unwrap();
        assert_eq!(lease.try_acquire(500, 1000), None);
        assert!(lease.release(a));
        assert!(!lease.release(a));
        let b = lease.try_acquire(600, 1000).unwrap();
        assert_ne!(a, b);
        // b was abandoned: after its hold limit someone else may take over.
        let c = lease.try_acquire(1600, 1000).unwrap();
        assert!(
            !lease.release(b),
            "a stale holder cannot release the new lease"
        );
        assert!(lease.release(c));
    }
}
