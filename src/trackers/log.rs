//! A log bounded by entry count and bytes, stored outside the JS heap.
//!
//! Entries never vanish silently: an eviction (`drop-oldest`) or refusal
//! (`reject`, or an entry larger than `max_bytes`) is counted, and when a
//! spill file is configured the entry is appended to it as one JSON line.
//!
//! `max_bytes` bounds payload bytes. What the log holds beyond them is
//! bounded too: one `ENTRY_SLOT` per ring slot, and the ring never grows past
//! `max_entries` slots, plus the fixed size of the log itself (and the spill
//! file's write buffer). `held_bytes` adds these up from the live allocations.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    DropOldest,
    Reject,
}

impl Overflow {
    pub fn parse(s: &str) -> Option<Overflow> {
        match s {
            "drop-oldest" => Some(Overflow::DropOldest),
            "reject" => Some(Overflow::Reject),
            _ => None,
        }
    }
}

/// How an entry came in, so it goes back out as the same JS type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text = 0,
    Bytes = 1,
    Json = 2,
}

impl Kind {
    pub fn from_u32(k: u32) -> Option<Kind> {
        match k {
            0 => Some(Kind::Text),
            1 => Some(Kind::Bytes),
            2 => Some(Kind::Json),
            _ => None,
        }
    }
}

pub struct Entry {
    pub kind: Kind,
    pub data: Box<[u8]>,
}

/// Bytes each entry costs beyond its payload: its slot in the ring.
pub const ENTRY_SLOT: usize = std::mem::size_of::<Entry>();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    pub max_entries: u64,
    pub max_bytes: u64,
    pub overflow: Overflow,
    pub spill_to: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("cannot open spill file {path}: {source}")]
    SpillOpen {
        path: String,
        source: std::io::Error,
    },
    #[error("maxEntries and maxBytes must be at least 1")]
    ZeroBound,
}

impl LogError {
    pub fn code(&self) -> &'static str {
        match self {
            LogError::SpillOpen { .. } => "ERR_LOG_SPILL",
            LogError::ZeroBound => "ERR_INVALID_ARG",
        }
    }
}

struct Spill {
    out: BufWriter<File>,
    lines: u64,
    errors: u64,
}

impl Spill {
    fn write(&mut self, e: &Entry) {
        let ok = write_json_line(&mut self.out, e).is_ok();
        if ok {
            self.lines += 1;
        } else {
            self.errors += 1;
        }
    }
}

/// Strings as JSON strings, JSON values verbatim, bytes the way
/// `JSON.stringify(buffer)` writes them, so a reader needs no special format.
fn write_json_line(out: &mut impl Write, e: &Entry) -> std::io::Result<()> {
    match e.kind {
        Kind::Json => out.write_all(&e.data)?,
        Kind::Text => {
            let s = String::from_utf8_lossy(&e.data);
            serde_json::to_writer(&mut *out, &s).map_err(std::io::Error::other)?;
        }
        Kind::Bytes => {
            out.write_all(b"{\"type\":\"Buffer\",\"data\":[")?;
            for (i, b) in e.data.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{b}")?;
            }
            out.write_all(b"]}")?;
        }
    }
    out.write_all(b"\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    pub size: u64,
    pub bytes: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub spilled: u64,
    pub spill_errors: u64,
    pub held_bytes: u64,
}

pub struct BoundedLog {
    opts: LogOptions,
    entries: VecDeque<Entry>,
    bytes: u64,
    dropped: u64,
    rejected: u64,
    /// Sequence number of `entries[0]`; lets readers page through a log that
    /// is evicting underneath them.
    first_seq: u64,
    spill: Option<Spill>,
}

impl BoundedLog {
    pub fn new(opts: LogOptions) -> Result<Self, LogError> {
        if opts.max_entries == 0 || opts.max_bytes == 0 {
            return Err(LogError::ZeroBound);
        }
        let spill = match &opts.spill_to {
            None => None,
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(Path::new(path))
                    .map_err(|source| LogError::SpillOpen {
                        path: path.clone(),
                        source,
                    })?;
                Some(Spill {
                    out: BufWriter::new(file),
                    lines: 0,
                    errors: 0,
                })
            }
        };
        Ok(BoundedLog {
            opts,
            entries: VecDeque::new(),
            bytes: 0,
            dropped: 0,
            rejected: 0,
            first_seq: 0,
            spill,
        })
    }

    pub fn options(&self) -> &LogOptions {
        &self.opts
    }

    fn lose(&mut self, e: &Entry) {
        if let Some(s) = self.spill.as_mut() {
            s.write(e);
        }
    }

    /// Stores the entry, or refuses it; false means it was counted as rejected.
    pub fn push(&mut self, kind: Kind, data: Box<[u8]>) -> bool {
        let entry = Entry { kind, data };
        let len = entry.data.len() as u64;
        let full = |log: &Self| {
            log.entries.len() as u64 >= log.opts.max_entries || log.bytes + len > log.opts.max_bytes
        };
        if len > self.opts.max_bytes || (self.opts.overflow == Overflow::Reject && full(self)) {
            self.rejected += 1;
            self.lose(&entry);
            return false;
        }
        while full(self) {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.data.len() as u64;
            self.first_seq += 1;
            self.dropped += 1;
            self.lose(&old);
        }
        self.bytes += len;
        self.make_room();
        self.entries.push_back(entry);
        true
    }

    /// Grows the ring by doubling as `VecDeque` would, but never past
    /// `max_entries` slots, so the slots stay inside the documented bound.
    fn make_room(&mut self) {
        let cap = self.entries.capacity();
        if self.entries.len() < cap {
            return;
        }
        let room = self.opts.max_entries.saturating_sub(cap as u64).max(1);
        let grow = (cap.max(4) as u64).min(room) as usize;
        self.entries.reserve_exact(grow);
    }

    /// Heap and inline bytes this log owns: itself, its ring slots, every
    /// payload, and the spill buffer and path. (Allocator bookkeeping is not
    /// included.)
    pub fn held_bytes(&self) -> u64 {
        let spill = self.spill.as_ref().map_or(0, |s| s.out.capacity())
            + self.opts.spill_to.as_ref().map_or(0, String::capacity);
        (std::mem::size_of::<Self>() + self.entries.capacity() * ENTRY_SLOT + spill) as u64
            + self.bytes
    }

    pub fn stats(&self) -> LogStats {
        LogStats {
            size: self.entries.len() as u64,
            bytes: self.bytes,
            dropped: self.dropped,
            rejected: self.rejected,
            spilled: self.spill.as_ref().map_or(0, |s| s.lines),
            spill_errors: self.spill.as_ref().map_or(0, |s| s.errors),
            held_bytes: self.held_bytes(),
        }
    }

    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.entries.len() as u64
    }

    /// Up to `max` entries starting at sequence number `from` (or at the
    /// oldest entry still held, if `from` was evicted), and the sequence
    /// number to continue from.
    pub fn read_from(&self, from: u64, max: usize) -> (Vec<&Entry>, u64) {
        let start = from.saturating_sub(self.first_seq) as usize;
        let got: Vec<&Entry> = self.entries.iter().skip(start).take(max).collect();
        let next = self.first_seq + (start + got.len()) as u64;
        (got, next)
    }

    pub fn tail(&self, n: usize) -> Vec<&Entry> {
        let skip = self.entries.len().saturating_sub(n);
        self.entries.iter().skip(skip).collect()
    }

    /// Removes and returns everything held; taken entries are not drops.
    pub fn drain(&mut self) -> Vec<Entry> {
        self.first_seq = self.next_seq();
        self.bytes = 0;
        self.entries.drain(..).collect()
    }

    pub fn clear(&mut self) {
        self.first_seq = self.next_seq();
        self.bytes = 0;
        self.entries.clear();
    }

    pub fn flush(&mut self) {
        if let Some(s) = self.spill.as_mut() {
            if s.out.flush().is_err() {
                s.errors += 1;
            }
        }
    }
}

impl Drop for BoundedLog {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(max_entries: u64, max_bytes: u64, overflow: Overflow) -> LogOptions {
        LogOptions {
            max_entries,
            max_bytes,
            overflow,
            spill_to: None,
        }
    }

    fn text(s: &str) -> Box<[u8]> {
        s.as_bytes().into()
    }

    fn texts(entries: &[&Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.data).into_owned())
            .collect()
    }

    #[test]
    fn drop_oldest_bounds_count_and_bytes() {
        let mut log = BoundedLog::new(opts(3, 10, Overflow::DropOldest)).unwrap();
        for s in ["aa", "bb", "cc", "dd"] {
            assert!(log.push(Kind::Text, text(s)));
        }
        assert_eq!(texts(&log.tail(10)), ["bb", "cc", "dd"]);
        assert!(log.push(Kind::Text, text("eeeeeeee")));
        assert_eq!(texts(&log.tail(10)), ["dd", "eeeeeeee"]);
        let st = log.stats();
        assert_eq!((st.size, st.bytes, st.dropped, st.rejected), (2, 10, 3, 0));
    }

    #[test]
    fn reject_refuses_when_full_and_oversize_is_always_refused() {
        let mut log = BoundedLog::new(opts(2, 100, Overflow::Reject)).unwrap();
        assert!(log.push(Kind::Text, text("a")));
        assert!(log.push(Kind::Text, text("b")));
        assert!(!log.push(Kind::Text, text("c")));
        let mut log2 = BoundedLog::new(opts(2, 4, Overflow::DropOldest)).unwrap();
        assert!(!log2.push(Kind::Text, text("12345")));
        assert_eq!(log.stats().rejected, 1);
        assert_eq!(log2.stats().rejected, 1);
        assert_eq!(log2.stats().size, 0);
    }

    #[test]
    fn read_from_pages_across_evictions() {
        let mut log = BoundedLog::new(opts(3, 100, Overflow::DropOldest)).unwrap();
        for s in ["a", "b", "c"] {
            log.push(Kind::Text, text(s));
        }
        let (got, next) = log.read_from(0, 2);
        assert_eq!(texts(&got), ["a", "b"]);
        log.push(Kind::Text, text("d"));
        log.push(Kind::Text, text("e"));
        let (got, next) = log.read_from(next, 10);
        assert_eq!(texts(&got), ["c", "d", "e"]);
        assert_eq!(next, 5);
        log.push(Kind::Text, text("f"));
        log.push(Kind::Text, text("g"));
        log.push(Kind::Text, text("h"));
        log.push(Kind::Text, text("i"));
        // "f" was evicted before the reader came back: it resumes at the oldest.
        let (got, _) = log.read_from(next, 10);
        assert_eq!(texts(&got), ["g", "h", "i"]);
    }

    #[test]
    fn drain_and_clear_empty_without_counting_drops() {
        let mut log = BoundedLog::new(opts(5, 100, Overflow::DropOldest)).unwrap();
        log.push(Kind::Text, text("a"));
        log.push(Kind::Json, text("{\"x\":1}"));
        let drained = log.drain();
        assert_eq!(drained.len(), 2);
        assert_eq!(drained[1].kind, Kind::Json);
        log.push(Kind::Text, text("b"));
        log.clear();
        let st = log.stats();
        assert_eq!((st.size, st.bytes, st.dropped), (0, 0, 0));
        assert_eq!(log.read_from(0, 10).1, 3);
    }

    #[test]
    fn spill_writes_json_lines_for_every_lost_entry() {
        let dir = std::env::temp_dir().join(format!("leakwatch-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("spill.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut o = opts(1, 7, Overflow::DropOldest);
        o.spill_to = Some(path.to_string_lossy().into_owned());
        let mut log = BoundedLog::new(o).unwrap();
        log.push(Kind::Text, text("he\"y"));
        log.push(Kind::Bytes, vec![1u8, 255].into());
        log.push(Kind::Json, text("{\"a\":1}"));
        log.push(Kind::Text, text("too long!"));
        assert_eq!(log.stats().spilled, 3);
        drop(log);
        let got = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            got,
            "\"he\\\"y\"\n{\"type\":\"Buffer\",\"data\":[1,255]}\n\"too long!\"\n"
        );
    }

    /// The documented bound: payload bound + one slot per allowed entry + the
    /// log itself (+ the spill buffer).
    fn bound(o: &LogOptions, spill: u64) -> u64 {
        o.max_bytes
            + o.max_entries * ENTRY_SLOT as u64
            + std::mem::size_of::<BoundedLog>() as u64
            + spill
    }

    #[test]
    fn held_bytes_are_the_allocations_and_stay_within_the_bound() {
        let dir = std::env::temp_dir().join(format!("leakwatch-held-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spill_path = dir.join("held.jsonl").to_string_lossy().into_owned();
        let spill_path_len = spill_path.len() as u64;
        let mut spilling = opts(40, 3_000, Overflow::Reject);
        spilling.spill_to = Some(spill_path);
        // Count-bound, byte-bound and spilling logs, with empty and oversize
        // payloads among the entries.
        for (o, spill) in [
            (opts(50, 2_000, Overflow::DropOldest), 0),
            (opts(1_000, 1 << 20, Overflow::DropOldest), 0),
            (spilling, 8 * 1024 + spill_path_len),
        ] {
            let base = crate::test_alloc::live_bytes();
            let mut log = Box::new(BoundedLog::new(o.clone()).unwrap());
            for i in 0..5_000usize {
                let len = (i * 37) % 90;
                let kind = if i % 3 == 0 { Kind::Bytes } else { Kind::Text };
                log.push(kind, vec![b'x'; len].into());
                let held = log.held_bytes();
                assert_eq!(
                    held as isize,
                    crate::test_alloc::live_bytes() - base,
                    "push {i}"
                );
                assert!(
                    held <= bound(&o, spill),
                    "push {i}: {held} > {}",
                    bound(&o, spill)
                );
            }
            // The ring stops at max_entries slots instead of doubling past them.
            assert!(log.entries.capacity() as u64 <= o.max_entries);
            log.clear();
            assert_eq!(
                log.held_bytes() as isize,
                crate::test_alloc::live_bytes() - base
            );
            drop(log);
            assert_eq!(crate::test_alloc::live_bytes(), base);
        }
    }

    #[test]
    fn zero_bounds_and_unwritable_spill_are_errors() {
        assert_eq!(
            BoundedLog::new(opts(0, 1, Overflow::Reject))
                .err()
                .map(|e| e.code()),
            Some("ERR_INVALID_ARG")
        );
        let mut o = opts(1, 1, Overflow::Reject);
        o.spill_to = Some("/nonexistent-dir/x/y.jsonl".into());
        assert_eq!(
            BoundedLog::new(o).err().map(|e| e.code()),
            Some("ERR_LOG_SPILL")
        );
    }
}
