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
///
/// The interval is counted between the *starts* of two snapshots: counted
/// from the end of a write, an `everyMs` equal to the interval found every
/// second tick short by the write's duration and skipped it. A start up to
/// 1% of the interval early (at most a second) still counts, since two
/// ticks of a timer may land a few milliseconds closer than its period.
#[derive(Debug, Default)]
pub struct Trigger {
    min_interval_ms: u64,
    last_start_ms: Option<u64>,
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
        if let Some(last) = self.last_start_ms {
            let slack = (self.min_interval_ms / 100).min(1000);
            let next = last.saturating_add(self.min_interval_ms - slack);
            if now_ms < next {
                return Gate::Debounced {
                    retry_in_ms: next - now_ms,
                };
            }
        }
        self.in_flight = true;
        // Skipped or failed attempts count too: retrying a full disk on
        // every trigger would only add load.
        self.last_start_ms = Some(now_ms);
        Gate::Take
    }

    /// Ends the snapshot started by `request`.
    pub fn finish(&mut self) {
        self.in_flight = false;
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
    /// The file's device and inode numbers, in decimal.
    pub dev: String,
    pub ino: String,
}

pub const FILE_PREFIX: &str = "leakwatch-";
pub const FILE_SUFFIX: &str = ".heapsnapshot";
pub const TEMP_PREFIX: &str = ".leakwatch-";
pub const TEMP_SUFFIX: &str = ".tmp";

/// The check value a snapshot's final name carries: FNV-1a (64-bit) over
/// the name's stem and the file's own device and inode. A file named like
/// ours but written by someone else, or a copy of ours (a new inode), does
/// not carry its own mark, so retention never touches it. Not a secret: it
/// tells leakwatch's files from look-alikes, it does not authenticate them.
pub fn file_mark(stem: &str, dev: &str, ino: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stem
        .bytes()
        .chain(*b"\0")
        .chain(dev.bytes())
        .chain(*b"\0")
        .chain(ino.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The stem of a temporary file's name, `.leakwatch-<stem>.tmp`.
fn temp_stem(name: &str) -> Option<&str> {
    let stem = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    valid_stem(stem).then_some(stem)
}

/// `<utc stamp>-<pid>-<thread>-<sequence>`, as the facade writes it.
fn valid_stem(stem: &str) -> bool {
    let parts: Vec<&str> = stem.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The process id in the name of one of our temporary files, if `name` is
/// one; the caller removes it only once that process is gone.
pub fn temp_file_pid(name: &str) -> Option<u32> {
    temp_stem(name)?.split('-').nth(2)?.parse().ok()
}

/// Whether `f` is a snapshot leakwatch wrote: `leakwatch-<stem>-<mark>.heapsnapshot`
/// with the mark of its own stem, device and inode.
pub fn is_ours(f: &FileEntry) -> bool {
    let Some(body) = f
        .name
        .strip_prefix(FILE_PREFIX)
        .and_then(|b| b.strip_suffix(FILE_SUFFIX))
    else {
        return false;
    };
    let Some((stem, mark)) = body.rsplit_once('-') else {
        return false;
    };
    valid_stem(stem) && mark == file_mark(stem, &f.dev, &f.ino)
}

/// Which files to delete, oldest first, so at most `max_files` of ours remain
/// and they total at most `max_bytes`. The newest file is always kept: deleting
/// the snapshot just written to honour a byte budget would leave nothing.
pub fn select_for_deletion(
    files: &[FileEntry],
    max_files: Option<usize>,
    max_bytes: Option<u64>,
) -> Vec<String> {
    let mut ours: Vec<&FileEntry> = files.iter().filter(|f| is_ours(f)).collect();
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
    fn trigger_debounces_from_the_start_and_coalesces() {
        let mut t = Trigger::new(1000);
        assert_eq!(t.request(0), Gate::Take);
        assert_eq!(t.request(5), Gate::InFlight);
        assert_eq!(t.request(10), Gate::InFlight);
        t.finish();
        assert_eq!(t.request(600), Gate::Debounced { retry_in_ms: 390 });
        // 1% early still counts as one interval later.
        assert_eq!(t.request(990), Gate::Take);
        t.finish();
        let mut no_debounce = Trigger::new(0);
        assert_eq!(no_debounce.request(0), Gate::Take);
        no_debounce.finish();
        assert_eq!(no_debounce.request(0), Gate::Take);
        let mut far = Trigger::new(u64::MAX);
        assert_eq!(far.request(u64::MAX - 1), Gate::Take);
        far.finish();
        // The deadline saturates instead of wrapping round to "long ago".
        assert_eq!(
            far.request(u64::MAX - 1),
            Gate::Debounced { retry_in_ms: 1 }
        );
    }

    #[test]
    fn every_tick_of_an_interval_equal_to_the_debounce_is_taken() {
        // everyMs = minIntervalMs = 30 s, writes of 2-5 s, ticks a few ms late or early.
        let mut t = Trigger::new(30_000);
        let mut taken = 0;
        for (i, jitter) in [3i64, -2, 7, 0, -4, 5].iter().enumerate() {
            let start = (30_000 * (i as i64 + 1) + jitter) as u64;
            if t.request(start) == Gate::Take {
                taken += 1;
                t.finish();
            }
        }
        assert_eq!(taken, 6);
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

    /// One of our files: the name carries the mark of its own device and inode.
    fn ours(stem_seq: u32, bytes: u64, mtime_ms: u64) -> FileEntry {
        let stem = format!("20250101T000000-000Z-42-0-{stem_seq}");
        let ino = (1000 + stem_seq).to_string();
        let mark = file_mark(&stem, "2049", &ino);
        FileEntry {
            name: format!("leakwatch-{stem}-{mark}.heapsnapshot"),
            bytes,
            mtime_ms,
            dev: "2049".into(),
            ino,
        }
    }

    fn other(name: &str, bytes: u64, mtime_ms: u64) -> FileEntry {
        FileEntry {
            name: name.into(),
            bytes,
            mtime_ms,
            dev: "2049".into(),
            ino: "7".into(),
        }
    }

    #[test]
    fn retention_deletes_oldest_of_ours_only() {
        let (f1, f2, f3, f4) = (
            ours(1, 10, 1),
            ours(2, 20, 2),
            ours(3, 30, 3),
            ours(4, 40, 4),
        );
        // A copy of f1 (same name elsewhere would be a new inode) and look-alikes.
        let mut copy = f1.clone();
        copy.name = f1.name.replace("-1-", "-9-");
        let mut moved = f2.clone();
        moved.ino = "555".into();
        moved.name = moved.name.replace("-2-", "-8-");
        let files = vec![
            f3.clone(),
            f1.clone(),
            other("app.heapsnapshot", 999, 0),
            other("leakwatch-baseline.heapsnapshot", 5, 0),
            other(
                "leakwatch-20250101T000000-000Z-42-0-7-0123456789abcdef.heapsnapshot",
                5,
                0,
            ),
            f2.clone(),
            f4.clone(),
            copy,
            moved,
            other(".leakwatch-20250101T000000-000Z-42-0-5.tmp", 50, 5),
        ];
        let names = |v: Vec<&FileEntry>| v.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            select_for_deletion(&files, Some(2), None),
            names(vec![&f1, &f2])
        );
        // 40 + 30 = 70 fits in 75; adding 20 would not.
        assert_eq!(
            select_for_deletion(&files, None, Some(75)),
            names(vec![&f1, &f2])
        );
        assert_eq!(
            select_for_deletion(&files, Some(10), Some(1)),
            names(vec![&f1, &f2, &f3]),
            "the newest survives any byte budget"
        );
        assert!(select_for_deletion(&files, None, None).is_empty());
        assert_eq!(
            select_for_deletion(&files, Some(0), None).len(),
            3,
            "maxFiles 0 still keeps the newest"
        );
        // Same mtime: the name (timestamp, sequence) decides.
        let tie = vec![ours(5, 1, 5), ours(6, 1, 5)];
        assert_eq!(
            select_for_deletion(&tie, Some(1), None),
            vec![tie[0].name.clone()]
        );
    }

    #[test]
    fn temp_files_name_their_process() {
        assert_eq!(
            temp_file_pid(".leakwatch-20250101T000000-000Z-4242-1-3.tmp"),
            Some(4242)
        );
        for bad in [
            ".leakwatch-.tmp",
            ".leakwatch-a-b.tmp",
            ".leakwatch-20250101T000000-000Z-x-1-3.tmp",
            "leakwatch-20250101T000000-000Z-4242-1-3.tmp",
            ".leakwatch-20250101T000000-000Z-42/../x-1-3.tmp",
            ".leakwatch-20250101T000000-000Z-4242-1-3.heapsnapshot",
        ] {
            assert_eq!(temp_file_pid(bad), None, "{bad}");
        }
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
